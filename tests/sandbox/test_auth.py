"""Auth, routing, size and JSON errors (braze-api.md §1.1, §2.7, §9.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import SandboxOptions

TRACK = {"attributes": [{"external_id": "u1", "first_name": "Ann"}]}


@pytest.fixture
def app() -> SandboxApp:
    return create_app(
        SandboxOptions(
            api_keys={"full": None, "track-only": frozenset({"users.track"})},
        )
    )


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_missing_key_is_401_with_json_message(client: httpx.AsyncClient) -> None:
    """§1.1: a missing key gives 401."""
    response = await client.post("/users/track", json=TRACK)
    assert response.status_code == 401
    assert "API Key" in response.json()["message"]


async def test_unknown_key_is_401_invalid_api_key(client: httpx.AsyncClient) -> None:
    """§1.1: an invalid key gives 401 ``{"message": "Invalid API Key"}`` [3P wording]."""
    response = await client.post("/users/track", json=TRACK, headers=bearer("nope"))
    assert response.status_code == 401
    assert response.json() == {"message": "Invalid API Key"}


async def test_quoted_key_is_401(client: httpx.AsyncClient) -> None:
    """§1.1: a key wrapped in quotes inside the header gives 401."""
    response = await client.post("/users/track", json=TRACK, headers=bearer('"full"'))
    assert response.status_code == 401


async def test_scheme_word_is_case_insensitive(client: httpx.AsyncClient, app: SandboxApp) -> None:
    """§1.1 "Request header casing": ``bearer`` and ``BEARER`` work."""
    for scheme in ("bearer", "BEARER"):
        response = await client.post(
            "/users/track", json=TRACK, headers={"authorization": f"{scheme} full"}
        )
        assert response.status_code == 201
    assert app.users.by_external_id("u1") is not None


async def test_key_without_permission_is_403(client: httpx.AsyncClient) -> None:
    """§1.1/§2.7: a valid key without the endpoint's permission gives 403 Access Denied."""
    response = await client.post(
        "/users/export/ids", json={"external_ids": ["u1"]}, headers=bearer("track-only")
    )
    assert response.status_code == 403
    assert response.json()["message"].startswith("Access Denied")
    assert "users.export.ids" in response.json()["message"]
    allowed = await client.post("/users/track", json=TRACK, headers=bearer("track-only"))
    assert allowed.status_code == 201


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    """§2.7: an invalid URL gives 404 with a JSON message."""
    response = await client.post("/users/trak", json=TRACK, headers=bearer("full"))
    assert response.status_code == 404
    assert "/users/trak" in response.json()["message"]


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    """A served path with another method is refused (405, JSON message)."""
    response = await client.get("/users/track", headers=bearer("full"))
    assert response.status_code == 405
    assert "message" in response.json()


async def test_body_over_4mb_is_413_and_nothing_stored(
    client: httpx.AsyncClient, app: SandboxApp
) -> None:
    """§2.2: payloads over 4 MB fail with 413."""
    big = {"attributes": [{"external_id": "big", "blob": "x" * (4 * 1024 * 1024)}]}
    response = await client.post("/users/track", content=orjson.dumps(big), headers=bearer("full"))
    assert response.status_code == 413
    assert "4 MB" in response.json()["message"]
    assert app.users.by_external_id("big") is None


async def test_body_just_under_4mb_is_accepted(client: httpx.AsyncClient) -> None:
    """§2.2: the cap is 4 MB; a body below it is processed."""
    filler = "x" * (4 * 1024 * 1024 - 200)
    body = orjson.dumps({"attributes": [{"external_id": "u1"}], "partner": filler})
    assert len(body) < 4 * 1024 * 1024
    response = await client.post("/users/track", content=body, headers=bearer("full"))
    assert response.status_code == 201


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    """§2.7: bad syntax gives 400 with a JSON message."""
    response = await client.post(
        "/users/track", content=b'{"attributes": [', headers=bearer("full")
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]


async def test_non_object_body_is_400(client: httpx.AsyncClient) -> None:
    """A JSON body that is not an object is a 400 naming the problem."""
    response = await client.post("/users/track", json=[1, 2], headers=bearer("full"))
    assert response.status_code == 400
    assert "object" in response.json()["message"]


async def test_every_answer_is_json_with_rate_headers(client: httpx.AsyncClient) -> None:
    """§8.2: every response carries the X-RateLimit-* headers (lower-case on the wire)."""
    answers = [
        await client.post("/users/track", json=TRACK, headers=bearer("full")),
        await client.post("/users/track", json=TRACK),
        await client.post("/nope", json=TRACK, headers=bearer("full")),
    ]
    for response in answers:
        assert response.headers["content-type"] == "application/json"
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert response.headers[name].isdigit()


async def test_default_key_has_every_permission() -> None:
    """Without ``--api-key`` the sandbox has one key, ``sandbox-key``, with every permission."""
    app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as client:
        for method, path, body in (
            ("POST", "/users/track", TRACK),
            ("POST", "/users/export/ids", {"external_ids": ["u1"]}),
            ("GET", "/custom_attributes", None),
        ):
            response = await client.request(method, path, json=body, headers=bearer("sandbox-key"))
            assert response.status_code < 300, response.text
