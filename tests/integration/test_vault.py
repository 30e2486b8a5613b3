"""Secrets at rest: the Fernet vault and its key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from justuno_braze.config import Settings
from justuno_braze.errors import ConfigError, StoreError
from justuno_braze.vault import Vault


def test_round_trip_and_no_plaintext() -> None:
    vault = Vault(Vault.generate_key())
    token = vault.encrypt("braze-key-1234")
    assert "braze-key" not in token
    assert vault.decrypt(token) == "braze-key-1234"
    assert "key" not in repr(vault).replace("<key hidden>", "")


def test_a_wrong_key_is_a_store_error_without_the_secret() -> None:
    token = Vault(Vault.generate_key()).encrypt("braze-key-1234")
    with pytest.raises(StoreError, match="secret key differs") as info:
        Vault(Vault.generate_key()).decrypt(token)
    assert "braze-key" not in str(info.value)


def test_an_invalid_key_is_a_config_error_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="JUSTUNO_BRAZE_SECRET_KEY: not a Fernet key") as info:
        Vault("too-short-secret")
    assert "too-short-secret" not in str(info.value)


def test_settings_key_wins(tmp_path: Path) -> None:
    key = Vault.generate_key()
    token = Vault(key).encrypt("s3cret")
    vault = Vault.from_settings(Settings(secret_key=key), tmp_path / "var")
    assert vault.decrypt(token) == "s3cret"
    assert not (tmp_path / "var" / "secret.key").exists()


def test_a_key_is_generated_once_into_var_with_mode_0600(tmp_path: Path) -> None:
    var = tmp_path / "var"
    first = Vault.from_settings(Settings(), var)
    path = var / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = first.encrypt("s3cret")
    assert Vault.from_settings(Settings(), var).decrypt(token) == "s3cret"
    assert [p.name for p in var.iterdir()] == ["secret.key"]


def test_an_empty_key_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("")
    with pytest.raises(ConfigError, match="secret key file is empty"):
        Vault.from_settings(Settings(), tmp_path)
