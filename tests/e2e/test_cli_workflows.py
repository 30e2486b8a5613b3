"""``justuno-braze workflows import|export`` as a user runs them, against the database of
``JUSTUNO_BRAZE_DATABASE_URL``: import validates (every problem named, exit 2), export
writes the canonical file, and the round trip is exact."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from justuno_braze.store import open_store
from justuno_braze.vault import Vault
from justuno_braze.workflows.model import dump, load_file

DATA = Path(__file__).parents[1] / "data" / "workflows"
SPRING = DATA / "valid" / "spring-lead-capture.yaml"


def cli(tmp: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUSTUNO_BRAZE_")}
    env["JUSTUNO_BRAZE_DATABASE_URL"] = db
    env["JUSTUNO_BRAZE_SECRET_KEY"] = (tmp / "key").read_text()
    return subprocess.run(
        [sys.executable, "-m", "justuno_braze", "workflows", *args],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def seed(db: str, key: str) -> None:
    store = await open_store(db, vault=Vault(key))
    try:
        account = await store.accounts.ensure("acme", "Acme")
        await store.connections.add(
            account.id, base_url="https://rest.iad-01.braze.com", api_key="key-0123456789abcdef"
        )
    finally:
        await store.close()


def test_import_then_export_round_trip(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/jb.db"
    key = Vault.generate_key()
    (tmp_path / "key").write_text(key)
    asyncio.run(seed(db, key))

    imported = cli(tmp_path, db, "import", str(SPRING), "--account", "acme")
    assert imported.returncode == 0, imported.stderr
    assert "imported 'Spring lead capture' as workflow 1" in imported.stdout
    assert "'interests' not checked" in imported.stderr  # a warning: no attribute list cached

    exported = cli(tmp_path, db, "export", "--account", "acme", "--name", "Spring lead capture")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == dump(load_file(SPRING))

    out = tmp_path / "spring.json"
    written = cli(
        tmp_path, db, "export", "--account", "acme", "--id", "1", "--format", "json", "-o", str(out)
    )
    assert written.returncode == 0, written.stderr
    assert load_file(out) == load_file(SPRING)

    again = cli(tmp_path, db, "import", str(out), "--account", "acme")
    assert again.returncode == 2 and "a workflow named 'Spring lead capture' exists" in again.stderr


def test_import_names_every_problem_and_unknowns_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/jb.db"
    key = Vault.generate_key()
    (tmp_path / "key").write_text(key)
    asyncio.run(seed(db, key))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Bad\ntrigger: {event: form_submitted}\nsteps:\n"
        "  - sync_to_app: {app: braze, connection: nope, sms_subscription_group_id: xyz}\n"
    )
    refused = cli(tmp_path, db, "import", str(bad), "--account", "acme")
    assert refused.returncode == 2
    assert "steps[0].sync_to_app.sms_subscription_group_id" in refused.stderr
    assert "steps[0].sync_to_app.connection: unknown connection 'nope'" in refused.stderr

    nobody = cli(tmp_path, db, "import", str(SPRING), "--account", "globex")
    assert nobody.returncode == 2 and "no account 'globex'" in nobody.stderr
    missing = cli(tmp_path, db, "export", "--account", "acme", "--id", "7")
    assert missing.returncode == 2 and "workflow 7 not found" in missing.stderr
    both = cli(tmp_path, db, "export", "--account", "acme")
    assert both.returncode == 2 and "exactly one of --id or --name" in both.stderr
