"""The outbox contract, on SQLite and PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from justuno_braze.delivery.outbox import Job, NewJob
from justuno_braze.errors import InputError
from justuno_braze.store import Connection, Store, open_store
from justuno_braze.vault import Vault
from tests.integration.conftest import T0

LEASE = 30.0


def job(connection: Connection, user: str, source: str, minute: int, **attrs: object) -> NewJob:
    return NewJob(
        connection_id=connection.id,
        user_key=user,
        source_key=source,
        occurred_at=T0 + timedelta(minutes=minute),
        attributes=dict(attrs) or {"n": source},
        event=None,
    )


def by_user(jobs: list[Job]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for j in jobs:
        out.setdefault(j.user_key, []).append(j.source_key)
    return out


async def test_enqueue_is_idempotent_on_source_key(store: Store, connection: Connection) -> None:
    first = [job(connection, "email:a@x.io", f"s{i}", i) for i in range(3)]
    assert await store.outbox.enqueue(first, now=T0) == 3
    again = [
        *first,
        job(connection, "email:a@x.io", "s3", 3),
        job(connection, "email:a@x.io", "s3", 4),
    ]
    assert await store.outbox.enqueue(again, now=T0) == 1
    assert await store.outbox.counts() == {"pending": 4, "leased": 0, "delivered": 0, "dead": 0}
    assert await store.outbox.depth() == 4


async def test_enqueue_refuses_naive_times_and_empty_jobs(
    store: Store, connection: Connection
) -> None:
    naive = NewJob(connection.id, "u", "s", T0.replace(tzinfo=None), {"a": 1}, None)
    with pytest.raises(InputError, match="occurred_at"):
        await store.outbox.enqueue([naive], now=T0)
    empty = NewJob(connection.id, "u", "s", T0, None, None)
    with pytest.raises(InputError, match="attributes or an event"):
        await store.outbox.enqueue([empty], now=T0)
    assert await store.outbox.depth() == 0


async def test_claim_returns_whole_users_in_event_order(
    store: Store, connection: Connection
) -> None:
    # user a's events arrive out of order; b has two; c one.
    await store.outbox.enqueue(
        [
            job(connection, "a", "a-late", 5, email="new@x.io"),
            job(connection, "b", "b1", 1),
            job(connection, "a", "a-early", 1, email="old@x.io"),
            job(connection, "c", "c1", 0),
            job(connection, "b", "b2", 2),
            job(connection, "a", "a-mid", 3),
        ],
        now=T0,
    )
    first = await store.outbox.claim(worker_id="w1", limit=2, now=T0, lease_seconds=LEASE)
    # limit counts jobs but a user is never split: the oldest-enqueued user comes whole.
    assert by_user(first) == {"a": ["a-early", "a-mid", "a-late"]}
    assert first[0].attributes == {"email": "old@x.io"}
    assert first[0].occurred_at == T0 + timedelta(minutes=1)
    assert first[0].enqueued_at == T0 and first[0].attempts == 0 and first[0].last_error is None
    second = await store.outbox.claim(worker_id="w2", limit=3, now=T0, lease_seconds=LEASE)
    assert by_user(second) == {"b": ["b1", "b2"], "c": ["c1"]}
    assert await store.outbox.claim(worker_id="w3", limit=10, now=T0, lease_seconds=LEASE) == []
    assert (await store.outbox.counts())["leased"] == 6


async def test_a_user_with_a_live_lease_is_not_claimed_again(
    store: Store, connection: Connection
) -> None:
    await store.outbox.enqueue([job(connection, "a", "a1", 1)], now=T0)
    held = await store.outbox.claim(worker_id="w1", limit=10, now=T0, lease_seconds=LEASE)
    await store.outbox.enqueue(
        [job(connection, "a", "a2", 2), job(connection, "b", "b1", 1)], now=T0
    )
    later = T0 + timedelta(seconds=10)
    other = await store.outbox.claim(worker_id="w2", limit=10, now=later, lease_seconds=LEASE)
    assert by_user(other) == {"b": ["b1"]}
    assert await store.outbox.ack([j.id for j in held], worker_id="w1", now=later) == 1
    after = await store.outbox.claim(worker_id="w2", limit=10, now=later, lease_seconds=LEASE)
    assert by_user(after) == {"a": ["a2"]}


async def test_two_engines_claiming_concurrently_never_share_a_user(
    db_url: str, vault: Vault, store: Store, connection: Connection
) -> None:
    jobs = [
        job(connection, f"u{u:03d}", f"u{u}-{k}", k) for u in range(120) for k in range(1 + u % 4)
    ]
    assert await store.outbox.enqueue(jobs, now=T0) == len(jobs)
    other = await open_store(db_url, upgrade=False, vault=vault)
    try:
        results = await asyncio.gather(
            *[
                s.outbox.claim(worker_id=f"w{i}", limit=25, now=T0, lease_seconds=LEASE)
                for i in range(8)
                for s in (store, other)
            ]
        )
    finally:
        await other.close()
    owner: dict[str, int] = {}
    seen: set[int] = set()
    for i, claimed in enumerate(results):
        for j in claimed:
            assert j.id not in seen, "a job was claimed twice"
            seen.add(j.id)
            assert owner.setdefault(j.user_key, i) == i, f"{j.user_key} split between claims"
    # each claimed user came whole, in (occurred_at, id) order
    expected = by_user(jobs)  # type: ignore[arg-type]
    for claimed in results:
        for user, sources in by_user(claimed).items():
            assert sources == expected[user]
    assert len(seen) == (await store.outbox.counts())["leased"] > 0


async def test_an_expired_lease_is_reclaimed_and_the_old_holder_cannot_settle(
    store: Store, connection: Connection
) -> None:
    await store.outbox.enqueue(
        [job(connection, "a", "a1", 1), job(connection, "a", "a2", 2)], now=T0
    )
    held = await store.outbox.claim(worker_id="w1", limit=10, now=T0, lease_seconds=5)
    ids = [j.id for j in held]
    assert (
        await store.outbox.claim(
            worker_id="w2", limit=10, now=T0 + timedelta(seconds=4.999), lease_seconds=5
        )
        == []
    )
    later = T0 + timedelta(seconds=6)
    again = await store.outbox.claim(worker_id="w2", limit=10, now=later, lease_seconds=5)
    assert [j.id for j in again] == ids
    assert await store.outbox.ack(ids, worker_id="w1", now=later) == 0
    assert await store.outbox.ack(ids, worker_id="w2", now=later) == 2
    assert await store.outbox.counts() == {"pending": 0, "leased": 0, "delivered": 2, "dead": 0}


async def test_extend_lease_keeps_other_workers_out(store: Store, connection: Connection) -> None:
    await store.outbox.enqueue([job(connection, "a", "a1", 1)], now=T0)
    held = await store.outbox.claim(worker_id="w1", limit=10, now=T0, lease_seconds=5)
    t4 = T0 + timedelta(seconds=4)
    assert (
        await store.outbox.extend_lease([held[0].id], worker_id="w1", now=t4, lease_seconds=5) == 1
    )
    assert (
        await store.outbox.extend_lease([held[0].id], worker_id="w2", now=t4, lease_seconds=5) == 0
    )
    t8 = T0 + timedelta(seconds=8)
    assert await store.outbox.claim(worker_id="w2", limit=10, now=t8, lease_seconds=5) == []
    t10 = T0 + timedelta(seconds=10)
    assert len(await store.outbox.claim(worker_id="w2", limit=10, now=t10, lease_seconds=5)) == 1


async def test_retry_waits_and_holds_back_the_users_later_jobs(
    store: Store, connection: Connection
) -> None:
    await store.outbox.enqueue([job(connection, "a", "a1", 1)], now=T0)
    held = await store.outbox.claim(worker_id="w1", limit=10, now=T0, lease_seconds=LEASE)
    t1 = T0 + timedelta(seconds=1)
    retry_at = T0 + timedelta(minutes=5)
    assert (
        await store.outbox.retry(
            [held[0].id], worker_id="w1", now=t1, available_at=retry_at, error="HTTP 503"
        )
        == 1
    )
    # a newer update of the same user must not overtake the one waiting to be retried
    await store.outbox.enqueue(
        [job(connection, "a", "a2", 2), job(connection, "b", "b1", 1)], now=t1
    )
    t2 = T0 + timedelta(seconds=2)
    early = await store.outbox.claim(worker_id="w2", limit=10, now=t2, lease_seconds=LEASE)
    assert by_user(early) == {"b": ["b1"]}
    assert await store.outbox.ack([early[0].id], worker_id="w2", now=t2) == 1
    assert (
        await store.outbox.claim(
            worker_id="w2", limit=10, now=retry_at - timedelta(seconds=1), lease_seconds=LEASE
        )
        == []
    )
    due = await store.outbox.claim(worker_id="w2", limit=10, now=retry_at, lease_seconds=LEASE)
    assert by_user(due) == {"a": ["a1", "a2"]}
    assert [(j.attempts, j.last_error) for j in due] == [(1, "HTTP 503"), (0, None)]


async def test_release_makes_jobs_due_again_without_counting_an_attempt(
    store: Store, connection: Connection
) -> None:
    await store.outbox.enqueue([job(connection, "a", "a1", 1)], now=T0)
    held = await store.outbox.claim(worker_id="w1", limit=10, now=T0, lease_seconds=LEASE)
    assert await store.outbox.release([held[0].id], worker_id="w2") == 0  # not its lease
    assert await store.outbox.release([held[0].id], worker_id="w1") == 1
    again = await store.outbox.claim(worker_id="w2", limit=10, now=T0, lease_seconds=LEASE)
    assert [(j.id, j.attempts) for j in again] == [(held[0].id, 0)]


async def test_dead_letters_keep_brazes_reason_and_replay_requeues_them(
    store: Store, connection: Connection
) -> None:
    await store.outbox.enqueue(
        [
            NewJob(connection.id, "a", "a1", T0, {"x": 1}, None, workflow_id="wf-1"),
            NewJob(connection.id, "b", "b1", T0, {"x": 2}, None, workflow_id="wf-2"),
            NewJob(connection.id, "c", "c1", T0, None, {"name": "lead"}, workflow_id="wf-1"),
        ],
        now=T0,
    )
    held = await store.outbox.claim(worker_id="w1", limit=10, now=T0, lease_seconds=LEASE)
    ids = {j.user_key: j.id for j in held}
    t1 = T0 + timedelta(minutes=1)
    dead = [
        (ids["a"], "'email' is invalid"),
        (ids["b"], "HTTP 400: bad request"),
        (ids["c"], "'email' is invalid"),
    ]
    assert await store.outbox.dead(dead, worker_id="w1", now=t1) == 3
    letters = await store.outbox.dead_letters()
    assert [(d.user_key, d.reason, d.dead_at, d.attempts) for d in letters] == [
        ("c", "'email' is invalid", t1, 1),
        ("b", "HTTP 400: bad request", t1, 1),
        ("a", "'email' is invalid", t1, 1),
    ]
    assert letters[0].event == {"name": "lead"} and letters[0].workflow_id == "wf-1"
    assert [d.user_key for d in await store.outbox.dead_letters(limit=1, before_id=ids["c"])] == [
        "b"
    ]
    assert [d.user_key for d in await store.outbox.dead_letters(reason_contains="EMAIL")] == [
        "c",
        "a",
    ]

    t2 = T0 + timedelta(minutes=2)
    assert await store.outbox.replay(now=t2, workflow_id="wf-1", reason_contains="INVALID") == 2
    assert await store.outbox.replay(now=t2, since=t2) == 0
    assert await store.outbox.counts() == {"pending": 2, "leased": 0, "delivered": 0, "dead": 1}
    again = await store.outbox.claim(worker_id="w2", limit=10, now=t2, lease_seconds=LEASE)
    assert sorted((j.user_key, j.attempts) for j in again) == [("a", 0), ("c", 0)]
    assert await store.outbox.replay(now=t2, until=t1, ids=[ids["b"]]) == 1


async def test_counts_by_import_and_connection(store: Store, connection: Connection) -> None:
    other = await store.connections.add(
        connection.account_id, base_url="https://rest.iad-02.braze.com", api_key="k2", name="two"
    )
    await store.outbox.enqueue(
        [
            NewJob(connection.id, "a", "a1", T0, {"x": 1}, None, import_id="imp-1"),
            NewJob(connection.id, "b", "b1", T0, {"x": 1}, None, import_id="imp-1"),
            NewJob(other.id, "a", "a1", T0, {"x": 1}, None),
        ],
        now=T0,
    )
    held = await store.outbox.claim(worker_id="w", limit=1, now=T0, lease_seconds=LEASE)
    await store.outbox.ack([held[0].id], worker_id="w", now=T0)
    assert await store.outbox.counts(import_id="imp-1") == {
        "pending": 1,
        "leased": 0,
        "delivered": 1,
        "dead": 0,
    }
    assert (await store.outbox.counts(connection_id=other.id))["pending"] == 1
    assert await store.outbox.depth(connection_id=other.id) == 1


async def test_a_failing_connections_jobs_are_not_claimed(
    store: Store, connection: Connection
) -> None:
    await store.outbox.enqueue([job(connection, "a", "a1", 1)], now=T0)
    await store.connections.set_status(connection.id, "failing", "401: invalid API key")
    assert await store.outbox.claim(worker_id="w", limit=10, now=T0, lease_seconds=LEASE) == []
    await store.connections.set_status(connection.id, "ok", None)
    assert len(await store.outbox.claim(worker_id="w", limit=10, now=T0, lease_seconds=LEASE)) == 1


async def test_claim_looks_past_users_that_are_busy(store: Store, connection: Connection) -> None:
    # many due jobs of leased users sit at the head of the queue; a free user is behind them
    await store.outbox.enqueue([job(connection, f"busy{i}", f"b{i}", 0) for i in range(10)], now=T0)
    held = await store.outbox.claim(worker_id="w1", limit=10, now=T0, lease_seconds=LEASE)
    assert len(held) == 10
    t1 = T0 + timedelta(seconds=1)
    await store.outbox.enqueue(
        [job(connection, f"busy{i}", f"b{i}-2", 1) for i in range(10)], now=t1
    )
    t2 = T0 + timedelta(seconds=2)
    await store.outbox.enqueue([job(connection, "free", "f1", 1)], now=t2)
    got = await store.outbox.claim(worker_id="w2", limit=3, now=t2, lease_seconds=LEASE)
    assert by_user(got) == {"free": ["f1"]}


@pytest.mark.postgres
async def test_a_user_locked_by_a_claim_in_flight_is_skipped(
    postgres_url: str, vault: Vault
) -> None:
    """PostgreSQL: another claimer's transaction holds user a's advisory lock and has not
    committed its lease yet; this claim must leave a alone rather than race it."""
    import psycopg

    from justuno_braze.store.leases import lock_key

    store = await open_store(postgres_url, vault=vault)
    try:
        account = await store.accounts.ensure("acme", "Acme")
        connection = await store.connections.add(account.id, base_url="https://x", api_key="k")
        await store.outbox.enqueue(
            [job(connection, "a", "a1", 1), job(connection, "b", "b1", 1)], now=T0
        )
        with psycopg.connect(postgres_url) as other:  # a transaction, left open
            other.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key((connection.id, "a"))])
            got = await store.outbox.claim(worker_id="w", limit=10, now=T0, lease_seconds=LEASE)
            assert by_user(got) == {"b": ["b1"]}
        got = await store.outbox.claim(worker_id="w", limit=10, now=T0, lease_seconds=LEASE)
        assert by_user(got) == {"a": ["a1"]}
    finally:
        await store.close()


async def test_dead_reasons_count_an_imports_dead_jobs_per_reason(
    store: Store, connection: Connection
) -> None:
    await store.outbox.enqueue(
        [
            NewJob(connection.id, "a", "a1", T0, {"x": 1}, None, import_id="imp-1"),
            NewJob(connection.id, "b", "b1", T0, {"x": 1}, None, import_id="imp-1"),
            NewJob(connection.id, "c", "c1", T0, {"x": 1}, None, import_id="imp-1"),
            NewJob(connection.id, "d", "d1", T0, {"x": 1}, None, import_id="imp-2"),
        ],
        now=T0,
    )
    held = await store.outbox.claim(worker_id="w", limit=10, now=T0, lease_seconds=LEASE)
    ids = {j.user_key: j.id for j in held}
    reasons = [
        (ids["a"], "'email' is invalid"),
        (ids["b"], "'email' is invalid"),
        (ids["d"], "HTTP 400"),
    ]
    await store.outbox.dead(reasons, worker_id="w", now=T0)
    assert await store.outbox.dead_reasons(import_id="imp-1") == {"'email' is invalid": 2}
    assert await store.outbox.dead_reasons(import_id="imp-2") == {"HTTP 400": 1}
    assert await store.outbox.dead_reasons(import_id="imp-3") == {}


async def test_held_source_keys_are_the_connections_keys_in_any_state(
    store: Store, connection: Connection
) -> None:
    other = await store.connections.add(
        connection.account_id, base_url="https://rest.iad-02.braze.com", api_key="k2", name="two"
    )
    await store.outbox.enqueue([job(connection, "a", "a1", 1), job(other, "b", "b1", 1)], now=T0)
    held = await store.outbox.claim(worker_id="w", limit=10, now=T0, lease_seconds=LEASE)
    await store.outbox.ack([j.id for j in held if j.source_key == "a1"], worker_id="w", now=T0)
    assert await store.outbox.held_source_keys(connection.id, ["a1", "b1", "zz"]) == {"a1"}
    assert await store.outbox.held_source_keys(other.id, ["a1", "b1"]) == {"b1"}
    assert await store.outbox.held_source_keys(connection.id, []) == set()


async def test_connections_with_queued_or_pending_jobs(
    store: Store, connection: Connection
) -> None:
    other = await store.connections.add(
        connection.account_id, base_url="https://rest.iad-02.braze.com", api_key="k2", name="two"
    )
    third = await store.connections.add(
        connection.account_id, base_url="https://rest.iad-03.braze.com", api_key="k3", name="3"
    )
    await store.outbox.enqueue(
        [
            NewJob(connection.id, "a", "a1", T0, {"x": 1}, None, import_id="imp-1"),
            NewJob(other.id, "b", "b1", T0, {"x": 1}, None, import_id="imp-1"),
            NewJob(third.id, "c", "c1", T0, {"x": 1}, None, import_id="imp-1"),
            NewJob(third.id, "d", "d1", T0, {"x": 1}, None, import_id="imp-2"),
        ],
        now=T0,
    )
    held = await store.outbox.claim(worker_id="w", limit=10, now=T0, lease_seconds=LEASE)
    claimed = {j.user_key: j.id for j in held}
    await store.outbox.ack([claimed["a"]], worker_id="w", now=T0)  # delivered: not queued
    await store.outbox.release([claimed["c"], claimed["d"]], worker_id="w")  # pending again
    # "b" stays leased: queued but not pending
    assert await store.outbox.connections_with_queued_jobs(import_id="imp-1") == sorted(
        [other.id, third.id]
    )
    assert await store.outbox.connections_with_pending_jobs(import_id="imp-1") == [third.id]
    assert await store.outbox.connections_with_pending_jobs() == [third.id]
    assert await store.outbox.connections_with_queued_jobs(import_id="imp-9") == []
