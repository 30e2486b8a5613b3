"""``/users/export/ids``, ``/users/alias/new``, ``/users/identify``, ``/users/delete``
(braze-api.md §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from justuno_braze.sandbox.app import SandboxApp, create_app

AUTH = {"Authorization": "Bearer sandbox-key"}
ALIAS = {"alias_name": "visitor-1", "alias_label": "justuno"}


@pytest.fixture
def app() -> SandboxApp:
    return create_app()


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH) as c:
        yield c


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(path, json=body)


async def track(client: httpx.AsyncClient, *attributes: dict[str, Any]) -> None:
    response = await post(client, "/users/track", {"attributes": list(attributes)})
    assert response.status_code == 201, response.text


async def test_export_only_requested_non_empty_fields(client: httpx.AsyncClient) -> None:
    """§7.3: only ``fields_to_export``; fields missing on the user are left out."""
    await track(client, {"external_id": "u", "first_name": "Ann", "vip": True})
    response = await post(
        client,
        "/users/export/ids",
        {
            "external_ids": ["u", "nobody"],
            "fields_to_export": ["first_name", "last_name", "custom_attributes"],
        },
    )
    assert response.status_code == 201
    assert response.json() == {
        "message": "success",
        "users": [{"first_name": "Ann", "custom_attributes": {"vip": True}}],
        "invalid_user_ids": ["nobody"],
    }


async def test_export_without_fields_gives_the_profile(client: httpx.AsyncClient) -> None:
    """§7.3: without ``fields_to_export`` the whole (emulated) profile is returned."""
    await track(client, {"external_id": "u", "email": "a@example.com"})
    user = (await post(client, "/users/export/ids", {"external_ids": ["u"]})).json()["users"][0]
    assert user["external_id"] == "u"
    assert user["email"] == "a@example.com"
    assert user["email_subscribe"] == "subscribed"  # a new profile's default (§6.1)
    assert len(user["braze_id"]) == 24
    assert user["created_at"].endswith("Z")


async def test_export_unknown_field_is_400(client: httpx.AsyncClient) -> None:
    """§7.3: field names come from the documented list."""
    response = await post(
        client, "/users/export/ids", {"external_ids": ["u"], "fields_to_export": ["shoe_size"]}
    )
    assert response.status_code == 400
    assert "shoe_size" in response.json()["message"]


async def test_export_more_than_50_ids_is_400(client: httpx.AsyncClient) -> None:
    """§2.7/§7.3: up to 50 external_ids and aliases in total."""
    ids = [f"u{i}" for i in range(51)]
    response = await post(client, "/users/export/ids", {"external_ids": ids})
    assert response.status_code == 400
    assert "max number" in response.json()["message"]


async def test_export_by_email_returns_every_profile(client: httpx.AsyncClient) -> None:
    """§7.3: ``email_address`` returns all profiles with that address."""
    await track(client, {"external_id": "a", "email": "s@example.com"})
    await track(client, {"external_id": "b", "email": "s@example.com"})
    response = await post(
        client,
        "/users/export/ids",
        {"email_address": "s@example.com", "fields_to_export": ["external_id"]},
    )
    assert sorted(u["external_id"] for u in response.json()["users"]) == ["a", "b"]


async def test_export_by_phone_and_braze_id(client: httpx.AsyncClient) -> None:
    """§7.3: exactly one of ``braze_id``, ``email_address``, ``phone``."""
    await track(client, {"external_id": "p", "phone": "+1 415 555 2671"})
    by_phone = await post(
        client,
        "/users/export/ids",
        {"phone": "+14155552671", "fields_to_export": ["external_id", "braze_id"]},
    )
    user = by_phone.json()["users"][0]
    assert user["external_id"] == "p"
    by_id = await post(
        client,
        "/users/export/ids",
        {"braze_id": user["braze_id"], "fields_to_export": ["external_id"]},
    )
    assert by_id.json()["users"] == [{"external_id": "p"}]
    both = await post(client, "/users/export/ids", {"braze_id": "x", "phone": "+14155552671"})
    assert both.status_code == 400


async def test_alias_new_creates_alias_only_user_then_track_updates_it(
    client: httpx.AsyncClient,
) -> None:
    """§7.1: without external_id a new alias-only user is created."""
    response = await post(client, "/users/alias/new", {"user_aliases": [ALIAS]})
    assert response.json() == {"aliases_processed": 1, "message": "success"}
    await track(client, {"user_alias": ALIAS, "first_name": "Vis"})  # update-only finds it
    users = (
        await post(
            client,
            "/users/export/ids",
            {"user_aliases": [ALIAS], "fields_to_export": ["first_name", "user_aliases"]},
        )
    ).json()["users"]
    assert users == [{"first_name": "Vis", "user_aliases": [ALIAS]}]


async def test_alias_new_with_unknown_external_id_adds_nothing(
    client: httpx.AsyncClient, app: SandboxApp
) -> None:
    """§7.1: with an external_id nobody has, nothing is added."""
    await post(client, "/users/alias/new", {"user_aliases": [{**ALIAS, "external_id": "ghost"}]})
    assert len(app.users) == 0
    await track(client, {"external_id": "u"})
    await post(client, "/users/alias/new", {"user_aliases": [{**ALIAS, "external_id": "u"}]})
    assert app.users.by_alias("justuno", "visitor-1") is app.users.by_external_id("u")


async def test_alias_new_refuses_malformed(client: httpx.AsyncClient) -> None:
    response = await post(client, "/users/alias/new", {"user_aliases": [{"alias_name": "x"}]})
    assert response.status_code == 400
    assert "alias_label" in response.json()["message"]


async def test_identify_sets_external_id_when_nobody_has_it(client: httpx.AsyncClient) -> None:
    """§7.2: no profile has the external_id → it is set on the alias-only profile."""
    await post(client, "/users/alias/new", {"user_aliases": [ALIAS]})
    response = await post(
        client,
        "/users/identify",
        {"aliases_to_identify": [{"external_id": "u", "user_alias": ALIAS}]},
    )
    assert response.json() == {"aliases_processed": 1, "message": "success"}
    users = (
        await post(
            client,
            "/users/export/ids",
            {"external_ids": ["u"], "fields_to_export": ["user_aliases"]},
        )
    ).json()["users"]
    assert users == [{"user_aliases": [ALIAS]}]


async def test_identify_merges_fields_only_on_the_unidentified_profile(
    client: httpx.AsyncClient, app: SandboxApp
) -> None:
    """§7.2: fields found only on the unidentified profile are copied; it is removed."""
    await track(
        client,
        {
            "user_alias": ALIAS,
            "_update_existing_only": False,
            "first_name": "Alias",
            "city": "Oslo",
        },
        {"external_id": "u", "first_name": "Known"},
    )
    await post(
        client,
        "/users/identify",
        {"aliases_to_identify": [{"external_id": "u", "user_alias": ALIAS}]},
    )
    assert len(app.users) == 1
    user = (
        await post(
            client,
            "/users/export/ids",
            {
                "external_ids": ["u"],
                "fields_to_export": ["first_name", "custom_attributes", "user_aliases"],
            },
        )
    ).json()["users"][0]
    assert user == {
        "first_name": "Known",
        "custom_attributes": {"city": "Oslo"},
        "user_aliases": [ALIAS],
    }


async def test_identify_by_email(client: httpx.AsyncClient, app: SandboxApp) -> None:
    """§7.2: ``emails_to_identify`` joins an email-only profile into the identified one."""
    await track(client, {"email": "lead@example.com", "last_name": "Lead"}, {"external_id": "u"})
    response = await post(
        client,
        "/users/identify",
        {
            "emails_to_identify": [
                {
                    "external_id": "u",
                    "email": "lead@example.com",
                    "prioritization": ["unidentified", "most_recently_updated"],
                }
            ]
        },
    )
    assert response.status_code == 201
    assert len(app.users) == 1
    user = (
        await post(
            client,
            "/users/export/ids",
            {"email_address": "lead@example.com", "fields_to_export": ["external_id", "last_name"]},
        )
    ).json()["users"]
    assert user == [{"external_id": "u", "last_name": "Lead"}]


async def test_delete(client: httpx.AsyncClient) -> None:
    """``/users/delete`` by external_ids, user_aliases, braze_ids."""
    await track(client, {"external_id": "a"}, {"external_id": "b", "email": "b@example.com"})
    await post(client, "/users/alias/new", {"user_aliases": [ALIAS]})
    response = await post(
        client, "/users/delete", {"external_ids": ["a", "nobody"], "user_aliases": [ALIAS]}
    )
    assert response.json() == {"deleted": 2, "message": "success"}
    left = (
        await post(
            client,
            "/users/export/ids",
            {"external_ids": ["a", "b"], "fields_to_export": ["external_id"]},
        )
    ).json()
    assert left["users"] == [{"external_id": "b"}]
    assert left["invalid_user_ids"] == ["a"]
