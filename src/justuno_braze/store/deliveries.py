"""Deliveries: an account's view of the outbox (read by state, a profile's history,
replay of its dead letters).

An outbox job belongs to the account of its connection: every statement here filters on
``connection_id IN (the account's connections)``. A profile's history also needs the
job's ``visitor_id`` and ``account_id`` (migration 0002): jobs enqueued without them (e.g.
by an import that does not fill them) are listed by state but not in a history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.errors import InputError
from justuno_braze.store.scoped import Scoped, aware, chunks, page_size
from justuno_braze.store.tables import connections, outbox

STATES = ("pending", "leased", "delivered", "dead")
_O = outbox


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox job as the account sees it; ``reason`` is Braze's (the last error)."""

    id: int
    connection_id: int
    user_key: str
    visitor_id: str | None
    state: str
    attempts: int
    reason: str | None
    workflow_id: str | None
    workflow_version: int | None
    occurred_at: datetime
    enqueued_at: datetime
    finished_at: datetime | None
    attributes: Mapping[str, Any] | None
    event: Mapping[str, Any] | None


_COLUMNS = (
    _O.c.id,
    _O.c.connection_id,
    _O.c.user_key,
    _O.c.visitor_id,
    _O.c.state,
    _O.c.attempts,
    _O.c.last_error,
    _O.c.workflow_id,
    _O.c.workflow_version,
    _O.c.occurred_at,
    _O.c.enqueued_at,
    _O.c.finished_at,
    _O.c.attributes,
    _O.c.event,
)


def owned_by(account_id: int) -> ColumnElement[bool]:
    """The outbox rows of the account's connections."""
    return _O.c.connection_id.in_(
        select(connections.c.id).where(connections.c.account_id == account_id)
    )


class Deliveries(Scoped):
    """Account-scoped reads (and dead-letter replay) on the ``outbox`` table."""

    async def list_deliveries(
        self,
        account_id: int,
        *,
        state: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[Delivery]:
        """Newest first, optionally of one ``state``; page with ``before_id``."""
        stmt = select(*_COLUMNS).where(owned_by(account_id))
        if state is not None:
            if state not in STATES:
                raise InputError(f"must be one of {', '.join(STATES)}", field="state")
            stmt = stmt.where(_O.c.state == state)
        if before_id is not None:
            stmt = stmt.where(_O.c.id < before_id)
        async with self._reading(None) as c:
            rows = (await c.execute(stmt.order_by(_O.c.id.desc()).limit(page_size(limit)))).all()
        return [_delivery(r) for r in rows]

    async def history_for_profile(
        self, account_id: int, visitor_id: str, *, limit: int = 100
    ) -> list[Delivery]:
        """The visitor's deliveries, newest first."""
        stmt = (
            select(*_COLUMNS)
            .where(
                _O.c.account_id == account_id,
                _O.c.visitor_id == visitor_id,
                owned_by(account_id),
            )
            .order_by(_O.c.id.desc())
            .limit(page_size(limit))
        )
        async with self._reading(None) as c:
            rows = (await c.execute(stmt)).all()
        return [_delivery(r) for r in rows]

    async def replay(
        self,
        account_id: int,
        *,
        now: datetime,
        ids: Sequence[int] | None = None,
        workflow_id: str | None = None,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Re-queue the account's dead letters (those of ``ids`` / ``workflow_id`` when
        given), due at ``now`` with ``attempts`` back to 0; returns how many."""
        aware(now, "now")
        where: list[ColumnElement[bool]] = [_O.c.state == "dead", owned_by(account_id)]
        if workflow_id is not None:
            where.append(_O.c.workflow_id == workflow_id)
        values = {"state": "pending", "available_at": now, "attempts": 0, "finished_at": None}
        changed = 0
        async with self._writing(conn) as c:
            if ids is None:
                return (await c.execute(update(_O).where(*where).values(**values))).rowcount
            for chunk in chunks(list(ids)):
                result = await c.execute(
                    update(_O).where(_O.c.id.in_(chunk), *where).values(**values)
                )
                changed += result.rowcount
        return changed


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        connection_id=row.connection_id,
        user_key=row.user_key,
        visitor_id=row.visitor_id,
        state=row.state,
        attempts=row.attempts,
        reason=row.last_error,
        workflow_id=row.workflow_id,
        workflow_version=row.workflow_version,
        occurred_at=row.occurred_at,
        enqueued_at=row.enqueued_at,
        finished_at=row.finished_at,
        attributes=row.attributes,
        event=row.event,
    )
