"""The dedup record: what Braze last accepted, per user and attribute, and which custom
events it already counted (so a replay never counts one twice).

One row per user holds ``{attribute: [value, µs since epoch]}``; ``save`` merges per
attribute and keeps the newer of the stored and the given time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.session import reading, transaction
from justuno_braze.store.tables import braze_state, from_micros, sent_events, to_micros

AttributeState = dict[str, tuple[Any, datetime]]
_CHUNK = 5000


class BrazeState:
    """The dedup repository (``braze_state`` and ``sent_events`` tables)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, connection_id: int, user_keys: Sequence[str]) -> dict[str, AttributeState]:
        """``{user_key: {attribute: (value, accepted_at)}}`` for the users that have one."""
        out: dict[str, AttributeState] = {}
        if not user_keys:
            return out
        async with reading(self._engine) as conn:
            for chunk in _chunks(user_keys):
                rows = await conn.execute(
                    select(braze_state.c.user_key, braze_state.c.attributes).where(
                        braze_state.c.connection_id == connection_id,
                        braze_state.c.user_key.in_(chunk),
                    )
                )
                for user_key, attributes in rows:
                    out[user_key] = {
                        name: (pair[0], from_micros(pair[1])) for name, pair in attributes.items()
                    }
        return out

    async def save(
        self, connection_id: int, updates: Mapping[str, Mapping[str, tuple[Any, datetime]]]
    ) -> None:
        """Record what Braze accepted: per attribute, the newer time wins (upsert)."""
        if not updates:
            return
        keys = list(updates)
        async with transaction(self._engine) as conn:
            for chunk in _chunks(keys):
                stored = {
                    user_key: attributes
                    for user_key, attributes in await conn.execute(
                        select(braze_state.c.user_key, braze_state.c.attributes).where(
                            braze_state.c.connection_id == connection_id,
                            braze_state.c.user_key.in_(chunk),
                        )
                    )
                }
                rows = []
                for user_key in chunk:
                    merged: dict[str, list[Any]] = dict(stored.get(user_key) or {})
                    for name, (value, at) in updates[user_key].items():
                        micros = to_micros(at)
                        old = merged.get(name)
                        if old is None or old[1] <= micros:
                            merged[name] = [value, micros]
                    rows.append(
                        {"connection_id": connection_id, "user_key": user_key, "attributes": merged}
                    )
                stmt = upsert_insert(conn.dialect, braze_state)
                await conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["connection_id", "user_key"],
                        set_={"attributes": stmt.excluded.attributes},
                    ),
                    rows,
                )

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
        self, connection_id: int, keys: Iterable[str], *, now: datetime
    ) -> None:
        """Remember that Braze accepted these custom events (already known ones ignored)."""
        rows = [{"connection_id": connection_id, "event_key": k, "sent_at": now} for k in keys]
        if not rows:
            return
        async with transaction(self._engine) as conn:
            await conn.execute(
                upsert_insert(conn.dialect, sent_events).on_conflict_do_nothing(), rows
            )


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
