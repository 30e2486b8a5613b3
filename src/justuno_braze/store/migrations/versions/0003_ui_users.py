"""The web UI (issue 5): the people who sign in (``account_users``) and their
server-side sessions (``ui_sessions``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Portable types, as in store/tables.py (timestamps: timestamptz / integer µs on SQLite).
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _cascade(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{referred}.id"], name=f"fk_{table}_{column}_{referred}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "account_users",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_signed_in_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_account_users"),
        _cascade("account_users", "account_id", "accounts"),
        sa.UniqueConstraint("email", name="uq_account_users_email"),
    )
    op.create_index("ix_account_users_account_id", "account_users", ["account_id"])
    op.create_table(
        "ui_sessions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ui_sessions"),
        _cascade("ui_sessions", "user_id", "account_users"),
        _cascade("ui_sessions", "account_id", "accounts"),
        sa.UniqueConstraint("token_hash", name="uq_ui_sessions_token_hash"),
    )
    op.create_index("ix_ui_sessions_user_id", "ui_sessions", ["user_id"])
    op.create_index("ix_ui_sessions_expires_at", "ui_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("ui_sessions")
    op.drop_table("account_users")
