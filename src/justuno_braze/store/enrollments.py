"""When each visitor last enrolled in each workflow (the workflow engine's history:
``once`` and ``once_per_session`` re-enrollment read it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.scoped import Scoped, aware, chunks
from justuno_braze.store.tables import enrollments

EnrollmentKey = tuple[int, str]  # (workflow_id, visitor_id)
_N = enrollments


class Enrollments(Scoped):
    """The ``enrollments`` repository."""

    async def get_many(
        self,
        account_id: int,
        workflow_ids: Sequence[int],
        visitor_ids: Sequence[str],
        *,
        conn: AsyncConnection | None = None,
    ) -> dict[EnrollmentKey, datetime]:
        """``{(workflow_id, visitor_id): last_enrolled_at}`` for every pair that has one."""
        out: dict[EnrollmentKey, datetime] = {}
        if not workflow_ids or not visitor_ids:
            return out
        wanted = list(dict.fromkeys(visitor_ids))
        async with self._reading(conn) as c:
            for chunk in chunks(wanted):
                rows = await c.execute(
                    select(_N.c.workflow_id, _N.c.visitor_id, _N.c.last_enrolled_at).where(
                        _N.c.account_id == account_id,
                        _N.c.workflow_id.in_(list(workflow_ids)),
                        _N.c.visitor_id.in_(chunk),
                    )
                )
                for workflow_id, visitor_id, at in rows:
                    out[(workflow_id, visitor_id)] = at
        return out

    async def set_many(
        self,
        account_id: int,
        entries: Mapping[EnrollmentKey, datetime],
        *,
        conn: AsyncConnection | None = None,
    ) -> None:
        """Record enrollments; a stored time later than the given one is kept."""
        rows = [
            {
                "account_id": account_id,
                "workflow_id": workflow_id,
                "visitor_id": visitor_id,
                "last_enrolled_at": aware(at, "last_enrolled_at"),
            }
            for (workflow_id, visitor_id), at in entries.items()
        ]
        if not rows:
            return
        async with self._writing(conn) as c:
            insert = upsert_insert(c.dialect, _N)
            stmt = insert.on_conflict_do_update(
                index_elements=["account_id", "workflow_id", "visitor_id"],
                set_={
                    "last_enrolled_at": case(
                        (
                            insert.excluded.last_enrolled_at > _N.c.last_enrolled_at,
                            insert.excluded.last_enrolled_at,
                        ),
                        else_=_N.c.last_enrolled_at,
                    )
                },
            )
            for chunk in chunks(rows):
                await c.execute(stmt, list(chunk))
