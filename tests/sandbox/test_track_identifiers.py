"""``/users/track`` identifier rules, caps, minor errors (braze-api.md §2.2–§2.5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import SandboxOptions

AUTH = {"Authorization": "Bearer sandbox-key"}
REQUIRED = "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
NO_VALID = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."


@pytest.fixture
def app() -> SandboxApp:
    return create_app(SandboxOptions())


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH) as c:
        yield c


async def track(client: httpx.AsyncClient, **arrays: Any) -> httpx.Response:
    return await client.post("/users/track", json=arrays)


async def export(client: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    response = await client.post("/users/export/ids", json=body)
    assert response.status_code == 201, response.text
    users: list[dict[str, Any]] = response.json()["users"]
    return users


async def test_success_body_counts_only_arrays_sent(client: httpx.AsyncClient) -> None:
    """§2.5: 201, ``message: success`` and a ``*_processed`` count per array sent."""
    response = await track(
        client, attributes=[{"external_id": "a"}, {"external_id": "b", "first_name": "B"}]
    )
    assert response.status_code == 201
    assert response.json() == {"message": "success", "attributes_processed": 2}


async def test_minor_error_keeps_valid_objects(client: httpx.AsyncClient) -> None:
    """§2.5: a bad object becomes ``{type, input_array, index}``; the rest is applied."""
    response = await track(
        client,
        attributes=[{"external_id": "ok", "first_name": "Ok"}],
        events=[
            {"external_id": "ok", "name": "e", "time": "2024-01-01T00:00:00Z"},
            {"name": "e", "time": "2024-01-01T00:00:00Z"},
        ],
    )
    assert response.status_code == 201
    assert response.json() == {
        "message": "success",
        "attributes_processed": 1,
        "events_processed": 1,
        "errors": [{"type": REQUIRED, "input_array": "events", "index": 1}],
    }
    users = await export(client, external_ids=["ok"], fields_to_export=["first_name"])
    assert users == [{"first_name": "Ok"}]


async def test_nothing_valid_is_400(client: httpx.AsyncClient, app: SandboxApp) -> None:
    """§2.5/§9.4: when every object is invalid the answer is 400 with the errors."""
    response = await track(client, attributes=[{"first_name": "x"}, {"email": "not-an-email"}])
    assert response.status_code == 400
    assert response.json() == {
        "message": NO_VALID,
        "errors": [
            {"type": REQUIRED, "input_array": "attributes", "index": 0},
            {"type": "EMAIL_BAD_FORMAT", "input_array": "attributes", "index": 1},
        ],
    }
    assert len(app.users) == 0


async def test_empty_request_is_400(client: httpx.AsyncClient) -> None:
    """§2.1: a request that carries no valid data at all is a fatal 400."""
    response = await client.post("/users/track", json={})
    assert response.status_code == 400
    assert response.json()["message"] == NO_VALID


async def test_more_than_75_in_an_array_is_400(client: httpx.AsyncClient, app: SandboxApp) -> None:
    """§2.2: more than 75 in any array is ``400 Max Input Length Exceeded``."""
    objects = [{"external_id": f"u{i}"} for i in range(76)]
    response = await track(client, attributes=objects)
    assert response.status_code == 400
    assert response.json()["message"] == "Max Input Length Exceeded"
    assert len(app.users) == 0
    ok = await track(client, attributes=objects[:75], events=[], purchases=[])
    assert ok.json()["attributes_processed"] == 75


async def test_combined_cap_mode() -> None:
    """§2.2: new-pricing mode caps the three arrays together."""
    app = create_app(SandboxOptions(combined_cap=50))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", headers=AUTH
    ) as client:
        attributes = [{"external_id": f"u{i}"} for i in range(30)]
        events = [{"external_id": f"u{i}", "name": "e", "time": "2024-01-01"} for i in range(21)]
        refused = await track(client, attributes=attributes, events=events)
        assert refused.status_code == 400
        assert refused.json()["message"] == "Max Input Length Exceeded"
        accepted = await track(client, attributes=attributes, events=events[:20])
        assert accepted.status_code == 201


async def test_two_primary_identifiers_reject_the_object(client: httpx.AsyncClient) -> None:
    """§2.3: only one primary identifier is allowed per object."""
    response = await track(
        client,
        attributes=[
            {"external_id": "u1", "braze_id": "abc"},
            {"external_id": "u2"},
        ],
    )
    body = response.json()
    assert body["attributes_processed"] == 1
    assert body["errors"][0]["index"] == 0
    assert "only one" in body["errors"][0]["type"]


async def test_email_lookup_updates_the_existing_profile(client: httpx.AsyncClient) -> None:
    """§2.3: email identifies an existing profile (case-insensitive); no duplicate."""
    await track(client, attributes=[{"external_id": "u1", "email": "ann@example.com"}])
    await track(client, attributes=[{"email": "Ann@Example.com", "first_name": "Ann"}])
    users = await export(
        client, email_address="ann@example.com", fields_to_export=["external_id", "first_name"]
    )
    assert users == [{"external_id": "u1", "first_name": "Ann"}]


async def test_unknown_email_creates_email_only_profile(client: httpx.AsyncClient) -> None:
    """§2.3: no profile with the email → a new email-only profile, no alias."""
    await track(client, attributes=[{"email": "new@example.com", "last_name": "N"}])
    users = await export(
        client,
        email_address="new@example.com",
        fields_to_export=["external_id", "email", "last_name", "user_aliases"],
    )
    assert users == [{"email": "new@example.com", "last_name": "N"}]


async def test_email_wins_over_phone(client: httpx.AsyncClient) -> None:
    """§2.3: with email and phone but no primary, email is the identifier."""
    await track(client, attributes=[{"external_id": "by-phone", "phone": "+14155552671"}])
    await track(client, attributes=[{"external_id": "by-email", "email": "e@example.com"}])
    await track(
        client, attributes=[{"email": "e@example.com", "phone": "+14155552671", "home_city": "X"}]
    )
    by_email = await export(client, external_ids=["by-email"], fields_to_export=["home_city"])
    by_phone = await export(client, external_ids=["by-phone"], fields_to_export=["home_city"])
    assert by_email == [{"home_city": "X"}]
    assert by_phone == [{}]


async def test_phone_lookup_needs_a_valid_number(client: httpx.AsyncClient) -> None:
    """§2.3: phone lookup works only with a valid number."""
    await track(client, attributes=[{"external_id": "p", "phone": "+1 (415) 555-2671"}])
    response = await track(
        client,
        attributes=[
            {"phone": "+14155552671", "first_name": "Found"},
            {"phone": "12345", "first_name": "Bad"},
        ],
    )
    body = response.json()
    assert body["attributes_processed"] == 1
    assert body["errors"] == [
        {"type": "'phone' is not valid", "input_array": "attributes", "index": 1}
    ]
    users = await export(client, external_ids=["p"], fields_to_export=["first_name"])
    assert users == [{"first_name": "Found"}]


async def test_email_with_primary_is_an_attribute_and_can_duplicate(
    client: httpx.AsyncClient,
) -> None:
    """§2.3 pitfall: unknown external_id + existing email creates a duplicate profile."""
    await track(client, attributes=[{"email": "dup@example.com", "first_name": "Old"}])
    await track(client, attributes=[{"external_id": "x1", "email": "dup@example.com"}])
    users = await export(
        client, email_address="dup@example.com", fields_to_export=["external_id", "first_name"]
    )
    assert sorted(users, key=lambda u: u.get("external_id", "")) == [
        {"first_name": "Old"},
        {"external_id": "x1"},
    ]


async def test_shared_email_updates_most_recent_identified(client: httpx.AsyncClient) -> None:
    """§2.3: several profiles share the email → the most recently updated one with an
    external_id is updated."""
    await track(client, attributes=[{"external_id": "old", "email": "s@example.com"}])
    await track(client, attributes=[{"external_id": "new", "email": "s@example.com"}])
    await track(client, attributes=[{"email": "s@example.com", "first_name": "Anon"}])
    await track(client, attributes=[{"external_id": "old", "last_name": "touched"}])
    await track(client, attributes=[{"email": "s@example.com", "home_city": "Paris"}])
    users = await export(
        client, external_ids=["old", "new"], fields_to_export=["external_id", "home_city"]
    )
    assert users == [{"external_id": "old", "home_city": "Paris"}, {"external_id": "new"}]


async def test_update_existing_only_creates_nothing(
    client: httpx.AsyncClient, app: SandboxApp
) -> None:
    """§2.4: ``_update_existing_only: true`` updates only; the object still counts."""
    response = await track(
        client, attributes=[{"external_id": "ghost", "_update_existing_only": True, "a": 1}]
    )
    assert response.status_code == 201
    assert response.json()["attributes_processed"] == 1
    assert app.users.by_external_id("ghost") is None


async def test_alias_defaults_to_update_only(client: httpx.AsyncClient, app: SandboxApp) -> None:
    """§2.4: an alias-keyed attributes object creates a profile only with ``false``."""
    alias = {"alias_name": "v1", "alias_label": "justuno_visitor"}
    await track(client, attributes=[{"user_alias": alias, "first_name": "A"}])
    assert app.users.by_alias("justuno_visitor", "v1") is None
    await track(
        client,
        attributes=[{"user_alias": alias, "_update_existing_only": False, "first_name": "A"}],
    )
    users = await export(
        client, user_aliases=[alias], fields_to_export=["user_aliases", "first_name"]
    )
    assert users == [{"user_aliases": [alias], "first_name": "A"}]


async def test_braze_id_never_creates(client: httpx.AsyncClient, app: SandboxApp) -> None:
    """§2.3: ``braze_id`` identifies an existing profile only."""
    await track(client, attributes=[{"braze_id": "0123456789abcdef01234567", "a": 1}])
    assert len(app.users) == 0
    await track(client, attributes=[{"external_id": "u"}])
    braze_id = (await export(client, external_ids=["u"], fields_to_export=["braze_id"]))[0]
    await track(client, attributes=[{"braze_id": braze_id["braze_id"], "a": 2}])
    users = await export(client, external_ids=["u"], fields_to_export=["custom_attributes"])
    assert users == [{"custom_attributes": {"a": 2}}]


async def test_external_id_over_987_bytes(client: httpx.AsyncClient) -> None:
    """§2.3: a longer external_id gives ``EXTERNAL_USER_ID_TOO_LARGE``."""
    response = await track(
        client, attributes=[{"external_id": "é" * 494}, {"external_id": "a" * 987}]
    )
    body = response.json()
    assert body["attributes_processed"] == 1
    assert body["errors"] == [
        {"type": "EXTERNAL_USER_ID_TOO_LARGE", "input_array": "attributes", "index": 0}
    ]


async def test_non_object_entries_are_minor_errors(client: httpx.AsyncClient) -> None:
    """§2.5: the index counts within the named array."""
    response = await track(client, attributes=[{"external_id": "a"}, "nope"])
    assert response.json()["errors"][0]["index"] == 1
    assert response.json()["attributes_processed"] == 1


async def test_array_of_wrong_type_is_400(client: httpx.AsyncClient) -> None:
    """A top-level array that is not a JSON array is a 400 naming it."""
    response = await client.post("/users/track", json={"attributes": {"external_id": "a"}})
    assert response.status_code == 400
    assert "'attributes'" in response.json()["message"]


async def test_bare_ten_digit_phone_is_a_us_number(client: httpx.AsyncClient) -> None:
    """§3: a bare 10-digit number is read as US; lookups by E.164 find it."""
    await track(client, attributes=[{"external_id": "us", "phone": "415-555-2671"}])
    await track(client, attributes=[{"phone": "+14155552671", "last_name": "Found"}])
    users = await export(
        client, phone="+14155552671", fields_to_export=["external_id", "last_name"]
    )
    assert users == [{"external_id": "us", "last_name": "Found"}]
