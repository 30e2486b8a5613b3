"""The one exception tree of justuno-braze, grouped by what the caller must do next.

```
JustunoBrazeError
├── ConfigError        bad settings; every problem reported at once
├── InputError         bad event / import row / API request → 4xx or CLI exit 2
├── WorkflowError      invalid workflow → refused on save/publish
├── StoreError         database unavailable or inconsistent
└── DeliveryError      talking to Braze failed
    ├── TransientError     timeout, connection, 429, 5xx → retry (carries retry_after)
    ├── PermanentError     other 4xx → dead letter
    └── AuthError          401/403 → pause the connection, tell the user
```

Partial success (Braze "minor errors" in a 2xx) is data in a result object, not an
exception. Messages carry no secrets and no personal data; details go in fields.
"""

from __future__ import annotations


class JustunoBrazeError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(JustunoBrazeError):
    """Settings are invalid. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration: " + "; ".join(self.problems))


class InputError(JustunoBrazeError):
    """Bad input from outside (event, import row, request). ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class WorkflowError(JustunoBrazeError):
    """A workflow is invalid. ``problems`` names every problem (path + message)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid workflow: " + "; ".join(self.problems))


class StoreError(JustunoBrazeError):
    """The database is unavailable or inconsistent."""


class DeliveryError(JustunoBrazeError):
    """Talking to Braze failed. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class TransientError(DeliveryError):
    """Worth retrying later: timeout, connection error, 429, 5xx."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status)


class PermanentError(DeliveryError):
    """Braze refused the request for good (4xx other than 401/403/429): dead-letter it."""


class AuthError(DeliveryError):
    """Braze refused the key (401) or its permissions (403): pause the connection."""
