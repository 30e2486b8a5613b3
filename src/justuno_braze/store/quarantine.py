"""Quarantine: input refused at the door (malformed JSON, invalid events, bad signatures),
kept so an operator can see what was rejected and why.

``body`` is the raw request text capped at ``MAX_BODY`` characters (``body_size`` keeps
the original size in bytes, so a cut body is visible as such); ``account_id`` is NULL when
the account itself was unknown. ``reason`` is JSON: a list of ``{"field", "message"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.errors import InputError
from justuno_braze.store.scoped import Scoped, aware, page_size
from justuno_braze.store.tables import quarantine

MAX_BODY = 64 * 1024
SOURCES = ("api", "embed", "import")
_Q = quarantine


@dataclass(frozen=True, slots=True)
class QuarantinedInput:
    id: int
    account_id: int | None
    received_at: datetime
    source: str
    reason: list[dict[str, Any]]
    body: str
    body_size: int

    @property
    def truncated(self) -> bool:
        return len(self.body.encode("utf-8")) < self.body_size


class Quarantine(Scoped):
    """The ``quarantine`` repository."""

    async def add(
        self,
        account_id: int | None,
        *,
        source: str,
        reason: Sequence[Mapping[str, Any]],
        body: str | bytes,
        received_at: datetime,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Keep a refused input; returns its id."""
        if source not in SOURCES:
            raise InputError(f"must be one of {', '.join(SOURCES)}", field="source")
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        text = raw[: MAX_BODY * 4].decode("utf-8", "replace")[:MAX_BODY]
        async with self._writing(conn) as c:
            result = await c.execute(
                insert(_Q)
                .values(
                    account_id=account_id,
                    received_at=aware(received_at, "received_at"),
                    source=source,
                    reason=[dict(r) for r in reason],
                    body=text.replace("\x00", "\ufffd"),  # PostgreSQL text has no NUL
                    body_size=len(raw),
                )
                .returning(_Q.c.id)
            )
            return int(result.scalar_one())

    async def list(
        self, account_id: int | None, *, limit: int = 50, before_id: int | None = None
    ) -> list[QuarantinedInput]:
        """The account's quarantined inputs, newest first (``None``: those of no known
        account — an operator's view). Page with ``before_id``."""
        owner = _Q.c.account_id.is_(None) if account_id is None else _Q.c.account_id == account_id
        stmt = select(_Q).where(owner)
        if before_id is not None:
            stmt = stmt.where(_Q.c.id < before_id)
        async with self._reading(None) as c:
            rows = (await c.execute(stmt.order_by(_Q.c.id.desc()).limit(page_size(limit)))).all()
        return [
            QuarantinedInput(
                id=r.id,
                account_id=r.account_id,
                received_at=r.received_at,
                source=r.source,
                reason=r.reason,
                body=r.body,
                body_size=r.body_size,
            )
            for r in rows
        ]
