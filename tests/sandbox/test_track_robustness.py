"""Bad input never crashes the sandbox: any JSON gets a 201 or a 400 (braze-api.md §2.5)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from justuno_braze.sandbox.app import create_app

AUTH = {"Authorization": "Bearer sandbox-key"}
KEYS = st.sampled_from(
    [
        "external_id", "user_alias", "braze_id", "email", "phone", "first_name", "gender",
        "dob", "country", "time_zone", "email_subscribe", "subscription_groups",
        "current_location", "push_tokens", "_update_existing_only", "_merge_objects",
        "name", "time", "properties", "product_id", "currency", "price", "quantity",
        "date_of_first_session", "facebook", "custom", "$bad", "", "alias_name",
        "alias_label", "inc", "add", "remove", "$add", "$remove", "$update", "$time",
        "$identifier_key", "$identifier_value", "$new_object", "subscription_group_id",
        "subscription_state",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["u1", "a@example.com", "+14155552671", "2024-01-01", "12/1/2021", "x" * 300]),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)
OBJECTS = st.one_of(st.dictionaries(KEYS, VALUES, max_size=6), SCALARS)
BODIES = st.fixed_dictionaries(
    {},
    optional={
        "attributes": st.lists(OBJECTS, max_size=4),
        "events": st.lists(OBJECTS, max_size=3),
        "purchases": st.lists(OBJECTS, max_size=3),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(BODIES, min_size=1, max_size=3))
def test_any_track_body_gets_201_or_400(bodies: list[dict[str, Any]]) -> None:
    app = create_app()

    async def run() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://s", headers=AUTH) as c:
            for body in bodies:
                response = await c.post("/users/track", json=body)
                assert response.status_code in (201, 400), response.text
                answer = response.json()
                assert isinstance(answer["message"], str)
                for error in answer.get("errors", []):
                    assert set(error) == {"type", "input_array", "index"}
            export = await c.post("/users/export/ids", json={"external_ids": ["u1"]})
            assert export.status_code == 201
            listing = await c.get("/custom_attributes")
            assert listing.status_code == 200

    asyncio.run(run())


@settings(max_examples=100, deadline=None)
@given(body=st.dictionaries(KEYS, VALUES, max_size=6))
def test_other_endpoints_never_crash(body: dict[str, Any]) -> None:
    app = create_app()

    async def run() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://s", headers=AUTH) as c:
            for path in (
                "/users/export/ids",
                "/users/alias/new",
                "/users/identify",
                "/users/delete",
                "/subscription/status/set",
                "/v2/subscription/status/set",
            ):
                response = await c.post(path, json=body)
                assert response.status_code in (201, 400), (path, response.text)
            params = {k: str(v) for k, v in body.items() if k}
            for path in ("/subscription/status/get", "/subscription/user/status"):
                response = await c.get(path, params=params)
                assert response.status_code in (200, 400), (path, response.text)

    asyncio.run(run())


def _track(obj: dict[str, Any]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post("/users/track", json={"attributes": [obj]}, headers=AUTH)

    return asyncio.run(go())


def test_null_subscription_groups_is_a_minor_error_not_a_crash() -> None:
    """`subscription_groups` must be an array (braze-api.md §2.6 BAD_SUBSCRIPTION_GROUP_ARRAY)."""
    response = _track({"external_id": "u1", "subscription_groups": None})
    assert response.status_code == 400
    assert response.json()["errors"][0]["type"] == "BAD_SUBSCRIPTION_GROUP_ARRAY"


def test_unhashable_enum_values_are_refused_not_crashing() -> None:
    """gender / email_subscribe / push_subscribe given a list are invalid values (§2.6, §3)."""
    for field in ("gender", "email_subscribe", "push_subscribe"):
        response = _track({"external_id": "u1", field: ["F"]})
        assert response.status_code == 400, field
        assert response.json()["errors"][0]["index"] == 0


def test_unhashable_group_id_or_state_is_refused_not_crashing() -> None:
    """A list as a subscription group's ID or state is a bad ID / state (§2.6), not a 500."""
    group = "0b7c4a52-6f1e-4c43-9a57-1f0f7c3e9d11"
    for item, error in (
        ({"subscription_group_id": [group], "subscription_state": "subscribed"},
         "BAD_SUBSCRIPTION_GROUP_ID"),
        ({"subscription_group_id": group, "subscription_state": ["subscribed"]},
         "BAD_SUBSCRIPTION_GROUP_STATE"),
    ):  # fmt: skip
        response = _track({"external_id": "u1", "subscription_groups": [item]})
        assert response.status_code == 400, item
        assert response.json()["errors"] == [
            {"type": error, "input_array": "attributes", "index": 0}
        ]
