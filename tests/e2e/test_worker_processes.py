"""Real processes: three ``justuno-braze worker`` processes, one PostgreSQL database, one
``justuno-braze sandbox`` process.

Thousands of jobs for a few hundred users, several updates each, enqueued out of order
while the workers run: every job is delivered exactly once as far as the outbox is
concerned, and what the sandbox finally holds for each user is that user's LAST update
(order kept across processes). Then a worker is killed with SIGKILL mid-run under a short
lease: its claimed jobs are picked up by the others and still everything arrives.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from justuno_braze.delivery.outbox import NewJob
from justuno_braze.store import Store, open_store
from justuno_braze.vault import Vault

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

KEY = "sandbox-key"
USERS = 300
ORIGIN = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the sandbox exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the sandbox did not start listening")


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "sandbox.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "justuno_braze",
            "sandbox",
            "--port",
            str(port),
            "--latency-ms",
            "40",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class Workers:
    """Worker processes sharing one database (their logs go to files under ``tmp``)."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[Any] = []
        self._started = 0

    def start(self, n: int, *, extra_env: dict[str, str] | None = None) -> None:
        for _ in range(n):
            index = self._started
            self._started += 1
            log = (self.tmp / f"worker-{index}.log").open("wb")
            self._logs.append(log)
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "justuno_braze", "worker", "--batch", "150"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.tmp,
                    env={**self.env, **(extra_env or {})},
                )
            )

    def stop_all(self) -> list[int]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=20))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        self.procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        return codes

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.tmp.glob("worker-*.log"))
        )


def _jobs(connection_id: int, rounds: range, rng: random.Random) -> list[NewJob]:
    """``rounds`` updates per user; update ``k`` sets seq=k (later occurred_at = higher k)."""
    jobs = []
    for user in range(USERS):
        email = f"p{user}@shop.io"
        for k in rounds:
            jobs.append(
                NewJob(
                    connection_id=connection_id,
                    user_key=f"email:{email}",
                    source_key=f"u{user}-k{k}",
                    occurred_at=ORIGIN + timedelta(minutes=k, seconds=user % 60),
                    attributes={"email": email, "first_name": f"v{k}", "seq": k},
                    event=None,
                )
            )
    rng.shuffle(jobs)  # ids no longer follow occurred_at
    return jobs


async def _wait_delivered(store: Store, total: int, workers: Workers, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        counts = await store.outbox.counts()
        if counts["delivered"] + counts["dead"] >= total:
            return
        await asyncio.sleep(0.2)
    counts = await store.outbox.counts()
    pytest.fail(f"not all delivered in {within}s: {counts}\n{workers.logs()}")


async def _final_values(base_url: str) -> dict[int, tuple[str, int]]:
    out: dict[int, tuple[str, int]] = {}
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}
    ) as http:

        async def one(user: int) -> None:
            response = await http.post(
                "/users/export/ids",
                json={
                    "email_address": f"p{user}@shop.io",
                    "fields_to_export": ["first_name", "custom_attributes"],
                },
            )
            response.raise_for_status()
            [found] = response.json()["users"]
            out[user] = (found["first_name"], found["custom_attributes"]["seq"])

        for start in range(0, USERS, 50):
            await asyncio.gather(*(one(u) for u in range(start, min(USERS, start + 50))))
    return out


async def test_three_worker_processes_deliver_everything_in_order_even_after_a_kill(
    postgres_url: str, sandbox_process: str, tmp_path: Path
) -> None:
    secret = Vault.generate_key()
    store = await open_store(postgres_url, vault=Vault(secret))  # migrates
    workers = Workers(
        tmp_path,
        {
            **os.environ,
            "JUSTUNO_BRAZE_DATABASE_URL": postgres_url,
            "JUSTUNO_BRAZE_SECRET_KEY": secret,
            "JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS": sandbox_process,
        },
    )
    try:
        account = await store.accounts.ensure("acme", "Acme")
        connection = await store.connections.add(account.id, base_url=sandbox_process, api_key=KEY)
        rng = random.Random(42)

        # Phase 1: 3 workers, 3,000 jobs (300 users x 10 updates) enqueued in waves.
        phase1 = _jobs(connection.id, range(1, 11), rng)
        await store.outbox.enqueue(phase1[:1000], now=datetime.now(UTC))
        workers.start(3)
        for start in range(1000, len(phase1), 500):
            await asyncio.sleep(0.3)
            await store.outbox.enqueue(phase1[start : start + 500], now=datetime.now(UTC))
        await _wait_delivered(store, len(phase1), workers, within=40)
        counts = await store.outbox.counts()
        assert counts == {"pending": 0, "leased": 0, "delivered": 3000, "dead": 0}
        assert await _final_values(sandbox_process) == {u: ("v10", 10) for u in range(USERS)}
        assert workers.stop_all() == [0, 0, 0]  # SIGTERM: a graceful stop

        # Phase 2: short lease, one worker is SIGKILLed while it works.
        phase2 = _jobs(connection.id, range(11, 15), rng)
        await store.outbox.enqueue(phase2, now=datetime.now(UTC))
        short_lease = {"JUSTUNO_BRAZE_LEASE_SECONDS": "2"}
        workers.start(1, extra_env=short_lease)
        victim = workers.procs[0]
        deadline = time.monotonic() + 20
        while (await store.outbox.counts())["leased"] == 0:  # the victim holds work now
            assert time.monotonic() < deadline, workers.logs()
            await asyncio.sleep(0.005)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=10) == -signal.SIGKILL
        held = (await store.outbox.counts())["leased"]
        assert held > 0  # claimed by a dead process: only the lease expiry frees them
        workers.start(2, extra_env=short_lease)
        await _wait_delivered(store, 3000 + len(phase2), workers, within=30)
        counts = await store.outbox.counts()
        assert counts == {"pending": 0, "leased": 0, "delivered": 4200, "dead": 0}
        assert await _final_values(sandbox_process) == {u: ("v14", 14) for u in range(USERS)}
    finally:
        workers.stop_all()
        await store.close()
