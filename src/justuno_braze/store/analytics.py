"""Analytics (S11): per-day numbers of an account, in UTC days.

- Profiles, per day a profile was first stored (its cohort): ``profiles_created``,
  ``returning`` (those with 2 sessions or more by now), their ``sessions`` and
  ``page_views`` — so ``return_visitor_rate = returning / profiles_created`` and
  ``pages_per_session = page_views / sessions``.
- ``forms_submitted``: ``form_submitted`` events that occurred that day.
- Per workflow and day: ``synced`` (outbox jobs delivered that day), ``dead`` (jobs
  dead-lettered that day) and ``skipped`` (step runs skipped that day). A workflow is
  keyed by the id its outbox jobs carry (the service writes ``str(workflows.id)``).
- ``queue_depth``: the account's jobs still to deliver.

Day truncation differs between the databases (integer µs on SQLite, ``timestamptz`` on
PostgreSQL): ``day_number`` is the one place that handles it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, case, cast, func, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.store.deliveries import owned_by
from justuno_braze.store.scoped import Scoped, aware
from justuno_braze.store.tables import events, outbox, profiles, step_runs

EPOCH_DAY = date(1970, 1, 1)
_MICROS_PER_DAY = 86_400_000_000


@dataclass(frozen=True, slots=True)
class ProfileDay:
    day: date
    profiles_created: int = 0
    returning: int = 0
    sessions: int = 0
    page_views: int = 0
    forms_submitted: int = 0

    @property
    def return_visitor_rate(self) -> float:
        return self.returning / self.profiles_created if self.profiles_created else 0.0

    @property
    def pages_per_session(self) -> float:
        return self.page_views / self.sessions if self.sessions else 0.0


@dataclass(frozen=True, slots=True)
class WorkflowDay:
    workflow_id: str
    day: date
    synced: int = 0
    skipped: int = 0
    dead: int = 0


def day_number(dialect: Dialect, column: Any) -> Any:
    """Whole UTC days since 1970-01-01 of a ``UtcDateTime`` column, as an integer."""
    if dialect.name == "sqlite":  # stored as integer µs since the epoch
        return cast(type_coerce(column, BigInteger) / _MICROS_PER_DAY, Integer)
    return cast(func.floor(func.extract("epoch", column) / 86_400), Integer)


def as_date(number: int) -> date:
    return EPOCH_DAY + timedelta(days=int(number))


class Analytics(Scoped):
    """Read-only queries over profiles, events, step runs and the outbox."""

    async def profiles_by_day(
        self, account_id: int, *, since: datetime, until: datetime
    ) -> list[ProfileDay]:
        """Days with activity in ``[since, until)``, oldest first."""
        aware(since, "since")
        aware(until, "until")
        days: dict[date, dict[str, int]] = defaultdict(dict)
        async with self._reading(None) as c:
            day = day_number(c.dialect, profiles.c.created_at).label("day")
            cohort = (
                select(
                    day,
                    func.count(),
                    func.sum(case((profiles.c.sessions >= 2, 1), else_=0)),
                    func.sum(profiles.c.sessions),
                    func.sum(profiles.c.page_views),
                )
                .where(
                    profiles.c.account_id == account_id,
                    profiles.c.created_at >= since,
                    profiles.c.created_at < until,
                )
                .group_by(day)
            )
            for number, created, returning, sessions, views in await c.execute(cohort):
                days[as_date(number)].update(
                    profiles_created=int(created),
                    returning=int(returning or 0),
                    sessions=int(sessions or 0),
                    page_views=int(views or 0),
                )
            eday = day_number(c.dialect, events.c.occurred_at).label("day")
            forms = (
                select(eday, func.count())
                .where(
                    events.c.account_id == account_id,
                    events.c.type == "form_submitted",
                    events.c.occurred_at >= since,
                    events.c.occurred_at < until,
                )
                .group_by(eday)
            )
            for number, n in await c.execute(forms):
                days[as_date(number)]["forms_submitted"] = int(n)
        return [ProfileDay(day=d, **days[d]) for d in sorted(days)]

    async def totals(self, account_id: int, *, since: datetime, until: datetime) -> ProfileDay:
        """The ``profiles_by_day`` numbers summed over the range (``day`` = ``since``'s)."""
        out: dict[str, int] = defaultdict(int)
        for d in await self.profiles_by_day(account_id, since=since, until=until):
            for name in ("profiles_created", "returning", "sessions", "page_views"):
                out[name] += getattr(d, name)
            out["forms_submitted"] += d.forms_submitted
        return ProfileDay(day=since.date(), **out)

    async def workflows_by_day(
        self, account_id: int, *, since: datetime, until: datetime
    ) -> list[WorkflowDay]:
        """Per workflow and day in ``[since, until)``: synced / skipped / dead, ordered by
        workflow id then day."""
        aware(since, "since")
        aware(until, "until")
        counts: dict[tuple[str, date], dict[str, int]] = defaultdict(dict)
        async with self._reading(None) as c:
            await _outbox_counts(c, account_id, since, until, counts)
            day = day_number(c.dialect, step_runs.c.at).label("day")
            skipped = (
                select(step_runs.c.workflow_id, day, func.count())
                .where(
                    step_runs.c.account_id == account_id,
                    step_runs.c.outcome == "skipped",
                    step_runs.c.at >= since,
                    step_runs.c.at < until,
                )
                .group_by(step_runs.c.workflow_id, day)
            )
            for workflow_id, number, n in await c.execute(skipped):
                counts[(str(workflow_id), as_date(number))]["skipped"] = int(n)
        return [
            WorkflowDay(workflow_id=w, day=d, **counts[(w, d)])
            for w, d in sorted(counts, key=_workflow_order)
        ]

    async def skips_by_reason(
        self, account_id: int, *, since: datetime, until: datetime
    ) -> dict[tuple[str, date], dict[str, int]]:
        """``{(workflow id, day): {reason: skips}}`` of the account's skipped step runs in
        ``[since, until)`` (a skip without a reason counts as ``unknown``)."""
        aware(since, "since")
        aware(until, "until")
        out: dict[tuple[str, date], dict[str, int]] = defaultdict(dict)
        async with self._reading(None) as c:
            day = day_number(c.dialect, step_runs.c.at).label("day")
            stmt = (
                select(step_runs.c.workflow_id, day, step_runs.c.reason, func.count())
                .where(
                    step_runs.c.account_id == account_id,
                    step_runs.c.outcome == "skipped",
                    step_runs.c.at >= since,
                    step_runs.c.at < until,
                )
                .group_by(step_runs.c.workflow_id, day, step_runs.c.reason)
            )
            for workflow_id, number, reason, n in await c.execute(stmt):
                counts = out[(str(workflow_id), as_date(number))]
                key = reason or "unknown"
                counts[key] = counts.get(key, 0) + int(n)
        return dict(out)

    async def queue_depth(self, account_id: int) -> int:
        """The account's jobs still to deliver (``pending`` + ``leased``)."""
        stmt = (
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.available_at.is_not(None), owned_by(account_id))
        )
        async with self._reading(None) as c:
            return int((await c.execute(stmt)).scalar_one())


async def _outbox_counts(
    conn: AsyncConnection,
    account_id: int,
    since: datetime,
    until: datetime,
    counts: dict[tuple[str, date], dict[str, int]],
) -> None:
    day = day_number(conn.dialect, outbox.c.finished_at).label("day")
    stmt = (
        select(outbox.c.workflow_id, outbox.c.state, day, func.count())
        .where(
            owned_by(account_id),
            outbox.c.state.in_(("delivered", "dead")),
            outbox.c.workflow_id.is_not(None),
            outbox.c.finished_at >= since,
            outbox.c.finished_at < until,
        )
        .group_by(outbox.c.workflow_id, outbox.c.state, day)
    )
    for workflow_id, state, number, n in await conn.execute(stmt):
        name = "synced" if state == "delivered" else "dead"
        counts[(workflow_id, as_date(number))][name] = int(n)


def _workflow_order(key: tuple[str, date]) -> tuple[int, str, date]:
    workflow_id, day = key
    return (int(workflow_id), "", day) if workflow_id.isdigit() else (-1, workflow_id, day)
