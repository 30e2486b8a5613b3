"""An import's delivery in a second process: ``justuno-braze import`` reads, normalises
and enqueues the file on one core while a forked child delivers on the other.

Each side is CPU-bound in Python (reading and building the payloads; claiming, sending
and settling batches), so on one core they take turns; in two processes they overlap and
a backfill takes about the longer of the two instead of their sum.

The child is forked before the import opens the database or starts an event loop (a
fork copies only the forking thread: a lock held by another one would stay locked in the
child), and then only talks through two pipes, one text line per message:

- parent → child: ``enqueued <n>`` after each committed chunk (the child opens the store
  on the first one, once the parent has migrated it), ``finish <import id>`` at the end
  of the file; end of file (the parent closed the pipe) means stop: the child cancels its
  batches in flight (their leases lapse; a later run delivers them) and exits.
- child → parent: one JSON object when it is done: ``{"paused": {connection id: reason}}``
  or ``{"error": "…"}``.

The child delivers exactly as the in-process :class:`~justuno_braze.backfill.WorkerDelivery`
does (it runs one): the outbox's leases keep the two processes from ever sending a job
twice, whichever of them claims it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import threading
from typing import IO

from justuno_braze.backfill import IMPORT_PIPELINE, WorkerDelivery
from justuno_braze.braze.client import preload_track_pool
from justuno_braze.config import Settings
from justuno_braze.delivery.worker import GC_THRESHOLD, Worker
from justuno_braze.errors import JustunoBrazeError
from justuno_braze.services import open_app_store


class ForkedDelivery:
    """The parent's end of the delivery process (a ``backfill.Delivery``)."""

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self._pid = pid
        self._to_child: int | None = to_child
        self._from_child = from_child

    @classmethod
    def start(cls, settings: Settings) -> ForkedDelivery | None:
        """Fork the delivery process now; ``None`` when this process cannot fork safely
        (no ``os.fork``, or other threads already run): then deliver in-process."""
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return None
        down_read, down_write = os.pipe()
        up_read, up_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(down_write)
            os.close(up_read)
            _child(settings, down_read, up_write)
        os.close(down_read)
        os.close(up_write)
        return cls(pid, down_write, up_read)

    def enqueued(self, jobs: int) -> None:
        self._send(f"enqueued {jobs}")

    async def finish(self, import_id: str) -> dict[int, str]:
        self._send(f"finish {import_id}")
        text = await asyncio.to_thread(_read_all, self._from_child)
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"error": "it ended without an answer"}
        if "error" in answer:
            raise JustunoBrazeError(
                f"the delivery process failed ({answer['error']}); what was enqueued is "
                "kept: re-run the import to deliver it"
            )
        return {int(connection): str(reason) for connection, reason in answer["paused"].items()}

    async def close(self) -> None:
        if self._to_child is not None:
            os.close(self._to_child)  # end of file: the child stops and exits
            self._to_child = None
        with contextlib.suppress(OSError):
            os.close(self._from_child)
        await asyncio.to_thread(_reap, self._pid)

    def _send(self, line: str) -> None:
        if self._to_child is None:
            return
        try:
            os.write(self._to_child, (line + "\n").encode())
        except BrokenPipeError:  # the child is gone: ``finish`` reports why
            os.close(self._to_child)
            self._to_child = None


def _read_all(fd: int) -> str:
    with open(fd, "rb", closefd=False) as f:
        return f.read().decode("utf-8", "replace")


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _child(settings: Settings, inbox: int, outbox: int) -> None:
    """The delivery process: serve the parent's messages, answer, exit (``os._exit``: the
    parent's buffers, atexit handlers and open resources are the parent's to close)."""
    gc.set_threshold(*GC_THRESHOLD)  # it only delivers: collect as rarely as the worker does
    code = 0
    try:
        with open(inbox, "rb", buffering=0) as pipe:
            answer: dict[str, object] = {"paused": asyncio.run(_serve(settings, pipe))}
    except BaseException as exc:  # even ^C: the parent must get an answer
        code = 1
        answer = {"error": str(exc) if isinstance(exc, JustunoBrazeError) else type(exc).__name__}
    try:
        with open(outbox, "w", encoding="utf-8") as f:
            f.write(json.dumps(answer))
    finally:
        os._exit(code)


async def _serve(settings: Settings, pipe: IO[bytes]) -> dict[int, str]:
    preload_track_pool()  # while the parent reads the first chunk
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    delivery: WorkerDelivery | None = None
    store = None
    try:
        while line := await reader.readline():
            kind, _, arg = line.decode().strip().partition(" ")
            if delivery is None:
                store = await open_app_store(settings)
                worker = Worker(store, settings, pipeline=IMPORT_PIPELINE)
                delivery = WorkerDelivery(worker, owned=True)
            if kind == "enqueued":
                delivery.enqueued(int(arg))
            elif kind == "finish":
                return await delivery.finish(arg)
        return {}  # the parent stopped: what is left waits for a later run
    finally:
        transport.close()
        if delivery is not None:
            await delivery.close()
        if store is not None:
            await store.close()
