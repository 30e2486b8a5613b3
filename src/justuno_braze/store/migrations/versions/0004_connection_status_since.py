"""Connections remember when their status last changed (``status_since``), so the Apps
page can say "failing since …" (issue 5). Existing rows keep ``NULL``: not known.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Portable timestamp, as in store/tables.py (timestamptz / integer µs on SQLite).
TS = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    op.add_column("connections", sa.Column("status_since", TS))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("status_since")
