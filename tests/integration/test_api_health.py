"""``/healthz``, ``/readyz`` (database reachable and migrated), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from justuno_braze.store import open_store
from tests.integration.conftest import AccountFactory


async def test_healthz_and_readyz_on_a_migrated_store(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_readyz_is_503_on_an_unmigrated_database(
    tmp_path: Path, app_factory: Callable[..., FastAPI]
) -> None:
    store = await open_store(f"sqlite:///{tmp_path}/empty.db", upgrade=False)
    try:
        app = app_factory(store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
    finally:
        await store.close()
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert "db upgrade" in ready.json()["reason"]


async def test_readyz_is_503_when_the_database_is_unreachable(
    app_factory: Callable[..., FastAPI],
) -> None:
    store = await open_store("postgresql://nobody@127.0.0.1:9/nowhere", upgrade=False)
    try:
        transport = httpx.ASGITransport(app=app_factory(store))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/readyz")
    finally:
        await store.close()
    assert ready.status_code == 503


async def test_metrics_count_ingested_events_and_the_queue(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    acme = await make_account("acme")
    before = (await client.get("/metrics")).text
    assert "justuno_braze_events_ingested_total 0.0" in before
    batch = {
        "events": [
            {"event_id": f"e{i}", "type": "page_view", "visitor_id": f"v{i}"} for i in range(3)
        ]
    }
    await client.post("/api/v1/accounts/acme/events", json=batch, headers=acme.ingest_headers)
    await client.post("/api/v1/accounts/acme/events", json=batch, headers=acme.ingest_headers)
    await client.post("/api/v1/accounts/acme/events", content=b"nope", headers=acme.ingest_headers)
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "justuno_braze_events_ingested_total 3.0" in text
    assert "justuno_braze_events_duplicate_total 3.0" in text
    assert 'justuno_braze_ingest_refused_total{reason="400"} 1.0' in text
    assert "justuno_braze_queue_depth 0.0" in text  # no workflow: nothing to deliver
