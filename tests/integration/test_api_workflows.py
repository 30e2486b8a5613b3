"""The Workflows API over HTTP: every validation problem named in a 422, preview (exact
body, nothing sent), publish numbering and immutability, diffs, restore, pause (no
enrollment through ingestion), export/import round trip, account isolation."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from justuno_braze.config import Settings
from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.store import Store
from justuno_braze.workflows.model import load
from tests.integration.conftest import AccountFactory, WebAccount, account_factory

SMS = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL = "4e1d2c3b-5a6f-4789-8abc-def012345678"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ATTRIBUTES = [
    {"name": "favorite_color", "data_type": "String"},
    {"name": "shipping_address", "data_type": "Object"},
    {"name": "past_orders", "data_type": "Object Array"},
]
LEADS: dict[str, Any] = {
    "name": "Leads",
    "trigger": {"event": "form_submitted"},
    "steps": [
        {
            "sync_to_app": {
                "app": "braze",
                "sms_subscription_group_id": SMS,
                "email_subscription_group_id": EMAIL,
                "properties": [{"from": "color", "to": "favorite_color"}],
            }
        }
    ],
}
EVENT: dict[str, Any] = {
    "event_id": "lead-1",
    "type": "form_submitted",
    "visitor_id": "jv_ana",
    "occurred_at": "2026-11-29T11:00:00Z",
    "properties": {"email": "ana@example.com", "sms": "+1 303 555 0105", "color": "blue"},
}


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxApp, str]]:
    app = create_app(SandboxOptions(api_keys={"sandbox-key-123456": None}))
    with running_sandbox(app=app) as url:
        yield app, url


def wf_url(slug: str, tail: str = "") -> str:
    return f"/api/v1/accounts/{slug}/workflows{tail}"


def leads(**step: Any) -> dict[str, Any]:
    data = copy.deepcopy(LEADS)
    data["steps"][0]["sync_to_app"].update(step)
    return data


async def with_braze(store: Store, who: WebAccount, base_url: str) -> None:
    c = await store.connections.add(who.account.id, base_url=base_url, api_key="sandbox-key-123456")
    await store.connections.set_custom_attributes(c.id, ATTRIBUTES, now=NOW)


@pytest.fixture
async def acme(web_store: Store, make_account: AccountFactory) -> WebAccount:
    who = await make_account("acme")
    await with_braze(web_store, who, "https://rest.iad-01.braze.com")
    return who


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (leads(connection="nope"), "steps[0].sync_to_app.connection: unknown connection 'nope'"),
        (leads(sms_subscription_group_id=None), "sms_subscription_group_id: required"),
        (leads(sms_subscription_group_id="not-a-uuid"), "sms_subscription_group_id"),
        (
            leads(properties=[{"from": "a", "to": "shipping_address"}]),
            "Braze attribute 'shipping_address' is an Object",
        ),
        (
            leads(properties=[{"from": "o", "to": "past_orders"}]),
            "Braze attribute 'past_orders' is an Array of objects",
        ),
        (
            {**LEADS, "conditions": {"all": [{"property": "x", "op": "bigger", "value": 1}]}},
            "conditions.all[0].op",
        ),
    ],
)
async def test_every_validation_problem_is_named(
    client: httpx.AsyncClient, acme: WebAccount, data: dict[str, Any], expected: str
) -> None:
    answer = await client.post(wf_url("acme"), json=data, headers=acme.api_headers)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert any(expected in p for p in body["problems"]), body
    if "not-a-uuid" in str(data):
        assert any("UUID" in p for p in body["problems"])
    if "bigger" in str(data):
        assert any("bigger" in p for p in body["problems"])
    listed = await client.get(wf_url("acme"), headers=acme.api_headers)
    assert listed.json() == {"items": []}  # nothing saved


async def test_several_problems_at_once(client: httpx.AsyncClient, acme: WebAccount) -> None:
    data = leads(connection="nope", sms_subscription_group_id="bad")
    data["conditions"] = {"any": [{"property": "x", "op": "bigger", "value": 1}]}
    body = (await client.post(wf_url("acme"), json=data, headers=acme.api_headers)).json()
    joined = "\n".join(body["problems"])
    for part in ("unknown connection 'nope'", "sms_subscription_group_id", "conditions.any[0].op"):
        assert part in joined


async def test_preview_returns_the_exact_body_and_sends_nothing(
    web_store: Store,
    web_settings: Settings,
    app_factory: Callable[..., FastAPI],
    make_account: AccountFactory,
    sandbox: tuple[SandboxApp, str],
) -> None:
    braze_app, url = sandbox
    acme = await make_account("acme")
    await with_braze(web_store, acme, url)
    settings = dataclasses.replace(web_settings, allowed_braze_urls=(url,))
    transport = httpx.ASGITransport(app=app_factory(web_store, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        created = await client.post(wf_url("acme"), json=LEADS, headers=acme.api_headers)
        wid = created.json()["id"]
        answer = await client.post(
            wf_url("acme", f"/{wid}/preview"), json={"event": EVENT}, headers=acme.api_headers
        )
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["skipped"] is False and result["skip_reason"] is None
        assert result["body"] == {
            "attributes": [
                {
                    "email": "ana@example.com",
                    "phone": "+13035550105",
                    "favorite_color": "blue",
                    "subscription_groups": [
                        {"subscription_group_id": SMS, "subscription_state": "subscribed"},
                        {"subscription_group_id": EMAIL, "subscription_state": "subscribed"},
                    ],
                }
            ]
        }
        assert result["warnings"] == []
        page = {**EVENT, "type": "page_view"}
        skipped = await client.post(
            wf_url("acme", f"/{wid}/preview"), json={"event": page}, headers=acme.api_headers
        )
        assert skipped.json()["skipped"] is True
        assert skipped.json()["skip_reason"] == "not_enrolled"
        bad = await client.post(
            wf_url("acme", f"/{wid}/preview"), json={}, headers=acme.api_headers
        )
        assert bad.status_code == 422 and bad.json()["field"] == "event"
    assert len(braze_app.users) == 0  # the sandbox got nothing
    assert await web_store.outbox.depth() == 0


async def test_publish_history_diff_restore(client: httpx.AsyncClient, acme: WebAccount) -> None:
    h = acme.api_headers
    wid = (await client.post(wf_url("acme"), json=LEADS, headers=h)).json()["id"]
    v1 = await client.post(
        wf_url("acme", f"/{wid}/publish"), json={"author": "ana", "note": "go"}, headers=h
    )
    assert v1.status_code == 201, v1.text
    assert (v1.json()["version"], v1.json()["author"], v1.json()["note"]) == (1, "ana", "go")
    edited = leads(send_event="justuno_lead")
    saved = await client.put(wf_url("acme", f"/{wid}"), json=edited, headers=h)
    assert saved.status_code == 200 and saved.json()["status"] == "active"
    frozen = await client.get(wf_url("acme", f"/{wid}/versions/1"), headers=h)
    assert frozen.json()["definition"] == v1.json()["definition"]  # the edit left v1 alone
    assert "send_event" not in str(frozen.json()["definition"])
    v2 = await client.post(wf_url("acme", f"/{wid}/publish"), headers=h)  # no body: author api
    assert (v2.json()["version"], v2.json()["author"]) == (2, "api")
    assert v2.json()["changes"] == ["steps[0].sync_to_app.send_event: added justuno_lead"]

    history = (await client.get(wf_url("acme", f"/{wid}/versions"), headers=h)).json()
    assert [v["version"] for v in history["items"]] == [2, 1]
    d = (await client.get(wf_url("acme", f"/{wid}/versions/2/diff"), headers=h)).json()
    assert (d["from_version"], d["to_version"]) == (1, 2)
    assert (
        d["changes"] == v2.json()["changes"] and "+      send_event: justuno_lead" in d["unified"]
    )
    back = await client.get(wf_url("acme", f"/{wid}/versions/1/diff?against=2"), headers=h)
    assert back.json()["changes"] == ["steps[0].sync_to_app.send_event: removed justuno_lead"]

    restored = await client.post(wf_url("acme", f"/{wid}/versions/1/restore"), headers=h)
    assert restored.status_code == 200
    assert restored.json()["draft"] == v1.json()["definition"]
    assert restored.json()["latest_version"] == 2
    missing = await client.get(wf_url("acme", f"/{wid}/versions/9"), headers=h)
    assert missing.status_code == 404


async def test_pause_stops_enrollment_through_ingestion(
    web_store: Store, client: httpx.AsyncClient, acme: WebAccount
) -> None:
    h = acme.api_headers
    wid = (await client.post(wf_url("acme"), json=LEADS, headers=h)).json()["id"]
    early = await client.post(wf_url("acme", f"/{wid}/pause"), headers=h)
    assert early.status_code == 422  # not published yet
    await client.post(wf_url("acme", f"/{wid}/publish"), headers=h)
    paused = await client.post(wf_url("acme", f"/{wid}/pause"), headers=h)
    assert paused.json()["status"] == "paused"
    events = "/api/v1/accounts/acme/events"
    sent = await client.post(events, json=EVENT, headers=acme.ingest_headers)
    assert sent.status_code == 202, sent.text
    assert await web_store.outbox.depth() == 0  # paused: nobody enrolled
    resumed = await client.post(wf_url("acme", f"/{wid}/resume"), headers=h)
    assert resumed.json()["status"] == "active"
    second = {**EVENT, "event_id": "lead-2", "occurred_at": "2026-11-29T11:05:00Z"}
    assert (await client.post(events, json=second, headers=acme.ingest_headers)).status_code == 202
    assert await web_store.outbox.depth() == 1


async def test_export_import_round_trip(client: httpx.AsyncClient, acme: WebAccount) -> None:
    h = acme.api_headers
    wid = (await client.post(wf_url("acme"), json=LEADS, headers=h)).json()["id"]
    draft = (await client.get(wf_url("acme", f"/{wid}"), headers=h)).json()["draft"]
    yaml_text = await client.get(wf_url("acme", f"/{wid}/export"), headers=h)
    assert yaml_text.headers["content-type"].startswith("application/yaml")
    assert load(yaml_text.text).to_dict() == draft
    json_text = await client.get(wf_url("acme", f"/{wid}/export?format=json"), headers=h)
    assert json_text.json() == draft
    await client.delete(wf_url("acme", f"/{wid}"), headers=h)
    imported = await client.post(
        wf_url("acme", "/import"),
        content=yaml_text.text,
        headers={**h, "Content-Type": "application/yaml"},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["draft"] == draft and imported.json()["status"] == "draft"
    again = await client.post(wf_url("acme", "/import"), json={"text": json_text.text}, headers=h)
    assert again.status_code == 422 and again.json()["field"] == "name"  # same name exists
    broken = await client.post(
        wf_url("acme", "/import"),
        content="name: x\nsteps: [\n",
        headers={**h, "Content-Type": "application/yaml"},
    )
    assert broken.status_code == 422 and broken.json()["problems"]


async def test_other_accounts_get_404_on_every_workflow_endpoint(
    web_store: Store, client: httpx.AsyncClient, acme: WebAccount, make_account: AccountFactory
) -> None:
    globex = await make_account("globex")
    await with_braze(web_store, globex, "https://rest.iad-01.braze.com")
    wid = (await client.post(wf_url("acme"), json=LEADS, headers=acme.api_headers)).json()["id"]
    await client.post(wf_url("acme", f"/{wid}/publish"), headers=acme.api_headers)
    g = globex.api_headers
    for slug in ("acme", "globex"):
        calls = [
            client.get(wf_url(slug, f"/{wid}"), headers=g),
            client.put(wf_url(slug, f"/{wid}"), json=LEADS, headers=g),
            client.post(wf_url(slug, f"/{wid}/preview"), json={"event": EVENT}, headers=g),
            client.post(wf_url(slug, f"/{wid}/publish"), headers=g),
            client.get(wf_url(slug, f"/{wid}/versions"), headers=g),
            client.get(wf_url(slug, f"/{wid}/versions/1"), headers=g),
            client.get(wf_url(slug, f"/{wid}/versions/1/diff"), headers=g),
            client.post(wf_url(slug, f"/{wid}/versions/1/restore"), headers=g),
            client.post(wf_url(slug, f"/{wid}/pause"), headers=g),
            client.post(wf_url(slug, f"/{wid}/resume"), headers=g),
            client.get(wf_url(slug, f"/{wid}/export"), headers=g),
            client.delete(wf_url(slug, f"/{wid}"), headers=g),
        ]
        for call in calls:
            answer = await call
            assert answer.status_code == 404, (slug, answer.request.url, answer.text)
    assert (await client.get(wf_url("globex"), headers=g)).json() == {"items": []}
    blocked = await client.get(wf_url("acme"), headers=g)
    assert blocked.status_code == 404
    mine = await client.get(wf_url("acme", f"/{wid}"), headers=acme.api_headers)
    assert mine.json()["latest_version"] == 1 and mine.json()["status"] == "active"


async def test_workflows_on_both_databases(
    store: Store, app_factory: Callable[..., FastAPI]
) -> None:
    who = await account_factory(store)("acme")
    await with_braze(store, who, "https://rest.iad-01.braze.com")
    transport = httpx.ASGITransport(app=app_factory(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        h = who.api_headers
        wid = (await client.post(wf_url("acme"), json=LEADS, headers=h)).json()["id"]
        for _ in range(2):
            assert (
                await client.post(wf_url("acme", f"/{wid}/publish"), headers=h)
            ).status_code == 201
        history = (await client.get(wf_url("acme", f"/{wid}/versions"), headers=h)).json()
        assert [v["version"] for v in history["items"]] == [2, 1]
        assert history["items"][0]["changes"] == []
