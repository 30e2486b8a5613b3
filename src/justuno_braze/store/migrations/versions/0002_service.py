"""The service (issue 4): API tokens, workflows and their versions, events, profiles,
enrollments, the consent ledger, quarantine, step runs, seen signatures; the outbox gains
``account_id`` and ``visitor_id`` (nullable, so existing rows stay as they are).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Portable types, as in store/tables.py (timestamps: timestamptz / integer µs on SQLite).
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _id(table: str) -> list[SchemaItem]:
    return [
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _account(table: str, *, nullable: bool = False) -> list[SchemaItem]:
    return [
        sa.Column("account_id", ID, nullable=nullable),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=f"fk_{table}_account_id_accounts",
            ondelete="CASCADE",
        ),
    ]


def _workflow(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workflow_id"],
        ["workflows.id"],
        name=f"fk_{table}_workflow_id_workflows",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        *_id("api_tokens"),
        *_account("api_tokens"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_account_id", "api_tokens", ["account_id"])
    op.create_table(
        "workflows",
        *_id("workflows"),
        *_account("workflows"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("account_id", "name", name="uq_workflows_account_id_name"),
    )
    op.create_table(
        "workflow_versions",
        *_id("workflow_versions"),
        sa.Column("workflow_id", ID, nullable=False),
        _workflow("workflow_versions"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("trigger_event", sa.String(255)),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("published_at", TS, nullable=False),
        sa.UniqueConstraint(
            "workflow_id", "version", name="uq_workflow_versions_workflow_id_version"
        ),
    )
    op.create_table(
        "events",
        *_id("events"),
        *_account("events"),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("visitor_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("design_id", sa.String(255)),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.UniqueConstraint("account_id", "event_id", name="uq_events_account_id_event_id"),
    )
    op.create_index(
        "ix_events_account_id_visitor_id_occurred_at",
        "events",
        ["account_id", "visitor_id", "occurred_at"],
    )
    op.create_index("ix_events_account_id_occurred_at", "events", ["account_id", "occurred_at"])
    op.create_table(
        "profiles",
        *_id("profiles"),
        *_account("profiles"),
        sa.Column("visitor_id", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("page_views", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("forms_submitted", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("account_id", "visitor_id", name="uq_profiles_account_id_visitor_id"),
    )
    op.create_index("ix_profiles_account_id_email", "profiles", ["account_id", "email"])
    op.create_index("ix_profiles_account_id_created_at", "profiles", ["account_id", "created_at"])
    op.create_table(
        "enrollments",
        *_account("enrollments"),
        sa.Column("workflow_id", ID, nullable=False),
        _workflow("enrollments"),
        sa.Column("visitor_id", sa.String(255), nullable=False),
        sa.Column("last_enrolled_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "workflow_id", "visitor_id", name="pk_enrollments"),
    )
    op.create_table(
        "consent_ledger",
        *_id("consent_ledger"),
        *_account("consent_ledger"),
        sa.Column("visitor_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("group_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("design_id", sa.String(255)),
        sa.Column("consent_text", sa.Text()),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("page_url", sa.Text()),
        sa.Column("workflow_id", ID),
        sa.Column("workflow_version", sa.Integer()),
        sa.Column("event_id", sa.String(255)),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index(
        "ix_consent_ledger_account_id_occurred_at_id",
        "consent_ledger",
        ["account_id", "occurred_at", "id"],
    )
    op.create_table(
        "quarantine",
        *_id("quarantine"),
        *_account("quarantine", nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
    )
    op.create_index("ix_quarantine_account_id_id", "quarantine", ["account_id", "id"])
    op.create_table(
        "step_runs",
        *_id("step_runs"),
        *_account("step_runs"),
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("visitor_id", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(100)),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_step_runs_account_id_at", "step_runs", ["account_id", "at"])
    op.create_table(
        "signatures_seen",
        *_account("signatures_seen"),
        sa.Column("signature_hash", sa.String(64), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "signature_hash", name="pk_signatures_seen"),
    )
    op.create_index("ix_signatures_seen_seen_at", "signatures_seen", ["seen_at"])
    # The outbox: plain ADD COLUMN (no table rebuild on SQLite, existing rows untouched).
    op.add_column("outbox", sa.Column("account_id", ID))
    op.add_column("outbox", sa.Column("visitor_id", sa.String(255)))
    op.create_index(
        "ix_outbox_account_id_visitor_id",
        "outbox",
        ["account_id", "visitor_id", "id"],
        postgresql_where=sa.text("visitor_id IS NOT NULL"),
        sqlite_where=sa.text("visitor_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_account_id_visitor_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("visitor_id")
        batch.drop_column("account_id")
    for table in (
        "signatures_seen",
        "step_runs",
        "quarantine",
        "consent_ledger",
        "enrollments",
        "profiles",
        "events",
        "workflow_versions",
        "workflows",
        "api_tokens",
    ):
        op.drop_table(table)
