"""SQLAlchemy Core tables (the Alembic migrations in ``migrations/versions`` mirror these).

Portable choices: timestamps are aware UTC datetimes in Python, ``timestamptz`` on
PostgreSQL and integer microseconds since the epoch on SQLite (sortable, compact, fast);
JSON columns use the engine's orjson serializer; ids are ``BIGINT`` on PostgreSQL and the
SQLite rowid.

Outbox rows: ``available_at`` is the time a queued job is due — or, while ``leased``, the
lease expiry — and NULL once the job is finished (``delivered`` or ``dead``); the partial
indexes on it make claims scan only queued jobs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes: ``timestamptz`` on PostgreSQL, integer µs on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store keeps aware UTC datetimes only")
        if dialect.name == "sqlite":
            return (value - EPOCH) // _MICROSECOND
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return EPOCH + timedelta(microseconds=value)
        if value.tzinfo is not UTC:
            return value.astimezone(UTC)  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]


def to_micros(value: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (JSON-friendly)."""
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON(none_as_null=True)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("slug", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

connections = Table(
    "connections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("app", String(32), nullable=False, server_default="braze"),
    Column("name", String(100), nullable=False),
    Column("base_url", String(300), nullable=False),
    Column("api_key_enc", Text, nullable=False),
    Column("key_hint", String(16), nullable=False),
    Column("status", String(16), nullable=False, server_default="ok"),
    Column("status_reason", Text),
    Column("status_since", UtcDateTime()),  # 0004: when ``status`` last changed
    Column("custom_attributes", Json),
    Column("custom_attributes_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "app", "name"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "connection_id",
        Id,
        ForeignKey("connections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_key", String(512), nullable=False),
    Column("source_key", String(512), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("attributes", Json),
    Column("event", Json),
    Column("import_id", String(100)),
    Column("workflow_id", String(100)),
    Column("workflow_version", Integer),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("available_at", UtcDateTime()),
    Column("lease_owner", String(100)),
    Column("last_error", Text),
    Column("enqueued_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("account_id", Id),  # 0002: the connection's account (denormalised, for indexes)
    Column("visitor_id", String(255)),  # 0002: the profile the job came from (may be NULL)
    UniqueConstraint("connection_id", "source_key"),
    Index(
        "ix_outbox_due",
        "available_at",
        "id",
        postgresql_where=text("available_at IS NOT NULL"),
        sqlite_where=text("available_at IS NOT NULL"),
    ),
    Index(
        "ix_outbox_user_queue",
        "connection_id",
        "user_key",
        "occurred_at",
        "id",
        postgresql_where=text("available_at IS NOT NULL"),
        sqlite_where=text("available_at IS NOT NULL"),
    ),
    Index(
        "ix_outbox_dead",
        "id",
        postgresql_where=text("state = 'dead'"),
        sqlite_where=text("state = 'dead'"),
    ),
    Index(
        "ix_outbox_import",
        "import_id",
        "state",
        postgresql_where=text("import_id IS NOT NULL"),
        sqlite_where=text("import_id IS NOT NULL"),
    ),
    Index(  # 0002: a profile's delivery history
        "ix_outbox_account_id_visitor_id",
        "account_id",
        "visitor_id",
        "id",
        postgresql_where=text("visitor_id IS NOT NULL"),
        sqlite_where=text("visitor_id IS NOT NULL"),
    ),
)

# What Braze last accepted per user: {attribute: [value, micros since epoch]} in one row.
braze_state = Table(
    "braze_state",
    metadata,
    Column(
        "connection_id",
        Id,
        ForeignKey("connections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_key", String(512), primary_key=True),
    Column("attributes", Json, nullable=False),
)

# Custom events Braze accepted (idempotency record: replays never double-count them).
sent_events = Table(
    "sent_events",
    metadata,
    Column(
        "connection_id",
        Id,
        ForeignKey("connections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("event_key", String(512), primary_key=True),
    Column("sent_at", UtcDateTime(), nullable=False),
)

# --------------------------------------------------------------------------- issue 4
# The service's tables (migration 0002). Every row belongs to one account; the
# repositories filter on ``account_id`` in every statement.

# API tokens: only the sha256 of the token is kept; ``prefix`` is shown to tell them apart.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Index("ix_api_tokens_account_id", "account_id"),
)

workflows = Table(
    "workflows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("draft", Json, nullable=False),
    Column("status", String(16), nullable=False, server_default="draft"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "name"),
)

# Published versions: immutable (the repository has no update); ``trigger_event`` is the
# definition's trigger event, a column so that the ingestion path filters in SQL.
workflow_versions = Table(
    "workflow_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workflow_id", Id, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", Json, nullable=False),
    Column("trigger_event", String(255)),
    Column("author", String(200), nullable=False),
    Column("note", Text),
    Column("published_at", UtcDateTime(), nullable=False),
    UniqueConstraint("workflow_id", "version"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("visitor_id", String(255), nullable=False),
    Column("type", String(255), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("design_id", String(255)),
    Column("body", Json, nullable=False),
    UniqueConstraint("account_id", "event_id"),
    Index("ix_events_account_id_visitor_id_occurred_at", "account_id", "visitor_id", "occurred_at"),
    Index("ix_events_account_id_occurred_at", "account_id", "occurred_at"),
)

# Profiles: ``data`` is ``Profile.to_dict()``; the counters are copied out of it so that
# analytics is plain SQL on both databases.
profiles = Table(
    "profiles",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(255), nullable=False),
    Column("email", String(320)),
    Column("data", Json, nullable=False),
    Column("sessions", Integer, nullable=False, server_default="0"),
    Column("page_views", Integer, nullable=False, server_default="0"),
    Column("forms_submitted", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "visitor_id"),
    Index("ix_profiles_account_id_email", "account_id", "email"),
    Index("ix_profiles_account_id_created_at", "account_id", "created_at"),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("workflow_id", Id, ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True),
    Column("visitor_id", String(255), primary_key=True),
    Column("last_enrolled_at", UtcDateTime(), nullable=False),
)

# The consent ledger is evidence: no foreign key to workflows (deleting a workflow keeps it).
consent_ledger = Table(
    "consent_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", String(255), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("group_id", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("basis", String(16), nullable=False),
    Column("reason", String(64)),
    Column("design_id", String(255)),
    Column("consent_text", Text),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("ip", String(64)),
    Column("page_url", Text),
    Column("workflow_id", Id),
    Column("workflow_version", Integer),
    Column("event_id", String(255)),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_consent_ledger_account_id_occurred_at_id", "account_id", "occurred_at", "id"),
)

# Input refused at the door (``account_id`` NULL when the account is unknown).
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE")),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("source", String(32), nullable=False),
    Column("reason", Json, nullable=False),
    Column("body", Text, nullable=False),
    Column("body_size", Integer, nullable=False),
    Index("ix_quarantine_account_id_id", "account_id", "id"),
)

# What each published workflow did with each event (analytics of skips).
step_runs = Table(
    "step_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("workflow_id", Id, nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("visitor_id", String(255), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(100)),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_step_runs_account_id_at", "account_id", "at"),
)

# HMAC signatures already accepted (replays are refused), purged after the time window.
signatures_seen = Table(
    "signatures_seen",
    metadata,
    Column(
        "account_id",
        Id,
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("signature_hash", String(64), primary_key=True),
    Column("seen_at", UtcDateTime(), nullable=False),
    Index("ix_signatures_seen_seen_at", "seen_at"),
)

# --------------------------------------------------------------------------- issue 5
# The web UI's people and their sign-in sessions (migration 0003).

# Who may sign in to an account's pages: the email is unique across accounts (sign-in asks
# only for an email and a password); ``password_hash`` is an argon2id PHC string.
account_users = Table(
    "account_users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_signed_in_at", UtcDateTime()),
    Index("ix_account_users_account_id", "account_id"),
)

# Server-side sessions: only the sha256 of the cookie's token is kept. ``expires_at`` is
# the absolute end; the idle end is ``last_seen_at`` plus the idle timeout.
ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("account_users.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index("ix_ui_sessions_user_id", "user_id"),
    Index("ix_ui_sessions_expires_at", "expires_at"),
)
