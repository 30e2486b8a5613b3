"""The delivery worker against the Braze sandbox (over loopback) and a real database.

Every test runs on SQLite and on PostgreSQL. Outcomes are asserted on what the sandbox
STORED (``POST /users/export/ids``), on what went over the wire (a recording transport in
front of the real one: it never changes a request, it only notes it) and on the outbox.
Where retries are involved time is a fake clock the worker sleeps on: nothing waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from justuno_braze.braze.client import BrazeClient
from justuno_braze.config import Settings
from justuno_braze.delivery.outbox import NewJob
from justuno_braze.delivery.worker import Worker
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.store import Store, open_store
from justuno_braze.vault import Vault

KEY = "sandbox-key"
SMS = "0b7c1f2e-9a8d-4c3b-8e7f-6a5b4c3d2e1f"
EXPORT_FIELDS = ["email", "first_name", "last_name", "custom_attributes", "custom_events"]


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/jb.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@contextmanager
def sandbox(**options: Any) -> Iterator[str]:
    with running_sandbox(SandboxOptions(**options)) as url:
        yield url.rstrip("/")


class FakeClock:
    """Epoch seconds that move only when the worker sleeps (starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class Exchange:
    body: dict[str, Any]
    status: int
    response: Any


@dataclass
class Wire:
    """Notes every /users/track request; ``fail_with`` answers instead of the sandbox."""

    exchanges: list[Exchange] = field(default_factory=list)
    fail_with: int | None = None
    scripted: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # answered first
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    def transport(self) -> httpx.AsyncBaseTransport:
        return _Recording(self)

    @property
    def statuses(self) -> list[int]:
        return [e.status for e in self.exchanges]

    def attribute_objects(self, email: str) -> list[dict[str, Any]]:
        return [
            obj
            for e in self.exchanges
            if 200 <= e.status < 300
            for obj in e.body.get("attributes", [])
            if obj.get("email") == email
        ]


class _Recording(httpx.AsyncBaseTransport):
    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content) if request.content else {}
        if self.wire.fail_with is not None:
            status = self.wire.fail_with
            self.wire.exchanges.append(Exchange(body, status, None))
            return httpx.Response(status, json={"message": "injected"}, request=request)
        if self.wire.scripted:
            status, answer = self.wire.scripted.pop(0)
            self.wire.exchanges.append(Exchange(body, status, answer))
            return httpx.Response(status, json=answer, request=request)
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.wire.exchanges.append(
            Exchange(body, response.status_code, orjson.loads(content) if content else None)
        )
        self.wire.answered.set()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Env:
    store: Store
    connection_id: int
    base_url: str
    settings: Settings
    wire: Wire
    clock: FakeClock | None = None
    _sources: int = 0

    async def enqueue(
        self,
        email: str,
        *,
        at: float = 0.0,
        event: str | None = None,
        **attributes: Any,
    ) -> None:
        """One job for ``email``, ``at`` seconds after a fixed origin."""
        self._sources += 1
        when = datetime(2026, 11, 29, 10, 0, tzinfo=UTC) + timedelta(seconds=at)
        job = NewJob(
            connection_id=self.connection_id,
            user_key=f"email:{email}",
            source_key=f"src-{self._sources}",
            occurred_at=when,
            attributes={"email": email, **attributes} if attributes else None,
            event={"email": email, "name": event, "time": when.isoformat()} if event else None,
            import_id="imp-1",
        )
        await self.store.outbox.enqueue([job], now=self.now())

    def now(self) -> datetime:
        t = self.clock() if self.clock is not None else time.time()
        return datetime.fromtimestamp(t, UTC)

    def worker(self, **kwargs: Any) -> Worker:
        settings = kwargs.pop("settings", self.settings)

        def factory(base_url: str, api_key: str) -> BrazeClient:
            return BrazeClient(
                base_url,
                api_key,
                allowed_urls=settings.allowed_braze_urls,
                transport=self.wire.transport(),
                timeout=10.0,
            )

        if self.clock is not None:
            kwargs.setdefault("clock", self.clock)
            kwargs.setdefault("sleep", self.clock.sleep)
        return Worker(self.store, settings, client_factory=factory, **kwargs)

    async def drain(self, **kwargs: Any) -> Any:
        worker = self.worker(**kwargs)
        try:
            return await worker.drain(import_id="imp-1")
        finally:
            await worker.aclose()

    async def export(self, email: str) -> dict[str, Any] | None:
        """The user as the sandbox stored it (asked again past injected faults)."""
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            for _ in range(50):
                response = await http.post(
                    "/users/export/ids",
                    headers={"Authorization": f"Bearer {KEY}"},
                    json={"email_address": email, "fields_to_export": EXPORT_FIELDS},
                )
                if response.status_code < 500:
                    break
        assert response.status_code in (200, 201), response.text
        users: list[dict[str, Any]] = response.json()["users"]
        return users[0] if users else None


async def make_env(
    db_url: str, base_url: str, *, key: str = KEY, clock: FakeClock | None = None, **settings: Any
) -> Env:
    store = await open_store(db_url, vault=Vault(Vault.generate_key()))
    account = await store.accounts.ensure("acme", "Acme")
    connection = await store.connections.add(account.id, base_url=base_url, api_key=key)
    cfg = Settings(database_url=db_url, allowed_braze_urls=(base_url,), **settings)
    return Env(store, connection.id, base_url, cfg, Wire(), clock)


@pytest.fixture
async def env_factory(db_url: str) -> AsyncIterator[Any]:
    made: list[Env] = []

    async def make(base_url: str, **kwargs: Any) -> Env:
        env = await make_env(db_url, base_url, **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        await env.store.close()


# --- tests --------------------------------------------------------------------------------


async def test_jobs_are_delivered_and_stored_by_braze(env_factory: Any) -> None:
    with sandbox() as url:
        env = await env_factory(url)
        for i in range(120):
            await env.enqueue(f"u{i}@shop.io", at=i, first_name=f"N{i}", plan="gold")
        result = await env.drain()
        assert result.counts == {"pending": 0, "leased": 0, "delivered": 120, "dead": 0}
        # 120 users, cap 75: two requests
        assert sorted(len(e.body["attributes"]) for e in env.wire.exchanges) == [45, 75]
        for i in (0, 74, 75, 119):
            user = await env.export(f"u{i}@shop.io")
            assert user is not None
            assert user["first_name"] == f"N{i}"
            assert user["custom_attributes"] == {"plan": "gold"}


async def test_three_updates_of_one_user_become_one_object_with_the_last_values(
    env_factory: Any,
) -> None:
    with sandbox() as url:
        env = await env_factory(url)
        # enqueued out of event order: the job ids do not follow occurred_at
        await env.enqueue("ana@shop.io", at=30, first_name="Ana3", city="Rio")
        await env.enqueue("ana@shop.io", at=10, first_name="Ana1", last_name="Silva")
        await env.enqueue("ana@shop.io", at=20, last_name="Souza", city="SP")
        await env.enqueue("bob@shop.io", at=5, first_name="Bob")
        result = await env.drain()
        assert result.counts["delivered"] == 4
        [exchange] = env.wire.exchanges
        assert env.wire.attribute_objects("ana@shop.io") == [
            {"email": "ana@shop.io", "first_name": "Ana3", "last_name": "Souza", "city": "Rio"}
        ]
        user = await env.export("ana@shop.io")
        assert user is not None
        assert (user["first_name"], user["last_name"]) == ("Ana3", "Souza")
        assert user["custom_attributes"] == {"city": "Rio"}
        assert len(exchange.body["attributes"]) == 2


async def test_unchanged_profile_sends_only_identifier_and_groups_and_stale_is_dropped(
    env_factory: Any,
) -> None:
    groups = [{"subscription_group_id": SMS, "subscription_state": "subscribed"}]
    with sandbox() as url:
        env = await env_factory(url)
        await env.enqueue(
            "ana@shop.io", at=10, first_name="Ana", plan="gold", subscription_groups=groups
        )
        await env.drain()
        # the same profile again, later: nothing billable changed
        await env.enqueue(
            "ana@shop.io", at=20, first_name="Ana", plan="gold", subscription_groups=groups
        )
        await env.drain()
        # an older update arriving late (stale), and a real change of another attribute
        await env.enqueue("ana@shop.io", at=5, first_name="Old", plan="silver")
        await env.enqueue("zed@shop.io", at=5, first_name="Zed")
        await env.drain()
        sent = env.wire.attribute_objects("ana@shop.io")
        assert sent == [
            {
                "email": "ana@shop.io",
                "first_name": "Ana",
                "plan": "gold",
                "subscription_groups": groups,
            },
            {"email": "ana@shop.io", "subscription_groups": groups},
        ]
        assert len(env.wire.exchanges) == 3  # the third carried only zed
        user = await env.export("ana@shop.io")
        assert user is not None
        assert user["first_name"] == "Ana"
        assert user["custom_attributes"] == {"plan": "gold"}
        counts = await env.store.outbox.counts(import_id="imp-1")
        assert counts == {"pending": 0, "leased": 0, "delivered": 4, "dead": 0}


async def test_minor_error_dead_letters_that_profile_with_brazes_reason(env_factory: Any) -> None:
    with sandbox() as url:
        env = await env_factory(url)
        await env.enqueue("a@shop.io", at=1, first_name="A")
        await env.enqueue("bad@shop.io", at=2, first_name="B", gender="not-a-gender")
        await env.enqueue("c@shop.io", at=3, first_name="C")
        result = await env.drain()
        assert result.counts == {"pending": 0, "leased": 0, "delivered": 2, "dead": 1}
        [exchange] = env.wire.exchanges
        [error] = exchange.response["errors"]
        assert (error["input_array"], error["index"]) == ("attributes", 1)
        [letter] = await env.store.outbox.dead_letters()
        assert letter.user_key == "email:bad@shop.io"
        assert letter.reason == error["type"]  # Braze's own words
        assert (await env.export("a@shop.io"))["first_name"] == "A"  # type: ignore[index]
        assert (await env.export("c@shop.io"))["first_name"] == "C"  # type: ignore[index]
        assert await env.export("bad@shop.io") is None


async def test_replay_does_not_count_an_accepted_event_twice(env_factory: Any) -> None:
    with sandbox() as url:
        env = await env_factory(url)
        await env.enqueue("e@shop.io", at=1, first_name="E", event="justuno_form_submitted")
        await env.enqueue("e@shop.io", at=2, gender="bogus")  # its attributes object fails
        result = await env.drain()
        assert result.counts["dead"] == 2  # the whole profile update is dead-lettered
        assert len(env.wire.exchanges[0].body["events"]) == 1
        replayed = await env.store.outbox.replay(now=env.now())
        assert replayed == 2
        await env.drain()
        # the replay re-sent the attributes but not the event Braze already counted
        assert len(env.wire.exchanges) == 2
        assert "events" not in env.wire.exchanges[1].body
        user = await env.export("e@shop.io")
        assert user is not None
        assert [(e["name"], e["count"]) for e in user["custom_events"]] == [
            ("justuno_form_submitted", 1)
        ]


async def test_server_errors_are_retried_until_delivered(env_factory: Any) -> None:
    clock = FakeClock()
    with sandbox(fault_rate=0.5, fault_status=503, seed=7) as url:
        env = await env_factory(url, clock=clock, batch_cap=5)
        for i in range(40):
            await env.enqueue(f"r{i}@shop.io", at=i, first_name=f"R{i}")
        result = await env.drain(backoff_base=2.0)
        assert result.counts == {"pending": 0, "leased": 0, "delivered": 40, "dead": 0}
        assert 503 in env.wire.statuses and 201 in env.wire.statuses
        for i in (0, 17, 39):
            assert (await env.export(f"r{i}@shop.io"))["first_name"] == f"R{i}"  # type: ignore[index]


async def test_retry_window_exceeded_dead_letters_then_replay_delivers(env_factory: Any) -> None:
    clock = FakeClock()
    with sandbox() as url:
        env = await env_factory(url, clock=clock, retry_window_seconds=120.0)
        await env.enqueue("w@shop.io", at=1, first_name="W")
        env.wire.fail_with = 502
        result = await env.drain(backoff_base=5.0, backoff_cap=30.0, idle_seconds=2.0)
        assert result.counts == {"pending": 0, "leased": 0, "delivered": 0, "dead": 1}
        assert len(env.wire.exchanges) > 2  # it did retry
        [letter] = await env.store.outbox.dead_letters()
        assert letter.reason.startswith("gave up after")
        assert "502" in letter.reason
        assert await env.export("w@shop.io") is None
        # the outage ends; an operator replays the dead letters
        env.wire.fail_with = None
        assert await env.store.outbox.replay(now=env.now()) == 1
        result = await env.drain()
        assert result.counts["delivered"] == 1
        assert (await env.export("w@shop.io"))["first_name"] == "W"  # type: ignore[index]


async def test_rate_limited_sandbox_slows_the_worker_down_and_everything_arrives(
    env_factory: Any,
) -> None:
    with sandbox(track_rate=(4, 1.0)) as url:
        env = await env_factory(url, batch_cap=2, max_in_flight=8)
        for i in range(24):
            await env.enqueue(f"t{i}@shop.io", at=i, first_name=f"T{i}")
        result = await env.drain(backoff_base=0.05, backoff_cap=0.5, idle_seconds=0.05)
        assert result.counts == {"pending": 0, "leased": 0, "delivered": 24, "dead": 0}
        assert 429 in env.wire.statuses
        for i in (0, 23):
            assert (await env.export(f"t{i}@shop.io"))["first_name"] == f"T{i}"  # type: ignore[index]


async def test_unauthorized_key_pauses_the_connection_and_keeps_the_jobs(
    env_factory: Any,
) -> None:
    with sandbox() as url:
        env = await env_factory(url, key="wrong-key")
        for i in range(3):
            await env.enqueue(f"k{i}@shop.io", at=i, first_name="K")
        result = await env.drain()
        assert result.counts == {"pending": 3, "leased": 0, "delivered": 0, "dead": 0}
        assert env.connection_id in result.paused
        connection = await env.store.connections.get(env.connection_id)
        assert connection.status == "failing"
        assert connection.status_reason is not None and "401" in connection.status_reason
        assert "wrong-key" not in connection.status_reason
        # the user fixes the key: deliveries resume
        await env.store.connections.set_api_key(env.connection_id, KEY)
        result = await env.drain()
        assert result.counts["delivered"] == 3
        assert (await env.export("k2@shop.io"))["first_name"] == "K"  # type: ignore[index]


async def test_stop_finishes_in_flight_work_and_leaves_nothing_leased(env_factory: Any) -> None:
    with sandbox(latency_ms=20) as url:
        env = await env_factory(url, batch_cap=1)
        for i in range(30):
            await env.enqueue(f"s{i}@shop.io", at=i, first_name="S")
        worker = env.worker(concurrency=2, batch_size=4)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await asyncio.wait_for(env.wire.answered.wait(), timeout=10)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await worker.aclose()
        counts = await env.store.outbox.counts()
        assert counts["leased"] == 0
        assert counts["pending"] + counts["delivered"] == 30
        assert counts["delivered"] == sum(1 for s in env.wire.statuses if s == 201)
        # what stopped can be picked up again
        result = await env.drain()
        assert result.counts["delivered"] == 30


async def test_drain_returns_when_the_imports_connection_is_already_failing(
    env_factory: Any,
) -> None:
    with sandbox() as url:
        env = await env_factory(url)
        await env.enqueue("f@shop.io", at=1, first_name="F")
        await env.store.connections.set_status(env.connection_id, "failing", "key revoked")
        worker = env.worker()
        try:
            result = await worker.drain(import_id="imp-1")
        finally:
            await worker.aclose()
        assert result.counts["pending"] == 1
        assert result.paused == {env.connection_id: "key revoked"}
        assert env.wire.exchanges == []


async def test_a_400_naming_bad_objects_kills_those_and_resends_the_rest(
    env_factory: Any,
) -> None:
    with sandbox() as url:
        env = await env_factory(url)
        await env.enqueue("a@shop.io", at=1, first_name="A")
        await env.enqueue("b@shop.io", at=2, first_name="B")
        await env.enqueue("c@shop.io", at=3, first_name="C")
        env.wire.scripted.append(
            (
                400,
                {
                    "message": "Valid data must be provided in the 'attributes', 'events', or "
                    "'purchases' fields.",
                    "errors": [
                        {"type": "EMAIL_BAD_FORMAT", "input_array": "attributes", "index": 1}
                    ],
                },
            )
        )
        result = await env.drain()
        assert result.counts == {"pending": 0, "leased": 0, "delivered": 2, "dead": 1}
        first, second = env.wire.exchanges
        assert first.status == 400 and len(first.body["attributes"]) == 3
        assert [o["email"] for o in second.body["attributes"]] == ["a@shop.io", "c@shop.io"]
        assert second.status == 201
        [letter] = await env.store.outbox.dead_letters()
        assert (letter.user_key, letter.reason) == ("email:b@shop.io", "EMAIL_BAD_FORMAT")
        assert (await env.export("c@shop.io"))["first_name"] == "C"  # type: ignore[index]
        assert await env.export("b@shop.io") is None


async def test_a_request_with_nothing_valid_dead_letters_every_profile(env_factory: Any) -> None:
    with sandbox() as url:
        env = await env_factory(url)
        await env.enqueue("x@shop.io", at=1, gender="nope")
        await env.enqueue("y@shop.io", at=2, gender="nah")
        result = await env.drain()
        assert result.counts == {"pending": 0, "leased": 0, "delivered": 0, "dead": 2}
        [exchange] = env.wire.exchanges
        assert exchange.status == 400
        reasons = {e["index"]: e["type"] for e in exchange.response["errors"]}
        letters = {d.user_key: d.reason for d in await env.store.outbox.dead_letters()}
        assert letters == {"email:x@shop.io": reasons[0], "email:y@shop.io": reasons[1]}
