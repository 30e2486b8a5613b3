"""Analytics (S11): what Justuno's dashboard shows, per account and UTC day.

- ``profiles_created``: profiles first stored in the range (their cohort);
  ``returning_visitors``: those of them with 2 sessions or more by now;
  ``return_visitor_rate = returning_visitors / profiles_created``;
  ``pages_per_session = page_views / sessions`` over the same profiles.
  A rate whose denominator is 0 is ``None`` (JSON ``null``: "no data", not 0 %).
- ``forms_submitted``: ``form_submitted`` events that occurred in the range.
- Per workflow: ``synced`` (Braze accepted the job), ``skipped`` (the step ran and sent
  nothing, by reason: ``no_identifier``, ``not_enrolled``…), ``dead`` (dead-lettered);
  counted on the day it happened. A workflow is the id its jobs carry (``str(id)``).
- ``queue_depth``: the account's jobs still to deliver (now, whatever the range).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from justuno_braze.services.time_range import TimeRange
from justuno_braze.store import ProfileDay, Store, WorkflowDay

DEFAULT_DAYS = 30


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class ProfileNumbers:
    profiles_created: int = 0
    returning_visitors: int = 0
    sessions: int = 0
    page_views: int = 0
    forms_submitted: int = 0

    @property
    def return_visitor_rate(self) -> float | None:
        return rate(self.returning_visitors, self.profiles_created)

    @property
    def pages_per_session(self) -> float | None:
        return rate(self.page_views, self.sessions)

    @classmethod
    def of(cls, day: ProfileDay) -> ProfileNumbers:
        return cls(
            day.profiles_created, day.returning, day.sessions, day.page_views, day.forms_submitted
        )

    def __add__(self, other: ProfileNumbers) -> ProfileNumbers:
        return ProfileNumbers(
            self.profiles_created + other.profiles_created,
            self.returning_visitors + other.returning_visitors,
            self.sessions + other.sessions,
            self.page_views + other.page_views,
            self.forms_submitted + other.forms_submitted,
        )


@dataclass(frozen=True, slots=True)
class WorkflowNumbers:
    workflow_id: str
    synced: int = 0
    skipped: int = 0
    dead: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Summary:
    window: TimeRange
    profiles: ProfileNumbers
    synced: int
    skipped: int
    dead: int
    queue_depth: int
    workflows: list[WorkflowNumbers]


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    profiles: ProfileNumbers
    workflows: list[WorkflowNumbers]


async def summary(store: Store, account_id: int, window: TimeRange) -> Summary:
    """The account's totals over ``window``, with per-workflow totals."""
    days = await daily(store, account_id, window)
    profiles = ProfileNumbers()
    per_workflow: dict[str, list[WorkflowNumbers]] = defaultdict(list)
    for d in days:
        profiles = profiles + d.profiles
        for w in d.workflows:
            per_workflow[w.workflow_id].append(w)
    workflows = [combine(wid, rows) for wid, rows in per_workflow.items()]
    workflows.sort(key=lambda w: _workflow_order(w.workflow_id))
    return Summary(
        window=window,
        profiles=profiles,
        synced=sum(w.synced for w in workflows),
        skipped=sum(w.skipped for w in workflows),
        dead=sum(w.dead for w in workflows),
        queue_depth=await store.analytics.queue_depth(account_id),
        workflows=workflows,
    )


async def daily(
    store: Store, account_id: int, window: TimeRange, *, workflow_id: str | None = None
) -> list[Day]:
    """Per UTC day with activity in ``window`` (oldest first): the profile numbers and the
    numbers of each workflow (only ``workflow_id``'s when given)."""
    since, until = window.since, window.until
    profile_days = await store.analytics.profiles_by_day(account_id, since=since, until=until)
    workflow_days = await store.analytics.workflows_by_day(account_id, since=since, until=until)
    reasons = await skipped_by_reason(store, account_id, window)
    days: dict[date, Day] = {d.day: Day(d.day, ProfileNumbers.of(d), []) for d in profile_days}
    for w in workflow_days:
        if workflow_id is not None and w.workflow_id != workflow_id:
            continue
        day = days.setdefault(w.day, Day(w.day, ProfileNumbers(), []))
        day.workflows.append(_numbers(w, reasons.get((w.workflow_id, w.day), {})))
    return [days[d] for d in sorted(days)]


async def skipped_by_reason(
    store: Store, account_id: int, window: TimeRange
) -> dict[tuple[str, date], dict[str, int]]:
    """``{(workflow id, day): {reason: skips}}`` of the account's step runs in ``window``.

    The analytics repository counts skips per workflow and day; the reasons come from
    the same ``step_runs`` rows (a skip without a reason counts as ``unknown``).
    """
    reasons = await store.analytics.skips_by_reason(
        account_id, since=window.since, until=window.until
    )
    return defaultdict(dict, reasons)


def combine(workflow_id: str, rows: list[WorkflowNumbers]) -> WorkflowNumbers:
    """One workflow's numbers summed over days."""
    reasons: dict[str, int] = defaultdict(int)
    for r in rows:
        for reason, n in r.skipped_by_reason.items():
            reasons[reason] += n
    return WorkflowNumbers(
        workflow_id,
        synced=sum(r.synced for r in rows),
        skipped=sum(r.skipped for r in rows),
        dead=sum(r.dead for r in rows),
        skipped_by_reason=dict(sorted(reasons.items())),
    )


def _numbers(w: WorkflowDay, reasons: dict[str, int]) -> WorkflowNumbers:
    return WorkflowNumbers(
        w.workflow_id, w.synced, w.skipped, w.dead, dict(sorted(reasons.items()))
    )


def _workflow_order(workflow_id: str) -> tuple[int, str]:
    return (int(workflow_id), "") if workflow_id.isdigit() else (-1, workflow_id)
