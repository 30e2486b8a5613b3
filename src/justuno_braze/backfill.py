"""Backfill: a Justuno lead export (CSV or JSONL) through a workflow into the outbox, then
delivered — what ``justuno-braze import`` runs.

The file is streamed (``csv`` over an open file, JSONL line by line), never loaded whole.
Each row is a complete lead: ``merge(None, event)`` → enrollment → the Sync to App step →
an outbox job, enqueued in chunks of ``CHUNK`` rows. An invalid row never stops the
import: it is counted with its line number and written to a rejects file next to the input
(``<file>.rejects.jsonl``: line, error, row).

Resumable: the import id is derived from the file's content and the workflow, and the
outbox ignores a job whose source key (``event_id|workflow|step``) it already holds, so a
re-run of the same file enqueues only what the interrupted run had not, and delivers
what is still pending. A ``Delivery`` sends the jobs as chunks are committed and drains
the import's jobs at the end: a worker in this process (``WorkerDelivery``), or, for the
command line, one in a forked process on the other core (``backfill_process``).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze import services
from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.braze.consent import ConsentDecision
from justuno_braze.config import Settings
from justuno_braze.delivery.outbox import NewJob
from justuno_braze.delivery.sender import BatchReport
from justuno_braze.delivery.worker import Worker
from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.events import Event, merge, parse_event
from justuno_braze.leads import LeadColumns
from justuno_braze.store import ConsentContext, Store
from justuno_braze.store.session import transaction
from justuno_braze.workflows.model import Workflow

CHUNK = 1_000
YIELD_ROWS = 100  # rows read between two turns of the event loop (early delivery runs)
# Batches (of ten requests) the import's worker keeps in flight: Braze's latency, not our
# CPU, bounds a backfill's delivery, and a user is in one batch only (claims are per user).
IMPORT_PIPELINE = 4
SHOWN_INVALID = 10
MAX_CSV_FAILURES = 100  # consecutive unreadable rows before the file is refused
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")

#: a row of the file: its line number and the event, or why it is invalid
Row = tuple[int, Event | InputError]


# --------------------------------------------------------------------------- readers


def read_rows(path: Path, *, now: datetime) -> Iterator[Row]:
    """Stream ``path`` as events: JSONL (by suffix, or a first character ``{``) or CSV.

    Raises ``InputError`` for a file that cannot be read at all (a CSV header naming no
    identifier, not UTF-8); a bad row is yielded as its ``InputError``.
    """
    try:
        f = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", field=str(path)) from None
    with f:
        try:
            first = f.read(1)
            f.seek(0)
            if first == "[":
                raise InputError(
                    "is a JSON array: import reads JSONL (one event object per line) or CSV",
                    field=str(path),
                )
            if path.suffix.lower() in JSONL_SUFFIXES or first == "{":
                yield from _jsonl_rows(f, now)
            else:
                yield from _csv_rows(f, now)
        except UnicodeDecodeError:
            raise InputError("is not UTF-8 text", field=str(path)) from None
        except csv.Error as exc:
            raise InputError(f"is not a readable CSV file ({exc})", field=str(path)) from None


def _jsonl_rows(f: IO[str], now: datetime) -> Iterator[Row]:
    for n, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield n, InputError("is not a JSON object", field=f"line {n}")
            continue
        try:
            yield n, parse_event(data, now=now)
        except InputError as exc:
            message = str(exc).removeprefix(f"{exc.field}: ")
            yield n, InputError(message, field=f"line {n}.{exc.field}")


def _csv_rows(f: IO[str], now: datetime) -> Iterator[Row]:
    reader = csv.DictReader(f)
    header = reader.fieldnames
    if not header:
        raise InputError("is empty: a CSV lead export needs a header row", field="file")
    columns = LeadColumns.from_header(header)
    failures = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a cell over csv.field_size_limit(): skip the row
            failures += 1
            if failures > MAX_CSV_FAILURES:
                raise  # the rest of the file is not CSV either
            line = reader.line_num + 1  # csv does not count the line it choked on
            yield line, InputError(f"unreadable CSV row ({exc})", field=f"row {line}")
            continue
        failures = 0
        line = reader.line_num
        try:
            yield line, columns.event(row, now=now, line=line)
        except InputError as exc:
            yield line, exc


def file_identity(path: Path) -> tuple[str, int]:
    """The sha256 of the file's bytes (streamed) and its number of lines."""
    digest = hashlib.sha256()
    lines = 0
    try:
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                lines += block.count(b"\n")
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", field=str(path)) from None
    return digest.hexdigest(), lines


def import_id(content_sha256: str, workflow_key: str) -> str:
    """Same file content + same workflow → same import (so a re-run resumes it)."""
    return "imp_" + hashlib.sha256(f"{content_sha256}|{workflow_key}".encode()).hexdigest()[:24]


# --------------------------------------------------------------------------- summary


@dataclass
class ImportSummary:
    """What an import did. Every row is exactly one of: invalid, skipped, or a job of this
    import (delivered, dead, or still pending)."""

    import_id: str = ""
    connection_id: int = 0
    rows: int = 0
    enqueued: int = 0
    already: int = 0  # rows whose job was already in the outbox (a resumed run)
    skipped: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    invalid_lines: list[tuple[int, str]] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    delivered: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    paused: dict[int, str] = field(default_factory=dict)
    rejects: Path | None = None

    def lines(self) -> list[str]:
        out = [
            f"import {self.import_id} (connection {self.connection_id})",
            f"rows read: {self.rows}",
            f"enqueued: {self.enqueued}",
            f"already in the outbox (resumed or repeated rows): {self.already}",
            f"delivered: {self.delivered}",
        ]
        out.append(f"skipped: {sum(self.skipped.values())}")
        out.extend(f"  {n} {reason}" for reason, n in self.skipped.most_common())
        out.append(f"invalid: {sum(self.invalid.values())}")
        out.extend(f"  {n} {reason}" for reason, n in self.invalid.most_common())
        out.extend(f"  line {line}: {message}" for line, message in self.invalid_lines)
        if self.rejects is not None:
            out.append(f"  invalid rows written to {self.rejects}")
        out.append(f"dead: {sum(self.dead.values())}")
        out.extend(f"  {n} {reason}" for reason, n in self.dead.most_common())
        if self.pending:
            out.append(f"still pending: {self.pending}")
        if self.warnings:
            out.append(f"warnings: {sum(self.warnings.values())} (values left out)")
            out.extend(f"  {n} {w}" for w, n in self.warnings.most_common(5))
        return out


def _invalid_reason(exc: InputError) -> str:
    """``row 7.email: …`` → ``email: …`` (the count groups rows by what was wrong)."""
    field_ = exc.field or ""
    message = str(exc).removeprefix(f"{field_}: ")
    if "." in field_:
        return f"{field_.split('.', 1)[1]}: {message}"
    return message


# --------------------------------------------------------------------------- the pipeline


@dataclass(frozen=True)
class ImportRequest:
    path: Path
    workflow: Workflow
    base_url: str  # already checked by check_braze_url
    api_key: str
    account: str = "default"
    enqueue_only: bool = False


Progress = Callable[[str, int, int | None], None]  # (stage, done, total)


async def run_import(
    store: Store,
    settings: Settings,
    request: ImportRequest,
    *,
    now: Callable[[], datetime],
    progress: Progress = lambda stage, done, total: None,
    worker: Worker | None = None,
    delivery: Delivery | None = None,
) -> ImportSummary:
    """Enqueue the file's leads and (unless ``enqueue_only``) deliver them.

    Delivery runs in this process on ``worker`` (or a worker of its own), unless
    ``delivery`` is given (``backfill_process.ForkedDelivery``: another process); it is
    closed when the import ends, whatever happened.

    Raises ``InputError`` (unreadable file, bad header), ``WorkflowError`` (the workflow
    writes an Object target of this Braze workspace) and ``AuthError`` (Braze refused the
    key while reading the custom attributes: nothing was enqueued).
    """
    if request.enqueue_only:
        if delivery is not None:
            await delivery.close()
        delivery = None
    elif delivery is None:
        delivery = WorkerDelivery(
            worker or Worker(store, settings, pipeline=IMPORT_PIPELINE), owned=worker is None
        )
    try:
        wid = services.workflow_id(request.workflow)
        sha, lines = file_identity(request.path)
        summary = ImportSummary(import_id=import_id(sha, wid))
        account = await store.accounts.ensure(request.account, request.account)
        connection = await services.connection_for(
            store, account.id, request.base_url, request.api_key, waiting_import=summary.import_id
        )
        summary.connection_id = connection.id
        schema = await services.braze_schema(
            store, settings, connection, request.api_key, now=now()
        )
        problems = request.workflow.problems(schema)
        if problems:
            raise WorkflowError(problems)
        on_flush = delivery.enqueued if delivery is not None else _nothing
        await _enqueue(store, account.id, request, schema, summary, now, progress, lines, on_flush)
        if delivery is not None:
            await _drain(store, summary, progress, delivery)
    finally:
        if delivery is not None:
            await delivery.close()
    await _final_counts(store, summary)
    return summary


def _nothing(jobs: int) -> None:
    """Enqueue only: nobody delivers now."""


async def _enqueue(
    store: Store,
    account_id: int,
    request: ImportRequest,
    schema: AttributeSchema | None,
    summary: ImportSummary,
    now: Callable[[], datetime],
    progress: Progress,
    lines: int,
    on_flush: Callable[[int], None],
) -> None:
    started = now()
    wid = services.workflow_id(request.workflow)
    batch: list[NewJob] = []
    consent: dict[str, list[ConsentDecision]] = {}  # source key -> its decisions
    rejects: IO[str] | None = None
    rejects_path = request.path.with_name(request.path.name + ".rejects.jsonl")

    async def flush() -> None:
        async with transaction(store.engine) as conn:
            fresh = await _not_enqueued(store, conn, summary.connection_id, batch)
            inserted = await store.outbox.enqueue(batch, now=now(), conn=conn)
            # the consent ledger gets each decision once: rows a resumed run finds
            # already enqueued were recorded by the run that enqueued them
            await store.consent.record_many(
                account_id,
                [
                    (decision, ConsentContext(event_id=key.split("|", 1)[0]))
                    for key in fresh
                    for decision in consent.get(key, ())
                ],
                recorded_at=now(),
                conn=conn,
            )
        summary.enqueued += inserted
        summary.already += len(batch) - inserted
        batch.clear()
        consent.clear()
        progress("read", summary.rows, lines)
        on_flush(inserted)

    try:
        for line, item in read_rows(request.path, now=started):
            summary.rows += 1
            if summary.rows % YIELD_ROWS == 0:
                await asyncio.sleep(0)  # let the batches in flight take their answers
            if isinstance(item, InputError):
                summary.invalid[_invalid_reason(item)] += 1
                if len(summary.invalid_lines) < SHOWN_INVALID:
                    summary.invalid_lines.append((line, _invalid_reason(item)))
                rejects = rejects or _open_rejects(rejects_path, summary)
                if rejects is not None:
                    rejects.write(json.dumps({"line": line, "error": str(item)}) + "\n")
                continue
            outcome = services.sync_jobs(
                request.workflow,
                merge(None, item),
                item,
                schema,
                connection_id=summary.connection_id,
                now=started,
                workflow_key=wid,
                import_id=summary.import_id,
            )
            for warning in outcome.warnings:
                summary.warnings[warning.split(";", 1)[0]] += 1  # attribute: reason
            if isinstance(outcome, services.Skipped):
                summary.skipped[outcome.reason] += 1
                continue
            batch.extend(outcome.jobs)
            for job, payload in zip(outcome.jobs, outcome.payloads, strict=True):
                if payload.consent:
                    consent[job.source_key] = payload.consent
            if len(batch) >= CHUNK:
                await flush()
        if batch:
            await flush()
        progress("read", summary.rows, summary.rows)
    finally:
        if rejects is not None:
            rejects.close()
    if not summary.invalid:  # a previous run's rejects no longer apply
        with contextlib.suppress(OSError):
            rejects_path.unlink(missing_ok=True)


def _open_rejects(path: Path, summary: ImportSummary) -> IO[str] | None:
    try:
        f = path.open("w", encoding="utf-8")
    except OSError:
        return None  # a read-only directory: the summary still names the lines
    summary.rejects = path
    return f


class Delivery(Protocol):
    """Who delivers an import's jobs while (and after) the file is read."""

    def enqueued(self, jobs: int) -> None:
        """``jobs`` new jobs are in the outbox (committed)."""

    async def finish(self, import_id: str) -> dict[int, str]:
        """Deliver until the import has no job left to send; the connections paused on
        the way (id → reason)."""

    async def close(self) -> None:
        """Stop what is still in flight (the import failed) and let go of the worker: its
        leases lapse and a later run delivers those jobs. Called once, after ``finish``
        or instead of it."""


class WorkerDelivery:
    """Delivers on ``worker`` in this process, batches starting while the file is still
    being read, so Braze's latency overlaps the reading instead of following it: up to
    the worker's pipeline depth of batches at once, started as jobs are enqueued and by
    each batch that made progress. It keeps count of the jobs it has not claimed yet, so
    it does not ask the outbox for a batch when there is none (what it misses — retries,
    jobs released — ``finish`` drains). ``owned``: close the worker at the end."""

    def __init__(self, worker: Worker, *, owned: bool) -> None:
        self._worker = worker
        self._owned = owned
        self._tasks: set[asyncio.Task[BatchReport | None]] = set()
        self._unclaimed = 0  # enqueued by this run, not yet claimed by a batch of ours
        self._stopped = False

    def enqueued(self, jobs: int) -> None:
        self._unclaimed += jobs
        self._kick()

    def _kick(self) -> None:
        worker = self._worker
        if self._stopped:
            return
        while len(self._tasks) < worker.pipeline and self._unclaimed > 0:
            self._unclaimed -= worker.batch_size  # at most; corrected when it is done
            task = asyncio.ensure_future(worker.run_once())
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[BatchReport | None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is not None:
            return  # the drain delivers what is left
        report = task.result()
        claimed = report.claimed if report is not None else 0
        self._unclaimed += self._worker.batch_size - claimed
        if claimed == 0:
            self._unclaimed = 0  # nothing claimable: the count was off (another worker)
        elif report is not None and report.released < report.claimed:
            self._kick()  # progress: claim the next batch

    async def finish(self, import_id: str) -> dict[int, str]:
        # the early batches first (a failure leaves its jobs to the drain)
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        result = await self._worker.drain(import_id=import_id)
        return dict(result.paused)

    async def close(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owned:
            await self._worker.aclose()


async def _drain(
    store: Store, summary: ImportSummary, progress: Progress, delivery: Delivery
) -> None:
    """Finish the import's delivery, reporting its progress."""

    async def report() -> None:
        while True:
            counts = await store.outbox.counts(import_id=summary.import_id)
            progress("deliver", counts["delivered"] + counts["dead"], sum(counts.values()))
            await asyncio.sleep(0.5)

    reporter = asyncio.create_task(report())
    try:
        summary.paused = await delivery.finish(summary.import_id)
    finally:
        # Await the cancelled reporter: left to asyncio.run's clean-up it would unwind its
        # database connection after the store is closed, and that never finishes.
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    counts = await store.outbox.counts(import_id=summary.import_id)
    progress("deliver", counts["delivered"] + counts["dead"], sum(counts.values()))


async def _final_counts(store: Store, summary: ImportSummary) -> None:
    counts = await store.outbox.counts(import_id=summary.import_id)
    summary.delivered = counts["delivered"]
    summary.pending = counts["pending"] + counts["leased"]
    reasons = await store.outbox.dead_reasons(import_id=summary.import_id)
    summary.dead = Counter({str(reason or "unknown"): n for reason, n in reasons.items()})


async def _not_enqueued(
    store: Store, conn: AsyncConnection, connection_id: int | None, jobs: list[NewJob]
) -> list[str]:
    """The source keys of ``jobs`` the outbox does not hold yet, each once (a row repeated
    within the chunk is one job: its consent is recorded once), in ``jobs`` order."""
    keys = list(dict.fromkeys(job.source_key for job in jobs))
    if not keys or connection_id is None:
        return keys
    found = await store.outbox.held_source_keys(connection_id, keys, conn=conn)
    return [key for key in keys if key not in found]
