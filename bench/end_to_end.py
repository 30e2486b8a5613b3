"""End to end: from ingestion's ``202`` to Braze's ``201``, at a steady 1,000 events/s.

A ``justuno-braze sandbox`` process with 50 ms latency per request stands in for Braze; one
``justuno-braze serve --demo`` process (ingestion + its delivery worker, SQLite) has the
demo connection pointed at that sandbox (``JUSTUNO_BRAZE_DEMO_BRAZE_URL``/``_KEY``). A paced
asyncio load generator in this process posts leads (every visitor and e-mail new) as
batches of ``--batch`` events at ``--rate`` events/s for ``--duration`` seconds over
keep-alive connections, then waits until the outbox is empty.

Method: ingestion commits each event's outbox job in the same transaction that precedes
its ``202``, stamped ``enqueued_at``; the worker stamps ``finished_at`` when it settles the
job after Braze's ``201``. Both are read back from the database: ``finished_at -
enqueued_at`` per delivered event is the 202 → 201 latency (slightly pessimistic: it
includes the worker's bookkeeping after the 201). Client-side 202 latencies are reported too.

    python -m bench end_to_end [--rate 1000] [--duration 20] [--batch 10] [--latency-ms 50]

Issue 4 goal: p99 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.backfill_speed import API_KEY, sandbox_process
from bench.ingest_throughput import PATH, TOKEN, event, served


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, body: bytes
) -> int:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\r\n"
    )
    writer.write(head.encode() + body)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        length = int(value) if name.strip().lower() == b"content-length" else length
    await reader.readexactly(length)
    return status


async def generate(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Post ``rate`` events/s in batches, paced on a fixed schedule (no coordinated
    omission: a late request does not delay the schedule of the others)."""
    port = int(url.rsplit(":", 1)[1])
    interval = args.batch / args.rate
    total = int(args.duration * args.rate / args.batch)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(args.connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    failures = 0

    async def one(n: int) -> None:
        nonlocal failures
        events = [
            json.loads(json.dumps(event("lead", i)).replace("RQID", f"e{n}"))
            for i in range(args.batch)
        ]
        body = json.dumps(events[0] if args.batch == 1 else {"events": events}).encode()
        conn = await pool.get()
        start = time.perf_counter()
        try:
            status = await _post(*conn, port, body)
        finally:
            pool.put_nowait(conn)
        latencies.append(time.perf_counter() - start)
        failures += status != 202

    began = time.perf_counter()
    tasks = []
    for n in range(total):
        delay = began + n * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    sent_for = time.perf_counter() - began
    while not pool.empty():
        pool.get_nowait()[1].close()
    return {
        "events": total * args.batch,
        "seconds": sent_for,
        "failures": failures,
        "p50_202_ms": percentile(latencies, 0.50) * 1000,
        "p99_202_ms": percentile(latencies, 0.99) * 1000,
    }


def wait_drained(url: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    depth = float("nan")
    while time.monotonic() < deadline:
        for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
            if line.startswith("justuno_braze_queue_depth "):
                depth = float(line.split()[1])
        if depth == 0:
            return depth
        time.sleep(0.5)
    return depth


def delivery_latencies(db: Path) -> tuple[list[float], dict[str, int]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT enqueued_at, finished_at FROM outbox WHERE state = 'delivered'"
        ).fetchall()
        states = dict(conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    out = [(f - e) / 1e6 for e, f in rows if e and f]  # SQLite keeps times as integer µs
    return out, states


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench end_to_end")
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=10, help="events per request")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(list(argv))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with (
        tempfile.TemporaryDirectory(prefix="jb-e2e-") as tmp,
        sandbox_process(args.latency_ms) as braze,
    ):
        workdir = Path(tmp)
        env = {
            "JUSTUNO_BRAZE_DEMO_BRAZE_URL": braze,
            "JUSTUNO_BRAZE_DEMO_BRAZE_KEY": API_KEY,
            "JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS": braze,
        }
        with served(workdir, env=env) as server:
            load = asyncio.run(generate(server.url, args))
            depth = wait_drained(server.url, timeout=120)
            latencies, states = delivery_latencies(workdir / "bench.db")
    print(
        f"sent {load['events']} events in {load['seconds']:.1f} s "
        f"({load['events'] / load['seconds']:.0f}/s, batches of {args.batch}); "
        f"non-202: {load['failures']}; 202 latency p50 {load['p50_202_ms']:.1f} ms, "
        f"p99 {load['p99_202_ms']:.1f} ms"
    )
    print(f"outbox: {states}; queue depth at the end: {depth:.0f}")
    print(
        f"202 -> Braze 201: delivered {len(latencies)}, "
        f"p50 {percentile(latencies, 0.50) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
        f"max {max(latencies, default=float('nan')) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
