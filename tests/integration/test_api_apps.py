"""The Apps API over HTTP (in-process app, Braze sandbox on loopback): the catalog, connect
with every failure reason, key never answered back, refresh, disconnect, account isolation."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from justuno_braze.config import Settings
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.store import Store
from tests.integration.conftest import AccountFactory, account_factory

KEY = "sk-live-HTTP-DISTINCT-1a2b3c4d5e6f"
TRACK_ONLY = "track-only-key-77778888"
ATTRIBUTES = ({"name": "favorite_color", "data_type": "String"},)


@pytest.fixture
def braze() -> Iterator[str]:
    options = SandboxOptions(
        api_keys={KEY: None, TRACK_ONLY: frozenset({"users.track"})},
        custom_attributes=ATTRIBUTES,
    )
    with running_sandbox(options) as url:
        yield url


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def connections_url(slug: str) -> str:
    return f"/api/v1/accounts/{slug}/apps/braze/connections"


async def test_catalog_needs_a_token_and_filters(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    acme = await make_account("acme")
    assert (await client.get("/api/v1/apps?q=braze")).status_code == 401
    found = await client.get("/api/v1/apps", params={"q": "BRAZE"}, headers=acme.api_headers)
    assert found.status_code == 200
    (braze,) = found.json()["items"]
    assert braze["id"] == "braze" and braze["available"] is True
    assert set(braze["permissions"]) == {"users.track", "custom_attributes.get"}
    assert {"code": "EU-01", "rest_url": "https://rest.fra-01.braze.eu"}.items() <= braze[
        "instances"
    ][9].items()
    none = await client.get("/api/v1/apps", params={"q": "salesforce"}, headers=acme.api_headers)
    assert none.json() == {"items": []}
    # ingest tokens are not management tokens
    assert (await client.get("/api/v1/apps", headers=acme.ingest_headers)).status_code == 401


async def test_connect_reasons_and_masked_key(
    web_store: Store,
    web_settings: Settings,
    app_factory: Callable[..., FastAPI],
    make_account: AccountFactory,
    braze: str,
) -> None:
    closed = closed_port_url()
    slow_options = SandboxOptions(api_keys={KEY: None}, latency_ms=2000)
    acme = await make_account("acme")
    url = connections_url(acme.slug)
    with running_sandbox(slow_options) as slow:
        settings = dataclasses.replace(
            web_settings, allowed_braze_urls=(braze, closed, slow), braze_timeout_seconds=0.3
        )
        async with client_for(app_factory(web_store, settings)) as client:

            async def connect(endpoint: str, key: str) -> httpx.Response:
                body = {"rest_endpoint": endpoint, "api_key": key}
                return await client.post(url, json=body, headers=acme.api_headers)

            cases: list[tuple[str, str, str, str]] = [
                (braze, "not-a-valid-key-00", "api_key", "invalid_key"),
                (braze, TRACK_ONLY, "api_key", "missing_permission"),
                (closed, KEY, "rest_endpoint", "unreachable"),
                (slow, KEY, "rest_endpoint", "timeout"),
            ]
            for endpoint, key, field, reason in cases:
                answer = await connect(endpoint, key)
                assert answer.status_code == 422, answer.text
                body = answer.json()
                assert (body["field"], body["reason"]) == (field, reason), body
                assert body["message"] and key not in answer.text
            assert "custom_attributes.get" in (await connect(braze, TRACK_ONLY)).json()["message"]

            for endpoint in ("https://evil.example.com", "https://rest.iad-99.braze.com"):
                refused = await connect(endpoint, KEY)
                assert refused.status_code == 422
                assert refused.json()["field"] == "rest_endpoint"
                assert "reason" not in refused.json()
            assert (await client.get(url, headers=acme.api_headers)).json() == {"items": []}

            created = await connect(braze + "/", KEY)
            assert created.status_code == 201, created.text
            conn = created.json()
            assert conn["key_hint"] == "****" + KEY[-4:] and conn["status"] == "ok"
            assert conn["rest_endpoint"] == braze and conn["custom_attributes_count"] == 1
            one = f"{url}/{conn['id']}"
            answers = [
                created,
                await client.get(url, headers=acme.api_headers),
                await client.get(one, headers=acme.api_headers),
                await client.post(one + "/refresh", headers=acme.api_headers),
                await client.patch(one, json={"api_key": KEY}, headers=acme.api_headers),
            ]
            for answer in answers:
                assert answer.status_code == 200 or answer is created, answer.text
                assert KEY not in answer.text and "****" + KEY[-4:] in answer.text
            attrs = await client.get(one + "/custom-attributes", headers=acme.api_headers)
            assert [a["name"] for a in attrs.json()["attributes"]] == ["favorite_color"]

            bad = await client.patch(
                one, json={"api_key": "wrong-key-0000"}, headers=acme.api_headers
            )
            assert (bad.status_code, bad.json()["reason"]) == (422, "invalid_key")
            again = await connect(braze, KEY)  # the name "default" is taken
            assert (again.status_code, again.json()["field"]) == (422, "name")

            gone = await client.delete(one, headers=acme.api_headers)
            assert gone.status_code == 204
            assert (await client.get(one, headers=acme.api_headers)).status_code == 404


async def test_other_accounts_get_404_on_every_connection_endpoint(
    web_store: Store,
    web_settings: Settings,
    app_factory: Callable[..., FastAPI],
    make_account: AccountFactory,
    braze: str,
) -> None:
    acme, globex = await make_account("acme"), await make_account("globex")
    settings = dataclasses.replace(web_settings, allowed_braze_urls=(braze,))
    async with client_for(app_factory(web_store, settings)) as client:
        created = await client.post(
            connections_url("acme"),
            json={"rest_endpoint": braze, "api_key": KEY},
            headers=acme.api_headers,
        )
        cid = created.json()["id"]
        body: dict[str, Any] = {"rest_endpoint": braze, "api_key": KEY}
        for slug in ("acme", "globex"):  # globex's token on acme's slug, and on its own
            base = connections_url(slug)
            calls = [
                client.get(base, headers=globex.api_headers),
                client.post(base, json=body, headers=globex.api_headers),
                client.get(f"{base}/{cid}", headers=globex.api_headers),
                client.patch(f"{base}/{cid}", json={"api_key": KEY}, headers=globex.api_headers),
                client.delete(f"{base}/{cid}", headers=globex.api_headers),
                client.post(f"{base}/{cid}/refresh", headers=globex.api_headers),
                client.get(f"{base}/{cid}/custom-attributes", headers=globex.api_headers),
            ]
            for call in calls:
                answer = await call
                if slug == "acme":
                    assert answer.status_code == 404, answer.text
                    assert answer.json() == {"message": "account not found"}
                elif answer.request.method == "GET" and answer.request.url.path == base:
                    assert answer.json() == {"items": []}
                elif answer.request.method == "POST" and answer.request.url.path == base:
                    assert answer.status_code == 201  # globex's own, separate connection
                else:
                    assert answer.status_code == 404, answer.text
        mine = await client.get(connections_url("acme"), headers=acme.api_headers)
        assert [c["id"] for c in mine.json()["items"]] == [cid]


async def test_connect_on_both_databases(
    store: Store, web_settings: Settings, app_factory: Callable[..., FastAPI], braze: str
) -> None:
    acme = await account_factory(store)("acme")
    settings = dataclasses.replace(web_settings, allowed_braze_urls=(braze,))
    async with client_for(app_factory(store, settings)) as client:
        url = connections_url("acme")
        body = {"rest_endpoint": braze, "api_key": KEY, "name": "main"}
        created = await client.post(url, json=body, headers=acme.api_headers)
        assert created.status_code == 201, created.text
        listed = await client.get(url, headers=acme.api_headers)
        assert [(c["name"], c["key_hint"]) for c in listed.json()["items"]] == [
            ("main", "****" + KEY[-4:])
        ]
    assert await store.connections.api_key(created.json()["id"]) == KEY
