"""Step runs: what each published workflow version did with each event — ``enqueued``
(outbox jobs were written) or ``skipped`` (with the reason: ``no_identifier``,
``not_enrolled``, …). Analytics counts the skips per workflow and day from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.errors import InputError
from justuno_braze.store.scoped import Scoped, aware, chunks
from justuno_braze.store.tables import step_runs

OUTCOMES = ("enqueued", "skipped")


@dataclass(frozen=True, slots=True)
class StepRun:
    workflow_id: int
    workflow_version: int
    event_id: str
    visitor_id: str
    outcome: str  # "enqueued" | "skipped"
    at: datetime
    reason: str | None = None


class StepRuns(Scoped):
    """The ``step_runs`` repository (append-only)."""

    async def record_many(
        self, account_id: int, runs: Sequence[StepRun], *, conn: AsyncConnection | None = None
    ) -> int:
        rows = []
        for run in runs:
            if run.outcome not in OUTCOMES:
                raise InputError(f"must be one of {', '.join(OUTCOMES)}", field="outcome")
            rows.append(
                {
                    "account_id": account_id,
                    "workflow_id": run.workflow_id,
                    "workflow_version": run.workflow_version,
                    "event_id": run.event_id,
                    "visitor_id": run.visitor_id,
                    "outcome": run.outcome,
                    "reason": run.reason[:100] if run.reason else None,
                    "at": aware(run.at, "at"),
                }
            )
        if not rows:
            return 0
        async with self._writing(conn) as c:
            for chunk in chunks(rows):
                await c.execute(insert(step_runs), list(chunk))
        return len(rows)
