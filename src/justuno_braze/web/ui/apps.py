"""The Apps pages: the searchable catalog (``/apps``) and the Braze app (``/apps/braze``):
connect with an API key and a REST endpoint, then see the connection — status, masked
key, Braze's custom attributes — refresh them, replace the key, or disconnect.

Every action goes through :mod:`justuno_braze.services.apps`, the same calls the REST
API makes; the routes only turn its refusals into sentences next to the right field.
The key the user typed is never rendered back (the form is re-shown without it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from justuno_braze.braze.instances import check_braze_url
from justuno_braze.config import Settings
from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.services import apps as service
from justuno_braze.web.auth import NowDep, SettingsDep, StoreDep
from justuno_braze.web.ui.apps_views import (
    ago,
    app_cards,
    attribute_rows,
    chosen_endpoint,
    connected_message,
    endpoint_label,
    endpoint_options,
    key_field,
    refusal_message,
)
from justuno_braze.web.ui.not_found import found, path_id
from justuno_braze.web.ui.render import page, see_other
from justuno_braze.web.ui.session import CsrfChecked, SignedIn, UiSession

router = APIRouter(include_in_schema=False)

BRAZE_PAGE = "/apps/braze"
MAX_KEY = 500  # as the REST API's ConnectIn
MAX_URL = 2000
MAX_NAME = 100

FormText = Annotated[str, Form()]


# --------------------------------------------------------------------------- Braze access


@dataclass(frozen=True, slots=True)
class BrazeAccess:
    """The settings the service checks URLs with, plus the hosts this server itself
    serves in-process (the demo's embedded sandbox), as the worker sees them."""

    settings: Settings
    transports: dict[str, httpx.AsyncBaseTransport]

    @classmethod
    def of(cls, request: Request, settings: SettingsDep) -> BrazeAccess:
        """The request's access (a dependency: ``access: Access`` in a route)."""
        extra: tuple[str, ...] = request.app.state.demo_allowed_urls
        allowed = (*settings.allowed_braze_urls, *extra)
        return cls(
            dataclasses.replace(settings, allowed_braze_urls=allowed),
            dict(request.app.state.braze_transports),
        )

    def transport(self, base_url: str) -> httpx.AsyncBaseTransport | None:
        return self.transports.get(base_url.rstrip("/"))


async def owned_connection(
    connection_id: str, ui: CsrfChecked, store: StoreDep
) -> service.ConnectionView:
    """The path's connection of the signed-in account (else the 404 page); only the
    connection's POST routes name one, so the CSRF check comes first."""
    return await found(service.get_connection(store, ui.account, path_id(connection_id)))


Access = Annotated[BrazeAccess, Depends(BrazeAccess.of)]
OwnedConnection = Annotated[service.ConnectionView, Depends(owned_connection)]


# --------------------------------------------------------------------------- catalog


@router.get("/apps", response_class=HTMLResponse)
async def catalog(
    request: Request,
    ui: SignedIn,
    store: StoreDep,
    q: Annotated[str, Query()] = "",
) -> HTMLResponse:
    q = q[:MAX_NAME]
    connections = await service.list_connections(store, ui.account)
    cards = app_cards(service.catalog(q), connections)
    return page(request, "apps/catalog.html", ui, q=q, cards=cards)


# --------------------------------------------------------------------------- Braze page


async def _braze_page(
    request: Request,
    ui: UiSession,
    store: StoreDep,
    access: BrazeAccess,
    now: NowDep,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    key_errors: dict[int, str] | None = None,
) -> HTMLResponse:
    """The connect form (always offered: a second workspace gets its own name) and every
    connection of the account with its attributes. ``form`` is what the user typed
    (never the key); ``key_errors`` an error per connection's Replace key form."""
    views = await service.list_connections(store, ui.account)
    panels = []
    for view in views:
        cached = await service.custom_attributes(store, ui.account, view.id)
        panels.append(
            {
                "view": view,
                "endpoint": endpoint_label(view),
                "status_ago": ago(view.status_since, now),
                "refreshed_at": cached.fetched_at,
                "refreshed_ago": ago(cached.fetched_at, now),
                "attributes": attribute_rows(cached.attributes),
                "key_field": key_field(view.id),
                "key_error": (key_errors or {}).get(view.id),
            }
        )
    (braze,) = service.catalog(service.BRAZE)
    typed = form or {}
    return page(
        request,
        "apps/braze.html",
        ui,
        status_code=status_code,
        app=braze,
        panels=panels,
        errors=errors or {},
        form={
            "instance": typed.get("instance", ""),
            "other_url": typed.get("other_url", ""),
            "name": typed.get("name", "" if views else "default"),
        },
        endpoints=endpoint_options(access.settings.allowed_braze_urls),
    )


@router.get(BRAZE_PAGE, response_class=HTMLResponse)
async def braze(
    request: Request, ui: SignedIn, store: StoreDep, access: Access, now: NowDep
) -> HTMLResponse:
    return await _braze_page(request, ui, store, access, now)


def _checked_endpoint(
    access: BrazeAccess, instance: str, other_url: str, errors: dict[str, str]
) -> str | None:
    """The picked or typed REST endpoint through the URL guard, or ``None`` with the
    problem put in ``errors`` under the field the user used."""
    field = "instance"
    try:
        endpoint, field = chosen_endpoint(instance, other_url)
        return check_braze_url(endpoint, access.settings.allowed_braze_urls)
    except InputError as exc:
        errors[exc.field if exc.field in ("instance", "other_url") else field] = refusal_message(
            exc
        )
        return None


@router.post(BRAZE_PAGE + "/connect", response_model=None)
async def connect(
    request: Request,
    ui: CsrfChecked,
    store: StoreDep,
    access: Access,
    now: NowDep,
    api_key: FormText = "",
    instance: FormText = "",
    other_url: FormText = "",
    name: FormText = "default",
) -> HTMLResponse | RedirectResponse:
    """Connect after checking what can be checked here (every problem at once); then
    Braze verifies the key, and a refusal is said next to the field it concerns."""
    typed = {"instance": instance[:MAX_URL], "other_url": other_url[:MAX_URL], "name": name}
    errors: dict[str, str] = {}
    if not api_key.strip():
        errors["api_key"] = "Paste your Braze REST API key"
    elif len(api_key) > MAX_KEY:
        errors["api_key"] = f"A Braze key is shorter than {MAX_KEY} characters"
    if len(name) > MAX_NAME:
        errors["name"] = f"Use at most {MAX_NAME} characters"
    base_url = _checked_endpoint(access, instance, other_url, errors)
    if base_url is not None and not errors:
        try:
            view = await service.connect_braze(
                store,
                access.settings,
                ui.account,
                rest_endpoint=base_url,
                api_key=api_key,
                name=name,
                now=now,
                transport=access.transport(base_url),
            )
        except InputError as exc:
            field = exc.field or "api_key"
            if field == "rest_endpoint":
                field = "other_url" if other_url.strip() else "instance"
            errors[field] = refusal_message(exc, base_url)
        else:
            return see_other(BRAZE_PAGE, notice=connected_message(view))
    return await _braze_page(
        request, ui, store, access, now, status_code=400, errors=errors, form=typed
    )


@router.post(BRAZE_PAGE + "/{connection_id}/refresh")
async def refresh(
    connection: OwnedConnection, ui: CsrfChecked, store: StoreDep, access: Access, now: NowDep
) -> RedirectResponse:
    try:
        view = await service.refresh_attributes(
            store,
            access.settings,
            ui.account,
            connection.id,
            now=now,
            transport=access.transport(connection.rest_endpoint),
        )
    except InputError as exc:  # Braze refused, or the server no longer allows the URL
        said = refusal_message(exc, connection.rest_endpoint)
        return see_other(BRAZE_PAGE, notice=f"Could not refresh the custom attributes. {said}")
    return see_other(BRAZE_PAGE, notice=connected_message(view, "Refreshed"))


@router.post(BRAZE_PAGE + "/{connection_id}/key", response_model=None)
async def replace_key(
    request: Request,
    connection: OwnedConnection,
    ui: CsrfChecked,
    store: StoreDep,
    access: Access,
    now: NowDep,
) -> HTMLResponse | RedirectResponse:
    """The key comes in ``new_key_<id>``: one field per connection's form, so each
    label on the page points at its own input."""
    api_key = (await request.form()).get(key_field(connection.id))
    try:
        if not isinstance(api_key, str) or len(api_key) > MAX_KEY:
            raise InputError(f"Paste the key alone (at most {MAX_KEY} characters)", field="api_key")
        view = await service.update_key(
            store,
            access.settings,
            ui.account,
            connection.id,
            api_key=api_key,
            now=now,
            transport=access.transport(connection.rest_endpoint),
        )
    except InputError as exc:
        said = refusal_message(exc, connection.rest_endpoint)
        return await _braze_page(
            request, ui, store, access, now, status_code=400, key_errors={connection.id: said}
        )
    return see_other(BRAZE_PAGE, notice=connected_message(view, "New key saved for"))


@router.post(BRAZE_PAGE + "/{connection_id}/disconnect")
async def disconnect(
    connection: OwnedConnection, ui: CsrfChecked, store: StoreDep
) -> RedirectResponse:
    try:
        await service.disconnect(store, ui.account, connection.id)
    except InputError as exc:
        return see_other(BRAZE_PAGE, notice=f"Not disconnected: {refusal_message(exc)}")
    except WorkflowError as exc:
        return see_other(BRAZE_PAGE, notice="Not disconnected: " + "; ".join(exc.problems))
    return see_other(BRAZE_PAGE, notice=f"Disconnected from Braze {endpoint_label(connection)}.")
