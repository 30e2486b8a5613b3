"""Subscription-group endpoints (braze-api.md §6.3–§6.6, §9.11)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import SandboxOptions

AUTH = {"Authorization": "Bearer sandbox-key"}
EMAIL_GROUP = "aaaaaaaa-1111-4222-8333-444444444444"
SMS_GROUP = "bbbbbbbb-1111-4222-8333-444444444444"


@pytest.fixture
def app() -> SandboxApp:
    groups = {EMAIL_GROUP: "email", SMS_GROUP: "sms"}
    return create_app(SandboxOptions(subscription_groups=groups))


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH) as c:
        await c.post(
            "/users/track",
            json={
                "attributes": [
                    {"external_id": "u1", "email": "one@example.com", "phone": "+14155552671"},
                    {"external_id": "u2", "email": "shared@example.com"},
                    {"external_id": "u3", "email": "shared@example.com"},
                ]
            },
        )
        yield c


async def status(client: httpx.AsyncClient, group: str, **params: Any) -> dict[str, str]:
    response = await client.get(
        "/subscription/status/get", params={"subscription_group_id": group, **params}
    )
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "success"
    result: dict[str, str] = response.json()["status"]
    return result


async def test_v1_email_and_phone_together_is_rejected(client: httpx.AsyncClient) -> None:
    """§6.3: email plus phone → the documented message."""
    response = await client.post(
        "/subscription/status/set",
        json={
            "subscription_group_id": EMAIL_GROUP,
            "subscription_state": "subscribed",
            "email": ["one@example.com"],
            "phone": ["+14155552671"],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Either an email address or a phone number should be provided, but not both."
    }


async def test_v1_set_then_get_capitalised(client: httpx.AsyncClient) -> None:
    """§6.3/§6.5: 201 success; GET shows ``Subscribed``/``Unsubscribed``/``Unknown``."""
    response = await client.post(
        "/subscription/status/set",
        json={
            "subscription_group_id": EMAIL_GROUP,
            "subscription_state": "unsubscribed",
            "external_id": ["u1"],
        },
    )
    assert response.status_code == 201
    assert response.json() == {"message": "success"}
    assert await status(client, EMAIL_GROUP, external_id=["u1", "u2", "nobody"]) == {
        "u1": "Unsubscribed",
        "u2": "Unknown",
        "nobody": "Unknown",
    }


async def test_v1_shared_email_updates_all_profiles(client: httpx.AsyncClient) -> None:
    """§6.3: an email shared by several profiles updates all of them."""
    await client.post(
        "/subscription/status/set",
        json={
            "subscription_group_id": EMAIL_GROUP,
            "subscription_state": "subscribed",
            "email": "shared@example.com",
        },
    )
    assert await status(client, EMAIL_GROUP, external_id=["u2", "u3"]) == {
        "u2": "Subscribed",
        "u3": "Subscribed",
    }


async def test_channel_mismatch_is_refused(client: httpx.AsyncClient) -> None:
    """§6.3: email groups take external_id or email; SMS groups external_id or phone."""
    response = await client.post(
        "/subscription/status/set",
        json={
            "subscription_group_id": SMS_GROUP,
            "subscription_state": "subscribed",
            "email": ["one@example.com"],
        },
    )
    assert response.status_code == 400


async def test_v2_several_groups(client: httpx.AsyncClient) -> None:
    """§6.4: several groups in one call; phones by E.164."""
    response = await client.post(
        "/v2/subscription/status/set",
        json={
            "subscription_groups": [
                {
                    "subscription_group_id": EMAIL_GROUP,
                    "subscription_state": "subscribed",
                    "emails": ["one@example.com"],
                },
                {
                    "subscription_group_id": SMS_GROUP,
                    "subscription_state": "subscribed",
                    "phones": ["+14155552671"],
                },
            ]
        },
    )
    assert response.status_code == 201
    assert await status(client, SMS_GROUP, phone="+14155552671") == {"+14155552671": "Subscribed"}
    assert await status(client, EMAIL_GROUP, email="one@example.com") == {
        "one@example.com": "Subscribed"
    }


async def test_v2_double_opt_in_does_not_subscribe_yet(client: httpx.AsyncClient) -> None:
    """§6.2/§6.4: ``use_double_opt_in_logic`` enters the SMS double opt-in flow."""
    await client.post(
        "/v2/subscription/status/set",
        json={
            "subscription_groups": [
                {
                    "subscription_group_id": SMS_GROUP,
                    "subscription_state": "subscribed",
                    "external_ids": ["u1"],
                    "use_double_opt_in_logic": True,
                }
            ]
        },
    )
    assert await status(client, SMS_GROUP, external_id="u1") == {"u1": "Unknown"}


async def test_unknown_group_is_refused(client: httpx.AsyncClient) -> None:
    """Configured groups only (``--subscription-group``)."""
    response = await client.post(
        "/subscription/status/set",
        json={
            "subscription_group_id": "cccccccc-1111-4222-8333-444444444444",
            "subscription_state": "subscribed",
            "external_id": ["u1"],
        },
    )
    assert response.status_code == 400
    assert "subscription_group_id" in response.json()["message"]


async def test_user_status_lists_touched_groups_only(client: httpx.AsyncClient) -> None:
    """§6.6: only groups in the user's history are listed; limit/offset apply."""
    for group in (EMAIL_GROUP, SMS_GROUP):
        await client.post(
            "/subscription/status/set",
            json={
                "subscription_group_id": group,
                "subscription_state": "subscribed",
                "external_id": ["u1"],
            },
        )
    response = await client.get("/subscription/user/status", params={"external_id": "u1"})
    assert response.json() == {
        "success": True,
        "subscription_groups": [
            {"subscription_group_id": EMAIL_GROUP, "subscription_status": "subscribed"},
            {"subscription_group_id": SMS_GROUP, "subscription_status": "subscribed"},
        ],
        "message": "success",
    }
    page = await client.get(
        "/subscription/user/status", params={"external_id": "u1", "limit": 1, "offset": 1}
    )
    assert page.json()["subscription_groups"] == [
        {"subscription_group_id": SMS_GROUP, "subscription_status": "subscribed"}
    ]
    untouched = await client.get("/subscription/user/status", params={"external_id": "u2"})
    assert untouched.json()["subscription_groups"] == []


async def test_status_get_needs_group(client: httpx.AsyncClient) -> None:
    response = await client.get("/subscription/status/get", params={"external_id": "u1"})
    assert response.status_code == 400
    assert "subscription_group_id" in response.json()["message"]
