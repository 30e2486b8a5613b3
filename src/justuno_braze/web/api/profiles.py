"""Profiles: the account's visitors (newest first, by email or visitor id) and one visitor
in full — merged properties, sessions, page views, forms, its latest events, its consent
ledger entries and its delivery history.

- ``GET /api/v1/accounts/{account}/profiles?email=&visitor_id=&cursor=&limit=``
- ``GET /api/v1/accounts/{account}/profiles/{visitor_id}``
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from justuno_braze.services import profiles as service
from justuno_braze.store import StoredProfile
from justuno_braze.web.api.consent import LedgerEntryOut
from justuno_braze.web.api.deliveries import Cursor, DeliveryOut, VisitorId
from justuno_braze.web.auth import AccountScope, StoreDep
from justuno_braze.web.errors import ERROR_RESPONSES, NotFound

router = APIRouter(prefix="/api/v1/accounts/{account}", tags=["profiles"])


class ProfileOut(BaseModel):
    """A visitor: the merge of their events (later ``occurred_at`` wins per property)."""

    visitor_id: str
    email: str | None = Field(description="The email as profiles are looked up by")
    properties: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    sessions: int = Field(description="Sessions (30 minutes of inactivity apart)")
    page_views: int
    forms_submitted: int
    return_visitor: bool = Field(description="2 sessions or more")
    created_at: datetime = Field(description="When the profile was first stored")
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredProfile) -> ProfileOut:
        p = stored.profile
        return cls(
            visitor_id=stored.visitor_id,
            email=stored.email,
            properties=dict(p.properties),
            first_seen=p.first_seen,
            last_seen=p.last_seen,
            sessions=p.sessions,
            page_views=p.page_views,
            forms_submitted=p.forms_submitted,
            return_visitor=service.is_return_visitor(stored),
            created_at=stored.created_at,
            updated_at=stored.updated_at,
        )


class ProfileList(BaseModel):
    items: list[ProfileOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page")


class ProfileDetailOut(ProfileOut):
    events: list[dict[str, Any]] = Field(
        description=f"The latest {service.RECENT_EVENTS} events (canonical JSON), newest first"
    )
    consent: list[LedgerEntryOut] = Field(
        description=f"The latest {service.RECENT_CONSENT} consent decisions, newest first"
    )
    deliveries: list[DeliveryOut] = Field(
        description=f"The latest {service.RECENT_DELIVERIES} deliveries, newest first"
    )


@router.get(
    "/profiles",
    response_model=ProfileList,
    summary="The account's profiles, newest first",
    responses=ERROR_RESPONSES,
)
async def list_profiles(
    account: AccountScope,
    store: StoreDep,
    email: Annotated[
        str | None, Query(max_length=320, description="Normalised: case and spaces ignored")
    ] = None,
    visitor_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 50,
) -> ProfileList:
    page = await service.list_profiles(
        store, account.id, email=email, visitor_id=visitor_id, cursor=cursor, limit=limit
    )
    return ProfileList(items=[ProfileOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.get(
    "/profiles/{visitor_id}",
    response_model=ProfileDetailOut,
    summary="One profile with its events, consent entries and deliveries",
    responses=ERROR_RESPONSES,
)
async def get_profile(
    account: AccountScope, store: StoreDep, visitor_id: VisitorId
) -> ProfileDetailOut:
    detail = await service.profile_detail(store, account.id, visitor_id)
    if detail is None:
        raise NotFound("profile not found")
    base = ProfileOut.of(detail.profile)
    return ProfileDetailOut(
        **base.model_dump(),
        events=[e.to_dict() for e in detail.events],
        consent=[LedgerEntryOut.of(c) for c in detail.consent],
        deliveries=[DeliveryOut.of(d) for d in detail.deliveries],
    )
