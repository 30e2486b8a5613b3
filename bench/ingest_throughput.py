"""Ingestion throughput: events/s accepted durably (``202``) by ONE ``serve`` process.

A ``justuno-braze serve --demo --no-workers`` process (SQLite in a fresh directory; the
demo's published workflow runs on every lead, so each event also writes its profile, an
outbox job and two consent-ledger entries in the same transaction) is loaded by ``wrk``
with ``bench/ingest_events.lua`` on loopback: batches of 100 leads per request, then
single leads. Every event, visitor and e-mail is new (ids unique per run/thread/request).

    python -m bench ingest_throughput [--duration 15] [--connections 32] [--threads 2]
                                      [--kind lead|page_view] [--load-cpus 1]

Issue 4 goals: >= 10,000 events/s in batches of 100, >= 2,000 single events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

WRK_SCRIPT = Path(__file__).with_name("ingest_events.lua")
TOKEN = "bench-ingest-token"
PATH = "/api/v1/accounts/demo/events"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    url: str
    pid: int
    workdir: Path


@contextmanager
def served(
    workdir: Path, *args: str, env: Mapping[str, str] | None = None, cpus: str | None = None
) -> Iterator[Served]:
    """``justuno-braze serve --demo`` on a free port in ``workdir``; ready on /readyz."""
    port = free_port()
    environ = {
        **os.environ,
        "JUSTUNO_BRAZE_DATABASE_URL": f"sqlite:///{workdir}/bench.db",
        "JUSTUNO_BRAZE_DEMO_TOKEN": TOKEN,
        **(env or {}),
    }
    cmd = [sys.executable, "-m", "justuno_braze", "serve", "--demo", "--port", str(port), *args]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    log = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=environ)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((workdir / "serve.log").read_text())
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield Served(url, proc.pid, workdir)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def event(kind: str, n: int) -> dict[str, Any]:
    """One event whose ids carry the RQID token (replaced per request by the Lua script)."""
    if kind == "page_view":
        return {
            "event_id": f"RQID-{n}",
            "type": "page_view",
            "visitor_id": f"v-RQID-{n}",
            "page_url": "https://shop.example/cart",
        }
    return {
        "event_id": f"RQID-{n}",
        "type": "form_submitted",
        "visitor_id": f"v-RQID-{n}",
        "design_id": "spring-popup",
        "page_url": "https://shop.example/",
        "properties": {
            "email": f"lead-RQID-{n}@example.com",
            "sms": f"+1303555{n % 10000:04d}",
            "first_name": "Ana",
            "last_name": "Silva",
            "country": "US",
        },
        "consent": {"sms": True},
        "consent_text": "Text me offers",
    }


def write_bodies(path: Path, kind: str, batch: int, count: int = 16) -> None:
    lines = []
    for b in range(count):
        events = [event(kind, b * batch + i) for i in range(batch)]
        body = events[0] if batch == 1 else {"events": events}
        lines.append(json.dumps(body, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    url: str, bodies: Path, args: argparse.Namespace, run: str, secs: float
) -> dict[str, Any]:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{round(secs)}s"]
    cmd += ["--timeout", "10s", "-s", str(WRK_SCRIPT), url, "--", str(bodies), run, TOKEN, PATH]
    if args.load_cpus:
        cmd = ["taskset", "-c", args.load_cpus, *cmd]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(
        next(ln for ln in out.splitlines() if ln.startswith("JSON{"))[4:]
    )
    return result


def measure(args: argparse.Namespace, batch: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jb-ingest-") as tmp:
        workdir = Path(tmp)
        bodies = workdir / "bodies.jsonl"
        write_bodies(bodies, args.kind, batch)
        with served(workdir, "--no-workers", cpus=args.server_cpus) as server:
            if args.warmup:
                run_wrk(server.url, bodies, args, "w", args.warmup)
            before = cpu_seconds(server.pid)
            d = run_wrk(server.url, bodies, args, "m", args.duration)
            cpu = cpu_seconds(server.pid) - before
            metrics = httpx.get(f"{server.url}/metrics").text
        ingested = _metric(metrics, "justuno_braze_events_ingested_total")
    seconds = d["duration_us"] / 1e6
    ok = d["requests"] - d["non2xx"]
    return {
        "batch": batch,
        "requests": d["requests"],
        "seconds": seconds,
        "events_per_s": ok * batch / seconds,
        "requests_per_s": d["requests"] / seconds,
        "p50_ms": d["p50_us"] / 1000,
        "p99_ms": d["p99_us"] / 1000,
        "non2xx": d["non2xx"],
        "socket_errors": d["socket_errors"],
        "server_cpu_s": cpu,
        "ingested_total": ingested,
    }


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest_throughput")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kind", choices=("lead", "page_view"), default="lead")
    parser.add_argument("--batches", default="100,1", help="events per request, comma-separated")
    parser.add_argument("--load-cpus", default="", help="taskset CPU list for wrk")
    parser.add_argument("--server-cpus", default="", help="taskset CPU list for serve")
    args = parser.parse_args(list(argv))
    if shutil.which("wrk") is None:
        print("error: wrk is required (apt-get install wrk)", file=sys.stderr)
        return 2
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; kind={args.kind}")
    print("| events/request | requests | events/s | p50 ms | p99 ms | non-2xx | server CPU s |")
    print("|---|---|---|---|---|---|---|")
    for batch in (int(b) for b in args.batches.split(",")):
        r = measure(args, batch)
        print(
            f"| {r['batch']} | {r['requests']} | {r['events_per_s']:,.0f} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['non2xx']} | {r['server_cpu_s']:.1f} |",
            flush=True,
        )
        if r["non2xx"] or r["socket_errors"]:
            print(f"  warning: {r['non2xx']} non-2xx, {r['socket_errors']} socket errors")
        expected = (r["requests"] - r["non2xx"]) * r["batch"]
        print(f"  /metrics ingested_total={r['ingested_total']:.0f} (wrk counted ~{expected})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
