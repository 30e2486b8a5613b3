"""Statements sent straight to aiosqlite, for the worker's hot path on SQLite.

SQLAlchemy runs a statement on aiosqlite with four hand-offs to its connection thread
(cursor, execute, fetch, close: ~145 µs of CPU even for ``SELECT 1``); aiosqlite's own
``execute_fetchall`` does it in one (~23 µs). :func:`fetch_all` sends hand-written SQL on
the DBAPI connection of the caller's SQLAlchemy connection, so it runs inside the
caller's transaction when one was begun (e.g. the claim's ``BEGIN IMMEDIATE``; on a
connection that has not begun one, the statement is its own). Rows come back as plain
tuples of raw values (integer microseconds, JSON text), as
:class:`~justuno_braze.store.leases.Reader` reads them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.errors import StoreError


async def fetch_all(conn: AsyncConnection, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """Every row of ``sql`` (named ``:params``) run on ``conn``'s aiosqlite connection.

    A driver error becomes ``StoreError`` with the driver's first line only (never the
    SQL or its parameters), like :func:`justuno_braze.store.session.transaction` does."""
    driver = (await conn.get_raw_connection()).driver_connection
    if driver is None:
        raise StoreError("database error: the connection is closed")
    try:
        return list(await driver.execute_fetchall(sql, params))
    except sqlite3.Error as exc:
        first = str(exc).strip().splitlines()
        raise StoreError(f"database error: {first[0] if first else type(exc).__name__}") from exc
