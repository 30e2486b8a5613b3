"""The ``justuno-braze worker`` command as a process: help, and a clear refusal to run on
a database that was never migrated (the end-to-end run is in tests/e2e)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from justuno_braze.vault import Vault


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "justuno_braze", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_worker_help_lists_its_options(tmp_path: Path) -> None:
    result = _run(["worker", "--help"], {}, tmp_path)
    assert result.returncode == 0
    assert "--concurrency" in result.stdout
    assert "--batch" in result.stdout


def test_worker_refuses_an_unmigrated_database_with_a_clear_message(tmp_path: Path) -> None:
    env = {
        "JUSTUNO_BRAZE_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db",
        "JUSTUNO_BRAZE_SECRET_KEY": Vault.generate_key(),
    }
    result = _run(["worker"], env, tmp_path)
    assert result.returncode == 1
    assert "justuno-braze db upgrade" in result.stderr


def test_worker_rejects_bad_options(tmp_path: Path) -> None:
    result = _run(["worker", "--concurrency", "0"], {}, tmp_path)
    assert result.returncode == 2
    assert "concurrency" in result.stderr.lower()
