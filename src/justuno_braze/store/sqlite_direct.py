"""Statements sent straight to aiosqlite, for the hot paths on SQLite (the worker's
claims, a backfill's bulk inserts).

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
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.errors import StoreError


async def fetch_all(conn: AsyncConnection, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """Every row of ``sql`` (named ``:params``) run on ``conn``'s aiosqlite connection.

    A driver error becomes ``StoreError`` with the driver's first line only (never the
    SQL or its parameters), like :func:`justuno_braze.store.session.transaction` does."""
    driver = await _driver(conn)
    try:
        return list(await driver.execute_fetchall(sql, params))
    except sqlite3.Error as exc:
        raise _store_error(exc) from exc


async def execute_many(conn: AsyncConnection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """``sql`` (``?`` placeholders) once per row of raw values, in one hand-off to the
    connection thread; returns the rows it changed (an ``ON CONFLICT DO NOTHING`` that
    skipped a row does not count it). For bulk inserts: SQLAlchemy's executemany builds
    and type-processes a parameter dict per row (~15 µs a row).

    Begins a transaction on ``conn`` when none is (as SQLAlchemy's autobegin would): rows
    outside one would each be their own transaction."""
    if not conn.in_transaction():
        await conn.begin()
    driver = await _driver(conn)
    try:
        cursor = await driver.executemany(sql, rows)
    except sqlite3.Error as exc:
        raise _store_error(exc) from exc
    changed: int = cursor.rowcount
    await cursor.close()
    return changed


async def _driver(conn: AsyncConnection) -> Any:
    driver = (await conn.get_raw_connection()).driver_connection
    if driver is None:
        raise StoreError("database error: the connection is closed")
    return driver


def _store_error(exc: sqlite3.Error) -> StoreError:
    first = str(exc).strip().splitlines()
    return StoreError(f"database error: {first[0] if first else type(exc).__name__}")
