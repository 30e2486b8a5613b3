"""Rate limits per endpoint family (braze-api.md §8.1, §8.2, §9.9)."""

from __future__ import annotations

import httpx

from justuno_braze.sandbox.app import create_app
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.ratelimit import RateLimiter

AUTH = {"Authorization": "Bearer sandbox-key"}
TRACK = {"attributes": [{"external_id": "u"}]}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client_for(options: SandboxOptions) -> httpx.AsyncClient:
    app = create_app(options)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", headers=AUTH
    )


async def test_track_limit_headers_and_429() -> None:
    """§8.2: Limit/Remaining/Reset on every answer; 429 with Retry-After when exhausted;
    the window resets at ``X-RateLimit-Reset`` (epoch seconds)."""
    clock = Clock(1_800_000_001.0)
    async with client_for(SandboxOptions(track_rate=(2, 10.0), clock=clock)) as client:
        first = await client.post("/users/track", json=TRACK)
        second = await client.post("/users/track", json=TRACK)
        third = await client.post("/users/track", json=TRACK)
        assert [r.status_code for r in (first, second, third)] == [201, 201, 429]
        assert first.headers["x-ratelimit-limit"] == "2"
        assert first.headers["x-ratelimit-remaining"] == "1"
        assert second.headers["x-ratelimit-remaining"] == "0"
        assert third.headers["x-ratelimit-remaining"] == "0"
        reset = int(third.headers["x-ratelimit-reset"])
        assert reset == 1_800_000_010
        assert third.headers["retry-after"] == "9"
        assert third.json()["message"] == "Rate Limited"
        clock.now = reset
        again = await client.post("/users/track", json=TRACK)
        assert again.status_code == 201
        assert again.headers["x-ratelimit-remaining"] == "1"


async def test_families_are_separate_and_shared_where_documented() -> None:
    """§8.1: v1 and v2 subscription set share one bucket; /users/track has its own."""
    group = "aaaaaaaa-1111-4222-8333-444444444444"
    options = SandboxOptions(rate_limits={"subscription.set": (1, 60.0)}, clock=Clock())
    async with client_for(options) as client:
        body = {
            "subscription_group_id": group,
            "subscription_state": "subscribed",
            "external_id": ["u"],
        }
        v1 = await client.post("/subscription/status/set", json=body)
        v2 = await client.post(
            "/v2/subscription/status/set",
            json={"subscription_groups": [{**body, "external_ids": ["u"], "external_id": None}]},
        )
        track = await client.post("/users/track", json=TRACK)
        assert (v1.status_code, v2.status_code, track.status_code) == (201, 429, 201)
        assert track.headers["x-ratelimit-limit"] == "3000"


async def test_default_limits() -> None:
    """§8.1 defaults: /users/track 3,000 per 3 s; /custom_attributes 1,000/hour."""
    async with client_for(SandboxOptions()) as client:
        track = await client.post("/users/track", json=TRACK)
        listing = await client.get("/custom_attributes")
        assert track.headers["x-ratelimit-limit"] == "3000"
        assert listing.headers["x-ratelimit-limit"] == "1000"


async def test_new_pricing_429_uses_retry_after_header() -> None:
    """§8.2: in new-pricing mode a 429 drops X-RateLimit-* and carries
    ``X-Ratelimit-Retry-After``."""
    options = SandboxOptions(track_rate=(1, 3.0), combined_cap=75, clock=Clock(1_800_000_000.0))
    async with client_for(options) as client:
        await client.post("/users/track", json=TRACK)
        limited = await client.post("/users/track", json=TRACK)
        assert limited.status_code == 429
        assert limited.headers["x-ratelimit-retry-after"] == "3"
        assert "x-ratelimit-limit" not in limited.headers


async def test_auth_failures_do_not_spend_the_budget() -> None:
    """A refused key does not consume the workspace's requests."""
    async with client_for(SandboxOptions(track_rate=(1, 60.0), clock=Clock())) as client:
        refused = await client.post(
            "/users/track", json=TRACK, headers={"Authorization": "Bearer x"}
        )
        assert refused.status_code == 401
        ok = await client.post("/users/track", json=TRACK)
        assert ok.status_code == 201


def test_limiter_windows_align_on_the_epoch() -> None:
    clock = Clock(100.5)
    limiter = RateLimiter({"default": (1, 3.0)}, clock)
    assert limiter.hit("x").reset_at == 102
    assert not limiter.hit("x").allowed
    clock.now = 102.0
    assert limiter.hit("x").allowed
