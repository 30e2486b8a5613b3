"""Accounts are isolated: EVERY route under ``/api/v1/accounts/{account}/…`` (enumerated
from the app, so a new endpoint is covered or fails this test) is called by account B

1. with B's tokens on A's slug — the answer is the same 404 as an unknown account (or
   401 when the token is of the wrong kind);
2. with B's API token on B's slug but A's object ids (path parameters, filters, bodies) —
   404 where the route names an object, and in every answer none of A's data;

and afterwards every row of A, in every table, is unchanged. A positive control calls
each read route with B's own ids and gets 200, so the 404s above are about ownership,
not about badly formed requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from justuno_braze.store import Store
from justuno_braze.store.session import reading
from justuno_braze.store.tables import metadata
from justuno_braze.web.embed import EMBED_CONFIG_PATH
from tests.integration.conftest import (
    D3,
    LEAD_CAPTURE,
    ApiWorld,
    LeadWorld,
    WebAccount,
    account_factory,
    lead_event,
    lead_workflow,
    seed_leads,
)

PREFIX = "/api/v1/accounts/{account}"
OBJECT_PARAMS = ("connection_id", "workflow_id", "version", "visitor_id")
# A's data as it would show in an answer (visitor ids, contacts, names, designs)
A_MARKERS = (
    "jv_ana",
    "jv_bob",
    "jv_cy",
    "jv_dee",
    "ana@example.com",
    "Ana@Example.com",
    "cy@example.com",
    "Cy@Example.com",
    "+16502530000",
    "Lead capture",
    "VIP by alias",
    "spring-popup",
    "vip-popup",
)
B_WORKFLOW = "Bravo capture"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the template, e.g. /api/v1/accounts/{account}/profiles/{visitor_id}

    @property
    def tail(self) -> str:
        return self.path.removeprefix(PREFIX)

    @property
    def object_params(self) -> list[str]:
        return [p for p in OBJECT_PARAMS if "{" + p + "}" in self.path]


def account_routes(app: FastAPI) -> list[Route]:
    """Every (method, path) under the account prefix, from the app itself, but the public
    embed config (public by design; tests/integration/test_embed.py checks that it says
    the same for an unknown account as for an unknown design)."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: Iterator[Any] = iter_route_contexts(app.routes)
    except ImportError:  # FastAPI without lazily included routers
        routes = (r for r in app.routes if isinstance(r, APIRoute))
    found = {
        Route(method, r.path)
        for r in routes
        if r.path is not None and r.path.startswith(PREFIX + "/") and r.path != EMBED_CONFIG_PATH
        for method in (r.methods or ())
        if method != "HEAD"
    }
    return sorted(found, key=lambda r: (r.path, r.method))


@dataclass
class Ids:
    """One account's object ids, as path parameters and filters."""

    connection_id: int
    workflow_id: int
    version: int
    visitor_id: str
    email: str
    dead_letter: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def path_params(self) -> dict[str, str]:
        return {
            "connection_id": str(self.connection_id),
            "workflow_id": str(self.workflow_id),
            "version": str(self.version),
            "visitor_id": self.visitor_id,
        }


def query_for(route: Route, ids: Ids) -> dict[str, str]:
    """Filters that name the account's objects, where the route takes them."""
    known = {
        "/profiles": {"email": ids.email, "visitor_id": ids.visitor_id},
        "/deliveries": {"workflow_id": str(ids.workflow_id)},
        "/analytics/daily": {"workflow_id": str(ids.workflow_id), "since": "2026-11-01"},
        "/analytics/summary": {"since": "2026-11-01"},
        "/consent": {"since": "2026-11-01"},
        "/consent.csv": {"since": "2026-11-01"},
    }
    return known.get(route.tail, {}) if route.method == "GET" else {}


def body_for(route: Route, ids: Ids, sandbox_url: str) -> Any:
    """A valid body for each write route (naming ``ids``' objects where it can).
    A write route missing here fails the test: add it."""
    definition = lead_workflow("Isolation probe")
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/events"): lead_event("jv_probe", D3, "page_view"),
        ("POST", "/apps/braze/connections"): {
            "rest_endpoint": sandbox_url,
            "api_key": "sandbox-key",
            "name": "isolation-probe",
        },
        ("PATCH", "/apps/braze/connections/{connection_id}"): {"api_key": "sandbox-key"},
        ("POST", "/apps/braze/connections/{connection_id}/refresh"): None,
        ("DELETE", "/apps/braze/connections/{connection_id}"): None,
        ("POST", "/workflows"): definition,
        ("POST", "/workflows/import"): {"text": json.dumps(lead_workflow("Imported probe"))},
        ("PUT", "/workflows/{workflow_id}"): definition,
        ("DELETE", "/workflows/{workflow_id}"): None,
        ("POST", "/workflows/{workflow_id}/preview"): {"visitor_id": ids.visitor_id},
        ("POST", "/workflows/{workflow_id}/publish"): {"author": "mallory", "note": "probe"},
        ("POST", "/workflows/{workflow_id}/pause"): None,
        ("POST", "/workflows/{workflow_id}/resume"): None,
        ("POST", "/workflows/{workflow_id}/versions/{version}/restore"): None,
        ("POST", "/deliveries/replay"): (
            {"ids": [ids.dead_letter]} if ids.dead_letter else {"workflow_id": "1"}
        ),
    }
    key = (route.method, route.tail)
    if route.method != "GET" and key not in bodies:
        pytest.fail(f"{route.method} {route.path}: the isolation test has no body for it")
    return bodies.get(key)


async def call(
    client: httpx.AsyncClient,
    route: Route,
    slug: str,
    ids: Ids,
    headers: dict[str, str],
    sandbox_url: str,
) -> tuple[httpx.Response, str]:
    """The route called on ``slug`` with ``ids``; returns the answer and what was sent."""
    url = route.path.replace("{account}", slug)
    for name, value in ids.path_params().items():
        url = url.replace("{" + name + "}", value)
    assert "{" not in url, f"{route.path}: unknown path parameter (teach the test)"
    body = body_for(route, ids, sandbox_url)
    params = query_for(route, ids)
    kwargs: dict[str, Any] = {"params": params, "headers": headers}
    if body is not None:
        kwargs["json"] = body
    response = await client.request(route.method, url, **kwargs)
    sent = url + json.dumps(params) + json.dumps(body)
    return response, sent


async def snapshot(store: Store, account_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that belongs to the account, table by table."""
    t = metadata.tables
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with reading(store.engine) as conn:
        connections = select(t["connections"].c.id).where(
            t["connections"].c.account_id == account_id
        )
        workflows = select(t["workflows"].c.id).where(t["workflows"].c.account_id == account_id)
        for name, table in sorted(t.items()):
            if name == "accounts":
                where = table.c.id == account_id
            elif "account_id" in table.c:
                where = table.c.account_id == account_id
            elif "connection_id" in table.c:
                where = table.c.connection_id.in_(connections)
            elif name == "workflow_versions":
                where = table.c.workflow_id.in_(workflows)
            else:
                continue
            order = [c for c in table.primary_key.columns] or list(table.c)
            rows = (await conn.execute(select(table).where(where).order_by(*order))).all()
            out[name] = [tuple(r) for r in rows]
    return out


def answer(response: httpx.Response) -> Any:
    """The JSON body, or the text when it is not JSON (a CSV, say)."""
    try:
        return response.json()
    except ValueError:
        return response.text


def leaked(response: httpx.Response, sent: str) -> list[str]:
    """A's data in the answer (what the caller sent itself does not count)."""
    return [m for m in A_MARKERS if m in response.text and m not in sent]


@pytest.fixture
async def two_accounts(
    api_world: ApiWorld, grouped_sandbox_url: str, app_factory: Callable[..., FastAPI]
) -> tuple[ApiWorld, WebAccount, Ids, Ids]:
    """A (``acme``, the known dataset incl. dead letters) and B (``bravo``: its own
    connection, workflow, profile, event, consent entries and a delivery)."""
    await seed_leads(api_world)
    refused = await api_world.client.post(  # A's quarantine holds a refused batch
        api_world.url("/events"),
        json={"events": [lead_event("jv_ana", D3), {"visitor_id": "jv_ana"}]},
        headers=api_world.acme.ingest_headers,
    )
    assert refused.status_code == 422, refused.text
    store = api_world.world.store
    bravo = await account_factory(store)("bravo")
    b_world = await LeadWorld.connect(
        store, api_world.world.settings, bravo.account, grouped_sandbox_url
    )
    b_workflow = await b_world.publish(lead_workflow(B_WORKFLOW))
    api_world.now[0] = D3 + timedelta(hours=1)
    r = await api_world.client.post(
        api_world.url("/events", "bravo"),
        json=lead_event(
            "jv_zed", D3, design="bravo-form", email="zed@example.net", sms="+16502530001"
        ),
        headers=bravo.ingest_headers,
    )
    assert r.status_code == 202, r.text
    await b_world.deliver(at=D3 + timedelta(hours=2))
    api_world.now[0] = D3 + timedelta(hours=3)

    a = api_world.world
    dead = (await api_world.get("/deliveries", state="dead")).json()["items"]
    a_ids = Ids(
        connection_id=a.connection_id,
        workflow_id=a.workflow_ids[LEAD_CAPTURE],
        version=1,
        visitor_id="jv_cy",
        email="cy@example.com",
        dead_letter=dead[0]["id"],
    )
    b_ids = Ids(
        connection_id=b_world.connection_id,
        workflow_id=b_workflow,
        version=1,
        visitor_id="jv_zed",
        email="zed@example.net",
    )
    return api_world, bravo, a_ids, b_ids


async def test_no_route_lets_account_b_see_or_change_account_a(
    two_accounts: tuple[ApiWorld, WebAccount, Ids, Ids], grouped_sandbox_url: str
) -> None:
    api, bravo, a_ids, b_ids = two_accounts
    client = api.client
    store = api.world.store
    routes = account_routes(api.app)
    # the routes of every area are there (a router that failed to load would shrink this)
    tails = {r.tail for r in routes}
    for expected in (
        "/events",
        "/apps/braze/connections",
        "/workflows",
        "/profiles",
        "/consent.csv",
        "/analytics/summary",
        "/deliveries/replay",
    ):
        assert expected in tails, f"{expected} is not served"
    before = await snapshot(store, api.acme.account.id)
    for table in ("outbox", "consent_ledger", "workflow_versions", "quarantine", "events"):
        assert before[table], f"A has no {table} rows: the test would prove nothing"
    sandbox = grouped_sandbox_url
    unknown = {}
    for token_kind, headers in (("api", bravo.api_headers), ("ingest", bravo.ingest_headers)):
        probe = Route("GET", PREFIX + "/profiles")
        if token_kind == "ingest":
            probe = Route("POST", PREFIX + "/events")
        r, _ = await call(client, probe, "no-such-account", b_ids, headers, sandbox)
        unknown[token_kind] = (r.status_code, answer(r))
    assert unknown["api"][0] == unknown["ingest"][0] == 404

    failures: list[str] = []
    for route in routes:
        is_ingest = route.tail == "/events"
        # 1. B's tokens on A's slug: the unknown-account answer, or 401 for the wrong kind
        for token_kind, headers in (("api", bravo.api_headers), ("ingest", bravo.ingest_headers)):
            r, sent = await call(client, route, api.acme.slug, a_ids, headers, sandbox)
            right_kind = (token_kind == "ingest") == is_ingest
            if right_kind and (r.status_code, answer(r)) != unknown[token_kind]:
                failures.append(f"{route} B {token_kind} token on A: {r.status_code} {r.text}")
            if not right_kind and r.status_code not in (401, 403):
                failures.append(f"{route} B {token_kind} token (wrong kind) on A: {r.status_code}")
            if leaked(r, sent):
                failures.append(f"{route} B {token_kind} token on A leaked {leaked(r, sent)}")
        # 2. B's token on B's slug with A's ids
        headers = bravo.ingest_headers if is_ingest else bravo.api_headers
        r, sent = await call(client, route, bravo.slug, a_ids, headers, sandbox)
        if route.object_params and r.status_code != 404:
            failures.append(f"{route} on B with A's ids: {r.status_code} {r.text[:300]}")
        if r.status_code >= 500:
            failures.append(f"{route} on B with A's ids: server error {r.status_code}")
        if leaked(r, sent):
            failures.append(f"{route} on B with A's ids leaked {leaked(r, sent)}: {r.text[:300]}")
    assert not failures, "\n".join(failures)

    # positive control: B's own objects answer (so the 404s above are about ownership)
    for route in routes:
        if route.method == "GET" and route.object_params:
            r, _ = await call(client, route, bravo.slug, b_ids, bravo.api_headers, sandbox)
            assert r.status_code == 200, f"{route} with B's own ids: {r.status_code} {r.text}"
            assert not leaked(r, ""), f"{route}: B's own answer shows A's data"
    b_profile = await client.get(api.url("/profiles/jv_zed", "bravo"), headers=bravo.api_headers)
    assert b_profile.json()["deliveries"][0]["state"] == "delivered"

    after = await snapshot(store, api.acme.account.id)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"A's rows changed in: {changed}"
    # and A still sees all of its own data
    a_dead = await api.get("/deliveries", state="dead")
    assert [d["id"] for d in a_dead.json()["items"]] == [a_ids.dead_letter]


async def test_without_a_token_nothing_is_answered(
    api_world: ApiWorld, grouped_sandbox_url: str
) -> None:
    await seed_leads(api_world)
    ids = Ids(api_world.world.connection_id, 1, 1, "jv_cy", "cy@example.com", 3)
    for route in account_routes(api_world.app):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            r, sent = await call(api_world.client, route, "acme", ids, headers, grouped_sandbox_url)
            assert r.status_code == 401, f"{route}: {r.status_code} {r.text}"
            assert not leaked(r, sent)
