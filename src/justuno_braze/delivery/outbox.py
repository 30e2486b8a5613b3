"""The durable outbox: what was accepted for Braze, until Braze took it or it died.

API notes for the worker (F2):
- Every method takes ``now`` (aware UTC) where time matters; nothing reads the clock.
- ``claim`` returns whole users: every queued job of each claimed ``(connection_id,
  user_key)``, sorted by ``(connection_id, user_key, occurred_at, id)``. A user whose queue
  holds a job that is not due yet (a retry waiting for ``available_at``) is not claimed at
  all, so a backed-off update is never overtaken by a later one of the same user.
  ``limit`` counts jobs; the last user is included only if it fits, except that the first
  user is always taken whole (so a batch may exceed ``limit`` by one big user).
- ``ack`` / ``retry`` / ``release`` / ``dead`` / ``extend_lease`` only touch jobs still
  leased by ``worker_id``; they return how many jobs they changed (a lower number than
  asked means the lease was lost to another worker: drop those results). Returning the
  count is an addition to the agreed ``-> None``.
- ``claim_batch`` is ``claim`` for the worker's hot loop: the same jobs as
  :class:`ClaimedJob` tuples (a ``Job``'s fields, no per-job dataclass construction).
- A lease expiry is stored in ``available_at`` while a job is ``leased``; a lease covers
  ``[claim, claim + lease_seconds)``: at ``now >= lease_until`` it is reclaimable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
from sqlalchemy import ColumnElement, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from justuno_braze.errors import InputError
from justuno_braze.store.dialect import chunks
from justuno_braze.store.leases import JOB_COLUMNS, Reader, members, pick_users
from justuno_braze.store.outbox_insert import insert_jobs
from justuno_braze.store.session import joined, reading, transaction
from justuno_braze.store.sqlite_direct import fetch_all
from justuno_braze.store.tables import outbox, to_micros

JobState = str  # 'pending' | 'leased' | 'delivered' | 'dead'
STATES: tuple[str, ...] = ("pending", "leased", "delivered", "dead")


@dataclass(frozen=True, slots=True)
class NewJob:
    """One payload to deliver: one user's attributes and/or event from one source."""

    connection_id: int
    user_key: str
    source_key: str
    occurred_at: datetime
    attributes: Mapping[str, Any] | None
    event: Mapping[str, Any] | None
    import_id: str | None = None
    workflow_id: str | None = None
    workflow_version: int | None = None
    account_id: int | None = None  # the connection's account (0002, for the profile history)
    visitor_id: str | None = None  # the Justuno visitor the job came from


@dataclass(frozen=True, slots=True, kw_only=True)
class Job(NewJob):
    """A job as stored (``claim`` returns these). The extra fields are keyword-only."""

    id: int
    attempts: int
    enqueued_at: datetime
    last_error: str | None


class ClaimedJob(NamedTuple):
    """A claimed job as ``claim_batch`` returns it: what delivery reads of a :class:`Job`."""

    id: int
    connection_id: int
    user_key: str
    source_key: str
    occurred_at: datetime
    attributes: Mapping[str, Any] | None
    event: Mapping[str, Any] | None
    attempts: int
    enqueued_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that Braze refused for good (or that ran out of retries), with the reason."""

    id: int
    connection_id: int
    user_key: str
    source_key: str
    occurred_at: datetime
    attributes: Mapping[str, Any] | None
    event: Mapping[str, Any] | None
    import_id: str | None
    workflow_id: str | None
    workflow_version: int | None
    attempts: int
    reason: str
    enqueued_at: datetime
    dead_at: datetime


_O = outbox
# What a claim reads after ``QUEUE_HEAD`` (id, connection_id, user_key, state,
# available_at): everything of a Job, or only what delivery needs.
_JOB = JOB_COLUMNS[3:15]  # source_key … visitor_id
_DELIVERY = (
    _O.c.source_key,
    _O.c.occurred_at,
    _O.c.attributes,
    _O.c.event,
    _O.c.attempts,
    _O.c.enqueued_at,
)
_DEAD = _O.c.state == literal_column("'dead'")  # inline: matches the partial index
_LEASE_SQLITE = (  # sent straight to aiosqlite: see ``store.sqlite_direct``
    "UPDATE outbox SET state = 'leased', lease_owner = :owner, available_at = :until"
    " WHERE id IN (SELECT value FROM json_each(:ids))"
)
_ACK_SQLITE = (  # the ack of ``_finish`` in one hand-off (RETURNING: how many it changed)
    "UPDATE outbox SET state = 'delivered', available_at = NULL, finished_at = :now,"
    " lease_owner = NULL WHERE id IN (SELECT value FROM json_each(:ids))"
    " AND state = 'leased' AND lease_owner = :owner RETURNING id"
)


class Outbox:
    """The outbox repository on the store's async engine (SQLite or PostgreSQL).

    Claims are race-free across processes: a per-user advisory lock on PostgreSQL, one
    writer (``BEGIN IMMEDIATE``) on SQLite; the how is in :mod:`justuno_braze.store.leases`.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enqueue(
        self, jobs: Sequence[NewJob], *, now: datetime, conn: AsyncConnection | None = None
    ) -> int:
        """Insert ``jobs`` (bulk); duplicates on ``(connection_id, source_key)`` are ignored.

        Returns how many were inserted. Jobs are ``pending`` and due at ``now``. Pass
        ``conn`` to enqueue inside the caller's transaction (e.g. with the ingested event).
        """
        _aware(now, "now")
        rows = [_row(job, now) for job in jobs]
        if not rows:
            return 0
        if conn is not None:
            return await insert_jobs(conn, rows)
        async with transaction(self._engine) as own:
            return await insert_jobs(own, rows)

    async def claim(
        self, *, worker_id: str, limit: int, now: datetime, lease_seconds: float
    ) -> list[Job]:
        """Lease whole users' due jobs (connections with status ``ok``), oldest first.

        Never returns a job of a user on which another worker holds a live lease; expired
        leases are reclaimed. See the module docstring.
        """
        rows, read = await self._lease(worker_id, limit, now, lease_seconds, _JOB)
        time, json = read.time, read.json
        return [
            Job(
                r[1],
                r[2],
                r[5],
                time(r[6]),
                json(r[7]),
                json(r[8]),
                r[9],
                r[10],
                r[11],
                r[15],
                r[16],
                id=r[0],
                attempts=r[12],
                enqueued_at=time(r[13]),
                last_error=r[14],
            )
            for r in rows
        ]

    async def claim_batch(
        self, *, worker_id: str, limit: int, now: datetime, lease_seconds: float
    ) -> list[ClaimedJob]:
        """:meth:`claim` for the worker's hot loop: the same jobs as :class:`ClaimedJob`
        tuples (no per-job dataclass, only the columns delivery reads)."""
        rows, read = await self._lease(worker_id, limit, now, lease_seconds, _DELIVERY)
        time, json, new = read.time, read.json, tuple.__new__
        return [
            new(ClaimedJob, (*r[:3], r[5], time(r[6]), json(r[7]), json(r[8]), r[9], time(r[10])))
            for r in rows
        ]

    async def _lease(
        self,
        worker_id: str,
        limit: int,
        now: datetime,
        lease_seconds: float,
        payload: Sequence[Any],
    ) -> tuple[list[Any], Reader]:
        """Pick whole users and lease their jobs; the rows (``QUEUE_HEAD`` + ``payload``)
        in claim order, and how to decode them."""
        if limit < 1:
            raise InputError("must be at least 1", field="limit")
        _aware(now, "now")
        lease_until = now + timedelta(seconds=lease_seconds)
        async with transaction(self._engine) as conn:
            reader = Reader(conn)
            claimed = await pick_users(conn, limit=limit, now=now, reader=reader, payload=payload)
            rows = [row for jobs in claimed for row in jobs]
            if not rows:
                return [], reader
            lease = update(_O).values(
                state="leased", lease_owner=worker_id, available_at=lease_until
            )
            ids = [row[0] for row in rows]
            if conn.dialect.name == "sqlite":
                # One writer (BEGIN IMMEDIATE) read these rows in this very transaction:
                # every one of them is leased, no need to read the ids back.
                ids_json = orjson.dumps(ids).decode()
                params = {"owner": worker_id, "until": to_micros(lease_until), "ids": ids_json}
                await fetch_all(conn, _LEASE_SQLITE, params)
                return rows, reader
            leased: set[int] = set()
            for chunk in chunks(ids):
                result = await conn.execute(
                    lease.where(members(conn, _O.c.id, chunk), _O.c.available_at <= now).returning(
                        _O.c.id
                    )
                )
                leased.update(result.scalars())
        return [row for row in rows if row[0] in leased], reader

    async def extend_lease(
        self, job_ids: Sequence[int], *, worker_id: str, now: datetime, lease_seconds: float
    ) -> int:
        """Push the lease of ``job_ids`` (still held by ``worker_id``) to now + lease."""
        return await self._finish(
            job_ids, worker_id, None, available_at=now + timedelta(seconds=lease_seconds)
        )

    async def ack(
        self,
        job_ids: Sequence[int],
        *,
        worker_id: str,
        now: datetime,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Braze accepted these: ``delivered``. Pass ``conn`` to write in the caller's
        transaction (as the settle methods below all do)."""
        if job_ids and self._engine.dialect.name == "sqlite":
            # Every batch acks: straight to aiosqlite (one hand-off instead of SQLAlchemy's
            # four and its statement building, ~650 µs of CPU per batch).
            _aware(now, "now")
            ids = orjson.dumps(list(job_ids)).decode()
            params = {"now": to_micros(now), "owner": worker_id, "ids": ids}
            async with joined(self._engine, conn) as own:
                return len(await fetch_all(own, _ACK_SQLITE, params))
        return await self._finish(
            job_ids,
            worker_id,
            conn,
            state="delivered",
            available_at=None,
            finished_at=now,
            lease_owner=None,
        )

    async def retry(
        self,
        job_ids: Sequence[int],
        *,
        worker_id: str,
        now: datetime,
        available_at: datetime,
        error: str,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Back to ``pending`` until ``available_at``; ``attempts += 1``; ``last_error``."""
        _aware(available_at, "available_at")
        return await self._finish(
            job_ids,
            worker_id,
            conn,
            state="pending",
            available_at=available_at,
            attempts=_O.c.attempts + 1,
            last_error=error,
            lease_owner=None,
        )

    async def release(
        self, job_ids: Sequence[int], *, worker_id: str, conn: AsyncConnection | None = None
    ) -> int:
        """Back to ``pending`` and due, ``attempts`` unchanged (e.g. an auth pause)."""
        return await self._finish(
            job_ids,
            worker_id,
            conn,
            state="pending",
            available_at=_O.c.enqueued_at,
            lease_owner=None,
        )

    async def dead(
        self,
        items: Sequence[tuple[int, str]],
        *,
        worker_id: str,
        now: datetime,
        conn: AsyncConnection | None = None,
    ) -> int:
        """Dead-letter ``(job_id, Braze's reason)`` pairs (``attempts += 1``)."""
        by_reason: dict[str, list[int]] = defaultdict(list)
        for job_id, reason in items:
            by_reason[reason].append(job_id)
        changed = 0
        async with joined(self._engine, conn) as own:
            for reason, ids in by_reason.items():
                changed += await _set(
                    own,
                    ids,
                    [_O.c.state == "leased", _O.c.lease_owner == worker_id],
                    state="dead",
                    available_at=None,
                    finished_at=now,
                    attempts=_O.c.attempts + 1,
                    last_error=reason,
                    lease_owner=None,
                )
        return changed

    async def replay(
        self,
        *,
        now: datetime,
        connection_id: int | None = None,
        workflow_id: str | None = None,
        reason_contains: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Sequence[int] | None = None,
    ) -> int:
        """Re-queue dead letters matching every given filter (``since``/``until`` on the
        time they died). ``attempts`` restarts at 0. Returns how many were re-queued."""
        _aware(now, "now")
        where = [_DEAD, *_filters(connection_id, workflow_id, reason_contains)]
        if since is not None:
            where.append(_O.c.finished_at >= since)
        if until is not None:
            where.append(_O.c.finished_at <= until)
        values: dict[str, Any] = {
            "state": "pending",
            "available_at": now,
            "attempts": 0,
            "finished_at": None,
        }
        async with transaction(self._engine) as conn:
            if ids is not None:
                changed = 0
                for chunk in chunks(list(ids)):
                    result = await conn.execute(
                        update(_O).where(members(conn, _O.c.id, chunk), *where).values(**values)
                    )
                    changed += result.rowcount
                return changed
            result = await conn.execute(update(_O).where(*where).values(**values))
            return result.rowcount

    async def counts(
        self, *, import_id: str | None = None, connection_id: int | None = None
    ) -> dict[str, int]:
        """``{'pending': n, 'leased': n, 'delivered': n, 'dead': n}`` (all four keys)."""
        stmt = select(_O.c.state, func.count()).group_by(_O.c.state)
        if import_id is not None:
            stmt = stmt.where(_O.c.import_id == import_id)
        if connection_id is not None:
            stmt = stmt.where(_O.c.connection_id == connection_id)
        out = dict.fromkeys(STATES, 0)
        async with reading(self._engine) as conn:
            for state, n in await conn.execute(stmt):
                out[state] = n
        return out

    async def dead_letters(
        self,
        *,
        connection_id: int | None = None,
        workflow_id: str | None = None,
        reason_contains: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[DeadLetter]:
        """Newest first; page with ``before_id`` (the last id of the previous page)."""
        stmt = select(*JOB_COLUMNS, _O.c.finished_at).where(
            _DEAD, *_filters(connection_id, workflow_id, reason_contains)
        )
        if before_id is not None:
            stmt = stmt.where(_O.c.id < before_id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt.order_by(_O.c.id.desc()).limit(limit))).all()
        return [_dead_letter(row) for row in rows]

    async def depth(self, *, connection_id: int | None = None) -> int:
        """Jobs still to deliver (``pending`` + ``leased``)."""
        stmt = select(func.count()).select_from(_O).where(_O.c.available_at.is_not(None))
        if connection_id is not None:
            stmt = stmt.where(_O.c.connection_id == connection_id)
        async with reading(self._engine) as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def dead_reasons(self, *, import_id: str) -> dict[str | None, int]:
        """How many of the import's jobs are ``dead``, per reason (``None``: no reason)."""
        stmt = (
            select(_O.c.last_error, func.count())
            .where(_O.c.import_id == import_id, _O.c.state == "dead")
            .group_by(_O.c.last_error)
        )
        async with reading(self._engine) as conn:
            return {reason: int(n) for reason, n in await conn.execute(stmt)}

    async def held_source_keys(
        self, connection_id: int, source_keys: Sequence[str], *, conn: AsyncConnection | None = None
    ) -> set[str]:
        """Which of ``source_keys`` the outbox already holds for the connection (any state).

        Pass ``conn`` to read inside the caller's transaction."""
        if not source_keys:
            return set()
        stmt = select(_O.c.source_key).where(
            _O.c.connection_id == connection_id, _O.c.source_key.in_(list(source_keys))
        )
        if conn is not None:
            return set((await conn.execute(stmt)).scalars())
        async with reading(self._engine) as own:
            return set((await own.execute(stmt)).scalars())

    async def connections_with_queued_jobs(self, *, import_id: str) -> list[int]:
        """The connections on which the import has jobs still to deliver (pending or
        leased), by id."""
        stmt = (
            select(_O.c.connection_id)
            .distinct()
            .where(_O.c.import_id == import_id, _O.c.available_at.is_not(None))
            .order_by(_O.c.connection_id)
        )
        async with reading(self._engine) as conn:
            return [int(cid) for cid in (await conn.execute(stmt)).scalars()]

    async def connections_with_pending_jobs(self, *, import_id: str | None = None) -> list[int]:
        """The connections with ``pending`` jobs (of ``import_id`` when given), by id."""
        stmt = select(_O.c.connection_id).where(_O.c.state == "pending").distinct()
        if import_id is not None:
            stmt = stmt.where(_O.c.import_id == import_id)
        async with reading(self._engine) as conn:
            return [
                int(cid)
                for cid in (await conn.execute(stmt.order_by(_O.c.connection_id))).scalars()
            ]

    async def _finish(
        self,
        job_ids: Sequence[int],
        worker_id: str,
        conn: AsyncConnection | None,
        **values: Any,
    ) -> int:
        if not job_ids:
            return 0
        async with joined(self._engine, conn) as own:
            return await _set(
                own, job_ids, [_O.c.state == "leased", _O.c.lease_owner == worker_id], **values
            )


async def _set(
    conn: AsyncConnection, ids: Sequence[int], where: list[ColumnElement[bool]], **values: Any
) -> int:
    changed = 0
    for chunk in chunks(list(ids)):
        result = await conn.execute(
            update(_O).where(members(conn, _O.c.id, chunk), *where).values(**values)
        )
        changed += result.rowcount
    return changed


def _filters(
    connection_id: int | None, workflow_id: str | None, reason_contains: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if connection_id is not None:
        where.append(_O.c.connection_id == connection_id)
    if workflow_id is not None:
        where.append(_O.c.workflow_id == workflow_id)
    if reason_contains:
        where.append(_O.c.last_error.icontains(reason_contains, autoescape=True))
    return where


def _aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError("must be an aware datetime (UTC)", field=field)


def _row(job: NewJob, now: datetime) -> dict[str, Any]:
    _aware(job.occurred_at, "occurred_at")
    if not job.user_key:
        raise InputError("must not be empty", field="user_key")
    if not job.source_key:
        raise InputError("must not be empty", field="source_key")
    if job.attributes is None and job.event is None:
        raise InputError("a job needs attributes or an event", field="attributes")
    return {
        "connection_id": job.connection_id,
        "user_key": job.user_key,
        "source_key": job.source_key,
        "occurred_at": job.occurred_at,
        "attributes": job.attributes,
        "event": job.event,
        "import_id": job.import_id,
        "workflow_id": job.workflow_id,
        "workflow_version": job.workflow_version,
        "account_id": job.account_id,
        "visitor_id": job.visitor_id,
        "state": "pending",
        "attempts": 0,
        "available_at": now,
        "enqueued_at": now,
    }


def _dead_letter(row: Any) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        connection_id=row.connection_id,
        user_key=row.user_key,
        source_key=row.source_key,
        occurred_at=row.occurred_at,
        attributes=row.attributes,
        event=row.event,
        import_id=row.import_id,
        workflow_id=row.workflow_id,
        workflow_version=row.workflow_version,
        attempts=row.attempts,
        reason=row.last_error or "",
        enqueued_at=row.enqueued_at,
        dead_at=row.finished_at,
    )
