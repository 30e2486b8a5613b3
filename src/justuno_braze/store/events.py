"""Ingested Justuno events, per account, deduplicated by ``event_id``.

``body`` is the event's canonical JSON (``Event.to_dict()``); reading it back goes through
``parse_event`` so a stored event is the same ``Event`` that was accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.events import Event, parse_event
from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.scoped import Scoped, aware, chunks, page_size
from justuno_braze.store.tables import events

_E = events


class Events(Scoped):
    """The ``events`` repository."""

    async def insert_new(
        self,
        account_id: int,
        batch: Sequence[Event],
        *,
        received_at: datetime,
        conn: AsyncConnection | None = None,
    ) -> list[Event]:
        """Store the events not seen before; returns those (in ``batch`` order).

        An ``event_id`` already stored for the account, or repeated within ``batch``
        (the first one wins), is ignored: duplicates are accepted once.
        """
        aware(received_at, "received_at")
        unique: list[Event] = []
        seen: set[str] = set()
        for event in batch:
            if event.event_id not in seen:
                seen.add(event.event_id)
                unique.append(event)
        if not unique:
            return []
        inserted: set[str] = set()
        async with self._writing(conn) as c:
            insert = (
                upsert_insert(c.dialect, _E)
                .on_conflict_do_nothing(index_elements=["account_id", "event_id"])
                .returning(_E.c.event_id)
            )
            for chunk in chunks([_row(account_id, e, received_at) for e in unique]):
                inserted.update((await c.execute(insert, list(chunk))).scalars())
        return [e for e in unique if e.event_id in inserted]

    async def get(
        self, account_id: int, event_id: str, *, conn: AsyncConnection | None = None
    ) -> Event | None:
        async with self._reading(conn) as c:
            body = (
                await c.execute(
                    select(_E.c.body).where(
                        _E.c.account_id == account_id, _E.c.event_id == event_id
                    )
                )
            ).scalar()
        return None if body is None else parse_event(body)

    async def for_visitor(
        self,
        account_id: int,
        visitor_id: str,
        *,
        limit: int = 1000,
        conn: AsyncConnection | None = None,
    ) -> list[Event]:
        """The visitor's latest ``limit`` events, oldest first (by ``occurred_at``)."""
        async with self._reading(conn) as c:
            rows = (
                await c.execute(
                    select(_E.c.body)
                    .where(_E.c.account_id == account_id, _E.c.visitor_id == visitor_id)
                    .order_by(_E.c.occurred_at.desc(), _E.c.id.desc())
                    .limit(page_size(limit))
                )
            ).scalars()
            bodies = list(rows)
        return [parse_event(body) for body in reversed(bodies)]


def _row(account_id: int, event: Event, received_at: datetime) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "event_id": event.event_id,
        "visitor_id": event.visitor_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "design_id": event.design_id,
        "body": event.to_dict(),
    }
