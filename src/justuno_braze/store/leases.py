"""Choosing whole users to lease (the heart of ``Outbox.claim``), inside its transaction.

1. scan the oldest due jobs (``available_at <= now``: pending and due, or leased with an
   expired lease) through the ``(available_at, id)`` index, skipping failing connections.
   On SQLite the scan reads the jobs whole, with how many jobs each user has queued: a
   user whose only queued job is in the page is complete (step 3 is for the others);
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

import functools
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    Text,
    any_,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from justuno_braze.store.dialect import chunks
from justuno_braze.store.sqlite_direct import fetch_all
from justuno_braze.store.tables import Id, UtcDateTime, connections, from_micros, to_micros
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
# What a claim reads of each queued job first (``pick_users`` rows start with these, the
# caller's payload columns follow).
QUEUE_HEAD = (_O.c.id, _O.c.connection_id, _O.c.user_key, _O.c.state, _O.c.available_at)
_ADVISORY_LOCKS = text(  # the keys as one JSON text: see ``members``
    "SELECT k FROM (SELECT CAST(value AS bigint) AS k"
    " FROM json_array_elements_text(CAST(:keys AS json))) AS t"
    " WHERE pg_try_advisory_xact_lock(k)"
)
_RAW_TIME = BigInteger()
_AWARE = DateTime(timezone=True)
_RAW_JSON = Text()


def members(conn: AsyncConnection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` with the values as ONE JSON text parameter (orjson encodes it
    in C; a driver's array dumper or an expanding ``IN (?, ?, …)`` works per element), in a
    constant statement that is compiled and prepared once. PostgreSQL: ``= ANY(ARRAY(SELECT
    … json_array_elements_text(…)))``, an index condition like ``= ANY(array)``; SQLite:
    ``IN (SELECT value FROM json_each(…))``."""
    if not values:
        return false()
    if conn.dialect.name == "postgresql":
        cast = "bigint" if isinstance(values[0], int) else "text"
        each = (
            text(f"SELECT CAST(json_array_elements_text(CAST(:members AS json)) AS {cast})")
            .bindparams(_as_json(values))
            .columns(column.type)
        )
        return column == any_(func.array(each.scalar_subquery()))  # type: ignore[no-any-return]
    found: Select[Any] = select(literal_column("value")).select_from(
        text("json_each(:members)").bindparams(_as_json(values))
    )
    return column.in_(found)  # type: ignore[no-any-return]


def _as_json(values: Sequence[Any]) -> BindParameter[str]:
    # unique: a statement may hold several of these, each its own parameter
    return bindparam("members", orjson.dumps(list(values)).decode(), unique=True)


class Reader:
    """How a claim reads the outbox's time and JSON columns without a per-value conversion
    by the column types: SQLite's integer microseconds are read raw, compared as integers
    and turned into a datetime once per distinct value (a batch's jobs share a few enqueue
    and lease times); its JSON text is parsed with orjson directly. PostgreSQL's driver
    already returns aware UTC datetimes (the session is in UTC) and parsed JSON."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.raw = conn.dialect.name == "sqlite"
        self._memo: dict[int, datetime] = {}

    def column(self, column: Any) -> Any:
        if isinstance(column.type, UtcDateTime):
            raw = _RAW_TIME if self.raw else _AWARE
            return type_coerce(column, raw).label(column.name)
        if self.raw and isinstance(column.type, JSON):
            return type_coerce(column, _RAW_JSON).label(column.name)
        return column

    def encode(self, value: datetime) -> Any:
        return to_micros(value) if self.raw else value

    def time(self, value: Any) -> datetime:
        if not self.raw:
            return value  # type: ignore[no-any-return]
        found = self._memo.get(value)
        if found is None:
            found = self._memo[value] = from_micros(value)
        return found

    def json(self, value: Any) -> Any:
        return orjson.loads(value) if self.raw and value is not None else value

    def literal(self, value: Any) -> Any:
        return literal(value, _RAW_TIME) if self.raw else literal(value, UtcDateTime())


async def pick_users(
    conn: AsyncConnection,
    *,
    limit: int,
    now: datetime,
    reader: Reader | None = None,
    payload: Sequence[Any] = JOB_COLUMNS[3:15],
) -> list[list[Any]]:
    """Choose whole users to claim (inside the claim transaction); see ``Outbox.claim``.

    Each chosen user's rows hold ``QUEUE_HEAD`` then ``payload``, as ``reader`` reads them
    (on SQLite, times and JSON raw: decode them with the same reader)."""
    return await _pick(conn, reader or Reader(conn), limit=limit, now=now, payload=payload)


async def _pick(
    conn: AsyncConnection,
    reader: Reader,
    *,
    limit: int,
    now: datetime,
    payload: Sequence[Any],
) -> list[list[Any]]:
    postgres = conn.dialect.name == "postgresql"
    chosen: list[list[Any]] = []
    seen: set[UserKey] = set()
    deferrals: list[dict[str, Any]] = []
    total = 0
    after: tuple[Any, int] | None = None
    due_now = reader.encode(now)
    failing = await _failing(conn) if postgres else []  # SQLite: in the scan statement
    for _ in range(MAX_PAGES):
        if postgres:
            page, after, whole = await _scan(conn, reader, now, failing, after, limit)
        else:
            page, after, whole = await _scan_sqlite(conn, due_now, after, limit, payload)
        if not page:
            break
        users = [u for u in dict.fromkeys((r[1], r[2]) for r in page) if u not in seen]
        seen.update(users)
        if postgres and users:
            users = await _lock(conn, users)
        rest = [u for u in users if u not in whole]
        queues = await _queues(conn, reader, rest, payload) if rest else {}
        full = False
        for user in users:
            jobs = whole.get(user)  # its only queued job, and it is due
            if jobs is None:
                jobs = queues.get(user)
                if not jobs:
                    continue
                waiting = [j for j in jobs if j[4] > due_now]
                if waiting:
                    if all(j[3] == "pending" for j in waiting):
                        # A retry is backing off: its later jobs wait behind it (user order).
                        until = reader.time(max(j[4] for j in waiting))
                        deferrals.extend(
                            {"b_id": j[0], "b_at": until} for j in jobs if j[4] <= due_now
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


Page = tuple[Sequence[Any], tuple[Any, int] | None, dict[UserKey, list[Any]]]


async def _failing(conn: AsyncConnection) -> list[int]:
    """The connections not ``ok`` (their jobs wait)."""
    stmt = select(connections.c.id).where(connections.c.status != "ok")
    return list((await conn.execute(stmt)).scalars())


async def _scan(
    conn: AsyncConnection,
    reader: Reader,
    now: datetime,
    failing: list[int],
    after: tuple[Any, int] | None,
    limit: int,
) -> Page:
    """A page of the oldest due jobs ``(id, connection_id, user_key, available_at)``; the
    users' queues are read by ``_queues`` once their locks are held (PostgreSQL)."""
    # No join: the (available_at, id) index alone serves this scan, whatever the planner's
    # statistics say (a join let PostgreSQL pick a full scan + sort after a bulk import).
    # A failing connection's due jobs are filtered while scanning past.
    scan = select(_O.c.id, _O.c.connection_id, _O.c.user_key, reader.column(_O.c.available_at))
    scan = scan.where(_O.c.available_at <= now)
    if failing:
        scan = scan.where(_O.c.connection_id.not_in(failing))
    if after is not None:
        scan = scan.where(
            tuple_(_O.c.available_at, _O.c.id)
            > tuple_(reader.literal(after[0]), literal(after[1], Id))
        )
    page = (await conn.execute(scan.order_by(_O.c.available_at, _O.c.id).limit(limit))).all()
    return page, (page[-1][3], page[-1][0]) if page else None, {}


async def _scan_sqlite(
    conn: AsyncConnection,
    due_now: int,
    after: tuple[Any, int] | None,
    limit: int,
    payload: Sequence[Any],
) -> Page:
    """A page of the oldest due jobs, read whole (``QUEUE_HEAD`` + ``payload``, then how
    many jobs the user has queued) in ONE statement, as the claim holds SQLite's only write
    lock (``BEGIN IMMEDIATE``): nothing can change between this read and the lease. A user
    whose only queued job is in the page is complete (the common case: one job per user);
    the others' queues are read by ``_queues``. Failing connections are skipped in the
    statement itself."""
    sql = _sqlite_scan(tuple(c.name for c in payload), after is not None)
    params: dict[str, Any] = {"now": due_now, "limit": limit}
    if after is not None:
        params["after_at"], params["after_id"] = after
    page = await fetch_all(conn, sql, params)
    whole = {(r[1], r[2]): [r] for r in page if r[-1] == 1}
    return page, (page[-1][4], page[-1][0]) if page else None, whole


# ``{columns}``: QUEUE_HEAD + the payload, by their names in ``tables.outbox`` (no input).
_SQLITE_SCAN = (
    "SELECT {columns}, (SELECT count(*) FROM outbox AS q"
    " WHERE q.connection_id = o.connection_id AND q.user_key = o.user_key"
    " AND q.available_at IS NOT NULL)"
    " FROM outbox AS o WHERE o.available_at <= :now"
    " AND o.connection_id NOT IN (SELECT id FROM connections WHERE status != 'ok'){paged}"
    " ORDER BY o.available_at, o.id LIMIT :limit"
)


@functools.cache
def _sqlite_scan(payload: tuple[str, ...], paged: bool) -> str:
    columns = ", ".join(f"o.{name}" for name in (*(c.name for c in QUEUE_HEAD), *payload))
    after = " AND (o.available_at, o.id) > (:after_at, :after_id)" if paged else ""
    return _SQLITE_SCAN.format(columns=columns, paged=after)


async def _lock(conn: AsyncConnection, users: list[UserKey]) -> list[UserKey]:
    """The users whose advisory lock this transaction got (PostgreSQL)."""
    keys = [lock_key(u) for u in users]
    got = set(
        (await conn.execute(_ADVISORY_LOCKS, {"keys": orjson.dumps(keys).decode()})).scalars()
    )
    return [u for u, k in zip(users, keys, strict=True) if k in got]


def lock_key(user: UserKey) -> int:
    digest = hashlib.blake2b(
        f"{user[0]}\x00{user[1]}".encode(), digest_size=8, person=b"jb-outbox"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _queues(
    conn: AsyncConnection, reader: Reader, users: list[UserKey], payload: Sequence[Any]
) -> dict[UserKey, list[Any]]:
    """Every queued job (pending or leased) of ``users``, in (occurred_at, id) order."""
    out: dict[UserKey, list[Any]] = defaultdict(list)
    by_connection: dict[int, list[str]] = defaultdict(list)
    for connection_id, user_key in users:
        by_connection[connection_id].append(user_key)
    columns = [reader.column(c) for c in (*QUEUE_HEAD, *payload)]
    for connection_id, keys in by_connection.items():
        for chunk in chunks(keys):
            # one connection at a time: ``user_key IN (…)`` is an index condition, where a
            # tuple IN became one bitmap scan per user on PostgreSQL
            rows = await conn.execute(
                select(*columns)
                .where(
                    _O.c.available_at.is_not(None),
                    _O.c.connection_id == connection_id,
                    members(conn, _O.c.user_key, chunk),  # one prepared plan
                )
                .order_by(_O.c.user_key, _O.c.occurred_at, _O.c.id)
            )
            for row in rows.all():  # fetched at once: no per-row fetch calls
                out[(connection_id, row[2])].append(row)
    return out
