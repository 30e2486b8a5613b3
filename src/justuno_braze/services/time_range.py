"""A time range ``[since, until)`` as the API and the CLI take it (consent export,
analytics, dead-letter replay).

Accepted forms for each end: an ISO-8601 date-time (``2026-11-29T10:00:00Z``; without an
offset it is UTC) or a bare date (``2026-11-29``, midnight UTC). ``since`` is included,
``until`` excluded; ``since`` must be before ``until``. A problem raises ``InputError``
naming ``since`` or ``until``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from justuno_braze.errors import InputError
from justuno_braze.events import parse_time

#: The open ends of a range: the store keeps times from the epoch to the year 9999.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)
_DATE_LENGTH = len("2026-11-29")
_MAX_TEXT = 64


@dataclass(frozen=True, slots=True)
class TimeRange:
    since: datetime
    until: datetime

    @classmethod
    def parse(
        cls,
        since: str | None,
        until: str | None,
        *,
        default_since: datetime = EARLIEST,
        default_until: datetime = LATEST,
    ) -> TimeRange:
        """The range of two optional texts (absent or empty = the default)."""
        start = parse_moment(since, "since") if since else default_since
        end = parse_moment(until, "until") if until else default_until
        return cls.of(start, end)

    @classmethod
    def of(cls, since: datetime, until: datetime) -> TimeRange:
        """``[since, until)`` checked: aware, within the store's years, ``since < until``."""
        for value, name in ((since, "since"), (until, "until")):
            if value.tzinfo is None or value.utcoffset() is None:
                raise InputError("must be an aware datetime (UTC)", field=name)
            if not EARLIEST <= value <= LATEST:
                raise InputError("must be between 1970-01-01 and 9999-12-31", field=name)
        if since >= until:
            raise InputError("must be after since", field="until")
        return cls(since.astimezone(UTC), until.astimezone(UTC))

    @classmethod
    def last_days(cls, days: int, *, now: datetime) -> TimeRange:
        """The ``days`` days before ``now`` (the analytics default)."""
        return cls.of(now - timedelta(days=days), now)


def parse_moment(text: str, field: str) -> datetime:
    """A date-time or a bare date (midnight UTC) as an aware UTC datetime."""
    value = text.strip()
    if len(value) > _MAX_TEXT:
        raise InputError("must be an ISO-8601 date-time like 2026-11-29T10:00:00Z", field=field)
    if len(value) == _DATE_LENGTH:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InputError(
                "must be an ISO-8601 date (2026-11-29) or date-time (2026-11-29T10:00:00Z)",
                field=field,
            ) from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return parse_time(value, field)
