"""The dedup record: what Braze last accepted, per user and attribute, and which custom
events it already counted (so a replay never counts one twice).

One row per user holds ``{attribute: [value, µs since epoch]}``; ``save`` merges per
attribute and keeps the newer of the stored and the given time. The merge runs in the
database: one ``INSERT … SELECT FROM json_each(:rows) ON CONFLICT DO UPDATE`` per chunk of
users, whose update keeps, per attribute, the entry with the newer time (``json_patch``
on SQLite, ``jsonb ||`` on PostgreSQL) — no read of the stored rows, no per-row binding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.leases import members
from justuno_braze.store.session import joined, reading
from justuno_braze.store.sqlite_direct import fetch_all
from justuno_braze.store.tables import braze_state, from_micros, sent_events, to_micros

AttributeState = dict[str, tuple[Any, datetime]]
_CHUNK = 5000
# ``:rows`` is one JSON object {user_key: {attribute: [value, micros]}}. On conflict, an
# attribute of the new row replaces the stored one unless the stored time is newer.
_SAVE_SQLITE = (  # sent straight to aiosqlite (``store.sqlite_direct``): one thread hop
    "INSERT INTO braze_state (connection_id, user_key, attributes)"
    " SELECT :connection_id, r.key, r.value FROM json_each(:rows) AS r WHERE true"
    " ON CONFLICT (connection_id, user_key) DO UPDATE SET attributes = json_patch("
    "braze_state.attributes, (SELECT json_group_object(n.key, json(n.value))"
    " FROM json_each(excluded.attributes) AS n"
    " LEFT JOIN json_each(braze_state.attributes) AS o ON o.key = n.key"
    " WHERE o.key IS NULL OR o.value ->> 1 <= n.value ->> 1))"
)
_LOAD_SQLITE = (
    "SELECT user_key, attributes FROM braze_state WHERE connection_id = :connection_id"
    " AND user_key IN (SELECT value FROM json_each(:keys))"
)
_SAVE_POSTGRES = text(
    "INSERT INTO braze_state (connection_id, user_key, attributes)"
    " SELECT CAST(:connection_id AS bigint), r.key, r.value"
    " FROM json_each(CAST(:rows AS json)) AS r"
    " ON CONFLICT (connection_id, user_key) DO UPDATE SET attributes = CAST("
    "CAST(braze_state.attributes AS jsonb) || coalesce((SELECT jsonb_object_agg(n.key, n.value)"
    " FROM jsonb_each(CAST(excluded.attributes AS jsonb)) AS n"
    " WHERE CAST(CAST(braze_state.attributes AS jsonb) -> n.key ->> 1 AS bigint) IS NULL"
    " OR CAST(CAST(braze_state.attributes AS jsonb) -> n.key ->> 1 AS bigint)"
    " <= CAST(n.value ->> 1 AS bigint)), CAST('{}' AS jsonb)) AS json)"
)


class BrazeState:
    """The dedup repository (``braze_state`` and ``sent_events`` tables)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, connection_id: int, user_keys: Sequence[str]) -> dict[str, AttributeState]:
        """``{user_key: {attribute: (value, accepted_at)}}`` for the users that have one."""
        out: dict[str, AttributeState] = {}
        if not user_keys:
            return out
        times: dict[int, datetime] = {}  # a batch's attributes share few distinct times
        async with reading(self._engine) as conn:
            for chunk in _chunks(user_keys):
                if conn.dialect.name == "sqlite":
                    keys = orjson.dumps(list(chunk)).decode()
                    params = {"connection_id": connection_id, "keys": keys}
                    found = [
                        (k, orjson.loads(a)) for k, a in await fetch_all(conn, _LOAD_SQLITE, params)
                    ]
                else:
                    rows = await conn.execute(
                        select(braze_state.c.user_key, braze_state.c.attributes).where(
                            braze_state.c.connection_id == connection_id,
                            members(conn, braze_state.c.user_key, chunk),
                        )
                    )
                    found = list(rows.all())
                for user_key, attributes in found:
                    state: AttributeState = {}
                    for name, (value, micros) in attributes.items():
                        at = times.get(micros)
                        if at is None:
                            at = times[micros] = from_micros(micros)
                        state[name] = (value, at)
                    out[user_key] = state
        return out

    async def save(
        self,
        connection_id: int,
        updates: Mapping[str, Mapping[str, tuple[Any, datetime]]],
        *,
        conn: AsyncConnection | None = None,
    ) -> None:
        """Record what Braze accepted: per attribute, the newer time wins (upsert). Pass
        ``conn`` to write in the caller's transaction (the worker settles a batch in one)."""
        if not updates:
            return
        keys = list(updates)
        async with joined(self._engine, conn) as conn:
            sqlite = conn.dialect.name == "sqlite"
            for chunk in _chunks(keys):
                rows: dict[str, dict[str, tuple[Any, int]]] = {}
                last: datetime | None = None
                micros = 0
                for user_key in chunk:
                    row = rows[user_key] = {}
                    for name, (value, at) in updates[user_key].items():
                        if at is not last:  # one user's attributes mostly share a time
                            last, micros = at, to_micros(at)
                        row[name] = (value, micros)
                params = {"connection_id": connection_id, "rows": orjson.dumps(rows).decode()}
                if sqlite:
                    await fetch_all(conn, _SAVE_SQLITE, params)
                else:
                    await conn.execute(_SAVE_POSTGRES, params)

    async def seen_events(self, connection_id: int, keys: Sequence[str]) -> set[str]:
        """The event keys among ``keys`` that Braze already accepted."""
        seen: set[str] = set()
        if not keys:
            return seen
        async with reading(self._engine) as conn:
            for chunk in _chunks(keys):
                rows = await conn.execute(
                    select(sent_events.c.event_key).where(
                        sent_events.c.connection_id == connection_id,
                        sent_events.c.event_key.in_(chunk),
                    )
                )
                seen.update(r[0] for r in rows)
        return seen

    async def record_events(
        self,
        connection_id: int,
        keys: Iterable[str],
        *,
        now: datetime,
        conn: AsyncConnection | None = None,
    ) -> None:
        """Remember that Braze accepted these custom events (already known ones ignored)."""
        rows = [{"connection_id": connection_id, "event_key": k, "sent_at": now} for k in keys]
        if not rows:
            return
        async with joined(self._engine, conn) as conn:
            await conn.execute(
                upsert_insert(conn.dialect, sent_events).on_conflict_do_nothing(), rows
            )


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
