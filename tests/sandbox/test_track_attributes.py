"""Standard fields and custom-attribute operations (braze-api.md §3, §4, §6.2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import SandboxOptions

AUTH = {"Authorization": "Bearer sandbox-key"}
GROUP = "3f1c2a7e-9b1d-4c1e-8f6a-2b7c9d0e1f23"


@pytest.fixture
def app() -> SandboxApp:
    return create_app(SandboxOptions(array_max_length=3))


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH) as c:
        yield c


async def send(client: httpx.AsyncClient, *objects: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/users/track", json={"attributes": list(objects)})
    body: dict[str, Any] = response.json()
    return body


async def profile(client: httpx.AsyncClient, external_id: str = "u") -> dict[str, Any]:
    response = await client.post("/users/export/ids", json={"external_ids": [external_id]})
    users: list[dict[str, Any]] = response.json()["users"]
    assert len(users) == 1
    return users[0]


async def custom(client: httpx.AsyncClient, external_id: str = "u") -> dict[str, Any]:
    return dict((await profile(client, external_id)).get("custom_attributes", {}))


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("email", "no-at-sign", "EMAIL_BAD_FORMAT"),
        ("email", "two@@example.com", "EMAIL_BAD_FORMAT"),
        ("gender", "male", "'gender' is not valid"),
        ("dob", "21/12/1980", "'dob' is not valid"),
        ("dob", "1980-02-30", "'dob' is not valid"),
        ("email_subscribe", "yes", "BAD_EMAIL_SUBSCRIPTION_STATE"),
        ("push_subscribe", "maybe", "BAD_PUSH_SUBSCRIPTION_STATE"),
        ("subscription_groups", {"subscription_group_id": GROUP}, "BAD_SUBSCRIPTION_GROUP_ARRAY"),
        ("subscription_groups", [{"subscription_group_id": GROUP}], "BAD_SUBSCRIPTION_GROUP_HASH"),
        (
            "subscription_groups",
            [{"subscription_group_id": "not-a-uuid", "subscription_state": "subscribed"}],
            "BAD_SUBSCRIPTION_GROUP_ID",
        ),
        (
            "subscription_groups",
            [{"subscription_group_id": GROUP, "subscription_state": "opted_in"}],
            "BAD_SUBSCRIPTION_GROUP_STATE",
        ),
        ("current_location", {"longitude": 1}, "BAD_LOCATION_UPDATE"),
        ("first_name", 12, "'first_name' is not valid"),
    ],
)
async def test_standard_field_errors_drop_the_object(
    client: httpx.AsyncClient, field: str, value: Any, error: str
) -> None:
    """§2.6/§3/§9.6: a bad standard field is a minor error and nothing of it is stored."""
    body = await send(client, {"external_id": "u", "first_name": "Kept?", field: value})
    assert body["errors"] == [{"type": error, "input_array": "attributes", "index": 0}]
    listed = await client.post("/users/export/ids", json={"external_ids": ["u"]})
    assert listed.json()["users"] == []


async def test_standard_fields_are_stored_as_sent(client: httpx.AsyncClient) -> None:
    """§3: the standard fields land on the profile and export shows them."""
    await send(
        client,
        {
            "external_id": "u",
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann@example.com",
            "phone": "+14155552671",
            "gender": "F",
            "dob": "1980-12-21",
            "country": "FR",
            "language": "fr",
            "home_city": "Lyon",
            "time_zone": "Europe/Paris",
            "email_subscribe": "opted_in",
            "push_subscribe": "unsubscribed",
        },
    )
    user = await profile(client)
    expected = {
        "external_id": "u",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "phone": "+14155552671",
        "gender": "F",
        "dob": "1980-12-21",
        "country": "FR",
        "language": "fr",
        "home_city": "Lyon",
        "time_zone": "Europe/Paris",
        "email_subscribe": "opted_in",
        "push_subscribe": "unsubscribed",
    }
    assert {k: user[k] for k in expected} == expected
    assert "custom_attributes" not in user


async def test_country_is_mapped_or_stored_as_null(client: httpx.AsyncClient) -> None:
    """§3: other spellings are mapped (``Australia`` → ``AU``); no match stores NULL."""
    await send(client, {"external_id": "u", "country": "Australia"})
    assert (await profile(client))["country"] == "AU"
    body = await send(client, {"external_id": "u", "country": "Atlantis"})
    assert "errors" not in body
    assert "country" not in await profile(client)


async def test_invalid_time_zone_is_not_set(client: httpx.AsyncClient) -> None:
    """§3: invalid ``time_zone`` values are not set (no error)."""
    await send(client, {"external_id": "u", "time_zone": "America/New_York"})
    body = await send(client, {"external_id": "u", "time_zone": "Mars/Olympus"})
    assert "errors" not in body
    assert (await profile(client))["time_zone"] == "America/New_York"


async def test_null_removes_a_standard_field(client: httpx.AsyncClient) -> None:
    """§3: setting a field to null removes it."""
    await send(client, {"external_id": "u", "first_name": "Ann", "email": "a@example.com"})
    await send(client, {"external_id": "u", "first_name": None, "email": None})
    user = await profile(client)
    assert "first_name" not in user and "email" not in user
    again = await client.post("/users/export/ids", json={"email_address": "a@example.com"})
    assert again.json()["users"] == []


async def test_set_null_and_empty_string(client: httpx.AsyncClient) -> None:
    """§4.2: set replaces, null deletes, ``""`` is valid only for strings."""
    await send(client, {"external_id": "u", "s": "text", "n": 5, "gone": True})
    await send(client, {"external_id": "u", "s": "", "n": "", "gone": None})
    assert await custom(client) == {"s": "", "n": 5}


async def test_inc(client: httpx.AsyncClient) -> None:
    """§4.2: ``{"inc": n}`` increments, positive or negative; absent starts at n."""
    await send(client, {"external_id": "u", "count": {"inc": 5}})
    await send(client, {"external_id": "u", "count": {"inc": -2}})
    assert await custom(client) == {"count": 3}


async def test_arrays_are_unique_move_to_end_and_evict_oldest(client: httpx.AsyncClient) -> None:
    """§4.2: unique values; adding a present value moves it; full → oldest dropped."""
    await send(client, {"external_id": "u", "food": ["hotdog", "hotdog", "hotdog", "pizza"]})
    assert await custom(client) == {"food": ["hotdog", "pizza"]}
    await send(client, {"external_id": "u", "food": {"add": ["hotdog"]}})
    assert await custom(client) == {"food": ["pizza", "hotdog"]}
    await send(client, {"external_id": "u", "food": {"add": ["taco", "ramen"]}})
    assert await custom(client) == {"food": ["hotdog", "taco", "ramen"]}  # max length 3
    await send(client, {"external_id": "u", "food": {"add": ["sushi"], "remove": ["taco"]}})
    assert await custom(client) == {"food": ["hotdog", "ramen", "sushi"]}


async def test_date_strings_become_times(client: httpx.AsyncClient) -> None:
    """§4.1/§4.3: a date-looking string is stored as a time; no zone means UTC."""
    await send(
        client,
        {
            "external_id": "u",
            "a": "12/1/2021",
            "b": "2021-12-21T10:00:00+01:00",
            "c": "2021-12-21",
            "d": "not a date",
            "e": "3001-01-01",
        },
    )
    assert await custom(client) == {
        "a": "2021-12-01T00:00:00.000Z",
        "b": "2021-12-21T09:00:00.000Z",
        "c": "2021-12-21T00:00:00.000Z",
        "d": "not a date",
        "e": "3001-01-01",  # a year above 3000 stays a string
    }


async def test_string_over_255_is_ignored(client: httpx.AsyncClient) -> None:
    """§4.3 [inference]: an over-long string is not stored; the old value stays."""
    await send(client, {"external_id": "u", "bio_text": "short"})
    body = await send(client, {"external_id": "u", "bio_text": "x" * 256})
    assert body["attributes_processed"] == 1
    assert await custom(client) == {"bio_text": "short"}


async def test_nested_object_replace_and_merge(client: httpx.AsyncClient) -> None:
    """§4.2: an object replaces the stored one unless ``_merge_objects`` deep-merges."""
    await send(client, {"external_id": "u", "car": {"make": "VW", "specs": {"doors": 3}}})
    await send(client, {"external_id": "u", "car": {"specs": {"seats": 5}}})
    assert await custom(client) == {"car": {"specs": {"seats": 5}}}
    await send(
        client,
        {"external_id": "u", "_merge_objects": True, "car": {"make": "VW", "specs": {"doors": 3}}},
    )
    assert await custom(client) == {"car": {"make": "VW", "specs": {"seats": 5, "doors": 3}}}


async def test_time_inside_objects(client: httpx.AsyncClient) -> None:
    """§4.2: dates inside objects use ``{"$time": …}``."""
    await send(client, {"external_id": "u", "trip": {"at": {"$time": "2024-05-01"}}})
    assert await custom(client) == {"trip": {"at": "2024-05-01T00:00:00.000Z"}}


async def test_invalid_nested_value_drops_all_nested_updates(client: httpx.AsyncClient) -> None:
    """§4.3: one invalid nested value drops every nested update of the request; flat
    attributes still apply."""
    body = await send(
        client,
        {"external_id": "u", "ok": {"a": 1}, "flat": 1},
        {"external_id": "v", "bad": {"when": {"$time": "yesterday-ish"}}},
    )
    assert body["attributes_processed"] == 2
    assert await custom(client, "u") == {"flat": 1}
    await send(client, {"external_id": "u", "obj": {"bad key": 1}})
    assert await custom(client, "u") == {"flat": 1}


async def test_array_of_objects_operations(client: httpx.AsyncClient) -> None:
    """§4.2: ``$add``, ``$remove`` and ``$update`` (with ``_merge_objects``)."""
    pets = [{"id": 1, "name": "Rex"}, {"id": 2, "name": "Tom"}]
    await send(client, {"external_id": "u", "pets": pets})
    await send(client, {"external_id": "u", "pets": {"$add": [{"id": 3, "name": "Kit"}]}})
    await send(
        client,
        {
            "external_id": "u",
            "pets": {"$remove": [{"$identifier_key": "id", "$identifier_value": 1}]},
        },
    )
    update = {
        "$update": [{"$identifier_key": "id", "$identifier_value": 2, "$new_object": {"age": 4}}]
    }
    await send(client, {"external_id": "u", "pets": update})  # no _merge_objects: ignored
    assert await custom(client) == {"pets": [{"id": 2, "name": "Tom"}, {"id": 3, "name": "Kit"}]}
    await send(client, {"external_id": "u", "_merge_objects": True, "pets": update})
    assert await custom(client) == {
        "pets": [{"id": 2, "name": "Tom", "age": 4}, {"id": 3, "name": "Kit"}]
    }


async def test_blocklisted_attribute_is_not_processed() -> None:
    """§4.5: a blocklisted attribute is not processed from the API."""
    options = SandboxOptions(
        custom_attributes=(
            {"name": "secret", "data_type": "String", "status": "Blocklisted"},
            {"name": "score", "data_type": "Number", "status": "Active"},
            {"name": "vip", "data_type": "Boolean", "status": "Active"},
        )
    )
    app = create_app(options)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", headers=AUTH
    ) as client:
        await send(client, {"external_id": "u", "secret": "x", "score": "12", "vip": "T"})
        assert await custom(client) == {"score": 12, "vip": True}
        await send(client, {"external_id": "u", "score": "twelve", "vip": "maybe"})
        assert await custom(client) == {"score": 12, "vip": True}  # §4.4: ignored


async def test_subscription_groups_via_track(client: httpx.AsyncClient) -> None:
    """§6.2: groups set through ``/users/track`` show in the subscription endpoints;
    keyed by external_id with an email, every profile with that email follows."""
    await send(client, {"email": "fam@example.com", "first_name": "Other"})
    await send(
        client,
        {
            "external_id": "u",
            "email": "fam@example.com",
            "subscription_groups": [
                {"subscription_group_id": GROUP, "subscription_state": "subscribed"}
            ],
        },
    )
    response = await client.get("/subscription/user/status", params={"email": "fam@example.com"})
    groups = response.json()["subscription_groups"]
    assert groups == [
        {"subscription_group_id": GROUP, "subscription_status": "subscribed"},
        {"subscription_group_id": GROUP, "subscription_status": "subscribed"},
    ]


async def test_configured_groups_refuse_unknown_ids() -> None:
    """``--subscription-group``: only the configured group IDs are accepted."""
    other = "11111111-2222-4333-8444-555555555555"
    app = create_app(SandboxOptions(subscription_groups={GROUP: "sms"}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", headers=AUTH
    ) as client:
        body = await send(
            client,
            {
                "external_id": "u",
                "subscription_groups": [
                    {"subscription_group_id": other, "subscription_state": "subscribed"}
                ],
            },
            {
                "external_id": "v",
                "subscription_groups": [
                    {"subscription_group_id": GROUP.upper(), "subscription_state": "subscribed"}
                ],
            },
        )
        assert body["errors"] == [
            {"type": "BAD_SUBSCRIPTION_GROUP_ID", "input_array": "attributes", "index": 0}
        ]
        assert body["attributes_processed"] == 1


async def test_new_email_resets_global_state_unless_shared(client: httpx.AsyncClient) -> None:
    """§6.1: changing email sets ``subscribed`` unless the address exists elsewhere."""
    await send(
        client, {"external_id": "o", "email": "x@example.com", "email_subscribe": "unsubscribed"}
    )
    await send(
        client, {"external_id": "u", "email": "a@example.com", "email_subscribe": "opted_in"}
    )
    await send(client, {"external_id": "u", "email": "b@example.com"})
    assert (await profile(client))["email_subscribe"] == "subscribed"
    await send(client, {"external_id": "u", "email": "x@example.com"})
    assert (await profile(client))["email_subscribe"] == "unsubscribed"


async def test_email_case_change_keeps_the_state(client: httpx.AsyncClient) -> None:
    """§6.1: the same address in another case is not a new address."""
    await send(
        client, {"external_id": "u", "email": "a@example.com", "email_subscribe": "opted_in"}
    )
    await send(client, {"external_id": "u", "email": "A@Example.com"})
    user = await profile(client)
    assert (user["email"], user["email_subscribe"]) == ("A@Example.com", "opted_in")
