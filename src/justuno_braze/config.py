"""Settings: one frozen object, read from ``JUSTUNO_BRAZE_*`` environment variables.

A ``.env`` file in the working directory is read too (the environment wins). Every
problem is reported at once in a :class:`ConfigError`. Secrets are masked in ``repr``
and in :meth:`Settings.masked`, which is what ``config show`` prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from justuno_braze.errors import ConfigError

PREFIX = "JUSTUNO_BRAZE_"
DEFAULT_DATABASE_URL = "sqlite:///./var/justuno-braze.db"
DEMO_SMS_GROUP = "6f3c2b1a-8d4e-4f5a-9b6c-1d2e3f4a5b6c"
DEMO_EMAIL_GROUP = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
_SECRET_FIELDS = frozenset(
    {"secret_key", "braze_key", "demo_braze_key", "demo_token", "demo_password"}
)


def mask(secret: str) -> str:
    """``abcd…wxyz`` style mask: never more than the last 4 characters shown."""
    if not secret:
        return ""
    return "****" + secret[-4:] if len(secret) > 8 else "****"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Base URLs (scheme://host[:port]) allowed besides Braze's own REST hosts.
    allowed_braze_urls: tuple[str, ...] = ()
    # Origins (scheme://host[:port]) of the sites whose pages run embed.js: design keys are
    # accepted from them (and from our own origin), and they get CORS for the embed's calls.
    embed_origins: tuple[str, ...] = ()
    # Fernet key (urlsafe base64, 32 bytes) for secrets at rest; generated into ./var when empty.
    secret_key: str = field(default="", repr=False)
    braze_key: str = field(default="", repr=False)
    # Delivery
    batch_cap: int = 75
    combined_cap: int | None = None
    retry_window_seconds: float = 24 * 3600.0
    lease_seconds: float = 30.0
    # /users/track allows 3,000 requests per 3 s (1,000/s): 48 in flight stays under it
    # whenever a request takes >= 48 ms (Braze answers in ~50-200 ms); the lanes still back
    # off on 429 and follow the rate headers.
    max_in_flight: int = 48
    braze_timeout_seconds: float = 30.0
    # Demo
    demo_token: str = field(default="demo-token", repr=False)
    demo_braze_url: str = ""
    demo_braze_key: str = field(default="", repr=False)
    demo_sms_group: str = DEMO_SMS_GROUP
    demo_email_group: str = DEMO_EMAIL_GROUP
    # The demo account's web UI user (demo@example.com) signs in with this password.
    demo_password: str = field(default="demo-password", repr=False)
    # Web UI: mark the session cookies Secure (and name them __Host-…) even on plain-HTTP
    # requests, e.g. behind a TLS-terminating proxy that does not forward the scheme.
    secure_cookies: bool = False

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
    ) -> Settings:
        env: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            from dotenv import dotenv_values

            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None:
                continue
            try:
                values[f.name] = _parse(f.name, raw)
            except ValueError as exc:
                problems.append(f"{PREFIX}{f.name.upper()}: {exc}")
        if problems:
            raise ConfigError(problems)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        problems: list[str] = []
        if not (1 <= self.batch_cap <= 75):
            problems.append(f"{PREFIX}BATCH_CAP: must be between 1 and 75, got {self.batch_cap}")
        if self.combined_cap is not None and not (1 <= self.combined_cap <= 225):
            problems.append(f"{PREFIX}COMBINED_CAP: must be between 1 and 225")
        if not (1 <= self.lease_seconds <= 30):
            problems.append(f"{PREFIX}LEASE_SECONDS: must be between 1 and 30 seconds")
        if self.retry_window_seconds <= 0:
            problems.append(f"{PREFIX}RETRY_WINDOW_SECONDS: must be positive")
        for url in self.allowed_braze_urls:
            if not url.startswith(("http://", "https://")):
                problems.append(f"{PREFIX}ALLOWED_BRAZE_URLS: {url!r} is not an http(s) URL")
        for origin in self.embed_origins:
            if not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]:
                problems.append(
                    f"{PREFIX}EMBED_ORIGINS: {origin!r} is not an origin like https://shop.example"
                )
        if problems:
            raise ConfigError(problems)

    def masked(self) -> dict[str, Any]:
        """Every setting, secrets masked: what ``config show`` prints."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = mask(value) if f.name in _SECRET_FIELDS else value
        out["database_url"] = _mask_url_password(self.database_url)
        return out


def _parse(name: str, raw: str) -> Any:
    if name in {"allowed_braze_urls", "embed_origins"}:
        return tuple(u.strip().rstrip("/") for u in raw.split(",") if u.strip())
    if name == "secure_cookies":
        return _bool(raw)
    if name in {"batch_cap", "max_in_flight"}:
        return _int(raw)
    if name == "combined_cap":
        return None if raw.strip() == "" else _int(raw)
    if name in {"retry_window_seconds", "lease_seconds", "braze_timeout_seconds"}:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
    return raw


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"expected an integer, got {raw!r}") from None


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported by the store, not here
        return url
