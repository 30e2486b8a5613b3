"""Migration 0002 (the service's tables) on SQLite and PostgreSQL: it upgrades a database
at 0001 that already holds outbox rows without touching them, and the schema it builds is
exactly ``store/tables.py``."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from justuno_braze.store import is_current, open_store, upgrade
from justuno_braze.store.engine import alembic_config, sync_engine
from justuno_braze.store.tables import accounts, connections, metadata, outbox
from tests.integration.conftest import T0

SERVICE_TABLES = {
    "api_tokens",
    "workflows",
    "workflow_versions",
    "events",
    "profiles",
    "enrollments",
    "consent_ledger",
    "quarantine",
    "step_runs",
    "signatures_seen",
}
OLD_OUTBOX_COLUMNS = [c for c in outbox.c if c.name not in ("account_id", "visitor_id")]


def _upgrade_to_0001(url: str) -> None:
    engine = sync_engine(url)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
    finally:
        engine.dispose()


def _seed_0001(url: str) -> list[dict[str, object]]:
    """An account, a connection and three outbox jobs written with 0001's columns."""
    engine = sync_engine(url)
    try:
        with engine.begin() as conn:
            account_id = conn.execute(
                insert(accounts)
                .values(slug="acme", name="Acme", created_at=T0)
                .returning(accounts.c.id)
            ).scalar_one()
            connection_id = conn.execute(
                insert(connections)
                .values(
                    account_id=account_id,
                    name="default",
                    base_url="https://rest.iad-01.braze.com",
                    api_key_enc="x",
                    key_hint="****cdef",
                    created_at=T0,
                )
                .returning(connections.c.id)
            ).scalar_one()
            for i, state in enumerate(("pending", "delivered", "dead")):
                conn.execute(
                    insert(outbox).values(
                        connection_id=connection_id,
                        user_key=f"email:u{i}@example.com",
                        source_key=f"ev-{i}|wf|0",
                        occurred_at=T0,
                        attributes={"email": f"u{i}@example.com", "n": i},
                        state=state,
                        attempts=i,
                        available_at=T0 if state == "pending" else None,
                        last_error="bad phone" if state == "dead" else None,
                        enqueued_at=T0,
                        finished_at=None if state == "pending" else T0,
                    )
                )
        with engine.connect() as conn:
            rows = conn.execute(select(*OLD_OUTBOX_COLUMNS).order_by(outbox.c.id)).all()
        return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


async def test_0002_upgrades_0001_keeping_outbox_rows_and_matches_the_tables(db_url: str) -> None:
    _upgrade_to_0001(db_url)
    before = _seed_0001(db_url)
    assert is_current(db_url) is False

    assert upgrade(db_url) == ["0002", "0003", "0004"]
    assert is_current(db_url) is True
    assert upgrade(db_url) == []

    engine = sync_engine(db_url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= SERVICE_TABLES
            after = conn.execute(
                select(*OLD_OUTBOX_COLUMNS, outbox.c.account_id, outbox.c.visitor_id).order_by(
                    outbox.c.id
                )
            ).all()
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []
    assert len(after) == 3
    for old, new in zip(before, after, strict=True):
        m = dict(new._mapping)
        assert m.pop("account_id") is None and m.pop("visitor_id") is None
        assert m == old

    store = await open_store(db_url)
    try:
        assert await store.is_current() is True
        assert (await store.outbox.counts()) == {
            "pending": 1,
            "leased": 0,
            "delivered": 1,
            "dead": 1,
        }
    finally:
        await store.close()


def test_a_fresh_database_gets_every_revision(db_url: str) -> None:
    assert upgrade(db_url) == ["0001", "0002", "0003", "0004"]
    assert is_current(db_url) is True


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    """``engine._head`` (how a start-up skips Alembic on a current database) must name the
    revision Alembic itself would migrate to, or a database one migration behind would be
    taken as current."""
    from alembic.script import ScriptDirectory

    from justuno_braze.store.engine import _head

    assert _head() == ScriptDirectory.from_config(alembic_config()).get_current_head()
