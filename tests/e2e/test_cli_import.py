"""``justuno-braze import`` as a real process, delivering into a Braze sandbox on loopback.

What Braze got is asked from the sandbox (``/users/export/ids``,
``/subscription/status/get``); the summary's counts must add up to the rows read.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.vault import Vault

pytestmark = pytest.mark.slow

DATA = Path(__file__).parents[1] / "data"
KEY = "sandbox-key"
SMS = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL = "4e1d2c3b-5a6f-4789-8abc-def012345678"
EVENT = "justuno_lead_imported"
WORKFLOW = f"""
name: Lead import
trigger: {{event: form_submitted}}
steps:
  - sync_to_app:
      app: braze
      sms_subscription_group_id: {SMS}
      email_subscription_group_id: {EMAIL}
      properties:
        - {{from: birthday, to: dob}}
      send_event: {EVENT}
"""
FIELDS = ["email", "phone", "first_name", "last_name", "language", "gender", "country", "dob"]


@dataclass
class Env:
    tmp: Path
    base_url: str
    database_url: str
    workflow: Path
    secret: str

    def run(
        self, *args: str | Path, key: str | None = KEY, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return self.cli("import", *args, key=key, **env)

    def cli(
        self, *args: str | Path, key: str | None = KEY, **env: str
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("JUSTUNO_BRAZE_")}
        environ.update(
            JUSTUNO_BRAZE_DATABASE_URL=self.database_url,
            JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS=self.base_url,
            JUSTUNO_BRAZE_SECRET_KEY=self.secret,
            **env,
        )
        if key is not None:
            environ["JUSTUNO_BRAZE_BRAZE_KEY"] = key
        return subprocess.run(
            [sys.executable, "-m", "justuno_braze", *map(str, args)],
            cwd=self.tmp,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def import_(
        self, file: Path, *extra: str, key: str | None = KEY, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            file, "--workflow", self.workflow, "--braze-url", self.base_url, *extra, key=key, **env
        )

    def users(self, emails: list[str]) -> dict[str, dict[str, Any]]:
        """The sandbox's profiles of ``emails`` (absent ones are missing from the dict)."""
        out: dict[str, dict[str, Any]] = {}
        with httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {KEY}"}
        ) as http:
            for email in emails:
                r = http.post(
                    "/users/export/ids",
                    json={
                        "email_address": email,
                        "fields_to_export": [*FIELDS, "custom_events"],
                    },
                )
                assert r.status_code in (200, 201), r.text
                users = r.json()["users"]
                if users:
                    out[email] = users[0]
        return out

    def subscription(self, group: str, email: str) -> str:
        with httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {KEY}"}
        ) as http:
            r = http.get(
                "/subscription/status/get", params={"subscription_group_id": group, "email": email}
            )
        assert r.status_code == 200, r.text
        return str(r.json()["status"][email])


def counts(stdout: str) -> dict[str, int]:
    """The summary's top-level counts: ``rows read: 300`` → ``{"rows read": 300}``."""
    out: dict[str, int] = {}
    for line in stdout.splitlines():
        if m := re.fullmatch(r"([a-z][a-z ()]*): (\d+)", line.strip()):
            out[m[1]] = int(m[2])
    return out


def adds_up(c: dict[str, int]) -> bool:
    final = c["delivered"] + c["skipped"] + c["invalid"] + c["dead"]
    return c["rows read"] == final + c.get("still pending", 0)


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(
        api_keys={KEY: None, "no-track": frozenset({"custom_attributes.get"})},
        subscription_groups={SMS: "sms", EMAIL: "email"},
    )


@pytest.fixture
def env(tmp_path: Path, sandbox_options: SandboxOptions) -> Iterator[Env]:
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(WORKFLOW, "utf-8")
    with running_sandbox(sandbox_options) as url:
        yield Env(
            tmp_path, url.rstrip("/"), f"sqlite:///{tmp_path}/jb.db", workflow, Vault.generate_key()
        )


def leads(env: Env) -> Path:
    """A copy of the sample lead export (the rejects file is written next to it)."""
    path = env.tmp / "leads.csv"
    path.write_bytes((DATA / "justuno-leads-sample.csv").read_bytes())
    return path


# Leads of the sample CSV, as Braze must store them.
NOAH = "noah.rossi1@example.com"  # 21 98765-4301, Português, Female, Brasil; no consent column
LUCIA = "lucía.schmidt5@example.com"  # +1 303 555 0105, prefer not to say, usa, 1982-10-12
OWEN = "owen.moreau19@example.com"  # +33 7 12 34 56 19, SMS Consent: no
HIROSHI = "hiroshi15@example.org"  # no phone, SMS Consent: no


def test_csv_import_delivers_normalised_leads(env: Env) -> None:
    file = leads(env)
    result = env.import_(file)
    assert result.returncode == 0, result.stderr
    c = counts(result.stdout)
    assert c["rows read"] == 300
    assert adds_up(c), result.stdout
    assert c["delivered"] > 250 and c["dead"] == 0
    assert c["invalid"] > 0 and (env.tmp / "leads.csv.rejects.jsonl").is_file()
    assert "line 4: has no email, phone or visitor id" in result.stdout

    users = env.users([NOAH, LUCIA, OWEN, HIROSHI])
    assert {k: users[NOAH].get(k) for k in FIELDS} == {
        "email": NOAH,
        "phone": "+5521987654301",
        "first_name": "noah",
        "last_name": None,
        "language": "pt",
        "gender": "F",
        "country": "BR",
        "dob": None,
    }
    lucia = users[LUCIA]
    assert (lucia["phone"], lucia["gender"], lucia["country"], lucia["dob"]) == (
        "+13035550105",
        "P",
        "US",
        "1982-10-12",
    )
    assert lucia["first_name"] == "Lucía"
    # consent: no SMS column value = implicit SMS consent; an unticked box = no SMS entry
    assert env.subscription(SMS, NOAH) == "Subscribed"
    assert env.subscription(SMS, OWEN) == "Unknown"
    assert env.subscription(SMS, HIROSHI) == "Unknown"  # no phone at all
    assert all(env.subscription(EMAIL, e) == "Subscribed" for e in (NOAH, OWEN, HIROSHI))
    for user in users.values():
        assert [e["count"] for e in user["custom_events"] if e["name"] == EVENT] == [1]


def test_jsonl_import_of_the_event_sample(env: Env) -> None:
    file = env.tmp / "events.jsonl"
    file.write_bytes((DATA / "justuno-events-sample.jsonl").read_bytes())
    result = env.import_(file)
    assert result.returncode == 0, result.stderr
    c = counts(result.stdout)
    assert c["rows read"] == 349
    assert adds_up(c), result.stdout
    assert "49 not_enrolled" in result.stdout  # the page views do not trigger the workflow
    users = env.users([NOAH])
    assert users[NOAH]["country"] == "BR" and users[NOAH]["language"] == "pt"


def test_enqueue_only_then_a_second_run_sends_each_lead_once(env: Env) -> None:
    file = leads(env)
    first = env.import_(file, "--enqueue-only")
    assert first.returncode == 0, first.stderr
    c1 = counts(first.stdout)
    assert c1["enqueued"] == c1["still pending"] > 250
    assert c1["delivered"] == 0
    assert env.users([NOAH]) == {}  # nothing was sent yet

    second = env.import_(file)
    assert second.returncode == 0, second.stderr
    c2 = counts(second.stdout)
    assert c2["enqueued"] == 0
    assert c2["already in the outbox (resumed or repeated rows)"] == c1["enqueued"]
    assert c2["delivered"] == c1["enqueued"]
    assert adds_up(c2)

    third = env.import_(file)  # everything is done: nothing is sent again
    assert counts(third.stdout)["enqueued"] == 0
    users = env.users([NOAH, LUCIA, OWEN, HIROSHI])
    assert len(users) == 4
    for user in users.values():
        assert [e["count"] for e in user["custom_events"] if e["name"] == EVENT] == [1]


def test_a_refused_key_exits_1_and_the_right_key_delivers_later(env: Env) -> None:
    file = leads(env)
    refused = env.import_(file, key="wrong-key-123456")
    assert refused.returncode == 1
    assert "Braze refused the API key" in refused.stderr
    assert "wrong-key-123456" not in refused.stderr + refused.stdout
    assert env.users([NOAH]) == {}

    ok = env.import_(file)
    assert ok.returncode == 0, ok.stderr
    assert adds_up(counts(ok.stdout))
    assert env.users([NOAH])[NOAH]["first_name"] == "noah"


def test_a_key_refused_while_delivering_keeps_the_jobs_for_the_next_run(env: Env) -> None:
    file = leads(env)
    paused = env.import_(file, key="no-track")  # may read attributes, may not track
    assert paused.returncode == 1
    assert "jobs are kept" in paused.stderr
    c1 = counts(paused.stdout)
    assert c1["still pending"] == c1["enqueued"] > 250
    assert env.users([NOAH]) == {}

    resumed = env.import_(file)  # the right key for the same Braze URL takes the jobs over
    assert resumed.returncode == 0, resumed.stderr
    c2 = counts(resumed.stdout)
    assert c2["enqueued"] == 0 and c2["delivered"] == c1["enqueued"]
    users = env.users([NOAH, LUCIA])
    for user in users.values():
        assert [e["count"] for e in user["custom_events"] if e["name"] == EVENT] == [1]


def test_the_braze_url_guard_and_an_invalid_workflow_exit_2(env: Env) -> None:
    file = leads(env)
    foreign = env.run(file, "--workflow", env.workflow, "--braze-url", "https://evil.example.com")
    assert foreign.returncode == 2
    assert "--braze-url" in foreign.stderr
    bad = env.run(
        file,
        "--workflow",
        DATA / "workflows" / "invalid" / "unknown-keys.yaml",
        "--braze-url",
        env.base_url,
    )
    assert bad.returncode == 2
    assert "reenrol: unknown key" in bad.stderr
    no_key = env.import_(file, key=None)
    assert no_key.returncode == 2 and "JUSTUNO_BRAZE_BRAZE_KEY" in no_key.stderr


@pytest.mark.postgres
def test_csv_import_into_postgresql(env: Env, postgres_url: str) -> None:
    env.database_url = postgres_url
    result = env.import_(leads(env))
    assert result.returncode == 0, result.stderr
    c = counts(result.stdout)
    assert c["rows read"] == 300 and adds_up(c) and c["delivered"] > 250
    assert env.users([NOAH])[NOAH]["phone"] == "+5521987654301"
