"""Events and purchases on ``/users/track`` (braze-api.md §2.4, §2.8, §8.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import SandboxOptions

AUTH = {"Authorization": "Bearer sandbox-key"}
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def app() -> SandboxApp:
    return create_app(SandboxOptions(clock=lambda: NOW))


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH) as c:
        yield c


async def track(client: httpx.AsyncClient, **arrays: Any) -> dict[str, Any]:
    body: dict[str, Any] = (await client.post("/users/track", json=arrays)).json()
    return body


async def exported(client: httpx.AsyncClient, *fields: str) -> dict[str, Any]:
    response = await client.post(
        "/users/export/ids", json={"external_ids": ["u"], "fields_to_export": list(fields)}
    )
    user: dict[str, Any] = response.json()["users"][0]
    return user


def event(**extra: Any) -> dict[str, Any]:
    return {"external_id": "u", "name": "signup", "time": "2025-06-01T10:00:00Z", **extra}


def purchase(**extra: Any) -> dict[str, Any]:
    base = {
        "external_id": "u",
        "product_id": "sku-1",
        "currency": "USD",
        "price": 9.5,
        "time": "2025-06-01T10:00:00Z",
    }
    return {**base, **extra}


async def test_events_are_counted_never_deduplicated(client: httpx.AsyncClient) -> None:
    """§2.8/§8.4: every event object is a separate occurrence."""
    body = await track(client, events=[event(), event()])
    assert body == {"message": "success", "events_processed": 2}
    await track(client, events=[event(time="2025-07-01T00:00:00Z")])
    assert (await exported(client, "custom_events"))["custom_events"] == [
        {
            "name": "signup",
            "first": "2025-06-01T10:00:00.000Z",
            "last": "2025-07-01T00:00:00.000Z",
            "count": 3,
        }
    ]


async def test_future_event_time_becomes_now(client: httpx.AsyncClient) -> None:
    """§2.8: event times in the future are replaced by the current time."""
    await track(client, events=[event(time="2030-01-01T00:00:00Z")])
    events = (await exported(client, "custom_events"))["custom_events"]
    assert events[0]["last"] == "2026-01-15T12:00:00.000Z"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"name": None}, "'name' is required"),
        ({"name": ""}, "'name' is not valid"),
        ({"time": None}, "'time' is required"),
        ({"time": "last tuesday"}, "'time' is not valid"),
        ({"properties": {"time": 1}}, "Invalid 'properties' field"),
        ({"properties": {"$x": 1}}, "Invalid 'properties' field"),
        ({"properties": ["a"]}, "Invalid 'properties' field"),
    ],
)
async def test_event_errors(client: httpx.AsyncClient, change: dict[str, Any], error: str) -> None:
    """§2.8: ``name`` and ``time`` are required; reserved property names are refused."""
    bad = {k: v for k, v in {**event(), **change}.items() if v is not None}
    body = await track(client, events=[event(), bad])
    assert body["events_processed"] == 1
    assert body["errors"] == [{"type": error, "input_array": "events", "index": 1}]


async def test_alias_event_never_creates_a_profile(
    client: httpx.AsyncClient, app: SandboxApp
) -> None:
    """§2.4: with a user_alias, update-only is always true for events and purchases."""
    alias = {"alias_name": "v", "alias_label": "justuno"}
    body = await track(
        client,
        events=[
            {"user_alias": alias, "name": "e", "time": "2025-01-01", "_update_existing_only": False}
        ],
        purchases=[{**purchase(), "external_id": None, "user_alias": alias}],
    )
    assert body["events_processed"] == 1
    assert len(app.users) == 0


async def test_event_by_external_id_creates_profile(client: httpx.AsyncClient) -> None:
    """§2.4: without update-only an external_id object creates the profile."""
    await track(client, events=[event()])
    assert (await exported(client, "external_id"))["external_id"] == "u"


async def test_purchases_quantity_revenue(client: httpx.AsyncClient) -> None:
    """§2.8: quantity X counts as X purchases; total revenue follows."""
    body = await track(client, purchases=[purchase(quantity=3), purchase(price=1)])
    assert body == {"message": "success", "purchases_processed": 2}
    user = await exported(client, "purchases", "total_revenue")
    assert user["purchases"][0]["count"] == 4
    assert user["total_revenue"] == 29.5


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"quantity": 101}, "'quantity' is not valid"),
        ({"quantity": 0}, "'quantity' is not valid"),
        ({"price": "9.5"}, "'price' is not valid"),
        ({"currency": "dollars"}, "'currency' is not valid"),
        ({"product_id": None}, "'product_id' is required"),
        ({"time": None}, "'time' is required"),
        ({"properties": {"price": 1}}, "Invalid 'properties' field"),
    ],
)
async def test_purchase_errors(
    client: httpx.AsyncClient, change: dict[str, Any], error: str
) -> None:
    """§2.8: required fields, ``quantity`` ≤ 100, reserved property names."""
    bad = {k: v for k, v in {**purchase(), **change}.items() if v is not None}
    body = await track(client, purchases=[bad])
    assert body["errors"] == [{"type": error, "input_array": "purchases", "index": 0}]


async def test_attributes_apply_before_events(client: httpx.AsyncClient) -> None:
    """§2.9: attributes first, then events: an update-only event finds the profile the
    attributes of the same request created."""
    body = await track(
        client,
        events=[event(_update_existing_only=True)],
        attributes=[{"external_id": "u", "first_name": "Ann"}],
    )
    assert body["events_processed"] == 1
    assert (await exported(client, "custom_events"))["custom_events"][0]["count"] == 1
