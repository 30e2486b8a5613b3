"""``justuno-braze sandbox``: the real command on a free port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

GROUP = "3f1c2a7e-9b1d-4c1e-8f6a-2b7c9d0e1f23"
OPTIONS = (
    *("--api-key", "full", "--api-key", "reader:custom_attributes.get"),
    *("--rate-limit", "5/60", "--subscription-group", f"{GROUP}:sms"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "justuno_braze", "sandbox", *args]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[str]:
    attrs = tmp_path / "attrs.json"
    attrs.write_text(json.dumps([{"name": "shoe_size", "data_type": "Number"}]))
    port = free_port()
    process = subprocess.Popen(
        command(*OPTIONS, "--port", str(port), "--custom-attributes", str(attrs)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:  # wait for the process to listen (not a retry wait)
            try:
                httpx.get(f"{url}/custom_attributes", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"sandbox did not start: {output}")
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.slow
def test_sandbox_command_serves_with_its_options(running: str) -> None:
    full = {"Authorization": "Bearer full"}
    reader = {"Authorization": "Bearer reader"}
    listing = httpx.get(f"{running}/custom_attributes", headers=reader)
    assert listing.status_code == 200
    assert [a["name"] for a in listing.json()["attributes"]] == ["shoe_size"]
    denied = httpx.post(f"{running}/users/track", json={"attributes": []}, headers=reader)
    assert denied.status_code == 403
    body = {
        "attributes": [
            {
                "external_id": "u",
                "subscription_groups": [
                    {"subscription_group_id": GROUP, "subscription_state": "subscribed"}
                ],
            }
        ]
    }
    tracked = httpx.post(f"{running}/users/track", json=body, headers=full)
    assert tracked.status_code == 201
    assert tracked.headers["x-ratelimit-limit"] == "5"
    status = httpx.get(
        f"{running}/subscription/status/get",
        params={"subscription_group_id": GROUP, "external_id": "u"},
        headers=full,
    )
    assert status.json()["status"] == {"u": "Subscribed"}


@pytest.mark.slow
def test_bad_option_exits_2_with_a_clear_message() -> None:
    result = subprocess.run(
        command("--rate-limit", "lots"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "--rate-limit" in result.stderr
