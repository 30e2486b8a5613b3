"""The delivery worker: claim → coalesce → dedup → chunk → send → classify → settle.

``outbox.claim`` leases whole users' due jobs (``batch_size`` ≈ ten requests' worth);
per connection the batch is coalesced (one update per user, event order), deduplicated
against one ``braze_state.load``, chunked into ``/users/track`` bodies and sent
concurrently through the connection's :class:`~justuno_braze.delivery.sender.Lane`; the
outcomes are settled in bulk (:class:`~justuno_braze.delivery.sender.Settlement`). A
user's whole update is in one request and claims are per user, so one user never has two
requests in flight; ``pipeline`` batches may overlap for the same reason. Leases are
extended while a batch is slow. 401/403 marks the connection ``failing`` and releases its
jobs. Logs carry counts, ids and statuses only — never keys or personal data.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from justuno_braze.braze.client import BrazeClient
from justuno_braze.config import Settings
from justuno_braze.delivery.batching import UserUpdate, coalesce
from justuno_braze.delivery.outbox import ClaimedJob
from justuno_braze.delivery.sender import (
    POOL_SIZE,
    BatchReport,
    Lane,
    RetryPolicy,
    Settlement,
    deliver_requests,
)
from justuno_braze.errors import InputError, JustunoBrazeError, StoreError
from justuno_braze.store import Store

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, str], BrazeClient]


@dataclass
class DrainResult:
    """Where ``drain`` left things: the outbox counts and any connection it paused."""

    counts: dict[str, int]
    paused: dict[int, str] = field(default_factory=dict)
    batches: int = 0


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# Batches allocate many short-lived objects (rows, updates, bodies): collecting the
# youngest generation every 700 allocations costs ~15 % of the worker's CPU per profile.
GC_THRESHOLD = (50_000, 50, 100)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Raise the garbage collector's thresholds to ``GC_THRESHOLD`` (never lower them)
    while delivering; the previous thresholds come back afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(*(max(old, new) for old, new in zip(before, GC_THRESHOLD, strict=False)))
    try:
        yield
    finally:
        # Collect what delivering left in the young generations first: restored as they
        # are, counts run up under the raised thresholds would trigger a full collection of
        # the whole process at the next allocation.
        gc.collect(1)
        gc.set_threshold(*before)


def _describe(exc: BaseException) -> str:
    """Our errors carry no personal data; others (e.g. a driver's, which may echo SQL
    parameters such as e-mail addresses) are named by type only."""
    return str(exc) if isinstance(exc, JustunoBrazeError) else type(exc).__name__


class Worker:
    """Delivers outbox jobs to Braze. ``run`` until stopped, or ``drain`` until idle."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        client_factory: ClientFactory | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        worker_id: str | None = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        pipeline: int = 2,
        backoff_base: float = 1.0,
        backoff_cap: float = 600.0,
        idle_seconds: float = 0.25,
    ) -> None:
        self.store = store
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch_size = batch_size or 10 * settings.batch_cap
        self.concurrency = concurrency or settings.max_in_flight
        self.pipeline = max(1, pipeline)
        self.retry_policy = RetryPolicy(
            window_seconds=settings.retry_window_seconds,
            base=backoff_base,
            cap=backoff_cap,
            rng=rng or random.Random(),
        )
        self.idle_seconds = idle_seconds
        self._client_factory = client_factory or self._default_client
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[int, Lane] = {}
        self._retired: list[Lane] = []
        self._paused: dict[int, str] = {}
        self._lane_lock = asyncio.Lock()
        self._stopping = False

    # --- public API -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then finish in-flight requests, release the rest."""
        await self._loop(stop=stop, import_id=None)

    async def drain(self, *, import_id: str | None = None, until_idle: bool = True) -> DrainResult:
        """Deliver until no job (of ``import_id``, when given) is pending or leased.

        Returns early when every job left belongs to a connection that is failing (401/403
        here or before): those stay pending until the connection is fixed, and ``paused``
        says why. With ``until_idle=False`` it behaves like :meth:`run` without a stop.
        """
        stop = asyncio.Event()
        batches = await self._loop(stop=stop, import_id=import_id, until_idle=until_idle)
        counts = await self.store.outbox.counts(import_id=import_id)
        return DrainResult(counts=counts, paused=dict(self._paused), batches=batches)

    async def run_once(self) -> BatchReport | None:
        """Claim one batch and deliver it; ``None`` when nothing was due."""
        jobs = await self._claim()
        if not jobs:
            return None
        return await self._deliver(jobs)

    async def aclose(self) -> None:
        lanes = [*self._lanes.values(), *self._retired]
        self._lanes.clear()
        self._retired.clear()
        for lane in lanes:
            await lane.aclose()

    # --- the loop ---------------------------------------------------------------------

    async def _loop(
        self, *, stop: asyncio.Event, import_id: str | None, until_idle: bool = False
    ) -> int:
        with _fewer_collections():
            return await self._deliver_until(stop=stop, import_id=import_id, until_idle=until_idle)

    async def _deliver_until(
        self, *, stop: asyncio.Event, import_id: str | None, until_idle: bool
    ) -> int:
        self._stopping = False
        tasks: set[asyncio.Task[BatchReport]] = set()
        stop_wait = asyncio.ensure_future(stop.wait())
        batches = 0
        try:
            while not stop.is_set():
                if len(tasks) >= self.pipeline:
                    await asyncio.wait({*tasks, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    jobs = await self._claim()
                except Exception as exc:  # the database may come back: keep going
                    log.warning("claim failed: %s", _describe(exc))
                    await self._sleep(self.idle_seconds)
                    continue
                if jobs:
                    batches += 1
                    task = asyncio.create_task(self._deliver(jobs))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    continue
                if tasks:
                    await asyncio.wait({*tasks, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if until_idle and await self._idle(import_id):
                    break
                await self._sleep(self.idle_seconds)
        finally:
            self._stopping = True
            for lane in list(self._lanes.values()):
                await lane.wake()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            stop_wait.cancel()
        return batches

    async def _idle(self, import_id: str | None) -> bool:
        """Nothing was claimable: is there nothing left that this worker could deliver?"""
        counts = await self.store.outbox.counts(import_id=import_id)
        if counts["pending"] + counts["leased"] == 0:
            return True
        if counts["leased"]:
            return False
        # Pending but not claimable: waiting for a retry, or on a failing connection.
        waiting = await self.store.outbox.connections_with_pending_jobs(import_id=import_id)
        for connection_id in waiting:
            connection = await self.store.connections.get(connection_id)
            if connection.status == "ok":
                return False  # a retry that is not due yet
            self._paused.setdefault(connection_id, connection.status_reason or "failing")
        return True

    async def _claim(self) -> list[ClaimedJob]:
        return await self.store.outbox.claim_batch(
            worker_id=self.worker_id,
            limit=self.batch_size,
            now=_utc(self._clock()),
            lease_seconds=self.settings.lease_seconds,
        )

    # --- one batch --------------------------------------------------------------------

    async def _deliver(self, jobs: list[ClaimedJob]) -> BatchReport:
        started = time.perf_counter()
        cap, combined = self.settings.batch_cap, self.settings.combined_cap
        updates = coalesce(jobs, cap=cap, combined_cap=combined)
        report = BatchReport(claimed=len(jobs), users=len(updates))
        settlement = Settlement()
        by_connection: dict[int, list[UserUpdate]] = {}
        for update in updates:
            by_connection.setdefault(update.connection_id, []).append(update)
            if update.deferred_job_ids:
                settlement.released.extend(update.deferred_job_ids)
        heartbeat = asyncio.create_task(self._heartbeat([j.id for j in jobs]))
        try:
            outcomes = await asyncio.gather(
                *(
                    self._deliver_connection(cid, ups, settlement)
                    for cid, ups in by_connection.items()
                ),
                return_exceptions=True,
            )
            for (cid, ups), outcome in zip(by_connection.items(), outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    # Nothing of this connection was sent (dedup/state lookups come first).
                    log.error("connection %s: batch not sent: %s", cid, _describe(outcome))
                    settlement.release(ups)
            await settlement.apply(
                self.store, worker_id=self.worker_id, now=_utc(self._clock()), report=report
            )
        except Exception as exc:
            # The leases lapse and another claim delivers these jobs again (at least once).
            log.error("batch of %d jobs not settled: %s", len(jobs), _describe(exc))
            log.debug("batch not settled", exc_info=True)
        finally:
            heartbeat.cancel()
        report.seconds = time.perf_counter() - started
        log.info("%s", report.line())
        return report

    async def _deliver_connection(
        self, connection_id: int, updates: list[UserUpdate], settlement: Settlement
    ) -> None:
        lane = await self._lane(connection_id)
        if lane is None:
            settlement.release(updates)
            return
        await deliver_requests(
            self.store,
            lane,
            updates,
            settlement,
            settings=self.settings,
            clock=self._clock,
            retry=self.retry_policy,
            stopping=lambda: self._stopping,
            on_auth_failure=self._pause_connection,
        )

    async def _heartbeat(self, job_ids: list[int]) -> None:
        """Keep the batch's leases alive while its requests are slow (real time)."""
        interval = max(0.5, self.settings.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.store.outbox.extend_lease(
                    job_ids,
                    worker_id=self.worker_id,
                    now=_utc(self._clock()),
                    lease_seconds=self.settings.lease_seconds,
                )
            except StoreError as exc:  # the next attempt may work; the lease may lapse
                log.warning("lease extension failed: %s", exc)

    # --- connections ------------------------------------------------------------------

    def _default_client(self, base_url: str, api_key: str) -> BrazeClient:
        return BrazeClient(
            base_url,
            api_key,
            allowed_urls=self.settings.allowed_braze_urls,
            timeout=self.settings.braze_timeout_seconds,
            max_connections=min(POOL_SIZE, self.concurrency),  # a lane opens more as needed
        )

    async def _lane(self, connection_id: int) -> Lane | None:
        lane = self._lanes.get(connection_id)
        if lane is not None and lane.paused is None:
            return lane
        async with self._lane_lock:  # concurrent batches must share one lane (one pool)
            return await self._open_lane(connection_id)

    async def _open_lane(self, connection_id: int) -> Lane | None:
        lane = self._lanes.get(connection_id)
        if lane is not None and lane.paused is None:
            return lane
        if lane is not None:  # paused earlier in this process: only a fixed key resumes it
            connection = await self.store.connections.get(connection_id)
            if connection.status != "ok":
                return None
            self._retired.append(self._lanes.pop(connection_id))
        try:
            connection = await self.store.connections.get(connection_id)
            api_key = await self.store.connections.api_key(connection_id)
            base_url, factory = connection.base_url, self._client_factory
            lane = Lane(
                connection_id,
                lambda: factory(base_url, api_key),
                max_in_flight=self.concurrency,
                clock=self._clock,
                sleep=self._sleep,
            )
        except (InputError, ValueError, StoreError) as exc:
            await self._pause_connection(connection_id, f"cannot deliver: {exc}")
            return None
        self._paused.pop(connection_id, None)
        self._lanes[connection_id] = lane
        return lane

    async def _pause_connection(self, connection_id: int, reason: str) -> None:
        """Mark the connection failing (the UI shows ``reason``); its jobs wait."""
        first = connection_id not in self._paused
        self._paused[connection_id] = reason
        lane = self._lanes.get(connection_id)
        if lane is not None:
            lane.pause(reason)
            await lane.wake()
        if first:
            log.warning("connection %s paused: %s", connection_id, reason)
            try:
                await self.store.connections.set_status(connection_id, "failing", reason)
            except StoreError as exc:
                log.warning("could not mark connection %s failing: %s", connection_id, exc)


# --- the `worker` command ------------------------------------------------------------


async def run_worker_process(
    settings: Settings,
    *,
    concurrency: int | None = None,
    batch_size: int | None = None,
    var_dir: Path = Path("var"),
) -> None:
    """Deliver from ``settings.database_url`` until SIGINT/SIGTERM (what ``worker`` runs).

    The database must already be migrated (``justuno-braze db upgrade``): several workers
    starting together must not race to migrate it. On a signal the worker stops claiming,
    finishes the requests in flight and releases what it had not sent yet.
    """
    from justuno_braze.store import open_store
    from justuno_braze.vault import Vault

    # This process only delivers: batches allocate many short-lived objects, so collect
    # garbage less often (measured ~10-20 % less CPU per profile).
    gc.set_threshold(*GC_THRESHOLD)
    vault = Vault.from_settings(settings, var_dir)
    store = await open_store(settings.database_url, upgrade=False, vault=vault)
    try:
        if not await store.is_current():
            raise StoreError(
                "the database is not migrated to the current version: "
                "run `justuno-braze db upgrade` first"
            )
        worker = Worker(store, settings, concurrency=concurrency, batch_size=batch_size)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        log.info(
            "worker %s started: batch=%d concurrency=%d lease=%gs",
            worker.worker_id,
            worker.batch_size,
            worker.concurrency,
            settings.lease_seconds,
        )
        try:
            await worker.run(stop)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await worker.aclose()
        log.info("worker %s stopped", worker.worker_id)
    finally:
        await store.close()
