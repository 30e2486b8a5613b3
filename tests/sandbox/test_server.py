"""The sandbox on a real port: ``running_sandbox``, ``--state``, fault injection."""

from __future__ import annotations

from pathlib import Path

import httpx

from justuno_braze.sandbox.app import create_app
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox

AUTH = {"Authorization": "Bearer sandbox-key"}
BODY = {"attributes": [{"external_id": "u", "first_name": "Ann", "seen": "2024-01-01"}]}


def export(url: str) -> list[dict[str, object]]:
    response = httpx.post(
        f"{url}/users/export/ids",
        json={"external_ids": ["u"], "fields_to_export": ["first_name", "custom_attributes"]},
        headers=AUTH,
    )
    users: list[dict[str, object]] = response.json()["users"]
    return users


def test_sandbox_url_fixture_serves_braze_api(sandbox_url: str) -> None:
    response = httpx.post(f"{sandbox_url}/users/track", json=BODY, headers=AUTH)
    assert response.status_code == 201
    assert response.headers["x-ratelimit-limit"] == "3000"
    assert export(sandbox_url) == [
        {"first_name": "Ann", "custom_attributes": {"seen": "2024-01-01T00:00:00.000Z"}}
    ]


def test_running_sandbox_with_an_app_to_inspect() -> None:
    app = create_app()
    with running_sandbox(app=app) as url:
        assert url.startswith("http://127.0.0.1:")
        httpx.post(f"{url}/users/track", json=BODY, headers=AUTH)
    stored = app.users.by_external_id("u")
    assert stored is not None and stored.fields["first_name"] == "Ann"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    """``--state FILE``: users are written on shutdown and read on start."""
    state = tmp_path / "state.json"
    with running_sandbox(SandboxOptions(state=state)) as url:
        httpx.post(f"{url}/users/track", json=BODY, headers=AUTH)
    assert state.exists()
    with running_sandbox(SandboxOptions(state=state)) as url:
        assert export(url) == [
            {"first_name": "Ann", "custom_attributes": {"seen": "2024-01-01T00:00:00.000Z"}}
        ]
        httpx.post(
            f"{url}/users/track",
            json={"attributes": [{"email": "x@example.com"}]},
            headers=AUTH,
        )
        found = httpx.post(
            f"{url}/users/export/ids",
            json={"email_address": "x@example.com", "fields_to_export": ["email"]},
            headers=AUTH,
        )
        assert found.json()["users"] == [{"email": "x@example.com"}]


async def test_fault_injection_answers_the_fault_and_applies_nothing() -> None:
    """``--fault-rate 1 --fault-status 503``: every request fails, nothing is stored."""
    app = create_app(SandboxOptions(fault_rate=1.0, fault_status=503))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", headers=AUTH
    ) as client:
        response = await client.post("/users/track", json=BODY)
        assert response.status_code == 503
        assert "message" in response.json()
        assert len(app.users) == 0


async def test_fault_rate_is_a_fraction() -> None:
    """About ``fault_rate`` of the requests fail (seeded, so the count is exact)."""
    app = create_app(SandboxOptions(fault_rate=0.5, fault_status=429, seed=7))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", headers=AUTH
    ) as client:
        statuses = [(await client.post("/users/track", json=BODY)).status_code for _ in range(200)]
    faults = statuses.count(429)
    assert statuses.count(201) + faults == 200
    assert 60 < faults < 140


async def test_latency_option_still_answers() -> None:
    app = create_app(SandboxOptions(latency_ms=1))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", headers=AUTH
    ) as client:
        assert (await client.post("/users/track", json=BODY)).status_code == 201


async def test_mountable_under_a_prefix() -> None:
    """The ASGI app can be mounted in another app (``root_path`` is honoured)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    sandbox = create_app()
    host = Starlette(routes=[Mount("/braze", app=sandbox)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=host), base_url="http://s", headers=AUTH
    ) as client:
        response = await client.post("/braze/users/track", json=BODY)
        assert response.status_code == 201
        missing = await client.post("/braze/users/nope", json=BODY)
        assert missing.status_code == 404
    assert sandbox.users.by_external_id("u") is not None
