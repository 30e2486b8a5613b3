"""Sandbox ``/users/track`` CPU per request in-process (no HTTP, no load generator).

Posts the bodies of ``bench/sandbox_track.py`` (75 rich attribute objects each, what the
Sync to App step sends) through the sandbox's ASGI app with an in-memory
``receive``/``send``: routing, auth, rate limit, JSON parsing, ``Tracker.track``, response
encoding, the garbage collector tuned as in the sandbox process — everything but uvicorn,
which costs about 0.05 ms per request (the baseline row of ``sandbox_track``). The store
grows as in the real benchmark (every object a new user, ``--passes`` × ``--bodies``
requests), or with ``--updates`` every body is applied once first and then again and
again. Prints CPU ms per request (``time.process_time``) per pass and overall, the garbage
collector's share, and optionally a cProfile (``--profile``).
Meant for iterating on the sandbox quickly; ``sandbox_track`` is the measurement of record.

    python -m bench sandbox_objects [--passes 20] [--bodies 400] [--updates] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import sys
import time
from collections.abc import MutableMapping, Sequence
from typing import Any

from bench.sandbox_track import API_KEY, OBJECTS_PER_REQUEST, TOKEN, build_bodies
from justuno_braze.sandbox.app import create_app
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import FreezingApp, tune_garbage_collector


class _GcClock:
    """Wall time spent in garbage collections (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start


async def _post_all(app: FreezingApp, bodies: list[bytes]) -> None:
    headers = [(b"authorization", f"Bearer {API_KEY}".encode()), (b"content-type", b"json")]
    statuses: set[int] = set()

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    for body in bodies:
        scope = {"type": "http", "method": "POST", "path": "/users/track",
                 "headers": headers, "query_string": b"", "root_path": ""}  # fmt: skip
        request = {"type": "http.request", "body": body, "more_body": False}

        async def receive(request: dict[str, Any] = request) -> dict[str, Any]:
            return request

        await app(scope, receive, send)
    if statuses != {201}:
        raise SystemExit(f"unexpected statuses {sorted(statuses)}")


def _stamped(bodies: list[bytes], run: str) -> list[bytes]:
    """The bodies with a unique token in every email (every object a new user)."""
    return [b.replace(TOKEN.encode(), f"{run}b{i}".encode()) for i, b in enumerate(bodies)]


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser("python -m bench sandbox_objects", description=__doc__)
    parser.add_argument("--passes", type=int, default=20, help="passes over the bodies")
    parser.add_argument("--bodies", type=int, default=400, help="distinct bodies")
    parser.add_argument("--updates", action="store_true", help="users exist already")
    parser.add_argument("--profile", action="store_true", help="cProfile the last pass")
    args = parser.parse_args(list(argv))
    tune_garbage_collector()  # as the sandbox process does
    clock = _GcClock()
    gc.callbacks.append(clock)
    sandbox = create_app(SandboxOptions(track_rate=(1_000_000_000, 1.0)))
    app = FreezingApp(sandbox)  # as the sandbox process serves it
    bodies = build_bodies(args.bodies)
    if args.updates:
        asyncio.run(_post_all(app, bodies))
    mode = "existing users" if args.updates else "a new user in every object"
    print(f"{OBJECTS_PER_REQUEST} attribute objects per request, {mode}; CPU ms/request:")
    total = gc_total = 0.0
    profiler = cProfile.Profile()
    for number in range(args.passes):
        batch = bodies if args.updates else _stamped(bodies, f"p{number}")
        profile = args.profile and number == args.passes - 1
        gc_before, start = clock.seconds, time.process_time()
        if profile:
            profiler.enable()
        asyncio.run(_post_all(app, batch))
        if profile:
            profiler.disable()
        elapsed, in_gc = time.process_time() - start, clock.seconds - gc_before
        total, gc_total = total + elapsed, gc_total + in_gc
        print(f"  pass {number + 1:2d}: {elapsed * 1000 / len(batch):.3f} "
              f"(gc {in_gc * 1000 / len(batch):.3f}), {len(sandbox.users):,} users")  # fmt: skip
    requests = args.passes * len(bodies)
    print(f"overall: {total * 1000 / requests:.3f} CPU ms/request "
          f"(≈{requests / total:,.0f} req/s on one core), of which gc "
          f"{gc_total * 1000 / requests:.3f}; {requests:,} requests")  # fmt: skip
    if args.profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
