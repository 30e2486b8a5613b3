"""Ingestion authenticated by an HMAC-SHA256 body signature: valid, bad, stale, replayed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from fastapi import FastAPI

from justuno_braze.services.accounts import SIGNATURE_HEADER, sign
from justuno_braze.store import Store
from tests.integration.conftest import AccountFactory, WebAccount

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
EVENT = {"event_id": "signed-1", "type": "page_view", "visitor_id": "v-1"}


@pytest.fixture
async def signed(
    web_store: Store, make_account: AccountFactory, app_factory: Callable[..., FastAPI]
) -> tuple[httpx.AsyncClient, WebAccount]:
    """A client on an app whose clock is ``NOW``, and account ``acme``."""
    acme = await make_account("acme")
    app = app_factory(web_store, clock=lambda: NOW)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return client, acme


def body_of(event: dict[str, object]) -> bytes:
    return orjson.dumps(event)


async def post_signed(
    client: httpx.AsyncClient, slug: str, body: bytes, signature: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/accounts/{slug}/events",
        content=body,
        headers={SIGNATURE_HEADER: signature, "Content-Type": "application/json"},
    )


async def test_a_valid_signature_is_accepted(
    signed: tuple[httpx.AsyncClient, WebAccount], web_store: Store
) -> None:
    client, acme = signed
    body = body_of(EVENT)
    response = await post_signed(
        client, "acme", body, sign(acme.ingest_token, body, int(NOW.timestamp()))
    )
    assert response.status_code == 202, response.text
    assert await web_store.events.get(acme.account.id, "signed-1") is not None


async def test_a_replayed_signature_is_refused(
    signed: tuple[httpx.AsyncClient, WebAccount], web_store: Store
) -> None:
    client, acme = signed
    body = body_of(EVENT)
    signature = sign(acme.ingest_token, body, int(NOW.timestamp()))
    assert (await post_signed(client, "acme", body, signature)).status_code == 202
    replay = await post_signed(client, "acme", body, signature)
    assert replay.status_code == 401
    assert "already used" in replay.json()["message"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("other body", "does not match"),
        ("wrong token", "does not match"),
        ("stale", "minutes from the server's time"),
        ("future", "minutes from the server's time"),
        ("garbled", "must be 't=<unix seconds>,v1=<hex>'"),
    ],
)
async def test_bad_signatures_are_401_and_nothing_is_kept(
    signed: tuple[httpx.AsyncClient, WebAccount], web_store: Store, case: str, expected: str
) -> None:
    client, acme = signed
    body = body_of(EVENT)
    t = int(NOW.timestamp())
    signature = {
        "other body": sign(acme.ingest_token, body_of({**EVENT, "visitor_id": "v-2"}), t),
        "wrong token": sign("not-the-ingest-token", body, t),
        "stale": sign(acme.ingest_token, body, t - int(timedelta(minutes=6).total_seconds())),
        "future": sign(acme.ingest_token, body, t + int(timedelta(minutes=6).total_seconds())),
        "garbled": "v1=abc",
    }[case]
    response = await post_signed(client, "acme", body, signature)
    assert response.status_code == 401
    assert expected in response.json()["message"]
    assert await web_store.events.get(acme.account.id, "signed-1") is None
    assert await web_store.quarantine.list(acme.account.id) == []


async def test_a_signature_within_the_tolerance_is_accepted(
    signed: tuple[httpx.AsyncClient, WebAccount],
) -> None:
    client, acme = signed
    body = body_of(EVENT)
    t = int(NOW.timestamp()) - 240
    assert (
        await post_signed(client, "acme", body, sign(acme.ingest_token, body, t))
    ).status_code == 202


async def test_another_accounts_signature_and_unknown_accounts_are_401(
    signed: tuple[httpx.AsyncClient, WebAccount], make_account: AccountFactory
) -> None:
    client, _ = signed
    globex = await make_account("globex")
    body = body_of(EVENT)
    signature = sign(globex.ingest_token, body, int(NOW.timestamp()))
    other = await post_signed(client, "acme", body, signature)
    unknown = await post_signed(client, "nobody", body, signature)
    assert other.status_code == unknown.status_code == 401
    assert other.json() == unknown.json()


async def test_a_signed_invalid_body_is_quarantined(
    signed: tuple[httpx.AsyncClient, WebAccount], web_store: Store
) -> None:
    client, acme = signed
    body = body_of({"type": "page_view"})
    response = await post_signed(
        client, "acme", body, sign(acme.ingest_token, body, int(NOW.timestamp()))
    )
    assert response.status_code == 422
    assert response.json()["field"] == "visitor_id"
    [kept] = await web_store.quarantine.list(acme.account.id)
    assert kept.body == body.decode()
