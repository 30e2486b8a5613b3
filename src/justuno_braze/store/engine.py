"""Engines, migrations, and the :class:`Store` that holds the repositories.

``sqlite:///x.db`` → ``sqlite+aiosqlite`` (WAL, ``busy_timeout``, foreign keys, every
transaction ``BEGIN IMMEDIATE`` so a claim is one writer); ``postgresql://`` →
``postgresql+psycopg``. JSON columns go through orjson. Migrations are Alembic's, shipped
inside the package (``store/migrations``), one path for both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection as SyncConnection
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from justuno_braze.errors import StoreError
from justuno_braze.store.accounts import Accounts
from justuno_braze.store.analytics import Analytics
from justuno_braze.store.braze_state import BrazeState
from justuno_braze.store.connections import Connections
from justuno_braze.store.consent import ConsentLedger
from justuno_braze.store.deliveries import Deliveries
from justuno_braze.store.dialect import database_url
from justuno_braze.store.enrollments import Enrollments
from justuno_braze.store.events import Events
from justuno_braze.store.profiles import Profiles
from justuno_braze.store.quarantine import Quarantine
from justuno_braze.store.session import reason
from justuno_braze.store.step_runs import StepRuns
from justuno_braze.store.tokens import ApiTokens, SeenSignatures
from justuno_braze.store.users import AccountUsers, UiSessions
from justuno_braze.store.workflows import Workflows
from justuno_braze.vault import Vault

if TYPE_CHECKING:  # delivery.outbox imports the store's tables: import it lazily
    from justuno_braze.delivery.outbox import Outbox

SQLITE_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK = 0x4A42_4D49_4752  # 'JBMIGR': the PostgreSQL advisory lock of migrations


@dataclass
class Store:
    """The open database: the engine and one repository per aggregate."""

    engine: AsyncEngine
    outbox: Outbox
    braze_state: BrazeState
    connections: Connections
    accounts: Accounts
    # issue 4: the service's account-scoped repositories (migration 0002)
    tokens: ApiTokens
    signatures: SeenSignatures
    workflows: Workflows
    events: Events
    profiles: Profiles
    enrollments: Enrollments
    consent: ConsentLedger
    quarantine: Quarantine
    step_runs: StepRuns
    deliveries: Deliveries
    analytics: Analytics
    # issue 5: the web UI's users and their sessions (migration 0003)
    users: AccountUsers
    ui_sessions: UiSessions

    async def is_current(self) -> bool:
        """True when the database is migrated to head (for ``/readyz``)."""
        try:
            async with self.engine.connect() as conn:
                return await conn.run_sync(_is_current)
        except (OperationalError, DBAPIError):
            return False

    async def close(self) -> None:
        await self.engine.dispose()


async def open_store(url: str, *, upgrade: bool = True, vault: Vault | None = None) -> Store:
    """Open the database at ``url`` (migrating it to head first when ``upgrade``).

    ``vault`` encrypts/decrypts connection API keys; without it, key operations raise
    ``StoreError``.
    """
    from justuno_braze.delivery.outbox import Outbox

    target = database_url(url, driver="async")
    engine = create_async_engine(
        target,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args=_connect_args(target.get_backend_name()),
    )
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine.sync_engine)
    if upgrade:
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade)
        except (OperationalError, DBAPIError) as exc:
            await engine.dispose()
            raise StoreError(f"cannot migrate the database: {reason(exc)}") from None
    return Store(
        engine=engine,
        outbox=Outbox(engine),
        braze_state=BrazeState(engine),
        connections=Connections(engine, vault),
        accounts=Accounts(engine),
        tokens=ApiTokens(engine),
        signatures=SeenSignatures(engine),
        workflows=Workflows(engine),
        events=Events(engine),
        profiles=Profiles(engine),
        enrollments=Enrollments(engine),
        consent=ConsentLedger(engine),
        quarantine=Quarantine(engine),
        step_runs=StepRuns(engine),
        deliveries=Deliveries(engine),
        analytics=Analytics(engine),
        users=AccountUsers(engine),
        ui_sessions=UiSessions(engine),
    )


def upgrade(url: str) -> list[str]:
    """``alembic upgrade head`` on ``url`` (sync); returns the revisions applied, oldest
    first (empty when the database was already current)."""
    engine = sync_engine(url)
    try:
        with engine.begin() as conn:
            return _upgrade(conn)
    except (OperationalError, DBAPIError) as exc:
        raise StoreError(f"cannot migrate the database: {reason(exc)}") from None
    finally:
        engine.dispose()


def is_current(url: str) -> bool:
    """True when the database at ``url`` is migrated to head (for ``/readyz``)."""
    engine = sync_engine(url)
    try:
        with engine.connect() as conn:
            return _is_current(conn)
    except (OperationalError, DBAPIError):
        return False
    finally:
        engine.dispose()


def sync_engine(url: str) -> Engine:
    """A synchronous engine on ``url`` configured like the async one (for Alembic)."""
    target = database_url(url, driver="sync")
    engine = create_engine(
        target,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args=_connect_args(target.get_backend_name()),
    )
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "justuno_braze.store:migrations")
    return config


def _upgrade(conn: SyncConnection) -> list[str]:
    if conn.dialect.name == "postgresql":  # processes starting together migrate one by one
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    before = MigrationContext.configure(conn).get_current_heads()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
    applied = [
        rev.revision for rev in script.iterate_revisions("heads", before[0] if before else "base")
    ]
    return list(reversed(applied))


def _is_current(conn: SyncConnection) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return set(MigrationContext.configure(conn).get_current_heads()) == heads


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: SyncConnection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _connect_args(backend: str) -> dict[str, Any]:
    # PostgreSQL sessions in UTC: timestamptz values come back with tzinfo=UTC already.
    return {"options": "-c timezone=UTC"} if backend == "postgresql" else {}


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
