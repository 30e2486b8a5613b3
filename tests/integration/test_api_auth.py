"""Tokens and account scope: 401 without a valid token of the right kind, 404 (the unknown
account's answer) for another account's slug, revoked tokens refused."""

from __future__ import annotations

import httpx
import pytest

from justuno_braze.store import Store
from justuno_braze.web.embed import EMBED_CONFIG_PATH
from tests.integration.conftest import AccountFactory


def quarantine_url(slug: str) -> str:
    return f"/api/v1/accounts/{slug}/quarantine"


async def test_the_api_token_reads_its_own_account(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    acme = await make_account("acme")
    response = await client.get(quarantine_url("acme"), headers=acme.api_headers)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_before_id": None}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Token abc", "bearer  "])
async def test_no_valid_token_is_401(
    client: httpx.AsyncClient, make_account: AccountFactory, header: str | None
) -> None:
    await make_account("acme")
    headers = {} if header is None else {"Authorization": header}
    response = await client.get(quarantine_url("acme"), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "token" in response.json()["message"]


async def test_an_ingest_token_is_not_a_management_token(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    acme = await make_account("acme")
    response = await client.get(quarantine_url("acme"), headers=acme.ingest_headers)
    assert response.status_code == 401


async def test_another_account_looks_like_no_account(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    globex = await make_account("globex")
    await web_store.quarantine.add(
        acme.account.id,
        source="api",
        reason=[{"field": "body", "message": "x"}],
        body="secret of acme",
        received_at=acme.account.created_at,
    )
    other = await client.get(quarantine_url("acme"), headers=globex.api_headers)
    unknown = await client.get(quarantine_url("no-such-account"), headers=globex.api_headers)
    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json() == {"message": "account not found"}
    own = await client.get(quarantine_url("globex"), headers=globex.api_headers)
    assert own.json()["items"] == []


async def test_a_revoked_token_is_refused(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    [api] = await web_store.tokens.list(acme.account.id, kind="api")
    assert await web_store.tokens.revoke(acme.account.id, api.id)
    response = await client.get(quarantine_url("acme"), headers=acme.api_headers)
    assert response.status_code == 401


async def test_every_account_route_requires_a_token(client: httpx.AsyncClient) -> None:
    """Every route under /api/v1/accounts/{account} answers 401 without credentials
    (whatever areas are installed when this runs), but the public embed config."""
    spec = (await client.get("/api/v1/openapi.json")).json()
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/accounts/{account}") or path == EMBED_CONFIG_PATH:
            continue
        url = path.replace("{account}", "acme")
        for method in operations:
            concrete = url
            for name in ("workflow_id", "version", "visitor_id", "delivery_id", "connection_id"):
                concrete = concrete.replace("{" + name + "}", "1")
            concrete = concrete.replace("{", "").replace("}", "")
            response = await client.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            checked += 1
    assert checked >= 2
