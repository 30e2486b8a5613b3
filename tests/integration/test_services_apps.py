"""The Apps service against the Braze sandbox: catalog, connect (every failure reason),
key replacement, refresh, disconnect; keys encrypted, masked and never logged."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from justuno_braze.config import Settings
from justuno_braze.delivery.outbox import NewJob
from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.services import apps
from justuno_braze.services import workflows as wf
from justuno_braze.store import Account, Store
from justuno_braze.store.session import reading
from justuno_braze.store.tables import connections

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEY = "sk-live-DISTINCTIVE-9f8e7d6c5b4a"
ATTRIBUTES = (
    {"name": "favorite_color", "data_type": "String"},
    {"name": "shipping_address", "data_type": "Object"},
)
SMS_GROUP = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"


@pytest.fixture
def braze() -> Iterator[str]:
    options = SandboxOptions(
        api_keys={KEY: None, "track-only-key-1234": frozenset({"users.track"})},
        custom_attributes=ATTRIBUTES,
    )
    with running_sandbox(options) as url:
        yield url


def settings_for(*urls: str, timeout: float = 10.0) -> Settings:
    return Settings(allowed_braze_urls=urls, braze_timeout_seconds=timeout)


async def acme(store: Store) -> Account:
    return await store.accounts.ensure("acme", "Acme")


def test_catalog_filters_by_name_and_tags() -> None:
    assert [a.id for a in apps.catalog("braze")] == ["braze"]
    assert [a.id for a in apps.catalog("  BRAZE ")] == ["braze"]
    assert {a.id for a in apps.catalog("sms")} == {"braze", "klaviyo"}
    assert apps.catalog("no such app") == []
    assert len(apps.catalog(None)) == len(apps.CATALOG)
    braze = apps.catalog("braze")[0]
    assert braze.available and set(braze.permissions) == {"users.track", "custom_attributes.get"}
    assert any(i["rest_url"] == "https://rest.iad-01.braze.com" for i in braze.instances)
    assert not any(a.available for a in apps.CATALOG if a.id != "braze")


async def test_connect_verifies_caches_and_never_shows_or_logs_the_key(
    store: Store, braze: str, caplog: pytest.LogCaptureFixture
) -> None:
    account = await acme(store)
    caplog.set_level(logging.DEBUG)
    view = await apps.connect_braze(
        store, settings_for(braze), account, rest_endpoint=braze + "/", api_key=KEY, now=NOW
    )
    assert (view.name, view.status, view.rest_endpoint) == ("default", "ok", braze)
    assert view.key_hint == "****" + KEY[-4:]
    assert view.custom_attributes_count == 2
    cached = await apps.custom_attributes(store, account, view.id)
    assert {a["name"] for a in cached.attributes} == {"favorite_color", "shipping_address"}
    assert cached.fetched_at is not None
    assert KEY not in caplog.text and KEY not in repr(view)
    async with reading(store.engine) as conn:
        raw = (await conn.execute(select(connections.c.api_key_enc))).scalar_one()
    assert KEY not in str(raw)
    assert await store.connections.api_key(view.id) == KEY  # decrypted on demand only


@pytest.mark.parametrize(
    ("key", "reason", "field"),
    [
        ("wrong-key-0000000000", "invalid_key", "api_key"),
        ("track-only-key-1234", "missing_permission", "api_key"),
    ],
)
async def test_connect_names_why_braze_refused_the_key(
    store: Store, braze: str, key: str, reason: str, field: str
) -> None:
    account = await acme(store)
    with pytest.raises(apps.ConnectionRefused) as caught:
        await apps.connect_braze(
            store, settings_for(braze), account, rest_endpoint=braze, api_key=key, now=NOW
        )
    assert (caught.value.reason, caught.value.field) == (reason, field)
    if reason == "missing_permission":
        assert "custom_attributes.get" in caught.value.message
    assert key not in str(caught.value)
    assert await store.connections.for_account(account.id) == []  # nothing stored


async def test_connect_unreachable_and_timeout(store: Store) -> None:
    account = await acme(store)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(apps.ConnectionRefused) as caught:
        await apps.connect_braze(
            store, settings_for(closed), account, rest_endpoint=closed, api_key=KEY, now=NOW
        )
    assert (caught.value.reason, caught.value.field) == ("unreachable", "rest_endpoint")

    slow = SandboxOptions(api_keys={KEY: None}, latency_ms=2000)
    with running_sandbox(slow) as url, pytest.raises(apps.ConnectionRefused) as caught:
        await apps.connect_braze(
            store, settings_for(url, timeout=0.2), account, rest_endpoint=url,
            api_key=KEY, now=NOW,
        )  # fmt: skip
    assert (caught.value.reason, caught.value.field) == ("timeout", "rest_endpoint")
    assert await store.connections.for_account(account.id) == []


async def test_connect_refuses_hosts_that_are_not_braze(store: Store, braze: str) -> None:
    account = await acme(store)
    for url in (braze, "https://evil.example.com", "https://dashboard-01.braze.com"):
        with pytest.raises(InputError) as caught:
            await apps.connect_braze(
                store, Settings(), account, rest_endpoint=url, api_key=KEY, now=NOW
            )
        assert caught.value.field == "rest_endpoint"
        assert not isinstance(caught.value, apps.ConnectionRefused)
    with pytest.raises(InputError) as caught:
        await apps.connect_braze(
            store, settings_for(braze), account, rest_endpoint=braze, api_key="  ", now=NOW
        )
    assert caught.value.field == "api_key"


async def test_update_key_refresh_and_failing_status(store: Store, braze: str) -> None:
    account = await acme(store)
    settings = settings_for(braze)
    view = await apps.connect_braze(
        store, settings, account, rest_endpoint=braze, api_key=KEY, now=NOW
    )
    with pytest.raises(apps.ConnectionRefused):
        await apps.update_key(store, settings, account, view.id, api_key="bad-key-999", now=NOW)
    assert await store.connections.api_key(view.id) == KEY  # a refused key is not stored

    await store.connections.set_api_key(view.id, "revoked-key-5555")  # the key went bad
    with pytest.raises(apps.ConnectionRefused) as caught:
        await apps.refresh_attributes(store, settings, account, view.id, now=NOW)
    assert caught.value.reason == "invalid_key"
    failing = await apps.get_connection(store, account, view.id)
    assert failing.status == "failing" and failing.status_reason
    assert "401" in failing.status_reason

    fixed = await apps.update_key(store, settings, account, view.id, api_key=KEY, now=NOW)
    assert (fixed.status, fixed.status_reason, fixed.key_hint) == ("ok", None, "****" + KEY[-4:])
    refreshed = await apps.refresh_attributes(store, settings, account, view.id, now=NOW)
    assert refreshed.custom_attributes_count == 2


async def test_connections_are_scoped_to_their_account(store: Store, braze: str) -> None:
    account = await acme(store)
    other = await store.accounts.ensure("globex", "Globex")
    view = await apps.connect_braze(
        store, settings_for(braze), account, rest_endpoint=braze, api_key=KEY, now=NOW
    )
    assert await apps.list_connections(store, other) == []
    for call in (
        apps.get_connection(store, other, view.id),
        apps.custom_attributes(store, other, view.id),
        apps.disconnect(store, other, view.id),
        apps.refresh_attributes(store, settings_for(braze), other, view.id, now=NOW),
    ):
        with pytest.raises(apps.UnknownConnection):
            await call
    assert [c.id for c in await apps.list_connections(store, account)] == [view.id]


async def test_disconnect_refused_while_jobs_wait_or_an_active_workflow_uses_it(
    store: Store, braze: str
) -> None:
    account = await acme(store)
    view = await apps.connect_braze(
        store, settings_for(braze), account, rest_endpoint=braze, api_key=KEY, now=NOW
    )
    created = await wf.create_workflow(
        store,
        account,
        {
            "name": "Leads",
            "trigger": {"event": "form_submitted"},
            "steps": [{"sync_to_app": {"app": "braze", "sms_subscription_group_id": SMS_GROUP}}],
        },
        now=NOW,
    )
    await wf.publish_workflow(store, account, created.id, author="ana", note=None, now=NOW)
    with pytest.raises(WorkflowError) as caught:
        await apps.disconnect(store, account, view.id)
    assert "'Leads' is active" in caught.value.problems[0]
    await wf.set_paused(store, account, created.id, True, now=NOW)

    job = NewJob(
        view.id, "email:a@example.com", "e1|leads|0", NOW, {"email": "a@example.com"}, None
    )
    await store.outbox.enqueue([job], now=NOW)
    with pytest.raises(InputError) as refused:
        await apps.disconnect(store, account, view.id)
    assert refused.value.field == "connection" and "1 job(s)" in str(refused.value)
    assert len(await store.connections.for_account(account.id)) == 1

    claimed = await store.outbox.claim(worker_id="w", limit=10, now=NOW, lease_seconds=30)
    await store.outbox.ack([j.id for j in claimed], worker_id="w", now=NOW)
    await apps.disconnect(store, account, view.id)  # drained: the connection goes
    assert await apps.list_connections(store, account) == []
    with pytest.raises(apps.UnknownConnection):
        await apps.get_connection(store, account, view.id)
