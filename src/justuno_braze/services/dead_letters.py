"""Replay of dead letters across accounts (the ``replay`` command)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from justuno_braze.delivery.outbox import DeadLetter
from justuno_braze.services.sync import workflow_id
from justuno_braze.store import Store


@dataclass(frozen=True, slots=True)
class ReplayFilter:
    """Which dead letters to replay; every given filter must match (time: when they died)."""

    workflow: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    connection_id: int | None = None

    def workflow_key(self) -> str | None:
        return None if self.workflow is None else workflow_id(self.workflow)


async def matching_dead_letters(store: Store, where: ReplayFilter) -> list[DeadLetter]:
    """Every dead letter matching ``where``, newest first."""
    out: list[DeadLetter] = []
    before: int | None = None
    while True:
        page = await store.outbox.dead_letters(
            connection_id=where.connection_id,
            workflow_id=where.workflow_key(),
            reason_contains=where.reason,
            limit=500,
            before_id=before,
        )
        out.extend(
            d
            for d in page
            if (where.since is None or d.dead_at >= where.since)
            and (where.until is None or d.dead_at <= where.until)
        )
        if len(page) < 500:
            return out
        before = page[-1].id


async def replay(store: Store, where: ReplayFilter, *, now: datetime) -> int:
    """Re-queue the matching dead letters (due now, attempts from 0); how many."""
    return await store.outbox.replay(
        now=now,
        connection_id=where.connection_id,
        workflow_id=where.workflow_key(),
        reason_contains=where.reason,
        since=where.since,
        until=where.until,
    )
