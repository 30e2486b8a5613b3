"""Global email subscription endpoints: ``POST /email/status`` and ``GET /email/unsubscribes``.

``/email/status`` sets ``email_subscribe`` (``subscribed``, ``opted_in`` or
``unsubscribed``) on every profile with one of up to 50 addresses, the same state
``/users/track`` writes, so ``/users/export/ids`` shows it. ``/email/unsubscribes`` lists
the addresses whose profiles became unsubscribed between ``start_date`` and ``end_date``
(UTC midnights), newest first unless ``sort_direction=asc``, ``limit`` (≤ 500) from
``offset``. Braze also remembers a state sent for an address no profile has yet; the
sandbox changes existing profiles only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from justuno_braze.sandbox.formats import email_key, epoch_to_time
from justuno_braze.sandbox.standard_fields import GLOBAL_STATES
from justuno_braze.sandbox.users import UNSUBSCRIBED_AT, UserStore

MAX_EMAILS = 50
MAX_LIMIT = 500
DEFAULT_LIMIT = 100

Answer = tuple[int, dict[str, Any]]


def _bad(message: str) -> Answer:
    return 400, {"message": message}


def _emails(value: Any) -> list[str] | str:
    """The ``email`` field: one address or an array of up to 50; else the problem."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        return "'email' is required: an address or an array of addresses"
    if not all(isinstance(v, str) and v.strip() for v in value):
        return "'email' entries must be non-empty strings"
    if len(value) > MAX_EMAILS:
        return f"'email' has more than {MAX_EMAILS} addresses"
    return value


def _midnight(query: Mapping[str, list[str]], name: str) -> float | None:
    """``YYYY-MM-DD`` → epoch seconds of that UTC midnight; None if absent.

    Raises ``ValueError`` naming the parameter when it is not such a date."""
    values = query.get(name)
    if not values:
        return None
    try:
        day = datetime.strptime(values[0], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"'{name}' must be a date in YYYY-MM-DD format") from None
    return day.timestamp()


def _integer(query: Mapping[str, list[str]], name: str, default: int) -> int | None:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return None


class EmailStatus:
    """Writes and lists the global email subscription state of profiles."""

    def __init__(self, users: UserStore) -> None:
        self.users = users

    def set_status(self, body: dict[str, Any]) -> Answer:
        emails = _emails(body.get("email"))
        if isinstance(emails, str):
            return _bad(emails)
        state = body.get("subscription_state")
        if state not in GLOBAL_STATES:
            return _bad("'subscription_state' must be 'subscribed', 'unsubscribed' or 'opted_in'")
        for email in emails:  # a shared address changes every profile that has it
            for profile in self.users.all_by_email(email):
                self.users.set_email_subscribe(profile, state)
                self.users.touch(profile)
        return 201, {"message": "success"}

    def unsubscribes(self, query: Mapping[str, list[str]]) -> Answer:
        try:
            start, end = _midnight(query, "start_date"), _midnight(query, "end_date")
        except ValueError as exc:
            return _bad(str(exc))
        addresses = query.get("email") or []
        only = addresses[0] if addresses else None
        if end is None or (start is None and not only):
            return _bad("'end_date' is required, with 'start_date' or 'email'")
        if start is not None and start > end:
            return _bad("'start_date' must be earlier than 'end_date'")
        limit = _integer(query, "limit", DEFAULT_LIMIT)
        offset = _integer(query, "offset", 0)
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            return _bad(f"'limit' must be an integer from 1 to {MAX_LIMIT}")
        if offset is None or offset < 0:
            return _bad("'offset' must be an integer >= 0")
        direction = (query.get("sort_direction") or ["desc"])[0]
        if direction not in ("asc", "desc"):
            return _bad("'sort_direction' must be 'asc' or 'desc'")
        latest: dict[str, tuple[float, str]] = {}  # email key -> (when, address)
        profiles = self.users.all_by_email(only) if only else self.users
        for profile in profiles:
            when = profile.fields.get(UNSUBSCRIBED_AT)
            email = profile.fields.get("email")
            if when is None or not email or profile.fields.get("email_subscribe") != "unsubscribed":
                continue
            if (start is not None and when < start) or when > end:
                continue
            key = email_key(email)
            if key not in latest or latest[key][0] < when:
                latest[key] = (when, email)
        ordered = sorted(latest.values(), reverse=direction == "desc")
        page = ordered[offset : offset + limit]
        return 200, {
            "emails": [{"email": e, "unsubscribed_at": epoch_to_time(w)} for w, e in page],
            "message": "success",
        }
