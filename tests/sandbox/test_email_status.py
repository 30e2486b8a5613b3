"""Global email state endpoints: ``POST /email/status`` and ``GET /email/unsubscribes``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import SandboxOptions

AUTH = {"Authorization": "Bearer sandbox-key"}
DAY = 86400.0
NOON_JAN_10 = datetime(2027, 1, 10, 12, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float = NOON_JAN_10) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> SandboxApp:
    keys = {
        "sandbox-key": None,
        "status-only": frozenset({"email.status"}),
        "track-only": frozenset({"users.track"}),
    }
    return create_app(SandboxOptions(api_keys=keys, clock=clock))


def client_for(app: SandboxApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH)


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        response = await c.post(
            "/users/track",
            json={
                "attributes": [
                    {"external_id": "u1", "email": "one@example.com"},
                    {"external_id": "u2", "email": "shared@example.com"},
                    {"external_id": "u3", "email": "Shared@Example.com"},
                    {"external_id": "u4", "email": "four@example.com"},
                ]
            },
        )
        assert response.status_code == 201, response.text
        yield c


async def set_state(client: httpx.AsyncClient, email: Any, state: str) -> None:
    response = await client.post(
        "/email/status", json={"email": email, "subscription_state": state}
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"message": "success"}


async def email_states(client: httpx.AsyncClient, *external_ids: str) -> dict[str, str]:
    body = {
        "external_ids": list(external_ids),
        "fields_to_export": ["external_id", "email_subscribe"],
    }
    response = await client.post("/users/export/ids", json=body)
    assert response.status_code == 201, response.text
    return {u["external_id"]: u["email_subscribe"] for u in response.json()["users"]}


async def unsubscribes(client: httpx.AsyncClient, **params: Any) -> list[dict[str, str]]:
    response = await client.get("/email/unsubscribes", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "success"
    emails: list[dict[str, str]] = response.json()["emails"]
    return emails


# --- auth ------------------------------------------------------------------------------------


async def test_both_endpoints_need_a_key(client: httpx.AsyncClient) -> None:
    bare = {"Authorization": ""}
    posted = await client.post(
        "/email/status", json={"email": "one@example.com", "subscription_state": "unsubscribed"},
        headers=bare,
    )  # fmt: skip
    listed = await client.get("/email/unsubscribes", params={"email": "a@b.c"}, headers=bare)
    assert (posted.status_code, listed.status_code) == (401, 401)
    assert "Invalid API Key" in posted.json()["message"]
    assert await email_states(client, "u1") == {"u1": "subscribed"}


async def test_each_endpoint_has_its_own_permission(client: httpx.AsyncClient) -> None:
    body = {"email": "one@example.com", "subscription_state": "unsubscribed"}
    forbidden = await client.post(
        "/email/status", json=body, headers={"Authorization": "Bearer track-only"}
    )
    assert forbidden.status_code == 403
    assert "'email.status'" in forbidden.json()["message"]
    assert await email_states(client, "u1") == {"u1": "subscribed"}

    status_only = {"Authorization": "Bearer status-only"}
    allowed = await client.post("/email/status", json=body, headers=status_only)
    assert allowed.status_code == 201
    listing = await client.get(
        "/email/unsubscribes", params={"email": "one@example.com", "end_date": "2027-01-11"},
        headers=status_only,
    )  # fmt: skip
    assert listing.status_code == 403
    assert "'email.unsubscribe'" in listing.json()["message"]


async def test_default_rate_limit_family(client: httpx.AsyncClient) -> None:
    """Braze applies its default 250,000 requests per hour to both endpoints."""
    response = await client.get(
        "/email/unsubscribes", params={"start_date": "2027-01-01", "end_date": "2027-01-02"}
    )
    assert response.headers["x-ratelimit-limit"] == "250000"


# --- POST /email/status ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"subscription_state": "unsubscribed"}, "'email' is required"),
        ({"email": [], "subscription_state": "unsubscribed"}, "'email' is required"),
        ({"email": ["ok@example.com", 7], "subscription_state": "unsubscribed"}, "non-empty"),
        (
            {"email": [f"e{i}@example.com" for i in range(51)], "subscription_state": "opted_in"},
            "more than 50",
        ),
        ({"email": "one@example.com"}, "'subscription_state' must be"),
        ({"email": "one@example.com", "subscription_state": "Unsubscribed"}, "must be"),
    ],
)
async def test_status_validation(client: httpx.AsyncClient, body: Any, needle: str) -> None:
    response = await client.post("/email/status", json=body)
    assert response.status_code == 400
    assert needle in response.json()["message"]
    assert await email_states(client, "u1") == {"u1": "subscribed"}


async def test_status_changes_every_profile_with_the_address(client: httpx.AsyncClient) -> None:
    await set_state(client, "SHARED@example.com", "unsubscribed")
    assert await email_states(client, "u1", "u2", "u3") == {
        "u1": "subscribed",
        "u2": "unsubscribed",
        "u3": "unsubscribed",
    }
    await set_state(client, ["shared@example.com", "one@example.com"], "opted_in")
    assert await email_states(client, "u1", "u2", "u3") == {
        "u1": "opted_in",
        "u2": "opted_in",
        "u3": "opted_in",
    }


async def test_status_for_an_unknown_address_creates_no_profile(
    client: httpx.AsyncClient, app: SandboxApp
) -> None:
    before = len(app.users)
    await set_state(client, "nobody@example.com", "unsubscribed")
    assert len(app.users) == before
    exported = await client.post("/users/export/ids", json={"email_address": "nobody@example.com"})
    assert exported.json()["users"] == []


# --- GET /email/unsubscribes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"start_date": "2027-01-01"}, "'end_date' is required"),
        ({"end_date": "2027-01-11"}, "with 'start_date' or 'email'"),
        ({"start_date": "2027/01/01", "end_date": "2027-01-11"}, "'start_date' must be a date"),
        ({"start_date": "2027-01-01", "end_date": "tomorrow"}, "'end_date' must be a date"),
        ({"start_date": "2027-01-12", "end_date": "2027-01-11"}, "earlier than 'end_date'"),
        ({"start_date": "2027-01-01", "end_date": "2027-01-11", "limit": "501"}, "'limit'"),
        ({"start_date": "2027-01-01", "end_date": "2027-01-11", "limit": "0"}, "'limit'"),
        ({"start_date": "2027-01-01", "end_date": "2027-01-11", "limit": "x"}, "'limit'"),
        ({"start_date": "2027-01-01", "end_date": "2027-01-11", "offset": "-1"}, "'offset'"),
        (
            {"start_date": "2027-01-01", "end_date": "2027-01-11", "sort_direction": "up"},
            "'sort_direction'",
        ),
    ],
)
async def test_unsubscribes_validation(
    client: httpx.AsyncClient, params: dict[str, str], needle: str
) -> None:
    response = await client.get("/email/unsubscribes", params=params)
    assert response.status_code == 400
    assert needle in response.json()["message"]


async def test_unsubscribes_filter_by_date(client: httpx.AsyncClient, clock: Clock) -> None:
    await set_state(client, "one@example.com", "unsubscribed")  # Jan 10, 12:00 UTC
    clock.now += 2 * DAY
    await set_state(client, "four@example.com", "unsubscribed")  # Jan 12, 12:00 UTC

    assert await unsubscribes(client, start_date="2027-01-10", end_date="2027-01-11") == [
        {"email": "one@example.com", "unsubscribed_at": "2027-01-10T12:00:00.000Z"}
    ]
    assert await unsubscribes(client, start_date="2027-01-11", end_date="2027-01-13") == [
        {"email": "four@example.com", "unsubscribed_at": "2027-01-12T12:00:00.000Z"}
    ]
    # end_date is that day's midnight: Jan 12 noon is after 2027-01-12
    assert await unsubscribes(client, start_date="2027-01-11", end_date="2027-01-12") == []
    both = await unsubscribes(client, start_date="2027-01-01", end_date="2027-01-31")
    assert [e["email"] for e in both] == ["four@example.com", "one@example.com"]  # newest first
    only = await unsubscribes(client, email="one@example.com", end_date="2027-01-31")
    assert [e["email"] for e in only] == ["one@example.com"]


async def test_unsubscribes_pagination_and_sort(client: httpx.AsyncClient, clock: Clock) -> None:
    for address in ("one@example.com", "shared@example.com", "four@example.com"):
        await set_state(client, address, "unsubscribed")
        clock.now += 60
    window = {"start_date": "2027-01-10", "end_date": "2027-01-11"}
    first = await unsubscribes(client, **window, limit=2)
    rest = await unsubscribes(client, **window, limit=2, offset=2)
    # a shared address is listed once
    assert [e["email"] for e in first + rest] == [
        "four@example.com", "shared@example.com", "one@example.com",
    ]  # fmt: skip
    oldest = await unsubscribes(client, **window, sort_direction="asc", limit=1)
    assert [e["email"] for e in oldest] == ["one@example.com"]
    assert await unsubscribes(client, **window, offset=3) == []


async def test_resubscribed_addresses_leave_the_list(client: httpx.AsyncClient) -> None:
    window = {"start_date": "2027-01-10", "end_date": "2027-01-11"}
    await set_state(client, "one@example.com", "unsubscribed")
    assert len(await unsubscribes(client, **window)) == 1
    await set_state(client, "one@example.com", "subscribed")
    assert await unsubscribes(client, **window) == []


async def test_repeated_unsubscribe_keeps_the_first_time(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    await set_state(client, "one@example.com", "unsubscribed")
    clock.now += DAY
    await set_state(client, "one@example.com", "unsubscribed")  # no change of state
    listed = await unsubscribes(client, start_date="2027-01-01", end_date="2027-01-31")
    assert listed == [{"email": "one@example.com", "unsubscribed_at": "2027-01-10T12:00:00.000Z"}]


async def test_track_unsubscribe_is_listed_too(client: httpx.AsyncClient) -> None:
    """The list is of the profile state, whichever endpoint set it."""
    attributes = [{"external_id": "u4", "email_subscribe": "unsubscribed"}]
    response = await client.post("/users/track", json={"attributes": attributes})
    assert response.status_code == 201, response.text
    listed = await unsubscribes(client, start_date="2027-01-10", end_date="2027-01-11")
    assert [e["email"] for e in listed] == ["four@example.com"]


async def test_unsubscribe_time_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    state = tmp_path / "state.json"
    first = create_app(SandboxOptions(state=state, clock=clock))
    async with client_for(first) as c:
        attributes = [{"external_id": "u1", "email": "one@example.com"}]
        await c.post("/users/track", json={"attributes": attributes})
        await set_state(c, "one@example.com", "unsubscribed")
    first.save()
    clock.now += DAY
    second = create_app(SandboxOptions(state=state, clock=clock))
    async with client_for(second) as c:
        assert await email_states(c, "u1") == {"u1": "unsubscribed"}
        listed = await unsubscribes(c, start_date="2027-01-10", end_date="2027-01-11")
    assert listed == [{"email": "one@example.com", "unsubscribed_at": "2027-01-10T12:00:00.000Z"}]
