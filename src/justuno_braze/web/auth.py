"""Who is calling, and for which account: the dependencies every router uses.

- Management endpoints: ``Authorization: Bearer <api token>`` (token kind ``api``).
- Ingestion: the account's ingest token (kind ``ingest``) as a Bearer token, or an
  HMAC-SHA256 body signature (see :mod:`justuno_braze.web.api.ingest`); or a public
  design key (kind ``design``, named after the one design it is scoped to), printed in
  a store page's HTML: ingestion accepts it only for ONE ``form_submitted`` event of that
  design per request, only from an allowed ``Origin`` (``Settings.embed_origins``, the
  demo's URL, or same-origin), at most ``DESIGN_RATE`` requests per ``DESIGN_WINDOW``
  seconds per client IP and per visitor of the design (:class:`DesignGuard`; 403 / 429).

Every route under ``/api/v1/accounts/{account}/…`` depends on :func:`account_scope`: the
account is resolved by slug and must be the token's own; an unknown account and another
account's slug get the SAME 404 (existence is never revealed). A missing or invalid token
is 401 (checked first, so unauthenticated callers learn nothing about accounts).

Routers declare ``account: AccountScope`` (an ``Annotated`` dependency) and read the
store/settings/clock through ``StoreDep`` / ``SettingsDep`` / ``NowDep``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from justuno_braze.config import Settings
from justuno_braze.store import Account, Store, TokenRecord
from justuno_braze.store.tokens import API_KIND, DESIGN_KIND, INGEST_KIND

API = API_KIND
INGEST = INGEST_KIND
DESIGN = DESIGN_KIND
DESIGN_RATE = 10  # design-key requests per client IP per window
DESIGN_WINDOW = 60.0  # seconds
ACCOUNT_NOT_FOUND = "account not found"
UNAUTHORIZED = "missing or invalid API token (send 'Authorization: Bearer <token>')"

api_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="The account's management API token (kind 'api').",
)
ingest_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="IngestToken",
    description="The account's ingest token (kind 'ingest'); or sign the body with "
    "X-Justuno-Signature instead.",
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_now(request: Request) -> datetime:
    """The request's time, from the app's clock (tests inject one)."""
    clock: Clock = request.app.state.clock
    return clock()


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
AccountSlug = Annotated[
    str, Path(min_length=1, max_length=100, description="The account's slug, e.g. 'demo'")
]


def unauthorized(message: str = UNAUTHORIZED) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def account_not_found() -> HTTPException:
    return HTTPException(404, ACCOUNT_NOT_FOUND)


class TokenCache:
    """Recently authenticated tokens of the ingestion hot path, kept ``ttl`` seconds (by
    the token's sha256, never the token): a revoked ingest token works at most ``ttl``
    seconds longer. Accounts (never renamed) are remembered by slug."""

    def __init__(self, ttl: float = 5.0, limit: int = 10_000) -> None:
        self.ttl = ttl
        self.limit = limit
        self._tokens: dict[str, tuple[float, TokenRecord]] = {}
        self._accounts: dict[str, Account] = {}

    def token(self, plain: str) -> TokenRecord | None:
        found = self._tokens.get(_digest(plain))
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def remember_token(self, plain: str, record: TokenRecord) -> None:
        if len(self._tokens) >= self.limit:
            self._tokens.clear()
        self._tokens[_digest(plain)] = (time.monotonic(), record)

    def account(self, slug: str) -> Account | None:
        return self._accounts.get(slug)

    def remember_account(self, account: Account) -> None:
        if len(self._accounts) >= self.limit:
            self._accounts.clear()
        self._accounts[account.slug] = account


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


async def authenticate(
    store: Store,
    credentials: HTTPAuthorizationCredentials | None,
    kind: str,
    now: datetime,
    *,
    cache: TokenCache | None = None,
) -> TokenRecord:
    """The live token of ``kind`` in ``credentials``, or 401."""
    if credentials is None or not credentials.credentials:
        raise unauthorized()
    plain = credentials.credentials
    record = cache.token(plain) if cache is not None else None
    if record is None or record.kind != kind:
        record = await store.tokens.authenticate(plain, kind, now=now)
        if record is None:
            raise unauthorized()
        if cache is not None:
            cache.remember_token(plain, record)
    return record


async def authenticate_ingest(
    store: Store,
    credentials: HTTPAuthorizationCredentials | None,
    now: datetime,
    *,
    cache: TokenCache | None = None,
) -> TokenRecord:
    """The live ingest token in ``credentials``, else the live design key, else 401."""
    try:
        return await authenticate(store, credentials, INGEST, now, cache=cache)
    except HTTPException:
        if credentials is None or not credentials.credentials:
            raise
        return await authenticate(store, credentials, DESIGN, now, cache=cache)


class DesignGuard:
    """What a public design key may do beyond its design: come from an allowed origin
    (the served URL's, or the request's own — same-origin) and at most ``rate`` requests
    per ``window`` seconds per client IP (kept in memory, per process)."""

    def __init__(
        self,
        origins: tuple[str, ...] = (),
        *,
        rate: int = DESIGN_RATE,
        window: float = DESIGN_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        limit: int = 10_000,
    ) -> None:
        self.origins = tuple(o.rstrip("/").lower() for o in origins)
        self.rate = rate
        self.window = window
        self.clock = clock
        self.limit = limit
        self._seen: dict[str, deque[float]] = {}

    def check_origin(self, origin: str | None, own_origin: str) -> None:
        """403 unless ``origin`` is allowed (a design key is for browsers on our page)."""
        allowed = (*self.origins, own_origin.rstrip("/").lower())
        if origin is None or origin.rstrip("/").lower() not in allowed:
            raise HTTPException(
                403, f"a design key is accepted only from its page's origin, not {origin!r}"
            )

    def check_rate(self, client: str) -> None:
        """Count one request of ``client``; 429 with Retry-After past the rate."""
        now = self.clock()
        if len(self._seen) >= self.limit and client not in self._seen:
            self._seen.clear()
        seen = self._seen.setdefault(client, deque())
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) >= self.rate:
            wait = max(1, math.ceil(self.window - (now - seen[0])))
            raise HTTPException(
                429,
                f"at most {self.rate} submissions per {self.window:g} seconds; retry later",
                headers={"Retry-After": str(wait)},
            )
        seen.append(now)


def design_refused(reason: str) -> HTTPException:
    return HTTPException(403, reason)


async def account_for(
    store: Store, slug: str, account_id: int, *, cache: TokenCache | None = None
) -> Account:
    """The account ``slug`` when it is ``account_id``'s; else 404 (same as unknown)."""
    account = cache.account(slug) if cache is not None else None
    if account is None:
        account = await store.accounts.by_slug(slug)
        if account is not None and cache is not None:
            cache.remember_account(account)
    if account is None or account.id != account_id:
        raise account_not_found()
    return account


async def account_scope(
    account: AccountSlug,
    store: StoreDep,
    now: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(api_bearer)],
) -> Account:
    """The caller's account for a management route: API token, then slug must match."""
    record = await authenticate(store, credentials, API, now)
    return await account_for(store, account, record.account_id)


AccountScope = Annotated[Account, Depends(account_scope)]
