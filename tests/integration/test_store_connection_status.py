"""``status_since`` of a connection (migration 0004), on SQLite and PostgreSQL: set when
the connection is added, moved only when the status CHANGES (a connection that fails
again keeps when it first failed), and moved back when a new key makes it ``ok``."""

from __future__ import annotations

from datetime import timedelta

from justuno_braze.store import Store
from tests.integration.conftest import T0


async def test_status_since_moves_only_when_the_status_changes(store: Store) -> None:
    account = await store.accounts.ensure("acme", "Acme")
    added = await store.connections.add(
        account.id, base_url="https://rest.iad-01.braze.com", api_key="key-0123456789abcdef", now=T0
    )
    assert (added.status, added.status_since) == ("ok", T0)

    failed_at = T0 + timedelta(hours=1)
    await store.connections.set_status(added.id, "failing", "401", now=failed_at)
    await store.connections.set_status(
        added.id, "failing", "401 again", now=failed_at + timedelta(hours=1)
    )
    failing = await store.connections.get(added.id)
    assert (failing.status, failing.status_reason, failing.status_since) == (
        "failing",
        "401 again",
        failed_at,
    )

    await store.connections.set_api_key(added.id, "new-key-9876543210")
    fixed = await store.connections.get(added.id)
    assert fixed.status == "ok" and fixed.status_reason is None
    assert fixed.status_since not in (None, failed_at)  # it moved: ok since the new key
