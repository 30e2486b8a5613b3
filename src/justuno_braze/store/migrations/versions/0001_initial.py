"""Initial schema: accounts, connections, outbox, braze_state, sent_events.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Portable types, as in store/tables.py (timestamps: timestamptz / integer µs on SQLite).
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")
QUEUED = sa.text("available_at IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("slug", name="uq_accounts_slug"),
    )
    op.create_table(
        "connections",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("app", sa.String(32), nullable=False, server_default="braze"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("base_url", sa.String(300), nullable=False),
        sa.Column("api_key_enc", sa.Text(), nullable=False),
        sa.Column("key_hint", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="ok"),
        sa.Column("status_reason", sa.Text()),
        sa.Column("custom_attributes", sa.JSON()),
        sa.Column("custom_attributes_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_connections_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("account_id", "app", "name", name="uq_connections_account_id_app_name"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("connection_id", ID, nullable=False),
        sa.Column("user_key", sa.String(512), nullable=False),
        sa.Column("source_key", sa.String(512), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("attributes", sa.JSON()),
        sa.Column("event", sa.JSON()),
        sa.Column("import_id", sa.String(100)),
        sa.Column("workflow_id", sa.String(100)),
        sa.Column("workflow_version", sa.Integer()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("available_at", TS),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("last_error", sa.Text()),
        sa.Column("enqueued_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name="fk_outbox_connection_id_connections",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "connection_id", "source_key", name="uq_outbox_connection_id_source_key"
        ),
    )
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["available_at", "id"],
        postgresql_where=QUEUED,
        sqlite_where=QUEUED,
    )
    op.create_index(
        "ix_outbox_user_queue",
        "outbox",
        ["connection_id", "user_key", "occurred_at", "id"],
        postgresql_where=QUEUED,
        sqlite_where=QUEUED,
    )
    op.create_index(
        "ix_outbox_dead",
        "outbox",
        ["id"],
        postgresql_where=sa.text("state = 'dead'"),
        sqlite_where=sa.text("state = 'dead'"),
    )
    op.create_index(
        "ix_outbox_import",
        "outbox",
        ["import_id", "state"],
        postgresql_where=sa.text("import_id IS NOT NULL"),
        sqlite_where=sa.text("import_id IS NOT NULL"),
    )
    op.create_table(
        "braze_state",
        sa.Column("connection_id", ID, nullable=False),
        sa.Column("user_key", sa.String(512), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "user_key", name="pk_braze_state"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name="fk_braze_state_connection_id_connections",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "sent_events",
        sa.Column("connection_id", ID, nullable=False),
        sa.Column("event_key", sa.String(512), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "event_key", name="pk_sent_events"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name="fk_sent_events_connection_id_connections",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("sent_events")
    op.drop_table("braze_state")
    op.drop_table("outbox")
    op.drop_table("connections")
    op.drop_table("accounts")
