"""The store: migrations, accounts, connections (keys at rest), the dedup record — on
SQLite and PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from justuno_braze.errors import InputError, StoreError
from justuno_braze.store import Connection, Store, is_current, open_store, upgrade
from justuno_braze.store.engine import alembic_config, sync_engine
from justuno_braze.store.tables import connections, metadata
from justuno_braze.vault import Vault
from tests.integration.conftest import T0


def test_migrations_run_from_empty_and_match_the_tables(db_url: str) -> None:
    assert is_current(db_url) is False
    applied = upgrade(db_url)
    assert applied[0] == "0001"
    assert applied[-1] == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert is_current(db_url) is True
    assert upgrade(db_url) == []
    engine = sync_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []


async def test_open_store_migrates_unless_told_not_to(db_url: str) -> None:
    bare = await open_store(db_url, upgrade=False)
    try:
        assert await bare.is_current() is False
    finally:
        await bare.close()
    store = await open_store(db_url)
    try:
        assert await store.is_current() is True
    finally:
        await store.close()


def test_unsupported_or_unreachable_databases_are_clear_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unsupported database URL 'mysql://u:\\*\\*\\*@h/db'"):
        upgrade("mysql://u:secret@h/db")
    with pytest.raises(StoreError, match="SQLite needs a file path"):
        upgrade("sqlite://")
    with pytest.raises(StoreError, match="cannot migrate the database") as info:
        upgrade("postgresql://postgres:hunter2@127.0.0.1:1/nope")
    assert "hunter2" not in str(info.value)
    assert is_current("postgresql://postgres@127.0.0.1:1/nope") is False


def test_db_upgrade_command_creates_the_sqlite_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUSTUNO_BRAZE_")}
    command = [sys.executable, "-m", "justuno_braze", "db", "upgrade"]
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "applied 0001" in first.stdout and "(head)" in first.stdout
    assert is_current(f"sqlite:///{tmp_path}/var/justuno-braze.db")
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert second.returncode == 0 and "already at the latest schema" in second.stdout
    env["JUSTUNO_BRAZE_DATABASE_URL"] = "oracle://scott:tiger@db/x"
    bad = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "unsupported database URL" in bad.stderr and "tiger" not in bad.stderr


async def test_accounts_ensure_is_idempotent(store: Store) -> None:
    first = await store.accounts.ensure("demo", "Demo")
    again = await store.accounts.ensure("demo", "Renamed")
    assert again == first and first.name == "Demo"
    assert await store.accounts.by_slug("nope") is None
    with pytest.raises(InputError, match="slug"):
        await store.accounts.ensure("Not a slug!", "x")


async def test_connection_keys_are_encrypted_at_rest_and_shown_masked(
    store: Store, connection: Connection
) -> None:
    assert connection.key_hint == "****cdef" and connection.status == "ok"
    assert "key-0123456789abcdef" not in repr(connection)
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(connections.c.api_key_enc))).scalar_one()
    assert "0123456789" not in stored
    assert await store.connections.api_key(connection.id) == "key-0123456789abcdef"
    assert await store.connections.get(connection.id) == connection
    found = await store.connections.by_base_url_and_key(
        connection.account_id, base_url=connection.base_url, api_key="key-0123456789abcdef"
    )
    assert found == connection
    assert (
        await store.connections.by_base_url_and_key(
            connection.account_id, base_url=connection.base_url, api_key="other"
        )
        is None
    )
    with pytest.raises(InputError, match="exists"):
        await store.connections.add(connection.account_id, base_url="https://x", api_key="k")


async def test_a_wrong_secret_key_is_a_clear_store_error(
    db_url: str, store: Store, connection: Connection
) -> None:
    other = await open_store(db_url, vault=Vault(Vault.generate_key()))
    try:
        with pytest.raises(StoreError, match="secret key differs") as info:
            await other.connections.api_key(connection.id)
        assert "0123456789" not in str(info.value)
    finally:
        await other.close()
    keyless = await open_store(db_url)
    try:
        with pytest.raises(StoreError, match="no secret key"):
            await keyless.connections.api_key(connection.id)
    finally:
        await keyless.close()


async def test_connection_status_key_rotation_and_custom_attributes(
    store: Store, connection: Connection
) -> None:
    await store.connections.set_status(connection.id, "failing", "401: invalid API key")
    failing = await store.connections.get(connection.id)
    assert (failing.status, failing.status_reason) == ("failing", "401: invalid API key")
    with pytest.raises(InputError, match="status"):
        await store.connections.set_status(connection.id, "paused", None)
    await store.connections.set_api_key(connection.id, "new-key-9876")
    fixed = await store.connections.get(connection.id)
    assert (fixed.status, fixed.key_hint) == ("ok", "****9876")
    assert await store.connections.api_key(connection.id) == "new-key-9876"
    items = [{"name": "plan", "data_type": "String", "status": "Active"}]
    await store.connections.set_custom_attributes(connection.id, items, now=T0)
    cached = await store.connections.get(connection.id)
    assert (cached.custom_attributes, cached.custom_attributes_at) == (items, T0)
    with pytest.raises(StoreError, match="does not exist"):
        await store.connections.get(9999)


async def test_a_connection_is_deleted_only_by_its_own_account(
    store: Store, connection: Connection
) -> None:
    other = await store.accounts.ensure("other", "Other")
    assert await store.connections.delete(other.id, connection.id) is False
    assert (await store.connections.get(connection.id)).id == connection.id
    assert await store.connections.delete(connection.account_id, connection.id) is True
    assert await store.connections.for_account(connection.account_id) == []
    with pytest.raises(StoreError, match="does not exist"):
        await store.connections.get(connection.id)
    assert await store.connections.delete(connection.account_id, connection.id) is False


async def test_braze_state_upsert_keeps_the_newer_value_per_attribute(
    store: Store, connection: Connection
) -> None:
    cid = connection.id
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    assert await store.braze_state.load(cid, ["email:a"]) == {}
    await store.braze_state.save(
        cid,
        {"email:a": {"first_name": ("Ann", t1), "tags": (["x", 1], t1)}, "email:b": {"n": (2, t1)}},
    )
    await store.braze_state.save(
        cid, {"email:a": {"first_name": ("Old", T0), "city": ("Oslo", t2)}}
    )
    loaded = await store.braze_state.load(cid, ["email:a", "email:b", "email:c"])
    assert loaded == {
        "email:a": {"first_name": ("Ann", t1), "tags": (["x", 1], t1), "city": ("Oslo", t2)},
        "email:b": {"n": (2, t1)},
    }


async def test_custom_event_idempotency_record(store: Store, connection: Connection) -> None:
    cid = connection.id
    assert await store.braze_state.seen_events(cid, ["e1", "e2"]) == set()
    await store.braze_state.record_events(cid, ["e1", "e2"], now=T0)
    await store.braze_state.record_events(cid, ["e2", "e3"], now=T0)
    assert await store.braze_state.seen_events(cid, ["e1", "e3", "e4"]) == {"e1", "e3"}
