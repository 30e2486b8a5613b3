"""The consent ledger: every subscription decision with its evidence, as CSV (streamed)
or as JSON pages.

- ``GET /api/v1/accounts/{account}/consent.csv?since=&until=`` — ``text/csv``, a header
  row, RFC 4180 quoting, CSV-injection-safe cells (see :mod:`justuno_braze.services.consent`)
- ``GET /api/v1/accounts/{account}/consent?since=&until=&cursor=&limit=``

``since`` (included) and ``until`` (excluded) are ISO-8601 date-times or dates (UTC);
both are optional (the whole ledger). Entries are oldest first, by the decision's time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from justuno_braze.services import consent as service
from justuno_braze.services.time_range import TimeRange
from justuno_braze.store import LedgerEntry
from justuno_braze.web.auth import AccountScope, StoreDep
from justuno_braze.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/accounts/{account}", tags=["consent"])

CSV_MEDIA_TYPE = "text/csv"
Since = Annotated[
    str | None,
    Query(max_length=64, description="Decisions at or after (ISO-8601 date-time or date, UTC)"),
]
Until = Annotated[
    str | None,
    Query(max_length=64, description="Decisions before (ISO-8601 date-time or date, UTC)"),
]


class LedgerEntryOut(BaseModel):
    """One consent decision and its evidence (the CSV's columns)."""

    id: int
    occurred_at: datetime = Field(description="When the visitor made the decision")
    visitor_id: str
    channel: str = Field(description="sms | email")
    group_id: str = Field(description="The Braze subscription group")
    state: str = Field(description="subscribed | not_subscribed")
    basis: str = Field(description="explicit (the design has the consent field) | implicit")
    reason: str | None = Field(description="Why not subscribed, e.g. unticked")
    design_id: str | None
    consent_text: str | None
    ip: str | None
    page_url: str | None
    event_id: str | None
    workflow_id: int | None
    workflow_version: int | None
    recorded_at: datetime

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryOut:
        return cls.model_validate(entry, from_attributes=True)


class LedgerPage(BaseModel):
    items: list[LedgerEntryOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")


@router.get(
    "/consent.csv",
    summary="Export the consent ledger as CSV",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The ledger entries of the range, oldest first",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **ERROR_RESPONSES,
    },
)
async def export_csv(
    account: AccountScope, store: StoreDep, since: Since = None, until: Until = None
) -> StreamingResponse:
    window = TimeRange.parse(since, until)  # refused (422) before the stream starts
    filename = f"consent-{account.slug}.csv"
    return StreamingResponse(
        service.export_csv(store, account.id, window),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/consent",
    response_model=LedgerPage,
    summary="The consent ledger, oldest first, paged",
    responses=ERROR_RESPONSES,
)
async def list_consent(
    account: AccountScope,
    store: StoreDep,
    since: Since = None,
    until: Until = None,
    cursor: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{1,19}\.[1-9][0-9]{0,17}$",
            description="next_cursor of the previous page",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> LedgerPage:
    window = TimeRange.parse(since, until)
    page = await service.list_entries(store, account.id, window, cursor=cursor, limit=limit)
    return LedgerPage(
        items=[LedgerEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor
    )
