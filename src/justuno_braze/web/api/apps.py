"""Apps: the catalog and the account's Braze connections (S1, S3).

- ``GET /api/v1/apps?q=braze`` — the catalog (any API token)
- ``GET|POST /api/v1/accounts/{account}/apps/braze/connections``
- ``GET|PATCH|DELETE …/connections/{id}``, ``POST …/{id}/refresh``,
  ``GET …/{id}/custom-attributes``

Connecting verifies the key against Braze; a refusal is 422 with ``reason``
(``invalid_key``, ``missing_permission``, ``unreachable``, ``timeout``, ``braze_error``)
and ``field``. Keys are never answered back: only ``key_hint`` (``****abcd``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from justuno_braze.services import apps as service
from justuno_braze.web.auth import (
    API,
    AccountScope,
    NowDep,
    SettingsDep,
    StoreDep,
    api_bearer,
    authenticate,
)
from justuno_braze.web.errors import ERROR_RESPONSES, ErrorBody, NotFound

router = APIRouter(prefix="/api/v1", tags=["apps"])
_CONNECTIONS = "/accounts/{account}/apps/braze/connections"
MAX_ID = 2**31 - 1
T = TypeVar("T")

ConnectionId = Annotated[int, Path(ge=1, le=MAX_ID, description="The connection's id")]


class InstanceOut(BaseModel):
    code: str
    rest_url: str
    dashboard_url: str
    label: str


class AppOut(BaseModel):
    id: str
    name: str
    description: str
    available: bool = Field(description="False: shown as coming soon")
    tags: list[str]
    needs: list[str] = Field(description="What connecting asks for")
    permissions: list[str] = Field(description="API key permissions the app needs")
    instances: list[InstanceOut] = Field(description="Braze instances (REST endpoint picker)")


class AppList(BaseModel):
    items: list[AppOut]


class ConnectIn(BaseModel):
    rest_endpoint: str = Field(
        max_length=2000, description="REST endpoint, e.g. https://rest.iad-01.braze.com"
    )
    api_key: str = Field(max_length=500, description="A Braze REST API key (never shown back)")
    name: str = Field(default="default", min_length=1, max_length=100)


class KeyIn(BaseModel):
    api_key: str = Field(max_length=500, description="The new Braze REST API key")


class ConnectionOut(BaseModel):
    id: int
    app: str
    name: str
    rest_endpoint: str
    instance: str | None = Field(description="Braze instance code (None: an allowed host)")
    key_hint: str = Field(description="The key, masked")
    status: str = Field(description="ok | failing")
    status_reason: str | None = Field(description="Why the connection is failing")
    custom_attributes_count: int | None
    custom_attributes_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, v: service.ConnectionView) -> ConnectionOut:
        return cls.model_validate(v, from_attributes=True)


class ConnectionList(BaseModel):
    items: list[ConnectionOut]


class CustomAttributesOut(BaseModel):
    connection_id: int
    fetched_at: datetime | None
    attributes: list[dict[str, Any]] = Field(description="As GET /custom_attributes lists them")


class ConnectErrorBody(ErrorBody):
    reason: str | None = Field(
        default=None, description="invalid_key | missing_permission | unreachable | timeout"
    )


CONNECT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    422: {"model": ConnectErrorBody, "description": "Bad input, or Braze refused (see reason)"},
}


async def _found(call: Awaitable[T]) -> T:
    try:
        return await call
    except service.UnknownConnection:
        raise NotFound("connection not found") from None


async def any_api_token(
    store: StoreDep,
    now: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(api_bearer)],
) -> None:
    await authenticate(store, credentials, API, now)


@router.get(
    "/apps",
    response_model=AppList,
    summary="The apps catalog, filtered by q (name or tag)",
    responses=ERROR_RESPONSES,
    dependencies=[Depends(any_api_token)],
)
async def list_apps(
    q: Annotated[str | None, Query(max_length=100, description="Search text")] = None,
) -> AppList:
    return AppList(
        items=[
            AppOut(
                id=a.id,
                name=a.name,
                description=a.description,
                available=a.available,
                tags=list(a.tags),
                needs=list(a.needs),
                permissions=list(a.permissions),
                instances=[InstanceOut(**i) for i in a.instances],
            )
            for a in service.catalog(q)
        ]
    )


@router.get(
    _CONNECTIONS,
    response_model=ConnectionList,
    summary="The account's Braze connections",
    responses=ERROR_RESPONSES,
)
async def list_connections(account: AccountScope, store: StoreDep) -> ConnectionList:
    views = await service.list_connections(store, account)
    return ConnectionList(items=[ConnectionOut.of(v) for v in views])


@router.post(
    _CONNECTIONS,
    response_model=ConnectionOut,
    status_code=201,
    summary="Connect Braze: the key is verified with GET /custom_attributes",
    responses=CONNECT_RESPONSES,
)
async def connect(
    body: ConnectIn, account: AccountScope, store: StoreDep, settings: SettingsDep, now: NowDep
) -> ConnectionOut:
    view = await service.connect_braze(
        store,
        settings,
        account,
        rest_endpoint=body.rest_endpoint,
        api_key=body.api_key,
        name=body.name,
        now=now,
    )
    return ConnectionOut.of(view)


@router.get(
    _CONNECTIONS + "/{connection_id}",
    response_model=ConnectionOut,
    summary="One connection (status and why it fails)",
    responses=ERROR_RESPONSES,
)
async def get_connection(
    connection_id: ConnectionId, account: AccountScope, store: StoreDep
) -> ConnectionOut:
    return ConnectionOut.of(await _found(service.get_connection(store, account, connection_id)))


@router.patch(
    _CONNECTIONS + "/{connection_id}",
    response_model=ConnectionOut,
    summary="Replace the API key (verified first; a failing connection resumes)",
    responses=CONNECT_RESPONSES,
)
async def update_connection(
    connection_id: ConnectionId,
    body: KeyIn,
    account: AccountScope,
    store: StoreDep,
    settings: SettingsDep,
    now: NowDep,
) -> ConnectionOut:
    view = await _found(
        service.update_key(store, settings, account, connection_id, api_key=body.api_key, now=now)
    )
    return ConnectionOut.of(view)


@router.delete(
    _CONNECTIONS + "/{connection_id}",
    status_code=204,
    summary="Disconnect (refused while jobs wait on it or an active workflow uses it)",
    responses=ERROR_RESPONSES,
)
async def delete_connection(
    connection_id: ConnectionId, account: AccountScope, store: StoreDep
) -> Response:
    await _found(service.disconnect(store, account, connection_id))
    return Response(status_code=204)


@router.post(
    _CONNECTIONS + "/{connection_id}/refresh",
    response_model=ConnectionOut,
    summary="Fetch Braze's custom attributes again",
    responses=CONNECT_RESPONSES,
)
async def refresh(
    connection_id: ConnectionId,
    account: AccountScope,
    store: StoreDep,
    settings: SettingsDep,
    now: NowDep,
) -> ConnectionOut:
    view = await _found(
        service.refresh_attributes(store, settings, account, connection_id, now=now)
    )
    return ConnectionOut.of(view)


@router.get(
    _CONNECTIONS + "/{connection_id}/custom-attributes",
    response_model=CustomAttributesOut,
    summary="The cached custom-attribute list of the connection",
    responses=ERROR_RESPONSES,
)
async def custom_attributes(
    connection_id: ConnectionId, account: AccountScope, store: StoreDep
) -> CustomAttributesOut:
    cached = await _found(service.custom_attributes(store, account, connection_id))
    return CustomAttributesOut(
        connection_id=cached.connection_id,
        fetched_at=cached.fetched_at,
        attributes=cached.attributes,
    )
