"""Worker CPU per delivered profile: user+sys seconds of the worker process / profiles.

N ready jobs (one distinct user each, the attributes justuno-braze sends) are enqueued in a
fresh SQLite database; the Braze sandbox runs as a SEPARATE process (its CPU is not
counted); then the delivery worker drains them in this process and
``resource.getrusage(RUSAGE_SELF)`` is read around the drain only — everything from outbox
claim to acknowledged delivery. A second run (fresh database and sandbox) drains under
pyinstrument and prints where the time goes (top functions by own time, with file:line).
The worker's modules are imported before the measurement (a once-per-process cost, not a
per-profile one), and the CPU is also split between the event-loop thread and the others
(aiosqlite runs each SQLite connection on its own thread), read from ``/proc``.

    python -m bench worker_cpu [--jobs 50000] [--no-profile]

Issue 3: at most 50 µs per profile, goal 13 µs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.backfill_speed import API_KEY, EMAIL_GROUP, SMS_GROUP, sandbox_process

CHUNK = 5_000


def attributes(i: int) -> dict[str, Any]:
    return {
        "email": f"lead{i}@example.com",
        "phone": f"+1303555{i % 10000:04d}",
        "first_name": "Ana",
        "last_name": "Silva",
        "country": "US",
        "language": "en",
        "gender": "F",
        "subscription_groups": [
            {"subscription_group_id": SMS_GROUP, "subscription_state": "subscribed"},
            {"subscription_group_id": EMAIL_GROUP, "subscription_state": "subscribed"},
        ],
    }


async def prepare(db: Path, url: str, jobs: int) -> tuple[Any, Any]:
    from justuno_braze.braze.client import preload_track_pool
    from justuno_braze.config import Settings
    from justuno_braze.delivery.outbox import NewJob
    from justuno_braze.delivery.worker import Worker  # noqa: F401  (import cost not measured)
    from justuno_braze.store import open_store
    from justuno_braze.vault import Vault

    preload_track_pool()  # a once-per-process import (aiohttp), not a per-profile cost

    store = await open_store(f"sqlite:///{db}", vault=Vault(Vault.generate_key()))
    account = await store.accounts.ensure("bench", "Bench")
    connection = await store.connections.add(account.id, base_url=url, api_key=API_KEY)
    now = datetime.now(UTC)
    for start in range(0, jobs, CHUNK):
        await store.outbox.enqueue(
            [
                NewJob(
                    connection_id=connection.id,
                    user_key=f"email:lead{i}@example.com",
                    source_key=f"bench-{i}",
                    occurred_at=now,
                    attributes=attributes(i),
                    event=None,
                )
                for i in range(start, min(jobs, start + CHUNK))
            ],
            now=now,
        )
    settings = Settings(database_url=f"sqlite:///{db}", allowed_braze_urls=(url,))
    return store, settings


async def drain(store: Any, settings: Any) -> dict[str, int]:
    from justuno_braze.delivery.worker import Worker  # imported by ``prepare`` already

    worker = Worker(store, settings)
    try:
        result = await worker.drain()
    finally:
        await worker.aclose()
    return dict(result.counts)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main_thread_cpu() -> float:
    """CPU seconds of this (the event loop's) thread: ``/proc/self/task/<tid>/stat``
    utime + stime, in clock ticks (0.0 where ``/proc`` is missing)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(
    work: Path, jobs: int, profile: bool
) -> tuple[float, float, float, dict[str, int], Any]:
    with sandbox_process(0.0) as url:
        store, settings = await prepare(work / f"worker-{int(profile)}.db", url, jobs)
        try:
            profiler = None
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005, async_mode="disabled")
                profiler.start()
            started, loop, wall = cpu(), main_thread_cpu(), time.perf_counter()
            counts = await drain(store, settings)
            spent, wall = cpu() - started, time.perf_counter() - wall
            loop = main_thread_cpu() - loop
            if profiler is not None:
                profiler.stop()
        finally:
            await store.close()
    return spent, loop, wall, counts, profiler


IDLE = {"poll", "select", "epoll.poll", "select.poll", "kqueue.control"}


def _key(frame: Any) -> tuple[str, str, int]:
    return (frame.function or "?", frame.file_path_short or "?", frame.line_no or 0)


def hotspots(profiler: Any, top: int = 15) -> tuple[float, list[str], list[str]]:
    """Where the drain's time goes: the idle share (waiting in the event loop's poll), the
    top functions by own time and the top justuno_braze functions by inclusive time, each
    as a share of the non-idle time, with file:line."""
    root = profiler.last_session.root_frame()
    own: dict[tuple[str, str, int], float] = {}
    inclusive: dict[tuple[str, str, int], float] = {}
    idle = 0.0

    def walk(frame: Any, parent: Any, stack: frozenset[tuple[str, str, int]]) -> None:
        nonlocal idle
        name = frame.function or ""
        synthetic = name.startswith("[") and parent is not None  # pyinstrument's [self]
        target = _key(parent) if synthetic else _key(frame)
        if name in IDLE or name.endswith(".poll"):
            idle += frame.time
            return
        own[target] = own.get(target, 0.0) + frame.total_self_time
        key = _key(frame)
        if "justuno_braze" in key[1] and key not in stack and not name.startswith("["):
            inclusive[key] = inclusive.get(key, 0.0) + frame.time
            stack = stack | {key}
        for child in frame.children:
            walk(child, frame, stack)

    walk(root, None, frozenset())
    busy = max(1e-9, root.time - idle)
    mine = sorted(inclusive.items(), key=lambda kv: kv[1], reverse=True)[:top]
    hot = sorted(own.items(), key=lambda kv: kv[1], reverse=True)[:top]
    fmt = "{:6.1%}  {}  {}:{}"
    return (
        idle / max(1e-9, root.time),
        [fmt.format(t / busy, fn, path, line) for (fn, path, line), t in hot],
        [fmt.format(t / busy, fn, path, line) for (fn, path, line), t in mine],
    )


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench worker_cpu")
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(list(argv))
    with tempfile.TemporaryDirectory(prefix="jb-worker-cpu-") as tmp:
        spent, loop, wall, counts, _ = asyncio.run(measured(Path(tmp), args.jobs, False))
        delivered = max(1, counts.get("delivered", 0))
        print(f"jobs: {args.jobs}, delivered: {counts.get('delivered', 0)}, cpus: {os.cpu_count()}")
        print(f"drain: {wall:.2f} s wall, {spent:.2f} s CPU (user+sys)")
        print(f"worker CPU per profile: {spent / delivered * 1e6:.1f} µs (max 50, goal 13)")
        print(
            f"  event-loop thread {loop / delivered * 1e6:.1f} µs,"
            f" other threads (SQLite) {(spent - loop) / delivered * 1e6:.1f} µs"
        )
        if not args.no_profile:
            _, _, _, _, profiler = asyncio.run(measured(Path(tmp), args.jobs, True))
            idle, hot, mine = hotspots(profiler)
            print(f"profiled drain: {idle:.0%} of the wall time idle (waiting for I/O)")
            print("hotspots by own time (share of the busy time):")
            for line in hot:
                print("  " + line)
            print("justuno_braze functions by inclusive time (share of the busy time):")
            for line in mine:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
