"""The dead-letter filters of ``/deliveries`` as a GET form (workflow, a part of Braze's
reason, the days they died), and the replay request they stand for.

The listing and "Replay all matching" use the SAME :class:`ReplayRequest`: what the page
lists is what the button re-queues. The form's dates are whole UTC days and both ends are
included (``until=2026-11-29`` means "died on the 29th or before"), which is how people
read a "from / to" pair; the service's ranges exclude their end, so ``until`` becomes the
next midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from justuno_braze.errors import InputError
from justuno_braze.services.deliveries import MAX_REASON, MAX_WORKFLOW_ID, ReplayRequest
from justuno_braze.services.time_range import EARLIEST, LATEST, TimeRange


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """What the user typed (kept as typed, to show it back)."""

    workflow: str = ""
    reason: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def of(
        cls, workflow: str | None, reason: str | None, since: str | None, until: str | None
    ) -> DeadLetterFilter:
        """The filter of the query's texts, spaces trimmed (absent = empty)."""
        return cls(*(" ".join((v or "").split()) for v in (workflow, reason, since, until)))

    def checked(self) -> tuple[ReplayRequest | None, dict[str, str]]:
        """The request, or None and field name → message for the form."""
        try:
            return self.request(), {}
        except InputError as exc:
            field = exc.field or "reason"
            return None, {field: str(exc).removeprefix(f"{exc.field}: ")}

    def request(self) -> ReplayRequest:
        """The service's request for these filters (``InputError`` naming the field)."""
        if len(self.workflow) > MAX_WORKFLOW_ID:
            raise InputError(f"must be at most {MAX_WORKFLOW_ID} characters", field="workflow")
        if len(self.reason) > MAX_REASON:
            raise InputError(f"must be at most {MAX_REASON} characters", field="reason")
        return ReplayRequest(
            workflow_id=self.workflow or None,
            reason=self.reason or None,
            window=self.window(),
        )

    def window(self) -> TimeRange | None:
        """``[since 00:00, the day after until 00:00)``; None when no day is given."""
        if not (self.since or self.until):
            return None
        since = _midnight(self.since, "since") if self.since else EARLIEST
        until = _midnight(self.until, "until") + timedelta(days=1) if self.until else LATEST
        if since >= until:
            raise InputError("must be on or after the first day", field="until")
        return TimeRange.of(since, until)

    def is_empty(self) -> bool:
        return not (self.workflow or self.reason or self.since or self.until)

    def query(self) -> str:
        """The filters as a query string (for links and the redirect after a replay)."""
        pairs = [
            (name, value)
            for name, value in (
                ("workflow", self.workflow),
                ("reason", self.reason),
                ("since", self.since),
                ("until", self.until),
            )
            if value
        ]
        return urlencode(pairs)


def _midnight(text: str, field: str) -> datetime:
    """00:00 UTC of a ``2026-11-29`` date (what a date input sends)."""
    try:
        day = date.fromisoformat(text) if len(text) == len("2026-11-29") else None
    except ValueError:
        day = None
    if day is None or day.year < EARLIEST.year or day >= LATEST.date():
        raise InputError("must be a date like 2026-11-29", field=field)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
