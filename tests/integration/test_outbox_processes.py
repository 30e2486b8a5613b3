"""The outbox with REAL processes: concurrent claimers on PostgreSQL, and kill -9.

The children are this module run as a script (``python -m
tests.integration.test_outbox_processes MODE …``); they print one JSON line per step.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from justuno_braze.delivery.outbox import NewJob
from justuno_braze.store import Store, open_store
from justuno_braze.vault import Vault

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
USERS = 300  # each with 8 jobs at the start
HOT_USERS = 50  # of which these get a new job in each of LATER_BATCHES while workers run
LATER_BATCHES = 200


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.test_outbox_processes", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def new_store(url: str) -> tuple[Store, int]:
    """A migrated store with one Braze connection; returns the store and its id."""
    store = await open_store(url, vault=Vault(Vault.generate_key()))
    account = await store.accounts.ensure("acme", "Acme")
    connection = await store.connections.add(
        account.id, base_url="https://rest.iad-01.braze.com", api_key="key-for-tests"
    )
    return store, connection.id


async def kill_9(child: subprocess.Popen[str]) -> None:
    """SIGKILL ``child`` (no clean-up runs in it) and reap it."""
    os.kill(child.pid, signal.SIGKILL)
    await asyncio.to_thread(child.communicate)
    assert child.returncode == -signal.SIGKILL


def jobs_for(
    connection_id: int, users: int, per_user: int, *, start: datetime, tag: str
) -> list[NewJob]:
    rng = random.Random(tag)
    out = []
    for k in range(per_user):
        for u in range(users):
            out.append(
                NewJob(
                    connection_id=connection_id,
                    user_key=f"email:u{u:04d}@example.com",
                    source_key=f"{tag}-{u}-{k}",
                    # shuffled within the batch, all after `start`
                    occurred_at=start + timedelta(milliseconds=rng.randrange(1, 10_000)),
                    attributes={"k": k, "tag": tag},
                    event=None,
                )
            )
    rng.shuffle(out)
    return out


# ----------------------------------------------------------------------------- the tests


async def test_four_claimer_processes_deliver_every_job_once_in_user_order(
    db_url: str, tmp_path: Path
) -> None:
    store, cid = await new_store(db_url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    initial = jobs_for(cid, USERS, 8, start=start, tag="initial")
    assert await store.outbox.enqueue(initial, now=datetime.now(UTC)) == len(initial)
    done = tmp_path / "done"
    children = [spawn("claimer", db_url, f"w{i}", str(done)) for i in range(4)]
    # more jobs for the same users keep arriving while the workers run (later events): a
    # claimer without the per-user lock fails this test (leases overlap) in most runs.
    total = len(initial)
    for batch in range(LATER_BATCHES):
        later = jobs_for(
            cid,
            HOT_USERS,
            1,
            start=start + timedelta(minutes=10 * (batch + 1)),
            tag=f"later{batch}",
        )
        total += await store.outbox.enqueue(later, now=datetime.now(UTC))
    done.touch()
    records: list[dict[str, Any]] = []
    for child in children:
        out, err = await asyncio.to_thread(child.communicate, timeout=240)
        assert child.returncode == 0, err
        records.extend(json.loads(line) for line in out.splitlines())
    counts = await store.outbox.counts()
    await store.close()

    assert counts == {"pending": 0, "leased": 0, "delivered": total, "dead": 0}
    assert {r["worker"] for r in records} == {"w0", "w1", "w2", "w3"}, "all four took part"
    claimed = Counter(job[0] for r in records for job in r["jobs"])
    assert len(claimed) == total and set(claimed.values()) == {1}, "every job acked once"
    assert all(r["acked"] == len(r["jobs"]) for r in records)
    per_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        for user in {job[1] for job in r["jobs"]}:
            per_user[user].append(r)
    for user, claims in per_user.items():
        claims.sort(key=lambda r: r["claimed_ns"])
        for before, after in itertools.pairwise(claims):
            assert before["acking_ns"] < after["claimed_ns"], f"{user}: leases overlap"
        order = [(job[2], job[0]) for r in claims for job in r["jobs"] if job[1] == user]
        assert order == sorted(order), f"{user}: delivered out of (occurred_at, id) order"


async def test_a_killed_claimer_loses_nothing_after_its_lease(db_url: str) -> None:
    store, cid = await new_store(db_url)
    jobs = jobs_for(cid, 50, 4, start=datetime(2026, 1, 1, tzinfo=UTC), tag="k")
    await store.outbox.enqueue(jobs, now=datetime.now(UTC))
    child = spawn("hold", db_url, "20")
    assert child.stdout is not None
    line = await asyncio.to_thread(child.stdout.readline)
    held = json.loads(line)["ids"]
    assert len(held) == len(jobs)
    await kill_9(child)
    try:
        now = datetime.now(UTC)
        assert (
            await store.outbox.claim(worker_id="rescuer", limit=500, now=now, lease_seconds=20)
            == []
        )
        after_lease = now + timedelta(seconds=21)
        rescued = await store.outbox.claim(
            worker_id="rescuer", limit=500, now=after_lease, lease_seconds=20
        )
        assert sorted(j.id for j in rescued) == sorted(held)
        assert (
            await store.outbox.ack([j.id for j in rescued], worker_id="rescuer", now=after_lease)
            == 200
        )
        assert (await store.outbox.counts())["delivered"] == len(jobs)
    finally:
        await store.close()


async def test_kill_9_at_a_random_moment_of_claiming_and_acking(db_url: str) -> None:
    store, cid = await new_store(db_url)
    jobs = jobs_for(cid, 200, 5, start=datetime(2026, 1, 1, tzinfo=UTC), tag="r")
    await store.outbox.enqueue(jobs, now=datetime.now(UTC))
    child = spawn("churn", db_url)
    assert child.stdout is not None
    await asyncio.to_thread(child.stdout.readline)  # it has acked a first batch
    await asyncio.sleep(random.uniform(0.0, 0.3))  # then dies at any point
    await kill_9(child)
    try:
        after_lease = datetime.now(UTC) + timedelta(seconds=21)
        while rescued := await store.outbox.claim(
            worker_id="rescuer", limit=200, now=after_lease, lease_seconds=20
        ):
            await store.outbox.ack([j.id for j in rescued], worker_id="rescuer", now=after_lease)
        counts = await store.outbox.counts()
        assert counts == {"pending": 0, "leased": 0, "delivered": len(jobs), "dead": 0}
    finally:
        await store.close()


async def test_kill_9_while_enqueueing_keeps_every_accepted_batch(db_url: str) -> None:
    store, cid = await new_store(db_url)
    child = spawn("enqueue", db_url, str(cid))
    assert child.stdout is not None
    accepted = []
    for _ in range(5):
        accepted.append(json.loads(await asyncio.to_thread(child.stdout.readline))["batch"])
    await kill_9(child)
    try:
        stored = await store.outbox.depth()
        last = accepted[-1]
        # every batch reported accepted is there; at most one more committed unreported
        assert stored in {(last + 1) * 100, (last + 2) * 100}
        repeat = [
            NewJob(cid, f"u{b}", f"b{b}-{i}", datetime.now(UTC), {"i": i}, None)
            for b in accepted
            for i in range(100)
        ]
        assert await store.outbox.enqueue(repeat, now=datetime.now(UTC)) == 0
    finally:
        await store.close()


# ----------------------------------------------------------------------------- children


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


async def claimer(url: str, worker: str, done_file: str) -> None:
    store = await open_store(url, upgrade=False)
    done = Path(done_file)
    rng = random.Random(worker)
    try:
        while True:
            jobs = await store.outbox.claim(
                worker_id=worker, limit=40, now=datetime.now(UTC), lease_seconds=30
            )
            if not jobs:
                finished = done.exists()  # noqa: ASYNC240 (a stat, in a test child)
                if finished and await store.outbox.depth() == 0:
                    return
                await asyncio.sleep(0.005)
                continue
            claimed_ns = time.monotonic_ns()
            await asyncio.sleep(rng.uniform(0, 0.004))  # "sending"
            acking_ns = time.monotonic_ns()
            acked = await store.outbox.ack(
                [j.id for j in jobs], worker_id=worker, now=datetime.now(UTC)
            )
            emit(
                {
                    "worker": worker,
                    "claimed_ns": claimed_ns,
                    "acking_ns": acking_ns,
                    "acked": acked,
                    "jobs": [[j.id, j.user_key, j.occurred_at.isoformat()] for j in jobs],
                }
            )
    finally:
        await store.close()


async def hold(url: str, lease: str) -> None:
    store = await open_store(url, upgrade=False)
    jobs = await store.outbox.claim(
        worker_id="doomed", limit=100_000, now=datetime.now(UTC), lease_seconds=float(lease)
    )
    emit({"ids": [j.id for j in jobs]})
    await asyncio.sleep(3600)  # killed long before


async def churn(url: str) -> None:
    store = await open_store(url, upgrade=False)
    n = 0
    while True:
        jobs = await store.outbox.claim(
            worker_id="doomed", limit=20, now=datetime.now(UTC), lease_seconds=20
        )
        n += await store.outbox.ack([j.id for j in jobs], worker_id="doomed", now=datetime.now(UTC))
        if n and n == len(jobs):
            emit({"acked": n})


async def enqueue(url: str, connection_id: str) -> None:
    store = await open_store(url, upgrade=False)
    cid = int(connection_id)
    for b in range(1_000_000):
        now = datetime.now(UTC)
        batch = [NewJob(cid, f"u{b}", f"b{b}-{i}", now, {"i": i}, None) for i in range(100)]
        await store.outbox.enqueue(batch, now=now)
        emit({"batch": b})


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    child = {"claimer": claimer, "hold": hold, "churn": churn, "enqueue": enqueue}[mode]
    asyncio.run(child(*rest))  # type: ignore[operator]
