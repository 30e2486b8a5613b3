"""Backfill speed: ``justuno-braze import`` of N leads vs a plain ``braze-client`` loop.

Both run against a Braze sandbox PROCESS with ``--latency-ms`` added to every request (a
fresh sandbox each). The import is timed end to end as a user runs it (a fresh SQLite
database; reading, normalising, enqueueing, delivering, summary; interpreter start
included); its CPU is that of both its processes (the delivery process it forks is
waited for, so ``RUSAGE_CHILDREN`` counts it). The baseline is what a hand-written
script does: a sequential loop of PyPI ``braze-client``'s ``user_track`` with 75
ready-made attribute objects per call (nothing to read or normalise; only the loop is
timed), run in its own virtualenv under ``bench/.envs/`` (created on first use).

    python -m bench backfill_speed [--leads 20000] [--latency-ms 50] [--in-flight N]

Prints both times and the ratio (issue 3: at least 10×, goal 20×).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.leadgen import write_csv

ROOT = Path(__file__).resolve().parent.parent
ENV_DIR = ROOT / "bench" / ".envs" / "braze-client"
API_KEY = "sandbox-key"
SMS_GROUP = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL_GROUP = "4e1d2c3b-5a6f-4789-8abc-def012345678"
PER_CALL = 75
WORKFLOW = f"""
name: Backfill benchmark
trigger: {{event: form_submitted}}
steps:
  - sync_to_app:
      app: braze
      default_region: US
      sms_subscription_group_id: {SMS_GROUP}
      email_subscription_group_id: {EMAIL_GROUP}
      properties:
        - {{from: birthday, to: dob}}
"""
BASELINE = """
import json, sys, time
from braze.client import BrazeClient
url, key, path = sys.argv[1:4]
calls = json.load(open(path))
client = BrazeClient(api_key=key, api_url=url)
started = time.perf_counter()
for attributes in calls:
    result = client.user_track(attributes=attributes, events=[], purchases=[])
    if not result["success"]:
        raise SystemExit(f"braze-client call failed: {result}")
print(time.perf_counter() - started)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sandbox_process(latency_ms: float) -> Iterator[str]:
    """``justuno-braze sandbox`` in its own process; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "justuno_braze", "sandbox", "--port", str(port),
            "--latency-ms", str(latency_ms), "--rate-limit", "1000000/1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def baseline_env() -> Path:
    python = ENV_DIR / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ENV_DIR)], check=True)
        # braze-client 2.3.3 pins tenacity<6, whose asyncio.coroutine is gone from Python
        # 3.11: install it without deps, next to requests and a tenacity that still has the
        # (sync) API it uses — as tests/sandbox/test_third_party_clients.py does.
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--no-deps", "braze-client==2.3.3"], check=True)
        subprocess.run([*pip, "requests>=2.21,<3", "tenacity==9.1.2"], check=True)
    return python


def ready_made_calls(n: int) -> list[list[dict[str, object]]]:
    """N distinct users as already-normalised attribute objects, 75 per call."""
    objects = [
        {
            "email": f"lead{i}@example.com",
            "first_name": "Ana",
            "last_name": "Silva",
            "phone": f"+1303555{i % 10000:04d}",
            "country": "US",
            "language": "en",
            "subscription_groups": [
                {"subscription_group_id": SMS_GROUP, "subscription_state": "subscribed"},
                {"subscription_group_id": EMAIL_GROUP, "subscription_state": "subscribed"},
            ],
        }
        for i in range(n)
    ]
    return [objects[i : i + PER_CALL] for i in range(0, n, PER_CALL)]


def compile_package() -> None:
    """Byte-compile justuno_braze as an installed package is (pip compiles a wheel's
    modules at install time). An editable checkout run with ``PYTHONDONTWRITEBYTECODE``
    (as on the CI machines) would otherwise compile the whole package again in every
    timed run (~0.05–0.15 s) — a cost no installed copy pays."""
    import justuno_braze

    package = Path(justuno_braze.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def time_import(work: Path, url: str, in_flight: int | None) -> tuple[float, float, str]:
    """Wall seconds, child CPU seconds and the summary of one ``import`` run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUSTUNO_BRAZE_")}
    env.update(
        JUSTUNO_BRAZE_DATABASE_URL=f"sqlite:///{work}/import.db",
        JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS=url,
        JUSTUNO_BRAZE_BRAZE_KEY=API_KEY,
    )
    if in_flight:
        env["JUSTUNO_BRAZE_MAX_IN_FLIGHT"] = str(in_flight)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable, "-m", "justuno_braze", "import", str(work / "leads.csv"),
            "--workflow", str(work / "workflow.yaml"), "--braze-url", url,
        ],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench backfill_speed")
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--in-flight", type=int, default=None, help="JUSTUNO_BRAZE_MAX_IN_FLIGHT")
    args = parser.parse_args(list(argv))
    with tempfile.TemporaryDirectory(prefix="jb-backfill-") as tmp:
        work = Path(tmp)
        write_csv(args.leads, work / "leads.csv")
        (work / "workflow.yaml").write_text(WORKFLOW, "utf-8")
        calls = ready_made_calls(args.leads)
        (work / "calls.json").write_text(json.dumps(calls), "utf-8")
        (work / "baseline.py").write_text(BASELINE, "utf-8")
        python = baseline_env()
        compile_package()

        with sandbox_process(args.latency_ms) as url:
            wall, cpu, summary = time_import(work, url, args.in_flight)
        with sandbox_process(args.latency_ms) as url:
            out = subprocess.run(
                [str(python), str(work / "baseline.py"), url, API_KEY, str(work / "calls.json")],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            baseline = float(out.stdout.strip().splitlines()[-1])

    delivered = next(
        (
            line.split(":")[1].strip()
            for line in summary.splitlines()
            if line.startswith("delivered")
        ),
        "?",
    )
    print(f"leads: {args.leads}, sandbox latency: {args.latency_ms:g} ms, cpus: {os.cpu_count()}")
    print(
        f"justuno-braze import (end to end): {wall:.2f} s wall, {cpu:.2f} s CPU, "
        f"{delivered} delivered"
    )
    print(f"braze-client user_track loop ({len(calls)} calls of {PER_CALL}): {baseline:.2f} s")
    print(f"ratio: {baseline / wall:.1f}x (goal >= 10x, target 20x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
