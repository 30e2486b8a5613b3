"""Ingestion over HTTP: one event or a batch, all or nothing, duplicates accepted once,
refusals quarantined, size limits, tokens; and the workflow version at arrival."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from justuno_braze.services.ingestion import MAX_BODY_BYTES, MAX_EVENTS
from justuno_braze.store import Store
from justuno_braze.store.session import reading
from justuno_braze.store.tables import outbox
from tests.integration.conftest import AccountFactory, account_factory

SMS_GROUP = "6f3c2b1a-8d4e-4f5a-9b6c-1d2e3f4a5b6c"
EMAIL_GROUP = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def lead(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"ev-{n}",
        "type": "form_submitted",
        "visitor_id": f"visitor-{n}",
        "occurred_at": "2026-11-29T11:00:00Z",
        "design_id": "spring-popup",
        "properties": {"email": f"Lead{n}@Example.com", "first_name": f"lead {n}"},
        **extra,
    }


def workflow(name: str = "Lead capture", **step: Any) -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"event": "form_submitted"},
        "steps": [
            {
                "sync_to_app": {
                    "app": "braze",
                    "identify_by": "email",
                    "sms_subscription_group_id": SMS_GROUP,
                    "email_subscription_group_id": EMAIL_GROUP,
                    **step,
                }
            }
        ],
    }


async def publish(store: Store, account_id: int, definition: dict[str, Any], note: str) -> int:
    found = await store.workflows.by_name(account_id, definition["name"])
    if found is None:
        found = await store.workflows.create(account_id, definition["name"], definition)
    return await store.workflows.publish(
        account_id,
        found.id,
        definition=definition,
        author="test",
        note=note,
        now=datetime.now(UTC),
    )


async def jobs_of(store: Store) -> list[Any]:
    async with reading(store.engine) as conn:
        return list((await conn.execute(select(outbox).order_by(outbox.c.id))).all())


def events_url(slug: str) -> str:
    return f"/api/v1/accounts/{slug}/events"


# --- accepted ------------------------------------------------------------------------------


async def test_one_event_is_stored_with_its_profile(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    response = await client.post(events_url("acme"), json=lead(1), headers=acme.ingest_headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1, "duplicates": 0, "event_ids": ["ev-1"]}
    stored = await web_store.events.get(acme.account.id, "ev-1")
    assert stored is not None and stored.visitor_id == "visitor-1"
    profile = await web_store.profiles.get(acme.account.id, "visitor-1")
    assert profile is not None
    assert profile.email == "lead1@example.com"
    assert profile.profile.forms_submitted == 1


async def test_a_batch_is_stored_and_derived_ids_are_returned(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    no_id = lead(99)
    del no_id["event_id"]
    batch = {"events": [lead(i) for i in range(50)] + [no_id]}
    response = await client.post(events_url("acme"), json=batch, headers=acme.ingest_headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 51 and body["duplicates"] == 0
    assert body["event_ids"][:50] == [f"ev-{i}" for i in range(50)]
    derived = body["event_ids"][50]
    assert derived and (await web_store.events.get(acme.account.id, derived)) is not None


async def test_duplicates_are_accepted_once(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    await publish(web_store, acme.account.id, workflow(), "v1")
    await web_store.connections.add(
        acme.account.id, base_url="https://rest.iad-01.braze.com", api_key="key-1234567890"
    )
    first = await client.post(events_url("acme"), json=lead(1), headers=acme.ingest_headers)
    again = await client.post(
        events_url("acme"),
        json={"events": [lead(1), lead(2), lead(2)]},
        headers=acme.ingest_headers,
    )
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] == 1
    assert again.status_code == 202
    assert again.json() == {
        "accepted": 1,
        "duplicates": 2,
        "event_ids": ["ev-1", "ev-2", "ev-2"],
    }
    jobs = await jobs_of(web_store)
    assert sorted(j.visitor_id for j in jobs) == ["visitor-1", "visitor-2"]
    profile = await web_store.profiles.get(acme.account.id, "visitor-1")
    assert profile is not None and profile.profile.forms_submitted == 1


# --- refused -------------------------------------------------------------------------------


async def test_a_batch_with_bad_events_is_refused_whole_and_quarantined(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    bad_type = {**lead(2), "type": 42}
    no_visitor = lead(3)
    del no_visitor["visitor_id"]
    batch = {"events": [lead(1), bad_type, no_visitor, lead(4)]}
    response = await client.post(events_url("acme"), json=batch, headers=acme.ingest_headers)
    assert response.status_code == 422
    body = response.json()
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "events[1].type"),
        (2, "events[2].visitor_id"),
    ]
    assert "events[1].type" in body["message"] and "events[2].visitor_id" in body["message"]
    for good in ("ev-1", "ev-4"):
        assert await web_store.events.get(acme.account.id, good) is None
    assert await web_store.profiles.get(acme.account.id, "visitor-1") is None

    listed = await client.get("/api/v1/accounts/acme/quarantine", headers=acme.api_headers)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == body["quarantine_id"]
    assert [r["field"] for r in item["reason"]] == ["events[1].type", "events[2].visitor_id"]
    assert orjson.loads(item["body"]) == batch


async def test_a_single_bad_event_names_its_field(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    acme = await make_account("acme")
    response = await client.post(
        events_url("acme"),
        json={**lead(1), "occurred_at": "yesterday"},
        headers=acme.ingest_headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "occurred_at"


async def test_malformed_json_is_400_and_quarantined(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    acme = await make_account("acme")
    response = await client.post(
        events_url("acme"),
        content=b'{"type": "form_submitted", ',
        headers={**acme.ingest_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]
    listed = await client.get("/api/v1/accounts/acme/quarantine", headers=acme.api_headers)
    assert listed.json()["items"][0]["body"] == '{"type": "form_submitted", '


@pytest.mark.parametrize("streamed", [False, True])
async def test_bodies_over_the_limit_are_413(
    client: httpx.AsyncClient, make_account: AccountFactory, streamed: bool
) -> None:
    acme = await make_account("acme")
    big = orjson.dumps({**lead(1), "page_url": "x" * MAX_BODY_BYTES})

    async def chunks() -> Any:
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    response = await client.post(
        events_url("acme"),
        content=chunks() if streamed else big,
        headers={**acme.ingest_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["message"]
    listed = await client.get("/api/v1/accounts/acme/quarantine", headers=acme.api_headers)
    [item] = listed.json()["items"]
    assert item["truncated"] and item["reason"][0]["field"] == "body"


async def test_more_than_the_batch_limit_is_413_naming_it(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    batch = {"events": [{"type": "page_view", "visitor_id": "v"}] * (MAX_EVENTS + 1)}
    response = await client.post(events_url("acme"), json=batch, headers=acme.ingest_headers)
    assert response.status_code == 413
    assert f"at most {MAX_EVENTS} events" in response.json()["message"]
    assert await web_store.profiles.get(acme.account.id, "v") is None


# --- tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer nope-not-a-token", "Basic Zm9vOmJhcg=="])
async def test_a_missing_or_wrong_token_is_401_and_not_quarantined(
    client: httpx.AsyncClient, make_account: AccountFactory, header: str | None
) -> None:
    acme = await make_account("acme")
    headers = {} if header is None else {"Authorization": header}
    response = await client.post(events_url("acme"), json=lead(1), headers=headers)
    assert response.status_code == 401
    assert "token" in response.json()["message"]
    listed = await client.get("/api/v1/accounts/acme/quarantine", headers=acme.api_headers)
    assert listed.json()["items"] == []


async def test_the_api_token_does_not_ingest(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    acme = await make_account("acme")
    response = await client.post(events_url("acme"), json=lead(1), headers=acme.api_headers)
    assert response.status_code == 401


async def test_another_accounts_token_gets_the_unknown_account_answer(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    globex = await make_account("globex")
    other = await client.post(events_url("acme"), json=lead(1), headers=globex.ingest_headers)
    unknown = await client.post(events_url("nobody"), json=lead(1), headers=globex.ingest_headers)
    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json()
    assert await web_store.events.get(acme.account.id, "ev-1") is None
    assert await web_store.events.get(globex.account.id, "ev-1") is None


# --- the workflow version at arrival ------------------------------------------------------


async def test_events_run_the_version_published_when_they_arrived(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    acme = await make_account("acme")
    await web_store.connections.add(
        acme.account.id, base_url="https://rest.iad-01.braze.com", api_key="key-1234567890"
    )
    v1 = await publish(web_store, acme.account.id, workflow(), "v1")
    assert (
        await client.post(events_url("acme"), json=lead(1), headers=acme.ingest_headers)
    ).status_code == 202
    mapped = workflow(properties=[{"from": "first_name", "to": "nickname"}])
    v2 = await publish(web_store, acme.account.id, mapped, "v2")
    assert (
        await client.post(events_url("acme"), json=lead(2), headers=acme.ingest_headers)
    ).status_code == 202

    first, second = await jobs_of(web_store)
    assert (first.workflow_version, second.workflow_version) == (v1, v2) == (1, 2)
    assert first.account_id == second.account_id == acme.account.id
    assert "nickname" not in first.attributes
    assert second.attributes["nickname"] == "lead 2"


# --- PostgreSQL and SQLite ------------------------------------------------------------------


async def test_ingestion_on_both_databases(
    store: Store, app_factory: Callable[..., FastAPI]
) -> None:
    acme = await account_factory(store)("acme")
    await store.connections.add(
        acme.account.id, base_url="https://rest.iad-01.braze.com", api_key="key-1234567890"
    )
    await publish(store, acme.account.id, workflow(), "v1")
    app = app_factory(store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        batch = {
            "events": [
                lead(
                    i,
                    consent={"sms": True},
                    properties={"email": f"p{i}@shop.io", "sms": "+14155550100"},
                )
                for i in range(20)
            ]
        }
        response = await c.post(events_url("acme"), json=batch, headers=acme.ingest_headers)
        assert response.status_code == 202, response.text
        again = await c.post(events_url("acme"), json=batch, headers=acme.ingest_headers)
        assert again.json()["duplicates"] == 20
    jobs = await jobs_of(store)
    assert len(jobs) == 20
    groups = jobs[0].attributes["subscription_groups"]
    assert {g["subscription_group_id"] for g in groups} == {SMS_GROUP, EMAIL_GROUP}
    ledger = [
        e
        async for e in store.consent.export(
            acme.account.id,
            since=datetime(2026, 1, 1, tzinfo=UTC),
            until=datetime(2027, 1, 1, tzinfo=UTC),
        )
    ]
    assert len(ledger) == 40  # SMS + email per lead
    assert {e.channel for e in ledger} == {"sms", "email"}


async def test_concurrent_requests_commit_together_and_each_gets_its_own_answer(
    client: httpx.AsyncClient, make_account: AccountFactory, web_store: Store
) -> None:
    """Requests in flight together share a transaction (group commit): each answer still
    counts its own events, duplicates across requests are accepted once, and accounts
    stay apart even when their events share ids."""
    import asyncio

    acme = await make_account("acme")
    globex = await make_account("globex")

    async def post(who: Any, n: int) -> dict[str, Any]:
        response = await client.post(
            events_url(who.slug), json=lead(n % 10), headers=who.ingest_headers
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    answers = await asyncio.gather(
        *(post(acme, n) for n in range(30)), *(post(globex, n) for n in range(20))
    )
    acme_answers, globex_answers = answers[:30], answers[30:]
    assert sum(a["accepted"] for a in acme_answers) == 10
    assert sum(a["duplicates"] for a in acme_answers) == 20
    assert sum(a["accepted"] for a in globex_answers) == 10
    for n in range(10):
        assert await web_store.events.get(acme.account.id, f"ev-{n}") is not None
        assert await web_store.events.get(globex.account.id, f"ev-{n}") is not None
        stored = await web_store.profiles.get(acme.account.id, f"visitor-{n}")
        assert stored is not None and stored.profile.forms_submitted == 1


def test_parsed_versions_are_cached_by_content_not_by_id() -> None:
    """Two stores in one process may both have workflow 1 v1 with different definitions."""
    from justuno_braze.services.ingest_plan import workflow_of
    from justuno_braze.store import PublishedWorkflow

    at = datetime(2026, 11, 29, tzinfo=UTC)
    plain = workflow_of(PublishedWorkflow(1, "Lead capture", 1, workflow(), at))
    mapped_definition = workflow(properties=[{"from": "first_name", "to": "nickname"}])
    mapped = workflow_of(PublishedWorkflow(1, "Lead capture", 1, mapped_definition, at))
    assert plain.steps[0].properties == ()
    assert [p.target for p in mapped.steps[0].properties] == ["nickname"]
