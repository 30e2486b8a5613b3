"""Real third-party Braze clients from PyPI, unchanged, against the sandbox CLI process.

Each client gets its own virtualenv (both install a top-level ``braze`` module), cached
under ``tests/.envs/<name>/``. A script from ``tests/sandbox/clients/`` runs with that
venv's python against ``justuno-braze sandbox --port N`` (set only through the client's
base-URL argument) and prints JSON; the assertions read what the sandbox stored through its
own HTTP API (``/users/export/ids``, ``/subscription/status/get``).

Pinned, verified versions:
- ``braze-client==2.3.3`` (dtatarkin). Its metadata pins ``tenacity<6``, and tenacity 5
  cannot be imported on Python ≥3.11 (``asyncio.coroutine`` is gone), so the client is
  installed with ``--no-deps`` next to ``requests`` and ``tenacity==9.1.2``; the client's
  code is untouched and uses only tenacity API that 9.x keeps.
- ``edx-braze-client==1.1.4`` with its own dependencies (Django, edx-ace, …).

Without PyPI the tests skip with the reason; CI (``JUSTUNO_BRAZE_REQUIRE_SERVICES=1``) fails.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_or_skip

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ENVS = ROOT / "tests" / ".envs"
SCRIPTS = Path(__file__).resolve().parent / "clients"
CLI = Path(sys.executable).with_name("justuno-braze")
KEY = "sandbox-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
TRACK_ONLY_KEY = "track-only-key"
EMAIL_GROUP = "4e1d2b9a-3c5f-4e7b-8a61-2d9c0f5b7a22"
LABEL = "justuno_email"

# name -> pip install steps (each step one `pip install` call)
CLIENT_ENVS: dict[str, list[list[str]]] = {
    "braze-client": [
        ["--no-deps", "braze-client==2.3.3"],
        ["requests>=2.21,<3", "tenacity==9.1.2"],
    ],
    "edx-braze-client": [["edx-braze-client==1.1.4"]],
}


# --- client virtualenvs --------------------------------------------------------------------


def client_python(name: str) -> Path:
    """The interpreter of the cached venv for client ``name`` (created on first use)."""
    steps = CLIENT_ENVS[name]
    spec = json.dumps(steps)
    env_dir = ENVS / name
    python = env_dir / "bin" / "python"
    marker = env_dir / ".installed"
    ENVS.mkdir(parents=True, exist_ok=True)
    with open(ENVS / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers share the cache
        if marker.exists() and marker.read_text() == spec and python.exists():
            return python
        shutil.rmtree(env_dir, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
        for step in steps:
            pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            proc = subprocess.run([*pip, *step], capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                tail = " ".join(proc.stderr.strip().splitlines()[-3:])
                shutil.rmtree(env_dir, ignore_errors=True)
                require_or_skip(False, f"pip could not install {' '.join(step)}: {tail}")
        marker.write_text(spec)
        return python


@pytest.fixture(scope="session")
def braze_client() -> Path:
    return client_python("braze-client")


@pytest.fixture(scope="session")
def edx_client() -> Path:
    return client_python("edx-braze-client")


def run_scenario(python: Path, script: str, scenario: str, url: str, key: str = KEY) -> Any:
    """Run one scenario in the client's venv; its JSON outcome (``result`` or ``error``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    command = [str(python), str(SCRIPTS / script), scenario, url, key]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def braze_client_run(python: Path, scenario: str, url: str, key: str = KEY) -> Any:
    return run_scenario(python, "braze_client_scenarios.py", scenario, url, key)


def edx_run(python: Path, scenario: str, url: str, key: str = KEY) -> Any:
    return run_scenario(python, "edx_braze_client_scenarios.py", scenario, url, key)


# --- sandboxes (real CLI processes) -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(*options: str) -> Iterator[str]:
    """``justuno-braze sandbox --port N *options`` until the block ends; yields its URL."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        command = [str(CLI), "sandbox", "--port", str(port), *options]
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"sandbox exited {proc.returncode}: {log.read().decode()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "sandbox did not listen within 30 s"
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    """Default sandbox, plus a key that may only call ``/users/track``."""
    with running("--api-key", KEY, "--api-key", f"{TRACK_ONLY_KEY}:users.track") as url:
        yield url


@pytest.fixture
def start() -> Iterator[Callable[..., str]]:
    """``start(*options)`` runs one more sandbox for this test."""
    with ExitStack() as stack:
        yield lambda *options: stack.enter_context(running(*options))


ONE_REQUEST = ("--rate-limit", "1/1000000")  # one /users/track per window; reset days away
NEW_PRICING = (*ONE_REQUEST, "--combined-cap", "75")  # 429 with X-Ratelimit-Retry-After only
FAILING = ("--fault-rate", "1", "--fault-status", "503")  # every request answered 503


# --- reading the sandbox back through its own HTTP API ------------------------------------------


def export(url: str, **query: Any) -> dict[str, Any]:
    fields = [
        "external_id", "email", "first_name", "last_name", "country", "email_subscribe",
        "custom_attributes", "custom_events", "purchases", "total_revenue", "user_aliases",
    ]  # fmt: skip
    body = {**query, "fields_to_export": fields}
    response = httpx.post(f"{url}/users/export/ids", json=body, headers=AUTH)
    assert response.status_code < 300, response.text
    exported: dict[str, Any] = response.json()
    return exported


def user(url: str, external_id: str) -> dict[str, Any] | None:
    users = export(url, external_ids=[external_id])["users"]
    return users[0] if users else None


def error_of(outcome: dict[str, Any]) -> dict[str, Any]:
    assert "error" in outcome, f"expected the client to raise, it returned {outcome}"
    error: dict[str, Any] = outcome["error"]
    return error


# --- braze-client ------------------------------------------------------------------------------


def test_braze_client_user_track_stores_attributes_events_purchases(
    braze_client: Path, sandbox: str
) -> None:
    response = braze_client_run(braze_client, "track", sandbox)["result"]
    assert response["success"] is True
    assert response["status_code"] == 201
    assert (response["attributes_processed"], response["events_processed"]) == (1, 2)
    assert response["purchases_processed"] == 1

    ada = user(sandbox, "bc-ada")
    assert ada is not None
    assert (ada["first_name"], ada["last_name"]) == ("Ada", "Lovelace")
    assert ada["email"] == "ada@example.com"
    assert ada["country"] == "GB"
    assert ada["email_subscribe"] == "opted_in"
    assert ada["custom_attributes"] == {
        "favourite_colour": "teal",
        "lifetime_orders": 3,
        "vip": True,
        "interests": ["shoes", "bags"],
    }
    assert [(e["name"], e["count"]) for e in ada["custom_events"]] == [
        ("justuno_form_submitted", 2)
    ]
    assert [(p["name"], p["count"]) for p in ada["purchases"]] == [("sku-shoe-1", 1)]
    assert ada["total_revenue"] == 49.5
    query = {"subscription_group_id": EMAIL_GROUP, "external_id": "bc-ada"}
    status = httpx.get(f"{sandbox}/subscription/status/get", params=query, headers=AUTH).json()
    assert status["status"] == {"bc-ada": "Subscribed"}

    exported = braze_client_run(braze_client, "export", sandbox)["result"]
    by_id, by_email = exported["by_id"], exported["by_email"]
    assert [u["external_id"] for u in by_id["users"]] == ["bc-ada"]
    assert by_id["invalid_user_ids"] == ["bc-missing"]
    assert by_id["users"][0]["custom_attributes"]["favourite_colour"] == "teal"
    assert [u["external_id"] for u in by_email["users"]] == ["bc-ada"]


def test_braze_client_minor_errors_then_delete(braze_client: Path, sandbox: str) -> None:
    response = braze_client_run(braze_client, "minor_errors", sandbox)["result"]
    # 2xx + `errors`: the client reports success=False and keeps Braze's per-object errors
    assert response["status_code"] == 201
    assert response["message"] == "success"
    assert response["success"] is False
    assert [(e["input_array"], e["index"]) for e in response["errors"]] == [("attributes", 1)]
    assert response["attributes_processed"] == 1
    assert user(sandbox, "bc-grace") is not None  # the valid object was applied

    deleted = braze_client_run(braze_client, "delete", sandbox)["result"]
    assert deleted["success"] is True
    assert user(sandbox, "bc-grace") is None
    assert export(sandbox, external_ids=["bc-grace"])["invalid_user_ids"] == ["bc-grace"]


def test_braze_client_fatal_400_raises_with_braze_message(braze_client: Path, sandbox: str) -> None:
    error = error_of(braze_client_run(braze_client, "all_invalid", sandbox))
    assert error["type"] == "BrazeClientError"
    message, errors = error["args"]
    assert message.startswith("Valid data must be provided")
    assert [(e["input_array"], e["index"]) for e in errors] == [("attributes", 0)]


def test_braze_client_bad_key_and_missing_permission(braze_client: Path, sandbox: str) -> None:
    unauthorized = error_of(braze_client_run(braze_client, "track", sandbox, key="not-a-key"))
    assert unauthorized["type"] == "BrazeClientError"
    assert "Invalid API Key" in unauthorized["args"][0]

    forbidden = error_of(braze_client_run(braze_client, "export", sandbox, key=TRACK_ONLY_KEY))
    assert forbidden["type"] == "BrazeClientError"
    assert "users.export.ids" in forbidden["args"][0]


def test_braze_client_429_with_distant_reset_raises_rate_limit_error(
    braze_client: Path, start: Callable[..., str]
) -> None:
    one_request_sandbox = start(*ONE_REQUEST)
    outcome = braze_client_run(braze_client, "rate_limited", one_request_sandbox)["result"]
    assert outcome["first"]["success"] is True
    error = outcome["second_error"]
    assert error is not None and error["type"] == "BrazeRateLimitError"
    # the client reads X-RateLimit-Reset as epoch seconds (Braze's api_limits page)
    assert error["attrs"]["reset_epoch_s"] > outcome["now"] + 1.25
    assert user(one_request_sandbox, "bc-rl-1") is not None
    assert user(one_request_sandbox, "bc-rl-2") is None


def test_braze_client_new_pricing_429_without_reset_header(
    braze_client: Path, start: Callable[..., str]
) -> None:
    new_pricing_sandbox = start(*NEW_PRICING)
    outcome = braze_client_run(braze_client, "rate_limited", new_pricing_sandbox)["result"]
    assert outcome["first"]["success"] is True
    error = outcome["second_error"]
    assert error is not None and error["type"] == "BrazeRateLimitError"
    # no X-RateLimit-Reset on a new-pricing 429 (braze-api.md §8.2): the client falls back to 0
    assert error["attrs"]["reset_epoch_s"] == 0
    assert user(new_pricing_sandbox, "bc-rl-2") is None


def test_braze_client_429_with_near_reset_waits_and_succeeds(
    braze_client: Path, start: Callable[..., str]
) -> None:
    one_per_second_sandbox = start("--rate-limit", "1/1")
    outcome = braze_client_run(braze_client, "rate_limited", one_per_second_sandbox)["result"]
    assert outcome["first"]["success"] is True
    assert outcome["second_error"] is None  # waited for the reset, retried, succeeded
    assert user(one_per_second_sandbox, "bc-rl-1") is not None
    assert user(one_per_second_sandbox, "bc-rl-2") is not None


def test_braze_client_5xx_raises_internal_server_error(
    braze_client: Path, start: Callable[..., str]
) -> None:
    error = error_of(braze_client_run(braze_client, "track", start(*FAILING)))
    assert error["type"] == "BrazeInternalServerError"


# --- edx-braze-client ------------------------------------------------------------------------


def test_edx_track_user_chunks_and_stores(edx_client: Path, sandbox: str) -> None:
    assert edx_run(edx_client, "track_user", sandbox) == {"result": None}

    ids = [f"edx-{i}" for i in range(80)]
    found = [
        u for part in (ids[:50], ids[50:]) for u in export(sandbox, external_ids=part)["users"]
    ]
    assert sorted(u["external_id"] for u in found) == sorted(ids)  # 75 + 5 in two requests
    seventy_nine = next(u for u in found if u["external_id"] == "edx-79")
    assert seventy_nine["email"] == "edx-79@example.com"
    assert seventy_nine["custom_attributes"] == {"enrolled_courses": 79}

    zero = user(sandbox, "edx-0")
    assert zero is not None
    assert (zero["first_name"], zero["last_name"]) == ("Learner0", "Zero")
    assert zero["custom_attributes"] == {"enrolled_courses": 0, "vip": True}
    assert [(e["name"], e["count"]) for e in zero["custom_events"]] == [("course_enrolled", 2)]
    assert [(p["name"], p["count"]) for p in zero["purchases"]] == [("verified-cert", 1)]


def test_edx_alias_identify_and_lookups(edx_client: Path, sandbox: str) -> None:
    assert edx_run(edx_client, "create_alias", sandbox) == {"result": None}
    aliases = [{"alias_label": LABEL, "alias_name": f"lead-{x}@example.com"} for x in "ab"]
    leads = export(sandbox, user_aliases=aliases)["users"]
    assert sorted(u["email"] for u in leads) == ["lead-a@example.com", "lead-b@example.com"]
    assert all("external_id" not in u for u in leads)  # alias-only profiles

    identified = edx_run(edx_client, "identify", sandbox)["result"]
    assert identified == {"aliases_processed": 1, "message": "success"}
    lead_a = user(sandbox, "edx-lead-a")
    assert lead_a is not None
    assert lead_a["email"] == "lead-a@example.com"
    assert lead_a["user_aliases"] == [aliases[0]]

    again = edx_run(edx_client, "alias_existing", sandbox)["result"]
    assert again == {"found": {"lead-a@example.com": "edx-lead-a"}}
    same_email = export(sandbox, email_address="lead-a@example.com")["users"]
    assert [u.get("external_id") for u in same_email] == ["edx-lead-a"]  # no duplicate

    looked_up = edx_run(edx_client, "lookups", sandbox)["result"]
    assert looked_up == {
        "known": "edx-lead-a",
        "unknown": None,
        "batch": {"lead-a@example.com": "edx-lead-a"},
    }


def test_edx_error_classes(edx_client: Path, sandbox: str) -> None:
    assert error_of(edx_run(edx_client, "track_one", sandbox, key="not-a-key"))["type"] == (
        "BrazeUnauthorizedError"
    )
    forbidden = error_of(edx_run(edx_client, "lookups", sandbox, key=TRACK_ONLY_KEY))
    assert forbidden["type"] == "BrazeForbiddenError"
    too_many = error_of(edx_run(edx_client, "identify_too_many", sandbox))
    assert too_many["type"] == "BrazeBadRequestError"
    assert "max number" in json.loads(too_many["args"][0])["message"]
    assert user(sandbox, "edx-many-0") is None


def test_edx_rate_limit_and_server_errors(edx_client: Path, start: Callable[..., str]) -> None:
    one_request_sandbox, failing_sandbox = start(*ONE_REQUEST), start(*FAILING)
    assert edx_run(edx_client, "track_one", one_request_sandbox) == {"result": None}
    limited = error_of(edx_run(edx_client, "track_one", one_request_sandbox))
    assert limited["type"] == "BrazeRateLimitError"
    assert limited["attrs"]["reset_epoch_s"] > time.time()
    assert error_of(edx_run(edx_client, "track_one", failing_sandbox))["type"] == (
        "BrazeInternalServerError"
    )


def test_edx_email_unsubscribe(edx_client: Path, sandbox: str) -> None:
    outcome = edx_run(edx_client, "unsubscribe", sandbox)
    assert "result" in outcome, outcome
    assert outcome["result"]["status"]["message"] == "success"
    assert "unsub@example.com" in [e["email"] for e in outcome["result"]["unsubscribed"]]
    unsubscribed = user(sandbox, "edx-unsub")
    assert unsubscribed is not None and unsubscribed["email_subscribe"] == "unsubscribed"
