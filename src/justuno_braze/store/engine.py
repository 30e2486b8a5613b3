"""Engines, migrations, and the :class:`Store` that holds the repositories.

``sqlite:///x.db`` → ``sqlite+aiosqlite`` (WAL, ``busy_timeout``, foreign keys, every
transaction ``BEGIN IMMEDIATE`` so a claim is one writer); ``postgresql://`` →
``postgresql+psycopg``. JSON columns go through orjson. Migrations are Alembic's, shipped
inside the package (``store/migrations``), one path for both databases.
"""

from __future__ import annotations

import re
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection as SyncConnection
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from justuno_braze.errors import StoreError
from justuno_braze.store.dialect import database_url
from justuno_braze.store.session import reason

if TYPE_CHECKING:  # the repositories are imported when first used (see Store)
    from alembic.config import Config

    from justuno_braze.delivery.outbox import Outbox
    from justuno_braze.store.accounts import Accounts
    from justuno_braze.store.analytics import Analytics
    from justuno_braze.store.braze_state import BrazeState
    from justuno_braze.store.connections import Connections
    from justuno_braze.store.consent import ConsentLedger
    from justuno_braze.store.deliveries import Deliveries
    from justuno_braze.store.enrollments import Enrollments
    from justuno_braze.store.events import Events
    from justuno_braze.store.profiles import Profiles
    from justuno_braze.store.quarantine import Quarantine
    from justuno_braze.store.step_runs import StepRuns
    from justuno_braze.store.tokens import ApiTokens, SeenSignatures
    from justuno_braze.store.users import AccountUsers, UiSessions
    from justuno_braze.store.workflows import Workflows
    from justuno_braze.vault import Vault

SQLITE_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK = 0x4A42_4D49_4752  # 'JBMIGR': the PostgreSQL advisory lock of migrations


class Store:
    """The open database: the engine and one repository per aggregate.

    A repository is made, and its module imported, when it is first used: a command pays
    for the repositories it uses (``import`` enqueues with four of seventeen), not for all.
    """

    def __init__(self, engine: AsyncEngine, vault: Vault | None = None) -> None:
        self.engine = engine
        self._vault = vault

    @cached_property
    def outbox(self) -> Outbox:
        from justuno_braze.delivery.outbox import Outbox

        return Outbox(self.engine)

    @cached_property
    def braze_state(self) -> BrazeState:
        from justuno_braze.store.braze_state import BrazeState

        return BrazeState(self.engine)

    @cached_property
    def connections(self) -> Connections:
        from justuno_braze.store.connections import Connections

        return Connections(self.engine, self._vault)

    @cached_property
    def accounts(self) -> Accounts:
        from justuno_braze.store.accounts import Accounts

        return Accounts(self.engine)

    # issue 4: the service's account-scoped repositories (migration 0002)
    @cached_property
    def tokens(self) -> ApiTokens:
        from justuno_braze.store.tokens import ApiTokens

        return ApiTokens(self.engine)

    @cached_property
    def signatures(self) -> SeenSignatures:
        from justuno_braze.store.tokens import SeenSignatures

        return SeenSignatures(self.engine)

    @cached_property
    def workflows(self) -> Workflows:
        from justuno_braze.store.workflows import Workflows

        return Workflows(self.engine)

    @cached_property
    def events(self) -> Events:
        from justuno_braze.store.events import Events

        return Events(self.engine)

    @cached_property
    def profiles(self) -> Profiles:
        from justuno_braze.store.profiles import Profiles

        return Profiles(self.engine)

    @cached_property
    def enrollments(self) -> Enrollments:
        from justuno_braze.store.enrollments import Enrollments

        return Enrollments(self.engine)

    @cached_property
    def consent(self) -> ConsentLedger:
        from justuno_braze.store.consent import ConsentLedger

        return ConsentLedger(self.engine)

    @cached_property
    def quarantine(self) -> Quarantine:
        from justuno_braze.store.quarantine import Quarantine

        return Quarantine(self.engine)

    @cached_property
    def step_runs(self) -> StepRuns:
        from justuno_braze.store.step_runs import StepRuns

        return StepRuns(self.engine)

    @cached_property
    def deliveries(self) -> Deliveries:
        from justuno_braze.store.deliveries import Deliveries

        return Deliveries(self.engine)

    @cached_property
    def analytics(self) -> Analytics:
        from justuno_braze.store.analytics import Analytics

        return Analytics(self.engine)

    # issue 5: the web UI's users and their sessions (migration 0003)
    @cached_property
    def users(self) -> AccountUsers:
        from justuno_braze.store.users import AccountUsers

        return AccountUsers(self.engine)

    @cached_property
    def ui_sessions(self) -> UiSessions:
        from justuno_braze.store.users import UiSessions

        return UiSessions(self.engine)

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
    return Store(engine, vault)


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "justuno_braze.store:migrations")
    return config


def _upgrade(conn: SyncConnection) -> list[str]:
    if _at_head(conn):  # already migrated (and committed): nothing to lock, import or run
        return []
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

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
    if _at_head(conn):
        return True
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return set(MigrationContext.configure(conn).get_current_heads()) == heads


# Alembic (with Mako, Pygments and every dialect's DDL module) costs ~85 ms of CPU to
# import and ~10 ms more to run, on every start of every command, to find that the database
# is already current. So the head is read from the migration files' ``revision`` and
# ``down_revision`` lines and compared with ``alembic_version`` in one query; anything
# else (a fresh or older database, a branched history) is left to Alembic.
_VERSIONS = Path(__file__).with_name("migrations") / "versions"
_REVISION_LINE = re.compile(r"^(revision|down_revision) = (?:None|[\"']([\w-]+)[\"'])$", re.M)


@cache
def _head() -> str | None:
    """The newest migration's revision, or ``None`` unless the files are one plain chain
    (a merge's tuple, a branch, a line not written as the template writes it)."""
    revisions: set[str] = set()
    parents: set[str | None] = set()
    for path in _VERSIONS.glob("*.py"):
        text = path.read_text("utf-8")
        lines: dict[str, str | None] = {m[1]: m[2] for m in _REVISION_LINE.finditer(text)}
        if lines.keys() != {"revision", "down_revision"} or lines["revision"] is None:
            return None
        revisions.add(lines["revision"])
        parents.add(lines["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(conn: SyncConnection) -> bool:
    """True when the database is known to be at the head revision without asking Alembic
    (``False`` also when unsure: the caller asks Alembic then)."""
    head = _head()
    if head is None or not inspect(conn).has_table("alembic_version"):
        return False
    versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return versions == [head]


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
