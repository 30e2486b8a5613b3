"""From ingestion to Braze in one process: a lead posted to the API reaches the sandbox
with the right subscription groups (what the sandbox STORED is asserted), with the
workflow published at arrival; and the demo seeded by ``create_app(demo=True)``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from justuno_braze.config import Settings
from justuno_braze.delivery.worker import Worker
from justuno_braze.services.demo import SANDBOX_MOUNT, demo_api_token, demo_workflow
from justuno_braze.store import Store, open_store
from justuno_braze.vault import Vault
from justuno_braze.web.app import AppOptions, create_app
from justuno_braze.web.metrics import Metrics
from tests.integration.conftest import AccountFactory

SANDBOX_KEY = "sandbox-key"
LEAD = {
    "event_id": "lead-1",
    "type": "form_submitted",
    "visitor_id": "jv_1",
    "occurred_at": "2026-11-29T11:00:00Z",
    "design_id": "spring-popup",
    "page_url": "https://shop.example/",
    "properties": {"email": "Ana.Lima@Example.com", "sms": "(415) 555-0101", "first_name": "Ana"},
    "consent": {"sms": True},
    "consent_text": "Text me offers",
}


async def drain(app: FastAPI, store: Store, settings: Settings) -> dict[str, int]:
    metrics: Metrics = app.state.metrics
    factory = metrics.client_factory(
        settings,
        extra_allowed=app.state.demo_allowed_urls,
        transports=app.state.braze_transports,
    )
    worker = Worker(store, settings, client_factory=factory)
    try:
        return (await worker.drain()).counts
    finally:
        await worker.aclose()


async def braze_user(braze: httpx.AsyncClient, email: str) -> dict[str, Any] | None:
    auth = {"Authorization": f"Bearer {SANDBOX_KEY}"}
    exported = await braze.post(
        "/users/export/ids",
        headers=auth,
        json={"email_address": email, "fields_to_export": ["email", "first_name", "phone"]},
    )
    assert exported.status_code in (200, 201), exported.text
    users: list[dict[str, Any]] = exported.json()["users"]
    if not users:
        return None
    status = await braze.get("/subscription/user/status", headers=auth, params={"email": email})
    assert status.status_code == 200, status.text
    groups = {
        g["subscription_group_id"]: g["subscription_status"]
        for g in status.json()["subscription_groups"]
    }
    return {**users[0], "groups": groups}


async def test_an_ingested_lead_reaches_braze_with_its_groups(
    sandbox_url: str,
    web_store: Store,
    make_account: AccountFactory,
    app_factory: Callable[..., FastAPI],
    web_settings: Settings,
) -> None:
    settings = dataclasses.replace(web_settings, allowed_braze_urls=(sandbox_url,))
    acme = await make_account("acme")
    await web_store.connections.add(
        acme.account.id, base_url=sandbox_url, api_key=SANDBOX_KEY, name="demo"
    )
    definition = demo_workflow(settings)
    created = await web_store.workflows.create(acme.account.id, definition["name"], definition)
    await web_store.workflows.publish(
        acme.account.id,
        created.id,
        definition=definition,
        author="t",
        note=None,
        now=datetime.now(UTC),
    )
    app = app_factory(web_store, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post(
            "/api/v1/accounts/acme/events", json=LEAD, headers=acme.ingest_headers
        )
        assert response.status_code == 202, response.text
        counts = await drain(app, web_store, settings)
        assert counts["delivered"] == 1 and counts["pending"] == counts["dead"] == 0
        scraped = (await c.get("/metrics")).text

    async with httpx.AsyncClient(base_url=sandbox_url) as braze:
        user = await braze_user(braze, "ana.lima@example.com")
    assert user is not None
    assert user["first_name"] == "Ana"
    assert user["phone"] == "+14155550101"
    assert {k: v.lower() for k, v in user["groups"].items()} == {
        settings.demo_sms_group: "subscribed",
        settings.demo_email_group: "subscribed",
    }
    assert 'justuno_braze_braze_requests_total{endpoint="/users/track",status="201"} 1.0' in scraped
    assert "justuno_braze_braze_users_delivered_total 1.0" in scraped
    assert 'justuno_braze_outbox_jobs{state="delivered"} 1.0' in scraped


async def test_the_demo_is_seeded_once_and_delivers_to_the_embedded_sandbox(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/demo.db", secret_key=Vault.generate_key()
    )
    store = await open_store(settings.database_url, vault=Vault(settings.secret_key))
    try:
        for _ in range(2):  # seeding twice changes nothing
            app = create_app(settings, store=store, options=AppOptions(demo=True))
            async with app.router.lifespan_context(app):
                pass
        demo = await store.accounts.by_slug("demo")
        assert demo is not None
        assert len(await store.tokens.list(demo.id)) == 3  # api, ingest, design key
        assert len(await store.connections.for_account(demo.id)) == 1
        [wf] = await store.workflows.list(demo.id)
        assert (wf.name, wf.status, wf.latest_version) == ("Demo lead capture", "active", 1)

        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                response = await c.post(
                    "/api/v1/accounts/demo/events",
                    json=LEAD,
                    headers={"Authorization": f"Bearer {settings.demo_token}"},
                )
                assert response.status_code == 202, response.text
                listed = await c.get(
                    "/api/v1/accounts/demo/quarantine",
                    headers={"Authorization": f"Bearer {demo_api_token(settings)}"},
                )
                assert listed.status_code == 200
                counts = await drain(app, store, settings)
                assert counts["delivered"] == 1
            async with httpx.AsyncClient(
                transport=transport, base_url=f"http://t{SANDBOX_MOUNT}"
            ) as braze:
                user = await braze_user(braze, "ana.lima@example.com")
        assert user is not None and user["first_name"] == "Ana"
        assert {k: v.lower() for k, v in user["groups"].items()} == {
            settings.demo_sms_group: "subscribed",
            settings.demo_email_group: "subscribed",
        }
    finally:
        await store.close()
