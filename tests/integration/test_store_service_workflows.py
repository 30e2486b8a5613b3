"""Workflows: drafts, immutable numbered versions, status, and the ingestion query —
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from justuno_braze.errors import InputError, StoreError
from justuno_braze.store import Store
from justuno_braze.store.tables import workflow_versions
from justuno_braze.workflows.model import load_file
from tests.integration.conftest import T0

DATA = Path(__file__).parents[1] / "data" / "workflows" / "valid"


def definition(name: str = "Demo lead capture", event: str = "form_submitted") -> dict[str, Any]:
    data = load_file(DATA / "minimal.yaml").to_dict()
    data["name"] = name
    data["trigger"]["event"] = event
    return data


async def test_drafts_are_created_listed_renamed_and_deleted(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    created = await store.workflows.create(acme.id, "Lead capture", definition(), now=T0)
    assert (created.name, created.status, created.latest_version) == ("Lead capture", "draft", None)
    assert created.draft == definition()
    with pytest.raises(InputError, match="name: a workflow named 'Lead capture' exists"):
        await store.workflows.create(acme.id, "Lead capture", definition())
    second = await store.workflows.create(acme.id, "Abandoned cart", {"name": "half"}, now=T0)

    edited = await store.workflows.update_draft(
        acme.id, created.id, {"name": "edited"}, name="Spring capture", now=T0 + timedelta(1)
    )
    assert edited.draft == {"name": "edited"} and edited.name == "Spring capture"
    assert edited.updated_at == T0 + timedelta(1) and edited.created_at == T0
    with pytest.raises(InputError, match="name: a workflow named 'Abandoned cart' exists"):
        await store.workflows.update_draft(acme.id, created.id, {}, name="Abandoned cart")
    assert [w.name for w in await store.workflows.list(acme.id)] == [
        "Abandoned cart",
        "Spring capture",
    ]
    assert (await store.workflows.by_name(acme.id, "Spring capture")).id == created.id  # type: ignore[union-attr]

    assert await store.workflows.delete(acme.id, second.id) is True
    assert await store.workflows.delete(acme.id, second.id) is False
    assert await store.workflows.get(acme.id, second.id) is None
    with pytest.raises(StoreError, match="does not exist"):
        await store.workflows.update_draft(acme.id, second.id, {})


async def test_publish_numbers_versions_and_they_never_change(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    wf = await store.workflows.create(acme.id, "Lead capture", definition(), now=T0)
    v1 = await store.workflows.publish(
        acme.id, wf.id, definition=definition(), author="ana", note="first", now=T0
    )
    await store.workflows.update_draft(acme.id, wf.id, definition("Lead capture v2"))
    v2 = await store.workflows.publish(
        acme.id,
        wf.id,
        definition=definition("Lead capture v2"),
        author="bo",
        note=None,
        now=T0 + timedelta(hours=1),
    )
    assert (v1, v2) == (1, 2)
    await store.workflows.update_draft(acme.id, wf.id, {"name": "scratch"})  # draft only

    versions = await store.workflows.versions(acme.id, wf.id)
    assert [(v.version, v.author, v.note, v.published_at) for v in versions] == [
        (1, "ana", "first", T0),
        (2, "bo", None, T0 + timedelta(hours=1)),
    ]
    assert versions[0].definition == definition()
    assert versions[1].definition == definition("Lead capture v2")
    one = await store.workflows.version(acme.id, wf.id, 1)
    assert one is not None and one.definition == definition()
    assert await store.workflows.version(acme.id, wf.id, 3) is None
    got = await store.workflows.get(acme.id, wf.id)
    assert got is not None and got.status == "active" and got.latest_version == 2
    assert not hasattr(store.workflows, "update_version")  # versions have no update method


async def test_concurrent_publishes_get_distinct_consecutive_numbers(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    wf = await store.workflows.create(acme.id, "Lead capture", definition(), now=T0)
    numbers = await asyncio.gather(
        *(
            store.workflows.publish(
                acme.id, wf.id, definition=definition(), author=f"u{i}", note=None, now=T0
            )
            for i in range(8)
        )
    )
    assert sorted(numbers) == list(range(1, 9))
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(workflow_versions))).scalar()
    assert stored == 8


async def test_pause_resume_and_the_ingestion_query(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    forms = await store.workflows.create(acme.id, "Forms", definition(), now=T0)
    views = await store.workflows.create(acme.id, "Views", definition(event="page_view"), now=T0)
    await store.workflows.create(acme.id, "Never published", definition(), now=T0)
    with pytest.raises(InputError, match="status: publish the workflow before activating it"):
        await store.workflows.set_status(acme.id, views.id, "active")
    for wf, event in ((forms, "form_submitted"), (views, "page_view")):
        await store.workflows.publish(
            acme.id, wf.id, definition=definition(wf.name, event), author="a", note=None, now=T0
        )
    await store.workflows.publish(
        acme.id, forms.id, definition=definition("Forms v2"), author="a", note=None, now=T0
    )
    active = await store.workflows.active_for(acme.id, "form_submitted")
    assert [(p.workflow_id, p.name, p.version, p.definition["name"]) for p in active] == [
        (forms.id, "Forms", 2, "Forms v2")
    ]
    assert [p.name for p in await store.workflows.active_for(acme.id, None)] == ["Forms", "Views"]

    await store.workflows.set_status(acme.id, forms.id, "paused")
    assert await store.workflows.active_for(acme.id, "form_submitted") == []
    await store.workflows.publish(  # publishing a paused workflow keeps it paused
        acme.id, forms.id, definition=definition("Forms v3"), author="a", note=None, now=T0
    )
    assert (await store.workflows.get(acme.id, forms.id)).status == "paused"  # type: ignore[union-attr]
    await store.workflows.set_status(acme.id, forms.id, "active")
    (resumed,) = await store.workflows.active_for(acme.id, "form_submitted")
    assert resumed.version == 3
    with pytest.raises(InputError, match="status: must be one of draft, active, paused"):
        await store.workflows.set_status(acme.id, forms.id, "archived")
