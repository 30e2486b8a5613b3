"""A real ``justuno-braze serve`` process on a free loopback port (for the e2e test, the
schemathesis run and the benchmarks): started in its own directory with its own SQLite
database, ready when ``/readyz`` answers 200, stopped with SIGINT (then SIGKILL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_serve(
    workdir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    extra: Sequence[str] = (),
) -> Iterator[Served]:
    """``justuno-braze serve --port <free> *args`` in ``workdir``; yields its URL."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "serve.log"
    environ = {
        **os.environ,
        "JUSTUNO_BRAZE_DATABASE_URL": f"sqlite:///{workdir}/serve.db",
        **(env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "justuno_braze", "serve", "--port", str(port), *args, *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=environ,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, proc, log, timeout)
            yield Served(url, log)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"serve did not become ready:\n{log.read_text()}")
