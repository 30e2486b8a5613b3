"""Ingestion: one event or ``{"events": [...]}`` accepted durably, all or nothing.

``ingest`` validates EVERY event first (each bad one named by index and field); a body
with any problem is kept in the quarantine with the reasons and refused whole
(:class:`IngestRefused`; nothing else is stored). A valid body is then committed in ONE
transaction: the new events (duplicate ``event_id``s ignored: accepted once), the
visitors' profiles with the new events merged in order, and for every active workflow
the event triggers — at the version published NOW, at arrival — the enrollment, the Sync
to App step's outbox jobs (:func:`~justuno_braze.services.sync.sync_jobs`), the consent
ledger entries, the step runs and the enrollment history. Each repository is called once
per transaction, whatever the batch size (the throughput goal is 10,000 events/s).

Group commit: requests that arrive while a transaction runs are committed together in
the next one (:class:`GroupCommit`), each answered with its own result only after that
transaction commits — many single-event requests cost one transaction, and nothing waits
on a timer. :mod:`~justuno_braze.services.ingest_plan` is the pure part.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from justuno_braze.errors import InputError
from justuno_braze.events import Event, parse_event
from justuno_braze.services.ingest_plan import plan, trigger_of
from justuno_braze.store import Account, Connection, Store
from justuno_braze.store.session import transaction

log = logging.getLogger(__name__)

MAX_EVENTS = 1000  # events per request
MAX_BODY_BYTES = 1024 * 1024  # bytes per request body (checked by the web layer first)
GROUP_MAX_EVENTS = 5000  # events per group-committed transaction
CONNECTIONS_TTL = 2.0  # seconds an account's Braze connections are reused between requests


@dataclass(frozen=True, slots=True)
class IngestResult:
    """``accepted``: events newly stored; ``duplicates``: already known (accepted once);
    ``event_ids``: the id of each event of the request, in order (derived when absent)."""

    accepted: int
    duplicates: int
    event_ids: list[str]
    enqueued: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a body was refused: the event's ``index`` in a batch (None for a single
    event or the body itself), the ``field`` and the words."""

    field: str
    message: str
    index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "index": self.index}


class IngestRefused(InputError):
    """The body was refused whole (and quarantined). ``status`` is the HTTP status
    (400 not JSON, 413 too large, 422 invalid events); ``problems`` names every problem."""

    def __init__(self, status: int, message: str, problems: Sequence[Problem]) -> None:
        self.status = status
        self.problems = list(problems)
        self.quarantine_id: int | None = None
        super().__init__(message)  # the message names the fields itself
        self.field = self.problems[0].field if self.problems else None


# --------------------------------------------------------------------------- parsing


def decode(body: bytes) -> object:
    """The JSON of a request body, or ``IngestRefused`` (400)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise IngestRefused(
            400, f"the body is not valid JSON ({exc})", [Problem("body", f"not valid JSON ({exc})")]
        ) from None


def parse_body(data: object, *, now: datetime) -> list[Event]:
    """One event (an object) or a batch ``{"events": [...]}`` of 1 to ``MAX_EVENTS``;
    every invalid event is reported (``events[3].visitor_id``), not just the first."""
    if isinstance(data, dict) and "events" in data:
        items = data["events"]
        if not isinstance(items, list) or not items:
            raise IngestRefused(
                422,
                "events: must be a non-empty array of events",
                [Problem("events", "must be a non-empty array of events")],
            )
        if len(items) > MAX_EVENTS:
            message = f"a batch holds at most {MAX_EVENTS} events, got {len(items)}"
            raise IngestRefused(413, f"events: {message}", [Problem("events", message)])
        events: list[Event] = []
        problems: list[Problem] = []
        for i, item in enumerate(items):
            try:
                events.append(parse_event(item, now=now))
            except InputError as exc:
                problems.append(_problem(exc, prefix=f"events[{i}].", index=i))
        if problems:
            raise IngestRefused(
                422,
                f"{len(problems)} of {len(items)} events are invalid; nothing was stored: "
                + "; ".join(f"{p.field}: {p.message}" for p in problems[:5])
                + ("; …" if len(problems) > 5 else ""),
                problems,
            )
        return events
    try:
        return [parse_event(data, now=now)]
    except InputError as exc:
        problem = _problem(exc, prefix="", index=None)
        raise IngestRefused(422, f"{problem.field}: {problem.message}", [problem]) from None


def design_problem(data: object, design: str) -> str | None:
    """Why ``data`` is not what a public design key may post, or None: exactly ONE event
    (no batch), of type ``form_submitted``, from the key's own ``design``."""
    if not isinstance(data, dict) or "events" in data:
        return "a design key posts exactly one event per request (no batch)"
    if data.get("type") != "form_submitted":
        return f"a design key posts only form_submitted events, not {data.get('type')!r}"
    if data.get("design_id") != design:
        return f"this design key is for design {design!r}, not {data.get('design_id')!r}"
    return None


def _problem(exc: InputError, *, prefix: str, index: int | None) -> Problem:
    name = exc.field or "event"
    return Problem(f"{prefix}{name}", str(exc).removeprefix(f"{exc.field}: "), index)


async def quarantine(
    store: Store, account_id: int, refused: IngestRefused, body: bytes, *, now: datetime
) -> IngestRefused:
    """Keep the refused ``body`` with its reasons; returns ``refused`` (with its id)."""
    refused.quarantine_id = await store.quarantine.add(
        account_id,
        source="api",
        reason=[p.as_dict() for p in refused.problems],
        body=body,
        received_at=now,
    )
    return refused


# --------------------------------------------------------------------------- ingestion


async def ingest(
    store: Store,
    account: Account,
    payload: bytes | object,
    *,
    now: datetime,
    group: GroupCommit | None = None,
) -> IngestResult:
    """Accept ``payload`` (the raw body, or already-decoded JSON) for ``account``.

    Raises :class:`IngestRefused` (after quarantining the body) when it is not valid.
    With ``group``, the commit joins the other requests in flight (see module docs).
    """
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    try:
        data = decode(payload) if isinstance(payload, bytes) else payload
        events = parse_body(data, now=now)
    except IngestRefused as refused:
        raise await quarantine(store, account.id, refused, raw, now=now) from None
    if group is not None:
        return await group.commit(account, events, now=now)
    connections = await store.connections.for_account(account.id, app="braze")
    [result] = await commit_many(store, [(account, events, connections)], now=now)
    return result


Request = tuple[Account, Sequence[Event], Sequence[Connection]]


async def commit_many(
    store: Store, requests: Sequence[Request], *, now: datetime
) -> list[IngestResult]:
    """Store the valid events of ``requests`` and their consequences in ONE transaction;
    one result per request (an event in two requests is accepted by the first)."""
    by_account: dict[int, list[int]] = {}
    for i, (account, _, _) in enumerate(requests):
        by_account.setdefault(account.id, []).append(i)
    results: list[IngestResult | None] = [None] * len(requests)
    async with transaction(store.engine) as conn:
        for indexes in by_account.values():
            account, _, connections = requests[indexes[0]]
            events = [e for i in indexes for e in requests[i][1]]
            new = await store.events.insert_new(account.id, events, received_at=now, conn=conn)
            enqueued = await _consequences(store, conn, account, new, connections, now)
            inserted = {e.event_id for e in new}
            for n, i in enumerate(indexes):
                batch = requests[i][1]
                accepted = 0
                for e in batch:  # each new event is counted once, by its first request
                    if e.event_id in inserted:
                        inserted.discard(e.event_id)
                        accepted += 1
                results[i] = IngestResult(
                    accepted=accepted,
                    duplicates=len(batch) - accepted,
                    event_ids=[e.event_id for e in batch],
                    enqueued=enqueued if n == 0 else 0,
                )
    return [r for r in results if r is not None]


async def _consequences(
    store: Store,
    conn: Any,
    account: Account,
    new: Sequence[Event],
    connections: Sequence[Connection],
    now: datetime,
) -> int:
    """Profiles, workflows (the versions published now), jobs, ledger, step runs."""
    if not new:
        return 0
    types = {e.type for e in new}
    published = [
        w
        for w in await store.workflows.active_for(account.id, None, conn=conn)
        if trigger_of(w) in types
    ]
    visitors = list(dict.fromkeys(e.visitor_id for e in new))
    profiles = await store.profiles.get_many(account.id, visitors, conn=conn)
    history = (
        await store.enrollments.get_many(
            account.id, [w.workflow_id for w in published], visitors, conn=conn
        )
        if published
        else {}
    )
    work = plan(account, new, profiles, published, history, connections, now=now)
    enqueued = await store.outbox.enqueue(work.jobs, now=now, conn=conn)
    await store.consent.record_many(account.id, work.consent, recorded_at=now, conn=conn)
    await store.step_runs.record_many(account.id, work.step_runs, conn=conn)
    await store.enrollments.set_many(account.id, work.enrollments, conn=conn)
    await store.profiles.upsert_many(account.id, work.profiles, now=now, conn=conn)
    return enqueued


@dataclass
class _Waiting:
    account: Account
    events: Sequence[Event]
    now: datetime
    future: asyncio.Future[IngestResult]


class GroupCommit:
    """Commits concurrent requests together: the first request starts a transaction at
    once; requests arriving meanwhile wait for it and go together in the next one (up to
    ``max_events`` events). Each caller gets its own result after ITS transaction commits,
    or that transaction's error. Nothing runs when nothing waits (no background task)."""

    def __init__(
        self,
        store: Store,
        *,
        max_events: int = GROUP_MAX_EVENTS,
        connections_ttl: float = CONNECTIONS_TTL,
    ) -> None:
        self.store = store
        self.max_events = max_events
        self.connections_ttl = connections_ttl
        self._waiting: list[_Waiting] = []
        self._runner: asyncio.Task[None] | None = None
        self._connections: dict[int, tuple[float, list[Connection]]] = {}

    async def commit(
        self, account: Account, events: Sequence[Event], *, now: datetime
    ) -> IngestResult:
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(account, events, now, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="ingest-group-commit")
        return await asyncio.shield(future)

    async def _run(self) -> None:
        try:
            while self._waiting:
                group = self._take()
                try:
                    requests = [
                        (w.account, w.events, await self._braze_connections(w.account.id))
                        for w in group
                    ]
                    now = max(w.now for w in group)
                    results = await commit_many(self.store, requests, now=now)
                except BaseException as exc:  # every waiter of this transaction learns it
                    for w in group:
                        if not w.future.done():
                            w.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for w, result in zip(group, results, strict=True):
                    if not w.future.done():
                        w.future.set_result(result)
        finally:
            self._runner = None

    def _take(self) -> list[_Waiting]:
        taken: list[_Waiting] = []
        count = 0
        while self._waiting and (
            not taken or count + len(self._waiting[0].events) <= self.max_events
        ):
            item = self._waiting.pop(0)
            taken.append(item)
            count += len(item.events)
        return taken

    async def _braze_connections(self, account_id: int) -> list[Connection]:
        cached = self._connections.get(account_id)
        clock = time.monotonic()
        if cached is not None and clock - cached[0] < self.connections_ttl:
            return cached[1]
        found = await self.store.connections.for_account(account_id, app="braze")
        self._connections[account_id] = (clock, found)
        return found
