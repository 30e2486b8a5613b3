"""Bulk ``INSERT … ON CONFLICT DO NOTHING`` of outbox rows, per dialect; returns how many
rows were new.

SQLite: one ``executemany`` of raw values straight on aiosqlite (``store.sqlite_direct``:
times as integer microseconds, JSON as orjson text), as SQLAlchemy's multi-row insert
builds and type-processes a parameter dict per row (~15 µs a row, most of a backfill's
enqueue). PostgreSQL: one ``INSERT … SELECT FROM unnest(…)`` per chunk with one array per
column — a constant statement that psycopg parses and prepares once (a multi-row
``VALUES`` list is parsed again for every chunk, ~90 µs a row).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.store.dialect import chunks
from justuno_braze.store.sqlite_direct import execute_many
from justuno_braze.store.tables import to_micros

_SQLITE_INSERT = (  # the columns in ``_insert_sqlite``'s order
    "INSERT INTO outbox (connection_id, user_key, source_key, occurred_at, attributes, event,"
    " import_id, workflow_id, workflow_version, account_id, visitor_id, state, attempts,"
    " available_at, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
    " ON CONFLICT (connection_id, source_key) DO NOTHING"
)
_UNNEST_INSERT = text(
    "INSERT INTO outbox (connection_id, user_key, source_key, occurred_at, attributes, event,"
    " import_id, workflow_id, workflow_version, account_id, visitor_id, state, attempts,"
    " available_at, enqueued_at)"
    " SELECT c, u, s, o, CAST(a AS json), CAST(e AS json), i, w, v, ac, vi, 'pending', 0,"
    " :now, :now"
    " FROM unnest(CAST(:c AS bigint[]), CAST(:u AS text[]), CAST(:s AS text[]),"
    " CAST(:o AS timestamptz[]), CAST(:a AS text[]), CAST(:e AS text[]), CAST(:i AS text[]),"
    " CAST(:w AS text[]), CAST(:v AS integer[]), CAST(:ac AS bigint[]), CAST(:vi AS text[]))"
    " AS t(c, u, s, o, a, e, i, w, v, ac, vi)"
    " ON CONFLICT (connection_id, source_key) DO NOTHING RETURNING id"
)


async def insert_jobs(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    if conn.dialect.name == "postgresql":
        return await _insert_postgres(conn, rows)
    return await _insert_sqlite(conn, rows)


async def _insert_sqlite(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    now = to_micros(rows[0]["enqueued_at"])
    values = [
        (
            r["connection_id"],
            r["user_key"],
            r["source_key"],
            to_micros(r["occurred_at"]),
            _json(r["attributes"]),
            _json(r["event"]),
            r["import_id"],
            r["workflow_id"],
            r["workflow_version"],
            r["account_id"],
            r["visitor_id"],
            now,
            now,
        )
        for r in rows
    ]
    return await execute_many(conn, _SQLITE_INSERT, values)


async def _insert_postgres(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """One ``INSERT … SELECT FROM unnest(arrays)`` per chunk: a constant statement text that
    psycopg parses and prepares once (a multi-row VALUES list is parsed again each time)."""
    inserted = 0
    for chunk in chunks(rows):
        params = {
            "c": [r["connection_id"] for r in chunk],
            "u": [r["user_key"] for r in chunk],
            "s": [r["source_key"] for r in chunk],
            "o": [r["occurred_at"] for r in chunk],
            "a": [_json(r["attributes"]) for r in chunk],
            "e": [_json(r["event"]) for r in chunk],
            "i": [r["import_id"] for r in chunk],
            "w": [r["workflow_id"] for r in chunk],
            "v": [r["workflow_version"] for r in chunk],
            "ac": [r["account_id"] for r in chunk],
            "vi": [r["visitor_id"] for r in chunk],
            "now": chunk[0]["enqueued_at"],
        }
        inserted += len((await conn.execute(_UNNEST_INSERT, params)).all())
    return inserted


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
