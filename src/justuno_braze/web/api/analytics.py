"""Analytics (S11): profiles created, return-visitor rate, pages per session, forms
submitted, and what each workflow synced / skipped / dead-lettered, per UTC day.

- ``GET /api/v1/accounts/{account}/analytics/summary?since=&until=``
- ``GET /api/v1/accounts/{account}/analytics/daily?since=&until=&workflow_id=``

The range defaults to the 30 days before now. Rates are ``null`` when their denominator
is 0 (no profiles created / no sessions): "no data", not 0 %.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from justuno_braze.services import analytics as service
from justuno_braze.services.time_range import EARLIEST, TimeRange, parse_moment
from justuno_braze.web.api.consent import Since, Until
from justuno_braze.web.auth import AccountScope, NowDep, StoreDep
from justuno_braze.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/accounts/{account}/analytics", tags=["analytics"])


class ProfileNumbersOut(BaseModel):
    profiles_created: int = Field(description="Profiles first stored in the range")
    returning_visitors: int = Field(description="Of those, visitors with 2 sessions or more")
    return_visitor_rate: float | None = Field(
        description="returning_visitors / profiles_created; null when no profile was created"
    )
    sessions: int
    page_views: int
    pages_per_session: float | None = Field(
        description="page_views / sessions of those profiles; null when there is no session"
    )
    forms_submitted: int = Field(description="form_submitted events in the range")

    @classmethod
    def of(cls, n: service.ProfileNumbers) -> ProfileNumbersOut:
        return cls.model_validate(n, from_attributes=True)


class WorkflowNumbersOut(BaseModel):
    workflow_id: str = Field(description="The id the workflow's deliveries carry")
    synced: int = Field(description="Deliveries Braze accepted")
    skipped: int = Field(description="Events the Sync to App step sent nothing for")
    skipped_by_reason: dict[str, int] = Field(description="no_identifier, not_enrolled, …")
    dead: int = Field(description="Deliveries dead-lettered")

    @classmethod
    def of(cls, w: service.WorkflowNumbers) -> WorkflowNumbersOut:
        return cls(
            workflow_id=w.workflow_id,
            synced=w.synced,
            skipped=w.skipped,
            skipped_by_reason=dict(w.skipped_by_reason),
            dead=w.dead,
        )


class SummaryOut(ProfileNumbersOut):
    since: datetime
    until: datetime
    synced: int
    skipped: int
    dead: int
    queue_depth: int = Field(description="Deliveries still to make (now)")
    workflows: list[WorkflowNumbersOut]


class DayOut(ProfileNumbersOut):
    day: date = Field(description="The UTC day")
    workflows: list[WorkflowNumbersOut]


class DailyOut(BaseModel):
    since: datetime
    until: datetime
    days: list[DayOut] = Field(description="Days with activity, oldest first")


def window_of(since: str | None, until: str | None, now: datetime) -> TimeRange:
    """The asked range; ``until`` defaults to now, ``since`` to 30 days before ``until``."""
    end = parse_moment(until, "until") if until else now
    default_start = max(EARLIEST, end - timedelta(days=service.DEFAULT_DAYS))
    start = parse_moment(since, "since") if since else default_start
    return TimeRange.of(start, end)


@router.get(
    "/summary",
    response_model=SummaryOut,
    summary="Totals over a range (default: the last 30 days)",
    responses=ERROR_RESPONSES,
)
async def summary(
    account: AccountScope, store: StoreDep, now: NowDep, since: Since = None, until: Until = None
) -> SummaryOut:
    result = await service.summary(store, account.id, window_of(since, until, now))
    return SummaryOut(
        **ProfileNumbersOut.of(result.profiles).model_dump(),
        since=result.window.since,
        until=result.window.until,
        synced=result.synced,
        skipped=result.skipped,
        dead=result.dead,
        queue_depth=result.queue_depth,
        workflows=[WorkflowNumbersOut.of(w) for w in result.workflows],
    )


@router.get(
    "/daily",
    response_model=DailyOut,
    summary="Per UTC day and per workflow (default: the last 30 days)",
    responses=ERROR_RESPONSES,
)
async def daily(
    account: AccountScope,
    store: StoreDep,
    now: NowDep,
    since: Since = None,
    until: Until = None,
    workflow_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> DailyOut:
    window = window_of(since, until, now)
    days = await service.daily(store, account.id, window, workflow_id=workflow_id)
    return DailyOut(
        since=window.since,
        until=window.until,
        days=[
            DayOut(
                **ProfileNumbersOut.of(d.profiles).model_dump(),
                day=d.day,
                workflows=[WorkflowNumbersOut.of(w) for w in d.workflows],
            )
            for d in days
        ],
    )
