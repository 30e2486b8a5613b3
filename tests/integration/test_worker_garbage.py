"""A delivered batch is freed when it settles, not by a later garbage-collector pass.

A reference cycle through a batch's updates (once: a closure that called itself) keeps
every job's objects alive until the collector walks them all, which cost the worker more
CPU per profile than its dedup. Sandbox over loopback, SQLite.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path

from justuno_braze.config import Settings
from justuno_braze.delivery.batching import UserUpdate
from justuno_braze.delivery.outbox import NewJob
from justuno_braze.delivery.worker import Worker
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.store import open_store
from justuno_braze.vault import Vault

KEY = "sandbox-key"


async def test_a_delivered_batch_leaves_no_cyclic_garbage(tmp_path: Path) -> None:
    with running_sandbox(SandboxOptions()) as url:
        url = url.rstrip("/")
        db = f"sqlite:///{tmp_path}/jb.db"
        store = await open_store(db, vault=Vault(Vault.generate_key()))
        try:
            account = await store.accounts.ensure("acme", "Acme")
            connection = await store.connections.add(account.id, base_url=url, api_key=KEY)
            now = datetime.now(UTC)
            jobs = [
                NewJob(
                    connection_id=connection.id,
                    user_key=f"email:u{i}@shop.io",
                    source_key=f"src-{i}",
                    occurred_at=now,
                    attributes={"email": f"u{i}@shop.io", "first_name": f"N{i}"},
                    event=None,
                )
                for i in range(30)
            ]
            await store.outbox.enqueue(jobs, now=now)
            worker = Worker(store, Settings(database_url=db, allowed_braze_urls=(url,)))
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds goes to gc.garbage
            try:
                result = await worker.drain()
                gc.collect()
                cyclic = [o for o in gc.garbage if isinstance(o, UserUpdate)]
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
                await worker.aclose()
        finally:
            await store.close()
    assert result.counts["delivered"] == 30
    assert cyclic == []
