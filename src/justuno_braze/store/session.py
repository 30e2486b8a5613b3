"""Transactions on the async engine, with database failures turned into ``StoreError``.

Every repository opens its connections here, so callers (the worker loop, web handlers,
the CLI) catch one error class. The message keeps the driver's first line only: never the
SQL statement or its parameters (they may hold personal data).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from justuno_braze.errors import StoreError


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction, committed when the block ends without error."""
    try:
        async with engine.begin() as conn:
            yield conn
    except DBAPIError as exc:
        raise StoreError(f"database error: {reason(exc)}") from exc


@asynccontextmanager
async def joined(
    engine: AsyncEngine, conn: AsyncConnection | None
) -> AsyncIterator[AsyncConnection]:
    """The caller's transaction when ``conn`` is given (so several repositories write in
    one), else a transaction of our own, committed when the block ends without error."""
    if conn is not None:
        yield conn
        return
    async with transaction(engine) as own:
        yield own


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads (rolled back at the end)."""
    try:
        async with engine.connect() as conn:
            yield conn
    except DBAPIError as exc:
        raise StoreError(f"database error: {reason(exc)}") from exc


def reason(exc: DBAPIError) -> str:
    """The driver's message without the SQL or parameters (no data, no secrets)."""
    text = str(exc.orig).strip() if exc.orig is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__
