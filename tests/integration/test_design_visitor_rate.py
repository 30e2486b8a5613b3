"""A public design key is rate-limited per visitor as well as per IP: one visitor posting
from many addresses is refused past the rate, other visitors are not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from justuno_braze.web.auth import DESIGN_RATE
from tests.integration.demo_app import PUBLIC_URL, Demo, demo_app, design_key

EVENTS = "/api/v1/accounts/demo/events"


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with demo_app(tmp_path) as running:
        yield running


def form_event(visitor: str, email: str) -> dict[str, object]:
    return {
        "type": "form_submitted",
        "visitor_id": visitor,
        "design_id": "demo-popup",
        "properties": {"email": email},
        "consent": {"sms": False},
    }


async def post_from(demo: Demo, ip: str, key: str, body: dict[str, object]) -> httpx.Response:
    """``body`` posted with the design key as if from client address ``ip``."""
    transport = httpx.ASGITransport(app=demo.app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post(
            EVENTS,
            json=body,
            headers={"Authorization": f"Bearer {key}", "Origin": PUBLIC_URL},
        )


async def test_one_visitor_from_many_addresses_is_limited(demo: Demo) -> None:
    key = await design_key(demo.client)
    for i in range(DESIGN_RATE):
        ok = await post_from(demo, f"10.0.0.{i + 1}", key, form_event("jv_same", f"a{i}@x.test"))
        assert ok.status_code == 202, ok.text
    over = await post_from(demo, "10.0.1.1", key, form_event("jv_same", "late@x.test"))
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) >= 1
    other = await post_from(demo, "10.0.1.2", key, form_event("jv_other", "o@x.test"))
    assert other.status_code == 202, other.text
    account = await demo.store.accounts.by_slug("demo")
    assert account is not None
    stored = await demo.store.profiles.get(account.id, "jv_same")
    assert stored is not None and stored.email == f"a{DESIGN_RATE - 1}@x.test"
