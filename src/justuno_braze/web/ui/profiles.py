"""Profiles: search the account's visitors by email or visitor id (``GET /profiles``) and
one visitor in full (``GET /profiles/{visitor_id}``): the merged properties, the latest
events, the consent-ledger entries (the evidence of each subscription decision) and the
delivery history — ``services.profiles.profile_detail``, as ``GET …/profiles/{id}`` of the
REST API. An unknown visitor and another account's visitor are the same 404.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from justuno_braze.errors import InputError
from justuno_braze.services import profiles as service
from justuno_braze.web.auth import StoreDep
from justuno_braze.web.errors import NotFound
from justuno_braze.web.ui.render import page
from justuno_braze.web.ui.session import SignedIn
from justuno_braze.web.ui.workflow_names import workflow_label, workflow_names

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_QUERY = 320  # the longest email; visitor ids are at most 255
MAX_VISITOR_ID = 255
PROFILE_NOT_FOUND = "profile not found"


def search_terms(q: str) -> tuple[str | None, str | None]:
    """``(email, visitor_id)`` of what was typed in a profile search: with ``@`` an email
    (the service matches it normalised), else an exact visitor id; empty is neither."""
    query = q.strip()
    if "@" in query:
        return query, None
    return None, query or None


def display(value: Any) -> str:
    """A property or event value as text: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


@router.get("/profiles", response_class=HTMLResponse)
async def search(
    request: Request, ui: SignedIn, store: StoreDep, q: str = "", cursor: str | None = None
) -> HTMLResponse:
    """The profiles matching ``q`` (:func:`search_terms`); empty lists the newest."""
    query = q.strip()
    errors: dict[str, str] = {}
    found = None
    if len(query) > MAX_QUERY:
        errors["q"] = f"must be at most {MAX_QUERY} characters"
    else:
        email, visitor_id = search_terms(query)
        try:
            found = await service.list_profiles(
                store,
                ui.account.id,
                email=email,
                visitor_id=visitor_id,
                cursor=cursor,
                limit=PAGE_SIZE,
            )
        except InputError:  # a stale or hand-made cursor: start from the newest
            found = await service.list_profiles(
                store, ui.account.id, email=email, visitor_id=visitor_id, limit=PAGE_SIZE
            )
    return page(
        request,
        "profiles/index.html",
        ui,
        status_code=400 if errors else 200,
        q=query,
        errors=errors,
        found=found,
        page_size=PAGE_SIZE,
    )


@router.get("/profiles/{visitor_id:path}", response_class=HTMLResponse)
async def profile(request: Request, ui: SignedIn, store: StoreDep, visitor_id: str) -> HTMLResponse:
    if not 1 <= len(visitor_id) <= MAX_VISITOR_ID:
        raise NotFound(PROFILE_NOT_FOUND)
    detail = await service.profile_detail(store, ui.account.id, visitor_id)
    if detail is None:
        raise NotFound(PROFILE_NOT_FOUND)
    names = await workflow_names(store, ui.account)
    return page(
        request,
        "profiles/detail.html",
        ui,
        detail=detail,
        stored=detail.profile,
        p=detail.profile.profile,
        return_visitor=service.is_return_visitor(detail.profile),
        display=display,
        label=lambda wid: workflow_label(names, wid),
    )
