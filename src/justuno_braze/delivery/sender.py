"""Sending: a connection's lane, the requests of a batch, and how their outcomes settle.

**Lane** — one Braze connection as a worker sees it.

The lane owns the connection's Braze clients (:class:`~justuno_braze.braze.client.BrazeClient`,
each a keep-alive pool for at most ``POOL_SIZE`` requests in flight, opened as concurrency
needs them and filled lowest first), bounds how many requests are in flight at once (an
AIMD concurrency limit, at most ``max_in_flight``), and spaces sends with a
:class:`~justuno_braze.braze.limits.RateGate` fed by Braze's rate-limit headers
(braze-api.md §8.2). A 429 halves both the concurrency and the request rate and pauses the
lane until Braze's ``Retry-After`` / ``X-Ratelimit-Retry-After`` / reset; successes grow
them back additively. An :class:`AuthError` pauses the lane for good (``paused`` holds the
reason): requests not sent yet are released by the worker, not sent.

The lane never classifies responses itself: that is ``BrazeClient.track``'s job (the one
classifier); it only reacts to the outcome for pacing.

**deliver_requests** — dedup a connection's share of a batch, chunk it, send the requests
concurrently and turn each classified outcome into a decision on a :class:`Settlement`.
**Settlement** — those decisions, applied to the store in bulk once the batch is done, in
one transaction (one ``save``, one ``record_events``, one ``ack``, one ``dead``, a
``retry`` per request).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from justuno_braze.braze.client import BrazeClient, MinorError, TrackRejected, TrackResult
from justuno_braze.braze.limits import Aimd, RateGate, backoff
from justuno_braze.config import Settings
from justuno_braze.delivery.batching import Request, UserUpdate, chunk
from justuno_braze.delivery.dedup import dedup
from justuno_braze.errors import AuthError, PermanentError, TransientError
from justuno_braze.store.session import transaction

if TYPE_CHECKING:
    from justuno_braze.store import Store

log = logging.getLogger(__name__)

# Requests in flight per client. httpcore's pool re-checks EVERY pooled connection on each
# request and each response (an idle one costs two syscalls), so one pool of 48 cost 2-3x
# the CPU per request of 12 pools of 4 at 20 requests in flight (docs/benchmarks.md). That
# still holds for clients on an httpx transport; /users/track without one goes over
# aiohttp, whose pool has no such cost, so there the split is merely harmless.
POOL_SIZE = 4
# Braze's default for /users/track is 3,000 requests per 3 s (§8.1): start there.
INITIAL_RATE = 1000.0
MIN_RATE = 0.5
MAX_RATE = 5000.0


class Lane:
    """Concurrency + rate control around one connection's Braze client."""

    def __init__(
        self,
        connection_id: int,
        open_client: Callable[[], BrazeClient],
        *,
        max_in_flight: int,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        """``open_client`` makes the connection's client: one now (what it raises, this
        raises), another for each further ``POOL_SIZE`` requests in flight."""
        self.connection_id = connection_id
        self.clients = [open_client()]
        self._open_client = open_client
        self._busy = [0]  # requests in flight per client
        self.concurrency = Aimd(
            initial=max_in_flight,
            minimum=1,
            maximum=max_in_flight,
            increase=0.25,
            decrease_factor=0.5,
        )
        self.rate = Aimd(initial=INITIAL_RATE, minimum=MIN_RATE, maximum=MAX_RATE, increase=2.0)
        self.gate = RateGate(self.rate, burst=max_in_flight)
        self.in_flight = 0
        self.sent = 0
        self.throttled = 0
        self.paused: str | None = None
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Condition()

    def pause(self, reason: str) -> None:
        self.paused = reason

    async def _acquire(self, stopping: Callable[[], bool]) -> int | None:
        """A slot: the index of the client to send on, or ``None`` (paused or stopping)."""
        async with self._slots:
            await self._slots.wait_for(
                lambda: (
                    self.paused is not None or stopping() or self.in_flight < self.concurrency.limit
                )
            )
            if self.paused is not None or stopping():
                return None
            index = self._pick_client()  # may open a client: raises before taking a slot
            self.in_flight += 1
            return index

    def _pick_client(self) -> int:
        """The lowest client with room (a new one when all are full)."""
        busy = self._busy
        for index, count in enumerate(busy):
            if count < POOL_SIZE:
                busy[index] += 1
                return index
        self.clients.append(self._open_client())
        busy.append(1)
        return len(busy) - 1

    async def _release(self, index: int) -> None:
        async with self._slots:
            self.in_flight -= 1
            self._busy[index] -= 1
            self._slots.notify_all()

    async def wake(self) -> None:
        """Let waiters re-check (after a pause or a stop request)."""
        async with self._slots:
            self._slots.notify_all()

    async def send(
        self, body: Mapping[str, Any], *, stopping: Callable[[], bool] = lambda: False
    ) -> TrackResult | None:
        """Send one ``/users/track`` body when a slot and the rate allow.

        Returns ``None`` without sending when the lane is paused or the worker is stopping
        (release the request's jobs); raises whatever ``BrazeClient.track`` raises.
        """
        index = await self._acquire(stopping)
        if index is None:
            return None
        try:
            delay = self.gate.reserve(self._clock())
            if delay > 0:
                await self._sleep(delay)
            if self.paused is not None or stopping():
                return None
            try:
                result = await self.clients[index].track(body)
            except TransientError as exc:
                if exc.status == 429:
                    self._throttled(exc.retry_after)
                elif exc.retry_after:
                    self.gate.pause_until(self._clock() + exc.retry_after)
                raise
            except AuthError as exc:
                self.pause(str(exc))
                raise
            self.sent += 1
            self.gate.observe(result.rate)
            self.concurrency.on_success()
            self.rate.on_success()
            return result
        finally:
            await self._release(index)

    def _throttled(self, retry_after: float | None) -> None:
        now = self._clock()
        self.throttled += 1
        self.concurrency.on_throttle(now)
        self.rate.on_throttle(now)
        self.gate.pause_until(now + (retry_after if retry_after else 1.0))

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


# --- one batch's requests ---------------------------------------------------------------


@dataclass
class BatchReport:
    """What one batch did (logged at INFO, returned to tests)."""

    claimed: int = 0
    users: int = 0
    requests: int = 0
    delivered: int = 0
    unchanged: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"batch claimed={self.claimed} users={self.users} requests={self.requests} "
            f"delivered={self.delivered} unchanged={self.unchanged} retried={self.retried} "
            f"dead={self.dead} released={self.released} in {self.seconds * 1000:.0f} ms"
        )


@dataclass
class Settlement:
    """The decisions taken on one batch, applied to the store in bulk by :meth:`apply`."""

    delivered: list[UserUpdate] = field(default_factory=list)
    unchanged: list[UserUpdate] = field(default_factory=list)
    accepted_events: dict[int, list[str]] = field(default_factory=dict)
    dead: list[tuple[int, str]] = field(default_factory=list)
    retries: list[tuple[list[int], datetime, str]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    requests: int = 0

    def release(self, updates: Iterable[UserUpdate]) -> None:
        for update in updates:
            self.released.extend(update.job_ids)

    def kill(self, updates: Iterable[UserUpdate], reason: str) -> None:
        for update in updates:
            self.dead.extend((job_id, reason) for job_id in update.job_ids)

    def accept_events(self, connection_id: int, keys: Iterable[str]) -> None:
        self.accepted_events.setdefault(connection_id, []).extend(keys)

    async def apply(
        self, store: Store, *, worker_id: str, now: datetime, report: BatchReport
    ) -> None:
        """Write every decision in ONE transaction — what Braze accepted, then the job
        states: one commit per batch, and no crash can ack jobs without their record."""
        records: dict[int, dict[str, Any]] = {}
        for update in (*self.delivered, *self.unchanged):
            if update.record:
                records.setdefault(update.connection_id, {})[update.user_key] = update.record
        outbox = store.outbox
        done = [job_id for update in self.delivered for job_id in update.job_ids]
        unchanged = [job_id for update in self.unchanged for job_id in update.job_ids]
        async with transaction(store.engine) as conn:
            for connection_id, by_user in records.items():
                await store.braze_state.save(connection_id, by_user, conn=conn)
            for connection_id, keys in self.accepted_events.items():
                if keys:
                    await store.braze_state.record_events(connection_id, keys, now=now, conn=conn)
            if done or unchanged:
                acked = await outbox.ack(
                    [*done, *unchanged], worker_id=worker_id, now=now, conn=conn
                )
                if acked < len(done) + len(unchanged):  # another worker took them after our lease
                    lost = len(done) + len(unchanged) - acked
                    log.warning("lease lost before ack: %d job(s)", lost)
            if self.dead:
                await outbox.dead(self.dead, worker_id=worker_id, now=now, conn=conn)
            for job_ids, available_at, error in self.retries:
                await outbox.retry(
                    job_ids,
                    worker_id=worker_id,
                    now=now,
                    available_at=available_at,
                    error=error,
                    conn=conn,
                )
            if self.released:
                await outbox.release(self.released, worker_id=worker_id, conn=conn)
        report.requests += self.requests
        report.delivered += len(done)
        report.unchanged += len(unchanged)
        report.dead += len(self.dead)
        report.retried += sum(len(ids) for ids, _, _ in self.retries)
        report.released += len(self.released)


@dataclass
class RetryPolicy:
    """How transient failures are retried: backoff with full jitter within a window."""

    window_seconds: float
    base: float = 1.0
    cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)


async def deliver_requests(
    store: Store,
    lane: Lane,
    updates: Sequence[UserUpdate],
    settlement: Settlement,
    *,
    settings: Settings,
    clock: Callable[[], float],
    retry: RetryPolicy,
    stopping: Callable[[], bool],
    on_auth_failure: Callable[[int, str], Awaitable[None]],
) -> None:
    """Dedup ``updates`` (one connection's), chunk them and send the requests concurrently."""
    connection_id = lane.connection_id
    accepted = await store.braze_state.load(connection_id, [u.user_key for u in updates])
    keys = [key for update in updates for key in update.event_keys]
    seen = await store.braze_state.seen_events(connection_id, keys) if keys else set()
    to_send: list[UserUpdate] = []
    for update in updates:
        dedup(update, accepted.get(update.user_key), seen)
        if update.needs_request:
            to_send.append(update)
        else:
            settlement.unchanged.append(update)
    cap, combined = settings.batch_cap, settings.combined_cap

    async def send_one(request: Request) -> list[Request]:
        """Send ``request`` and settle its outcome; returns what goes again at once."""
        try:
            result = await lane.send(request.body, stopping=stopping)
        except AuthError as exc:
            await on_auth_failure(connection_id, str(exc))
            settlement.release(request.updates)
        except TrackRejected as exc:
            bad = _blame(request, exc.minor_errors)
            if not bad:
                settlement.kill(request.updates, str(exc))
                return []
            for update, reason in bad.values():
                settlement.kill([update], reason)
            rest = [u for u in request.updates if id(u) not in bad]
            # The others were valid: they go again at once, on their own.
            return chunk(rest, cap=cap, combined_cap=combined)
        except PermanentError as exc:
            settlement.kill(request.updates, str(exc))
        except TransientError as exc:
            _retry_or_give_up(request.updates, str(exc), exc.retry_after, settlement, clock, retry)
        except Exception as exc:  # a bug or an unexpected failure: retry, never lose the jobs
            log.exception("unexpected error sending to connection %s", connection_id)
            _retry_or_give_up(
                request.updates, f"unexpected {type(exc).__name__}", None, settlement, clock, retry
            )
        else:
            if result is None:  # paused or stopping: not sent, the jobs wait
                settlement.release(request.updates)
                return []
            settlement.requests += 1
            _accepted(request, result, settlement, connection_id)
        return []

    async def send(request: Request) -> None:
        # A loop, not recursion: a closure that calls itself is a reference cycle, which
        # kept each batch's objects alive until the garbage collector's next pass.
        queue = [request]
        while queue:
            queue[:0] = await send_one(queue.pop(0))

    requests = chunk(to_send, cap=cap, combined_cap=combined)
    await asyncio.gather(*(send(request) for request in requests))


def _blame(request: Request, errors: Sequence[MinorError]) -> dict[int, tuple[UserUpdate, str]]:
    """``id(update) → (update, Braze's reasons)`` for the objects Braze named."""
    reasons: dict[int, tuple[UserUpdate, list[str]]] = {}
    for error in errors:
        if error.index is None:
            continue
        update = request.update_for(error.input_array, error.index)
        if update is None:
            continue
        entry = reasons.setdefault(id(update), (update, []))
        if error.type not in entry[1]:
            entry[1].append(error.type)
    return {key: (update, "; ".join(types)) for key, (update, types) in reasons.items()}


def _accepted(
    request: Request, result: TrackResult, settlement: Settlement, connection_id: int
) -> None:
    if not result.minor_errors:
        settlement.delivered.extend(request.updates)
        settlement.accept_events(connection_id, (k for u in request.updates for k in u.event_keys))
        return
    if result.unattributed_errors:
        log.warning(
            "connection %s: Braze reported %d error(s) naming no object; request counted as "
            "delivered",
            connection_id,
            len(result.unattributed_errors),
        )
    bad = _blame(request, result.minor_errors)
    errored = result.errors_by_object()
    position = 0
    for update in request.updates:
        for key in update.event_keys:  # events Braze did take are counted: never resend them
            if ("events", position) not in errored:
                settlement.accept_events(connection_id, (key,))
            position += 1
        if id(update) in bad:
            settlement.kill([update], bad[id(update)][1])
        else:
            settlement.delivered.append(update)


def _retry_or_give_up(
    updates: Sequence[UserUpdate],
    error: str,
    retry_after: float | None,
    settlement: Settlement,
    clock: Callable[[], float],
    policy: RetryPolicy,
) -> None:
    now = clock()
    window = policy.window_seconds
    keep: list[int] = []
    attempts = 1
    for update in updates:
        first = update.first_enqueued_at
        if first is not None and now - first.timestamp() >= window:
            tries = update.attempts + 1
            settlement.kill([update], f"gave up after {tries} attempts in {_span(window)}: {error}")
        else:
            keep.extend(update.job_ids)
            attempts = max(attempts, update.attempts + 1)
    if keep:
        delay = max(
            backoff(attempts, base=policy.base, cap=policy.cap, rng=policy.rng), retry_after or 0.0
        )
        settlement.retries.append((keep, datetime.fromtimestamp(now + delay, UTC), error))


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
