"""Deliveries: the account's outbox jobs by state with Braze's reason, a profile's delivery
history, and replay of dead letters.

- ``GET /api/v1/accounts/{account}/deliveries?state=&workflow_id=&cursor=&limit=``
- ``POST /api/v1/accounts/{account}/deliveries/replay`` → ``{"replayed": n}``
- ``GET /api/v1/accounts/{account}/profiles/{visitor_id}/deliveries``
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from justuno_braze.services import deliveries as service
from justuno_braze.services.profiles import profile_deliveries
from justuno_braze.services.time_range import TimeRange
from justuno_braze.store import Delivery
from justuno_braze.web.auth import AccountScope, NowDep, StoreDep
from justuno_braze.web.errors import ERROR_RESPONSES, ErrorBody, NotFound

router = APIRouter(prefix="/api/v1/accounts/{account}", tags=["deliveries"])

State = Literal["pending", "leased", "delivered", "dead"]
MAX_ID = 2**62  # ids are BIGINT: larger numbers cannot be ours
VisitorId = Annotated[str, Path(min_length=1, max_length=255, description="The visitor id")]
Cursor = Annotated[
    str | None,
    Query(description="next_cursor of the previous page", pattern=r"^[1-9][0-9]{0,17}$"),
]


class DeliveryOut(BaseModel):
    """One outbox job. ``reason`` is Braze's (or the worker's) last error: for a dead
    letter, why it died. ``user_key`` is how Braze identifies the user (``email:…``)."""

    id: int
    state: State
    user_key: str
    visitor_id: str | None
    workflow_id: str | None
    workflow_version: int | None
    attempts: int
    reason: str | None
    occurred_at: datetime
    enqueued_at: datetime
    finished_at: datetime | None
    attributes: dict[str, Any] | None
    event: dict[str, Any] | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            state=d.state,  # type: ignore[arg-type]  # the store's STATES
            user_key=d.user_key,
            visitor_id=d.visitor_id,
            workflow_id=d.workflow_id,
            workflow_version=d.workflow_version,
            attempts=d.attempts,
            reason=d.reason,
            occurred_at=d.occurred_at,
            enqueued_at=d.enqueued_at,
            finished_at=d.finished_at,
            attributes=dict(d.attributes) if d.attributes is not None else None,
            event=dict(d.event) if d.event is not None else None,
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")


class ReplayBody(BaseModel):
    """Which dead letters to re-queue; every given filter must match (none = all)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, min_length=1, max_length=service.MAX_REPLAY_IDS
    )
    workflow_id: str | None = Field(None, min_length=1, max_length=service.MAX_WORKFLOW_ID)
    reason: str | None = Field(
        None,
        min_length=1,
        max_length=service.MAX_REASON,
        description="A part of Braze's reason (case-insensitive)",
    )
    since: str | None = Field(None, max_length=64, description="Died at or after (ISO-8601)")
    until: str | None = Field(None, max_length=64, description="Died before (ISO-8601)")


class Replayed(BaseModel):
    replayed: int = Field(description="How many dead letters were re-queued")


@router.get(
    "/deliveries",
    response_model=DeliveryList,
    summary="The account's deliveries, newest first",
    responses=ERROR_RESPONSES,
)
async def list_deliveries(
    account: AccountScope,
    store: StoreDep,
    state: State | None = None,
    workflow_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryList:
    page = await service.list_deliveries(
        store, account.id, state=state, workflow_id=workflow_id, cursor=cursor, limit=limit
    )
    return DeliveryList(items=[DeliveryOut.of(d) for d in page.items], next_cursor=page.next_cursor)


@router.post(
    "/deliveries/replay",
    response_model=Replayed,
    summary="Re-queue dead letters (after a fix)",
    responses={400: {"model": ErrorBody, "description": "The body is not JSON"}, **ERROR_RESPONSES},
)
async def replay(account: AccountScope, store: StoreDep, now: NowDep, body: ReplayBody) -> Replayed:
    window = None
    if body.since or body.until:
        window = TimeRange.parse(body.since, body.until)
    request = service.ReplayRequest(
        ids=body.ids, workflow_id=body.workflow_id, reason=body.reason, window=window
    )
    try:
        count = await service.replay(store, account.id, request, now=now)
    except service.NotADeadLetter as exc:
        raise NotFound(str(exc)) from None
    return Replayed(replayed=count)


@router.get(
    "/profiles/{visitor_id}/deliveries",
    response_model=DeliveryList,
    summary="A profile's delivery history, newest first",
    responses=ERROR_RESPONSES,
)
async def profile_history(
    account: AccountScope,
    store: StoreDep,
    visitor_id: VisitorId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    found = await profile_deliveries(store, account.id, visitor_id, limit=limit)
    if found is None:
        raise NotFound("profile not found")
    return DeliveryList(items=[DeliveryOut.of(d) for d in found], next_cursor=None)
