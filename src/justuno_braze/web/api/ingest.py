"""Ingestion: ``POST /api/v1/accounts/{account}/events`` and the quarantine listing.

Authentication: the account's ingest token (``Authorization: Bearer``) or an HMAC body
signature (``X-Justuno-Signature``, see :mod:`justuno_braze.services.accounts`). Auth
failures answer 401 and are NOT quarantined (unauthenticated callers must not fill the
quarantine); an ingest token of another account answers 404 like an unknown account.

Bodies over ``MAX_BODY_BYTES`` are refused with 413 while streaming (never buffered whole);
then 400 (not JSON), 413 (more than ``MAX_EVENTS`` events) and 422 (invalid events, each
named by index and field) — all quarantined for the account. ``202`` means committed.

A public design key (see :mod:`justuno_braze.web.auth`) posts one ``form_submitted``
event of its design per request from an allowed ``Origin``; else 403 (not quarantined),
and 429 with ``Retry-After`` past the per-IP rate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from justuno_braze.services import accounts as account_service
from justuno_braze.services.ingestion import (
    MAX_BODY_BYTES,
    MAX_EVENTS,
    GroupCommit,
    IngestRefused,
    Problem,
    decode,
    design_problem,
    ingest,
    quarantine,
)
from justuno_braze.store import Account, Store
from justuno_braze.web.auth import (
    DESIGN,
    AccountScope,
    AccountSlug,
    DesignGuard,
    NowDep,
    StoreDep,
    TokenCache,
    account_for,
    authenticate_ingest,
    design_refused,
    ingest_bearer,
    unauthorized,
)
from justuno_braze.web.errors import ERROR_RESPONSES, ErrorBody
from justuno_braze.web.metrics import Metrics

router = APIRouter(prefix="/api/v1/accounts/{account}", tags=["ingestion"])
SIGNATURE_HEADER = account_service.SIGNATURE_HEADER
MAX_ID = 2**63 - 1  # ids are 64-bit in both databases


class IngestAccepted(BaseModel):
    accepted: int = Field(description="Events newly stored")
    duplicates: int = Field(description="Events already stored (same event_id): accepted once")
    event_ids: list[str] = Field(description="The id of each event of the request, in order")


class EventProblem(BaseModel):
    index: int | None = Field(description="The event's index in the batch (None: the body)")
    field: str
    message: str


class IngestRefusedBody(ErrorBody):
    errors: list[EventProblem] = Field(default_factory=list)
    quarantine_id: int | None = None


class QuarantinedItem(BaseModel):
    id: int
    received_at: datetime
    source: str
    reason: list[dict[str, Any]]
    body: str
    body_size: int
    truncated: bool


class QuarantinePage(BaseModel):
    items: list[QuarantinedItem]
    next_before_id: int | None = Field(description="Pass as before_id for the next page")


_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "visitor_id"],
    "properties": {
        "event_id": {"type": "string", "maxLength": 255},
        "type": {"type": "string", "examples": ["form_submitted"]},
        "visitor_id": {"type": "string", "maxLength": 255},
        "occurred_at": {"type": "string", "format": "date-time"},
        "design_id": {"type": "string", "maxLength": 255},
        "page_url": {"type": "string"},
        "properties": {"type": "object", "additionalProperties": True},
        "consent": {
            "type": "object",
            "properties": {"sms": {"type": "boolean"}, "email": {"type": "boolean"}},
        },
        "ip": {"type": "string"},
        "consent_text": {"type": "string"},
    },
}
_BODY_SCHEMA: dict[str, Any] = {
    "oneOf": [
        _EVENT_SCHEMA,
        {
            "type": "object",
            "required": ["events"],
            "properties": {
                "events": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_EVENTS,
                    "items": _EVENT_SCHEMA,
                }
            },
        },
    ]
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    status: {"model": IngestRefusedBody, "description": text}
    for status, text in (
        (400, "The body is not JSON (quarantined)"),
        (413, f"Body over {MAX_BODY_BYTES} bytes or more than {MAX_EVENTS} events"),
        (422, "Invalid events, each named by index and field; nothing stored (quarantined)"),
        (403, "A design key used outside its design, event type or origin"),
        (429, "Too many design-key submissions from this IP (see Retry-After)"),
    )
}


@router.post(
    "/events",
    status_code=202,
    response_model=IngestAccepted,
    summary="Ingest one event or a batch {'events': [...]} (up to 1,000)",
    responses={**ERROR_RESPONSES, **_REFUSED},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA}},
        },
        "parameters": [
            {
                "name": SIGNATURE_HEADER,
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "t=<unix seconds>,v1=<hex hmac_sha256(sha256_hex(ingest "
                "token), '<t>.' + body)>; instead of the Bearer ingest token",
            }
        ],
    },
)
async def post_events(
    account: AccountSlug,
    request: Request,
    store: StoreDep,
    now: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(ingest_bearer)],
) -> Any:
    metrics: Metrics = request.app.state.metrics
    signature = request.headers.get(SIGNATURE_HEADER)
    owner: Account | None = None
    cache: TokenCache = request.app.state.ingest_tokens
    design: str | None = None
    if credentials is not None or signature is None:
        record = await authenticate_ingest(store, credentials, now, cache=cache)
        owner = await account_for(store, account, record.account_id, cache=cache)
        if record.kind == DESIGN:
            design = record.name
            _check_design_request(request)
    body, complete = await _read_body(request)
    if owner is None:
        assert signature is not None
        if not complete:  # cannot verify a body we did not read: refuse, keep nothing
            metrics.refused.labels(reason="too_large").inc()
            return _too_large(None)
        owner = await _signed_account(store, account, signature, body, now)
    if not complete:
        metrics.refused.labels(reason="too_large").inc()
        problem = Problem("body", f"larger than {MAX_BODY_BYTES} bytes")
        refused = IngestRefused(413, f"body: {problem.message}", [problem])
        return _too_large(await quarantine(store, owner.id, refused, body, now=now))
    payload: bytes | object = body
    if design is not None:
        try:
            payload = decode(body)
        except IngestRefused as refused:  # not quarantined: design keys are public
            return _refused(refused)
        misuse = design_problem(payload, design)
        if misuse is not None:
            metrics.refused.labels(reason="403").inc()
            raise design_refused(misuse)
        _check_visitor_rate(request, design, payload)
    try:
        result = await ingest(store, owner, payload, now=now, group=_group(request, store))
    except IngestRefused as refused:
        metrics.refused.labels(reason=str(refused.status)).inc()
        return _refused(refused)
    metrics.ingested.inc(result.accepted)
    metrics.duplicates.inc(result.duplicates)
    return IngestAccepted(
        accepted=result.accepted, duplicates=result.duplicates, event_ids=result.event_ids
    )


@router.get(
    "/quarantine",
    response_model=QuarantinePage,
    summary="Inputs refused at ingestion, newest first, with the reasons",
    responses=ERROR_RESPONSES,
)
async def list_quarantine(
    account: AccountScope,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> QuarantinePage:
    items = await store.quarantine.list(account.id, limit=limit, before_id=before_id)
    return QuarantinePage(
        items=[
            QuarantinedItem(
                id=q.id,
                received_at=q.received_at,
                source=q.source,
                reason=q.reason,
                body=q.body,
                body_size=q.body_size,
                truncated=q.truncated,
            )
            for q in items
        ],
        next_before_id=items[-1].id if len(items) == limit else None,
    )


def _check_design_request(request: Request) -> None:
    """A design key's request: an allowed ``Origin`` (403), then the per-IP rate (429)
    (the per-visitor rate is checked once the body is read: :func:`_check_visitor_rate`)."""
    guard: DesignGuard = request.app.state.design_guard
    own_origin = f"{request.url.scheme}://{request.url.netloc}"
    guard.check_origin(request.headers.get("origin"), own_origin)
    guard.check_rate(request.client.host if request.client else "unknown")


def _check_visitor_rate(request: Request, design: str, event: object) -> None:
    """A design key's event: at most the guard's rate per visitor of the design too (429),
    so one visitor cannot flood the form from many addresses."""
    guard: DesignGuard = request.app.state.design_guard
    visitor = event.get("visitor_id") if isinstance(event, dict) else None
    guard.check_rate(f"visitor {design} {visitor}")


def _group(request: Request, store: Store) -> GroupCommit:
    """The app's group commit of ``store`` (made on first use)."""
    group: GroupCommit | None = getattr(request.app.state, "ingest_group", None)
    if group is None or group.store is not store:
        group = request.app.state.ingest_group = GroupCommit(store)
    return group


async def _read_body(request: Request) -> tuple[bytes, bool]:
    """The body, counted while streaming: ``(bytes read, complete)``; stops past the limit."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            chunks.append(chunk[: max(0, MAX_BODY_BYTES - (size - len(chunk)))])
            return b"".join(chunks), False
        chunks.append(chunk)
    return b"".join(chunks), True


async def _signed_account(
    store: Store, slug: str, signature: str, body: bytes, now: datetime
) -> Account:
    """The account whose ingest token signed ``body``; 401 otherwise (an unknown account
    gets the same answer as a bad signature). A signature is accepted once."""
    account = await store.accounts.by_slug(slug)
    keys = [] if account is None else await account_service.signing_keys(store, account.id)
    check = account_service.check_signature(signature, body, keys, now=now)
    if account is None or check.problem is not None:
        raise unauthorized(check.problem or f"{SIGNATURE_HEADER} does not match the body")
    if not await store.signatures.remember(account.id, check.signature, now=now):
        raise unauthorized(f"{SIGNATURE_HEADER} was already used (replay refused)")
    return account


def _refused(refused: IngestRefused) -> JSONResponse:
    body = IngestRefusedBody(
        message=str(refused),
        field=refused.field,
        problems=[f"{p.field}: {p.message}" for p in refused.problems],
        errors=[
            EventProblem(index=p.index, field=p.field, message=p.message) for p in refused.problems
        ],
        quarantine_id=refused.quarantine_id,
    )
    return JSONResponse(body.model_dump(), status_code=refused.status)


def _too_large(refused: IngestRefused | None) -> JSONResponse:
    if refused is not None:
        return _refused(refused)
    message = f"body: larger than {MAX_BODY_BYTES} bytes"
    return JSONResponse(
        IngestRefusedBody(message=message, field="body", problems=[message]).model_dump(),
        status_code=413,
    )


__all__ = ["router"]
