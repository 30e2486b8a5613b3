"""Alembic environment: migrations run on the connection :mod:`store.engine` passes in."""

from __future__ import annotations

from alembic import context

from justuno_braze.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through `justuno-braze db upgrade` (justuno_braze.store.upgrade)"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
