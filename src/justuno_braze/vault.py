"""Secrets at rest: Fernet encryption of connection API keys.

The key is ``Settings.secret_key`` (urlsafe base64 of 32 bytes, as
``Vault.generate_key()`` makes) or, when that is unset, a key generated once into
``<var_dir>/secret.key`` (mode 0600) and read back on every later start. Neither the key
nor a plaintext ever appears in an error message or a log line.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from justuno_braze.config import PREFIX, Settings
from justuno_braze.errors import ConfigError, StoreError

KEY_FILE = "secret.key"


class Vault:
    """Encrypts and decrypts short secrets (API keys) with one Fernet key."""

    __slots__ = ("_fernet",)

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.strip().encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                [
                    f"{PREFIX}SECRET_KEY: not a Fernet key (expected 32 bytes in urlsafe "
                    "base64, e.g. from `python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`)"
                ]
            ) from None

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    @classmethod
    def from_settings(cls, settings: Settings, var_dir: Path) -> Vault:
        """The vault of ``settings.secret_key``, else of ``var_dir/secret.key`` (made once)."""
        if settings.secret_key:
            return cls(settings.secret_key)
        return cls(_key_file(var_dir))

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise StoreError(
                "cannot decrypt a stored secret: the secret key differs from the one it was "
                f"encrypted with (check {PREFIX}SECRET_KEY or var/{KEY_FILE})"
            ) from None


def _key_file(var_dir: Path) -> str:
    """Read ``var_dir/secret.key``, creating it atomically (0600) when absent."""
    path = var_dir / KEY_FILE
    var_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = var_dir / f".{KEY_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(Vault.generate_key() + "\n")
        try:
            os.link(tmp, path)  # atomic; loses to a concurrent creator, whose key we read
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ConfigError([f"{path}: the secret key file is empty"])
    return key
