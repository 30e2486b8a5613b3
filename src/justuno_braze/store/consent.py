"""The consent ledger: every subscription decision, with its evidence, per account.

Append-only (no update, no delete but the account's). ``export`` streams an account's
entries of a time range (on ``occurred_at``, the decision's time: ``since`` included,
``until`` excluded) in ``(occurred_at, id)`` order; ``COLUMNS`` and ``LedgerEntry.values``
give the CSV header and rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.braze.consent import ConsentDecision
from justuno_braze.events import format_time
from justuno_braze.store.scoped import Scoped, aware, chunks
from justuno_braze.store.session import reading
from justuno_braze.store.sqlite_direct import execute_many
from justuno_braze.store.tables import consent_ledger, to_micros

STREAM_ROWS = 1000
_L = consent_ledger
_ROW_COLUMNS = (
    "account_id", "visitor_id", "channel", "group_id", "state", "basis", "reason", "design_id",
    "consent_text", "occurred_at", "ip", "page_url", "workflow_id", "workflow_version",
    "event_id", "recorded_at",
)  # fmt: skip
_SQLITE_INSERT = (  # ``_ROW_COLUMNS``, sent straight to aiosqlite (``store.sqlite_direct``)
    "INSERT INTO consent_ledger (account_id, visitor_id, channel, group_id, state, basis,"
    " reason, design_id, consent_text, occurred_at, ip, page_url, workflow_id,"
    " workflow_version, event_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class ConsentContext:
    """Where a decision was made: the event and the workflow version that ran it."""

    event_id: str | None = None
    workflow_id: int | None = None
    workflow_version: int | None = None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ledger row as exported (field order = CSV column order)."""

    id: int
    occurred_at: datetime
    visitor_id: str
    channel: str
    group_id: str
    state: str
    basis: str
    reason: str | None
    design_id: str | None
    consent_text: str | None
    ip: str | None
    page_url: str | None
    event_id: str | None
    workflow_id: int | None
    workflow_version: int | None
    recorded_at: datetime

    def values(self) -> tuple[Any, ...]:
        """The row in ``COLUMNS`` order (times as ISO-8601 UTC)."""
        return tuple(format_time(v) if isinstance(v, datetime) else v for v in astuple(self))


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LedgerEntry))


class ConsentLedger(Scoped):
    """The ``consent_ledger`` repository."""

    async def record(
        self,
        account_id: int,
        decisions: Sequence[ConsentDecision],
        *,
        context: ConsentContext,
        recorded_at: datetime,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Append ``decisions`` (all made in ``context``); returns how many."""
        return await self.record_many(
            account_id, [(d, context) for d in decisions], recorded_at=recorded_at, conn=conn
        )

    async def record_many(
        self,
        account_id: int,
        entries: Sequence[tuple[ConsentDecision, ConsentContext]],
        *,
        recorded_at: datetime,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Append decisions with each its own context (a whole ingestion batch at once)."""
        aware(recorded_at, "recorded_at")
        if not entries:
            return 0
        async with self._writing(conn) as c:
            if c.dialect.name == "sqlite":
                at = to_micros(recorded_at)
                values = [
                    _values(account_id, d, ctx, to_micros(aware(d.occurred_at, "occurred_at")), at)
                    for d, ctx in entries
                ]
                await execute_many(c, _SQLITE_INSERT, values)
                return len(values)
            rows = [_row(account_id, d, ctx, recorded_at) for d, ctx in entries]
            for chunk in chunks(rows):
                await c.execute(insert(_L), list(chunk))
        return len(rows)

    async def export(
        self, account_id: int, *, since: datetime, until: datetime
    ) -> AsyncIterator[LedgerEntry]:
        """The account's entries with ``since <= occurred_at < until``, oldest first,
        streamed from the database (iterate to the end or ``aclose()`` it)."""
        aware(since, "since")
        aware(until, "until")
        stmt = (
            select(*(_L.c[name] for name in COLUMNS))
            .where(
                _L.c.account_id == account_id, _L.c.occurred_at >= since, _L.c.occurred_at < until
            )
            .order_by(_L.c.occurred_at, _L.c.id)
            .execution_options(yield_per=STREAM_ROWS)
        )
        async with reading(self._engine) as c:
            result = await c.stream(stmt)
            try:
                async for row in result:
                    yield LedgerEntry(*row)
            finally:  # closed early (client gone): release the server-side cursor now
                await result.close()

    async def page(
        self,
        account_id: int,
        *,
        since: datetime,
        until: datetime,
        after: tuple[datetime, int] | None = None,
        limit: int,
    ) -> list[LedgerEntry]:
        """Up to ``limit`` of the account's entries with ``since <= occurred_at < until``,
        oldest first, after the entry at ``after`` = ``(occurred_at, id)`` (keyset paging
        on the ledger's (account, time, id) index)."""
        where = [
            _L.c.account_id == account_id,
            _L.c.occurred_at >= since,
            _L.c.occurred_at < until,
        ]
        if after is not None:
            at, after_id = after
            where.append(
                or_(_L.c.occurred_at > at, and_(_L.c.occurred_at == at, _L.c.id > after_id))
            )
        stmt = _entries().where(*where).order_by(_L.c.occurred_at, _L.c.id).limit(limit)
        async with self._reading(None) as c:
            return [LedgerEntry(*row) for row in await c.execute(stmt)]

    async def latest_for_visitor(
        self, account_id: int, visitor_id: str, *, limit: int
    ) -> list[LedgerEntry]:
        """The visitor's latest ``limit`` entries in the account, newest first."""
        stmt = (
            _entries()
            .where(_L.c.account_id == account_id, _L.c.visitor_id == visitor_id)
            .order_by(_L.c.occurred_at.desc(), _L.c.id.desc())
            .limit(limit)
        )
        async with self._reading(None) as c:
            return [LedgerEntry(*row) for row in await c.execute(stmt)]


def _entries() -> Select[Any]:
    """The ledger's exported columns, in ``COLUMNS`` order."""
    return select(*(_L.c[name] for name in COLUMNS))


def _values(
    account_id: int, d: ConsentDecision, ctx: ConsentContext, occurred_at: Any, recorded_at: Any
) -> tuple[Any, ...]:
    """One ledger row in ``_ROW_COLUMNS`` order (its times as the caller stores them)."""
    return (
        account_id,
        d.visitor_id,
        d.channel,
        d.group_id,
        d.state,
        d.basis,
        d.reason,
        d.design_id,
        d.consent_text,
        occurred_at,
        d.ip,
        d.page_url,
        ctx.workflow_id,
        ctx.workflow_version,
        ctx.event_id,
        recorded_at,
    )


def _row(
    account_id: int, d: ConsentDecision, ctx: ConsentContext, recorded_at: datetime
) -> dict[str, Any]:
    occurred_at = aware(d.occurred_at, "occurred_at")
    return dict(
        zip(_ROW_COLUMNS, _values(account_id, d, ctx, occurred_at, recorded_at), strict=True)
    )
