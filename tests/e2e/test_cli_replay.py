"""``justuno-braze replay``: dead letters of an import re-queued (after a fix) and delivered.

The dead letters are real: the sandbox answers every request with 503 and the retry
window is a microsecond, so the first failure dead-letters each job with Braze's reason.
Then the sandbox is healed and ``replay --drain`` delivers them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from justuno_braze.sandbox.app import create_app
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.vault import Vault
from tests.e2e.test_cli_import import EVENT, KEY, NOAH, WORKFLOW, Env, counts, leads

pytestmark = pytest.mark.slow

FAILING = {"JUSTUNO_BRAZE_RETRY_WINDOW_SECONDS": "0.000001"}


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[tuple[Env, object]]:
    app = create_app(SandboxOptions(api_keys={KEY: None}, fault_rate=1.0, fault_status=503))
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(WORKFLOW, "utf-8")
    with running_sandbox(app=app) as url:
        env = Env(
            tmp_path, url.rstrip("/"), f"sqlite:///{tmp_path}/jb.db", workflow, Vault.generate_key()
        )
        yield env, app


def test_dead_letters_are_listed_filtered_and_replayed(faulty: tuple[Env, object]) -> None:
    env, app = faulty
    imported = env.import_(leads(env), **FAILING)
    assert imported.returncode == 0, imported.stderr
    c = counts(imported.stdout)
    dead = c["dead"]
    assert dead == c["enqueued"] > 250 and c["delivered"] == 0
    assert "503" in imported.stdout  # Braze's reason, counted in the summary
    assert "profiles were dead-lettered" in imported.stdout

    listed = env.cli("replay", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert f"{dead} dead letters would be re-queued (dry run)" in listed.stdout
    assert "lead-import" in listed.stdout and "503" in listed.stdout

    none = env.cli("replay", "--reason", "no such reason", "--workflow", "Lead import")
    assert none.returncode == 0 and "0 dead letters re-queued" in none.stdout
    other = env.cli("replay", "--workflow", "another-workflow", "--dry-run")
    assert "0 dead letters would be re-queued" in other.stdout
    future = env.cli("replay", "--since", "2999-01-01T00:00:00Z", "--dry-run")
    assert "0 dead letters would be re-queued" in future.stdout

    app.options = dataclasses.replace(app.options, fault_rate=0.0)  # type: ignore[attr-defined]
    replayed = env.cli("replay", "--workflow", "Lead import", "--reason", "503", "--drain")
    assert replayed.returncode == 0, replayed.stderr
    assert f"{dead} dead letters re-queued" in replayed.stdout
    assert f"outbox: {dead} delivered, 0 dead, 0 pending" in replayed.stdout
    user = env.users([NOAH])[NOAH]
    assert [e["count"] for e in user["custom_events"] if e["name"] == EVENT] == [1]


def test_replay_rejects_a_bad_time_with_exit_2(faulty: tuple[Env, object]) -> None:
    env, _ = faulty
    bad = env.cli("replay", "--since", "last tuesday")
    assert bad.returncode == 2
    assert "--since" in bad.stderr
