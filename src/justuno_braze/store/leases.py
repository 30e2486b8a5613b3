"""Choosing whole users to lease (the heart of ``Outbox.claim``), inside its transaction.

1. scan the oldest due jobs (``available_at <= now``: pending and due, or leased with an
   expired lease) through the ``(available_at, id)`` index, skipping failing connections;
2. PostgreSQL: take each candidate user's transaction-scoped advisory lock with
   ``pg_try_advisory_xact_lock`` (never waits; a user locked by another claimer is left
   to it). SQLite needs none: the claim runs in ``BEGIN IMMEDIATE``, one writer at a time;
3. read each locked user's whole queue (a statement that starts after the lock, so it
   sees any lease committed by the previous holder) and keep the users with nothing
   waiting: no live lease, no retry backing off. A user with a retry backing off has its
   due jobs deferred to the retry's time, so they stop clogging the head of the scan.

A user is taken whole or not at all; ``limit`` counts jobs (the first user always fits).
Only the lock holder updates a user's queued rows, so claims cannot deadlock (a ``FOR
UPDATE SKIP LOCKED`` scan could: two claimers each holding rows of the other's user).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, literal, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.store.dialect import chunks
from justuno_braze.store.tables import Id, UtcDateTime, connections
from justuno_braze.store.tables import outbox as _O

MAX_PAGES = 4  # a claim scans at most this many pages of due jobs
UserKey = tuple[int, str]
JOB_COLUMNS = (  # what a Job is made of, in this order
    _O.c.id,
    _O.c.connection_id,
    _O.c.user_key,
    _O.c.source_key,
    _O.c.occurred_at,
    _O.c.attributes,
    _O.c.event,
    _O.c.import_id,
    _O.c.workflow_id,
    _O.c.workflow_version,
    _O.c.attempts,
    _O.c.enqueued_at,
    _O.c.last_error,
    _O.c.account_id,
    _O.c.visitor_id,
    _O.c.state,
    _O.c.available_at,
)
_ADVISORY_LOCKS = text(
    "SELECT k FROM unnest(CAST(:keys AS bigint[])) AS t(k) WHERE pg_try_advisory_xact_lock(k)"
)
_TEXT_ARRAY = ARRAY(String())


async def pick_users(conn: AsyncConnection, *, limit: int, now: datetime) -> list[list[Any]]:
    """Choose whole users to claim (inside the claim transaction); see ``Outbox.claim``."""
    postgres = conn.dialect.name == "postgresql"
    chosen: list[list[Any]] = []
    seen: set[UserKey] = set()
    deferrals: list[dict[str, Any]] = []
    total = 0
    after: tuple[datetime, int] | None = None
    failing = list(
        (await conn.execute(select(connections.c.id).where(connections.c.status != "ok"))).scalars()
    )
    for _ in range(MAX_PAGES):
        # No join: the (available_at, id) index alone serves this scan, whatever the
        # planner's statistics say (a join let PostgreSQL pick a full scan + sort after a
        # bulk import). A failing connection's due jobs are filtered while scanning past.
        scan = select(_O.c.id, _O.c.connection_id, _O.c.user_key, _O.c.available_at).where(
            _O.c.available_at <= now
        )
        if failing:
            scan = scan.where(_O.c.connection_id.not_in(failing))
        if after is not None:
            scan = scan.where(
                tuple_(_O.c.available_at, _O.c.id)
                > tuple_(literal(after[0], UtcDateTime()), literal(after[1], Id))
            )
        scan = scan.order_by(_O.c.available_at, _O.c.id).limit(limit)
        page = (await conn.execute(scan)).all()
        if not page:
            break
        after = (page[-1].available_at, page[-1].id)
        users = [u for u in dict.fromkeys((r.connection_id, r.user_key) for r in page)]
        users = [u for u in users if u not in seen]
        seen.update(users)
        if postgres and users:
            users = await _lock(conn, users)
        queues = await _queues(conn, users)
        full = False
        for user in users:
            jobs = queues.get(user)
            if not jobs:
                continue
            waiting = [j for j in jobs if j.available_at > now]
            if waiting:
                if all(j.state == "pending" for j in waiting):
                    # A retry is backing off: its later jobs wait behind it (user order).
                    until = max(j.available_at for j in waiting)
                    deferrals.extend(
                        {"b_id": j.id, "b_at": until} for j in jobs if j.available_at <= now
                    )
                continue
            if total and total + len(jobs) > limit:
                full = True
                break
            chosen.append(jobs)
            total += len(jobs)
        if full or total >= limit or len(page) < limit:
            break
    if deferrals:
        await conn.execute(
            update(_O)
            .where(_O.c.id == bindparam("b_id"), _O.c.state == "pending")
            .values(available_at=bindparam("b_at")),
            deferrals,
        )
    return chosen


async def _lock(conn: AsyncConnection, users: list[UserKey]) -> list[UserKey]:
    """The users whose advisory lock this transaction got (PostgreSQL)."""
    keys = [lock_key(u) for u in users]
    got = set((await conn.execute(_ADVISORY_LOCKS, {"keys": keys})).scalars())
    return [u for u, k in zip(users, keys, strict=True) if k in got]


def lock_key(user: UserKey) -> int:
    digest = hashlib.blake2b(
        f"{user[0]}\x00{user[1]}".encode(), digest_size=8, person=b"jb-outbox"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _queues(conn: AsyncConnection, users: list[UserKey]) -> dict[UserKey, list[Any]]:
    """Every queued job (pending or leased) of ``users``, in (occurred_at, id) order."""
    out: dict[UserKey, list[Any]] = defaultdict(list)
    by_connection: dict[int, list[str]] = defaultdict(list)
    for connection_id, user_key in users:
        by_connection[connection_id].append(user_key)
    for connection_id, keys in by_connection.items():
        for chunk in chunks(keys):
            # one connection at a time: ``user_key IN (…)`` is an index condition, where a
            # tuple IN became one bitmap scan per user on PostgreSQL
            in_chunk = (
                _O.c.user_key == any_(literal(list(chunk), _TEXT_ARRAY))  # one prepared plan
                if conn.dialect.name == "postgresql"
                else _O.c.user_key.in_(chunk)
            )
            rows = await conn.execute(
                select(*JOB_COLUMNS)
                .where(
                    _O.c.available_at.is_not(None),
                    _O.c.connection_id == connection_id,
                    in_chunk,
                )
                .order_by(_O.c.user_key, _O.c.occurred_at, _O.c.id)
            )
            for row in rows:
                out[(connection_id, row.user_key)].append(row)
    return out
