"""Sandbox ``/users/track`` throughput: one sandbox process on one core, loaded over loopback.

The sandbox (``justuno-braze sandbox``) is pinned to CPU 0 with ``taskset``; the load
generator (``wrk`` with ``sandbox_track.lua``, else a multi-process asyncio generator) runs
on the other CPUs and posts pre-built bodies of 75 attribute objects (what justuno-braze
sends) over keep-alive connections. A unique token stamped into every email makes every
object a new user (lead capture); ``--updates`` reuses the users instead. The same load
then hits a raw-ASGI baseline answering 201 under the same uvicorn settings (a ratio).
Prints a markdown table: requests/s, objects/s, p50/p99 latency, non-2xx count, server CPU
seconds (``/proc/<pid>/stat``) and CPU per request. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from argparse import RawDescriptionHelpFormatter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OBJECTS_PER_REQUEST = 75
API_KEY = "sandbox-key"
SMS_GROUP = "0b7c4a52-6f1e-4c43-9a57-1f0f7c3e9d11"
EMAIL_GROUP = "4e1d2b9a-3c5f-4e7b-8a61-2d9c0f5b7a22"
TARGET_RPS = 1000.0
TOKEN = "RQID"  # replaced per request by a unique id (unless --updates)

FIRST = ["Ana", "Bruno", "Chloé", "Dmitri", "Emma", "Farah", "Gustavo", "Hana", "Ivan", "Jade"]
LAST = ["Silva", "Müller", "Smith", "Dubois", "Garcia", "Kowalski", "Rossi", "Tanaka", "Nguyen"]
COUNTRIES = [("US", "en"), ("BR", "pt"), ("DE", "de"), ("FR", "fr"), ("ES", "es"), ("GB", "en")]
US_AREAS = ["212", "305", "415", "512", "617", "718", "917", "303"]
INTERESTS = ["shoes", "bags", "outerwear", "jewelry", "sale", "new-arrivals", "kids"]

WRK_SCRIPT = Path(__file__).with_suffix(".lua")  # TOKEN is spelled out in it


def phone(user: int, country: str) -> str:
    """A valid E.164 mobile number in ``country`` (unique per user)."""
    if country == "US":
        area = US_AREAS[user % len(US_AREAS)]
        return f"+1{area}{200 + user // 10_000 % 800:03d}{user % 10_000:04d}"
    prefix = {"BR": "+55119", "DE": "+49151", "FR": "+336", "ES": "+346", "GB": "+447400"}
    digits = 6 if country == "GB" else 8
    return f"{prefix[country]}{user % 10**digits:0{digits}d}"


def attribute_object(user: int) -> dict[str, Any]:
    """One attributes object as justuno-braze's Sync to App step builds it (email-keyed)."""
    country, language = COUNTRIES[user % len(COUNTRIES)]
    return {
        "email": f"lead{user}.{TOKEN}@shop-{user % 97}.example.com",
        "phone": phone(user, country),
        "first_name": FIRST[user % len(FIRST)],
        "last_name": LAST[user % len(LAST)],
        "language": language,
        "gender": "FMONP"[user % 5],
        "country": country,
        "dob": f"19{60 + user % 40}-{1 + user % 12:02d}-{1 + user % 28:02d}",
        "justuno_visitor_id": f"jv_{user:012x}",
        "signup_design": "spring-popup" if user % 2 else "exit-intent",
        "lifetime_orders": user % 13,
        "interests": [INTERESTS[user % 7], INTERESTS[(user * 3) % 7]],
        "subscription_groups": [
            {"subscription_group_id": SMS_GROUP, "subscription_state": "subscribed"},
            {"subscription_group_id": EMAIL_GROUP, "subscription_state": "subscribed"},
        ],
    }


def build_bodies(count: int, first: int = 0) -> list[bytes]:
    """``count`` request bodies of 75 distinct users each (users never repeat across bodies);
    every email carries ``TOKEN``."""
    return [
        json.dumps(
            {
                "attributes": [
                    attribute_object(b * OBJECTS_PER_REQUEST + i)
                    for i in range(OBJECTS_PER_REQUEST)
                ]
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        for b in range(first, first + count)
    ]


# --- the servers under test ------------------------------------------------------------


async def baseline_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The trivial baseline: drain the request body, answer 201 with a small JSON body."""
    if scope["type"] == "lifespan":
        while True:
            kind = (await receive())["type"]
            await send({"type": kind + ".complete"})
            if kind == "lifespan.shutdown":
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    body = b'{"message":"success","attributes_processed":75}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_baseline(port: int) -> None:
    """Serve ``baseline_app`` with the uvicorn settings of the sandbox's ``serve``
    (``justuno_braze/sandbox/server.py``: httptools + uvloop when installed, no access log,
    lifespan on, one worker)."""
    import importlib.util

    import uvicorn

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    uvicorn.run(baseline_app, host="127.0.0.1", port=port, http=http, loop=loop,
                access_log=False, lifespan="on", workers=1, log_level="warning")  # fmt: skip


@dataclass
class Server:
    name: str
    pid: int
    url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def started(name: str, argv: list[str], port: int, cpu: int | None) -> Iterator[Server]:
    """Run ``argv`` (pinned to ``cpu``) until it accepts connections on ``port``."""
    pinned = ["taskset", "-c", str(cpu), *argv] if cpu is not None else argv
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(pinned, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    raise SystemExit(f"{name} exited with {proc.returncode}:\n{output}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{name} did not listen on {port} within 30 s") from None
                    time.sleep(0.05)
            yield Server(name, proc.pid, f"http://127.0.0.1:{port}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- load generators ---------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int


def run_wrk(url: str, bodies: Path, args: argparse.Namespace, run: str) -> Load:
    mode = "same" if args.updates else "unique"
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{round(args.secs)}s"]
    cmd += ["--timeout", "10s", "-s", str(WRK_SCRIPT), url, "--", str(bodies), mode, run, API_KEY]
    if args.load_cpus:
        cmd = ["taskset", "-c", args.load_cpus, *cmd]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    d = json.loads(next(ln for ln in out.splitlines() if ln.startswith("JSON{"))[4:])
    return Load(
        d["requests"], d["duration_us"] / 1e6, d["p50_us"] / 1000, d["p99_us"] / 1000,
        d["non2xx"], d["socket_errors"],
    )  # fmt: skip


async def _connection(port: int, job: tuple[str, float, bool], latencies: list[float]) -> int:
    """One keep-alive connection posting until the deadline; returns its non-2xx count."""
    prefix, until, unique = job
    bodies = build_bodies(8, first=hash(prefix) % 1000 * 8)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    non2xx = n = 0
    while time.perf_counter() < until:
        n += 1
        body = bodies[n % len(bodies)]
        body = body.replace(TOKEN.encode(), f"{prefix}r{n}".encode()) if unique else body
        head = (
            f"POST /users/track HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            f"Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\n\r\n"
        )
        start = time.perf_counter()
        writer.write(head.encode() + body)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            length = int(value) if name.strip().lower() == b"content-length" else length
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        non2xx += not 200 <= status < 300
    writer.close()
    return non2xx


def _generator_process(job: tuple[int, int, str, float, bool, set[int] | None]) -> Any:
    port, connections, prefix, secs, unique, cpus = job
    if cpus:
        os.sched_setaffinity(0, cpus)

    async def run() -> tuple[list[float], float, int, int]:
        latencies: list[float] = []
        began, until = time.perf_counter(), time.perf_counter() + secs
        jobs = [(f"{prefix}c{c}", until, unique) for c in range(connections)]
        done = await asyncio.gather(
            *(_connection(port, j, latencies) for j in jobs), return_exceptions=True
        )
        non2xx = sum(d for d in done if isinstance(d, int))
        errors = sum(1 for d in done if isinstance(d, BaseException))
        return latencies, time.perf_counter() - began, non2xx, errors

    return asyncio.run(run())


def run_python_generator(url: str, args: argparse.Namespace, run: str) -> Load:
    """Fallback when ``wrk`` is missing: processes × asyncio keep-alive connections."""
    port, procs = int(url.rsplit(":", 1)[1]), max(1, args.threads)
    cpus = {int(c) for c in args.load_cpus.split(",")} if args.load_cpus else None
    per_proc = max(1, args.connections // procs)
    jobs = [(port, per_proc, f"{run}p{i}", args.secs, not args.updates, cpus) for i in range(procs)]
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        parts = pool.map(_generator_process, jobs)
    latencies: list[float] = sorted(x for p in parts for x in p[0])
    if not latencies:
        raise SystemExit("the python load generator completed no request")

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    seconds = max(p[1] for p in parts)
    non2xx, errors = sum(p[2] for p in parts), sum(p[3] for p in parts)
    return Load(len(latencies), seconds, pct(0.50), pct(0.99), non2xx, errors)


# --- the run -------------------------------------------------------------------------------


def measure(server: Server, args: argparse.Namespace, bodies: Path) -> dict[str, Any]:
    def load(secs: float, run: str) -> Load:
        args.secs = max(1.0, secs)
        if args.generator == "wrk":
            return run_wrk(server.url, bodies, args, run)
        return run_python_generator(server.url, args, run)

    if args.warmup > 0:
        load(args.warmup, "w")
    cpu_before = cpu_seconds(server.pid)
    result = load(args.duration, "m")
    cpu = cpu_seconds(server.pid) - cpu_before
    rps = result.requests / result.seconds
    return {
        "name": server.name,
        "rps": rps,
        "objects_per_s": rps * OBJECTS_PER_REQUEST,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "requests": result.requests,
        "non2xx": result.non2xx,
        "socket_errors": result.socket_errors,
        "cpu_s": cpu,
        "cpu_share": cpu / result.seconds,
        "cpu_ms_per_req": cpu * 1000 / max(1, result.requests),
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| server | requests/s | objects/s | p50 ms | p99 ms | requests | non-2xx | "
        "socket errors | server CPU s | server core busy | CPU ms/request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['rps']:,.0f} | {r['objects_per_s']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['requests']:,} | {r['non2xx']:,} | {r['socket_errors']:,} | "
            f"{r['cpu_s']:.2f} | {r['cpu_share']:.0%} | {r['cpu_ms_per_req']:.3f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ncpu = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        "python -m bench sandbox_track", None, __doc__, formatter_class=RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads / generator procs")
    parser.add_argument("--bodies", type=int, default=400, help="distinct pre-built bodies")
    parser.add_argument(
        "--generator", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python"
    )
    parser.add_argument("--server-cpu", default="0" if ncpu > 1 else None)
    parser.add_argument(
        "--load-cpus", default=",".join(str(c) for c in range(1, ncpu)) if ncpu > 1 else None
    )
    parser.add_argument("--updates", action="store_true", help="reuse users (no unique token)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] = ()) -> int:
    args = parse_args(argv)
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return 0
    if args.server_cpu is not None and not shutil.which("taskset"):
        print("warning: taskset missing, the server is not pinned", file=sys.stderr)
        args.server_cpu = None
    cli = Path(sys.executable).with_name("justuno-braze")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        bodies_file = Path(tmp, "bodies.jsonl")
        bodies = build_bodies(args.bodies)
        bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
        port = free_port()
        sandbox = [str(cli), "sandbox", "--port", str(port), "--rate-limit", "1000000000/1"]
        with started("sandbox", sandbox, port, args.server_cpu) as server:
            rows.append(measure(server, args, bodies_file))
        if not args.no_baseline:
            port = free_port()
            baseline = [sys.executable, "-m", "bench", "sandbox_track"]
            baseline += ["--serve-baseline", str(port)]
            with started("baseline (raw ASGI 201)", baseline, port, args.server_cpu) as server:
                rows.append(measure(server, args, bodies_file))
    body_kb = sum(map(len, bodies)) / len(bodies) / 1024
    print(
        f"generator: {args.generator}, {args.connections} connections, {args.threads} threads, "
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up; server on CPU "
        f"{args.server_cpu}, load on CPUs {args.load_cpus}; {OBJECTS_PER_REQUEST} attribute "
        f"objects per request, {body_kb:.1f} KiB per body, {len(bodies)} bodies, "
        f"{'users reused (updates)' if args.updates else 'a new user in every object'}\n"
    )
    print(table(rows))
    sandbox_rps = rows[0]["rps"]
    if len(rows) > 1:
        print(f"\nsandbox / baseline: {sandbox_rps / rows[1]['rps']:.1%} of the baseline's req/s")
    verdict = "meets" if sandbox_rps >= TARGET_RPS else "FALLS SHORT of"
    print(f"sandbox {verdict} the {TARGET_RPS:,.0f} req/s target ({sandbox_rps:,.0f} req/s)")
    for row in rows:
        if row["cpu_share"] < 0.9:
            print(
                f"note: {row['name']} kept its core only {row['cpu_share']:.0%} busy: the core "
                "was shared with other processes or the generator was the bottleneck; "
                f"its CPU-bound ceiling is {1000 / row['cpu_ms_per_req']:,.0f} req/s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
