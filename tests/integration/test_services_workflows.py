"""The Workflows service on the store (SQLite and PostgreSQL): validation on save naming
every problem, preview of the draft (sending nothing), publish numbering and immutability,
history diffs, restore, pause/resume, export/import."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.events import merge, parse_event
from justuno_braze.services import workflows as wf
from justuno_braze.store import Account, Store
from justuno_braze.workflows.model import load

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SMS = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL = "4e1d2c3b-5a6f-4789-8abc-def012345678"
ATTRIBUTES = [
    {"name": "favorite_color", "data_type": "String"},
    {"name": "shipping_address", "data_type": "Object"},
    {"name": "past_orders", "data_type": "Object Array"},
]
LEADS: dict[str, Any] = {
    "name": "Leads",
    "trigger": {"event": "form_submitted"},
    "steps": [
        {
            "sync_to_app": {
                "app": "braze",
                "connection": "default",
                "sms_subscription_group_id": SMS,
                "email_subscription_group_id": EMAIL,
                "properties": [{"from": "color", "to": "favorite_color"}],
            }
        }
    ],
}
EVENT = {
    "event_id": "e-1",
    "type": "form_submitted",
    "visitor_id": "jv_ana",
    "occurred_at": "2026-11-29T11:00:00Z",
    "properties": {"email": "Ana@Example.com", "first_name": "ana", "color": "blue"},
    "consent": {"sms": False},
}


async def account_with_braze(store: Store, slug: str = "acme") -> Account:
    account = await store.accounts.ensure(slug, slug.title())
    c = await store.connections.add(
        account.id, base_url="https://rest.iad-01.braze.com", api_key="key-0123456789abcdef"
    )
    await store.connections.set_custom_attributes(c.id, ATTRIBUTES, now=NOW)
    return account


def leads(**step: Any) -> dict[str, Any]:
    data = copy.deepcopy(LEADS)
    data["steps"][0]["sync_to_app"].update(step)
    return data


async def test_save_names_every_problem_and_stores_nothing(store: Store) -> None:
    account = await account_with_braze(store)
    broken = leads(
        connection="nope", sms_subscription_group_id=None, email_subscription_group_id="x"
    )
    broken["conditions"] = {"all": [{"property": "page_views", "op": "greater", "value": 2}]}
    with pytest.raises(WorkflowError) as caught:
        await wf.create_workflow(store, account, broken, now=NOW)
    text = "\n".join(caught.value.problems)
    assert "steps[0].sync_to_app.connection: unknown connection 'nope'" in text
    assert "steps[0].sync_to_app.sms_subscription_group_id: required" in text
    assert "steps[0].sync_to_app.email_subscription_group_id" in text and "UUID" in text
    assert "conditions.all[0].op" in text and "greater" in text

    objects = leads(
        properties=[
            {"from": "address", "to": "shipping_address"},
            {"from": "o", "to": "past_orders"},
        ]
    )
    with pytest.raises(WorkflowError) as caught:
        await wf.create_workflow(store, account, objects, now=NOW)
    assert caught.value.problems[0].startswith("steps[0].sync_to_app.properties[0].to:")
    assert "is an Object" in caught.value.problems[0]
    assert "is an Array of objects" in caught.value.problems[1]
    assert await wf.list_workflows(store, account) == []


async def test_connection_defaults_to_the_only_one_and_warnings_come_back(store: Store) -> None:
    account = await account_with_braze(store)
    data = leads(properties=[{"from": "hobby", "to": "hobby"}])
    del data["steps"][0]["sync_to_app"]["connection"]
    saved = await wf.create_workflow(store, account, data, now=NOW)
    assert saved.status == "draft" and saved.latest_version is None
    assert saved.warnings == [
        "steps[0].sync_to_app.properties[0].to: Braze has no custom attribute 'hobby' yet; "
        "Braze will create it with an auto-detected type"
    ]
    await store.connections.add(
        account.id, base_url="https://rest.iad-02.braze.com", api_key="key-2222222222", name="eu"
    )
    with pytest.raises(WorkflowError) as caught:  # two connections: the step must name one
        await wf.update_workflow(store, account, saved.id, data, now=NOW)
    assert "several Braze connections ('default', 'eu')" in caught.value.problems[0]


async def test_preview_event_and_stored_profile_sends_nothing(store: Store) -> None:
    account = await account_with_braze(store)
    saved = await wf.create_workflow(store, account, LEADS, now=NOW)
    result = await wf.preview_draft(store, account, saved.id, events=[EVENT], now=NOW)
    assert result.body is not None
    (attrs,) = result.body["attributes"]
    assert attrs["email"] == "ana@example.com" and attrs["favorite_color"] == "blue"
    assert attrs["first_name"] == "ana"
    # SMS box unticked: no SMS entry; email group subscribed
    assert attrs["subscription_groups"] == [
        {"subscription_group_id": EMAIL, "subscription_state": "subscribed"}
    ]

    profile = merge(None, parse_event(EVENT, now=NOW))
    await store.profiles.upsert_many(account.id, [profile], now=NOW)
    stored = await wf.preview_draft(store, account, saved.id, visitor_id="jv_ana", now=NOW)
    assert stored.body is not None
    assert stored.body["attributes"][0]["favorite_color"] == "blue"

    page_view = {**EVENT, "type": "page_view", "event_id": "e-2"}
    skipped = await wf.preview_draft(store, account, saved.id, events=[page_view], now=NOW)
    assert skipped.skipped and skipped.skip_reason == "not_enrolled"
    assert "does not trigger" in skipped.skip_detail
    with pytest.raises(InputError) as caught:
        await wf.preview_draft(store, account, saved.id, visitor_id="jv_nobody", now=NOW)
    assert caught.value.field == "visitor_id"
    with pytest.raises(InputError) as caught:
        await wf.preview_draft(store, account, saved.id, events=[{"type": "x"}], now=NOW)
    assert caught.value.field is not None and caught.value.field.startswith("event.")
    assert await store.outbox.depth() == 0


async def test_publish_numbers_freezes_diffs_and_restores(store: Store) -> None:
    account = await account_with_braze(store)
    saved = await wf.create_workflow(store, account, LEADS, now=NOW)
    v1 = await wf.publish_workflow(store, account, saved.id, author="ana", note="first", now=NOW)
    assert (v1.version, v1.author, v1.note, v1.changes) == (1, "ana", "first", [])
    assert (await wf.get_workflow(store, account, saved.id)).status == "active"

    later = NOW + timedelta(hours=1)
    edited = leads(send_event="justuno_lead")
    edited["trigger"]["designs"] = ["spring-popup"]
    await wf.update_workflow(store, account, saved.id, edited, now=later)
    assert (await wf.get_version(store, account, saved.id, 1)).definition == v1.definition
    v2 = await wf.publish_workflow(store, account, saved.id, author="bo", note=None, now=later)
    assert v2.version == 2
    assert v2.changes == [
        "trigger.designs: [] → [spring-popup]",
        "steps[0].sync_to_app.send_event: added justuno_lead",
    ]
    history = await wf.list_versions(store, account, saved.id)
    assert [(v.version, v.author) for v in history] == [(2, "bo"), (1, "ana")]
    d = await wf.diff_versions(store, account, saved.id, 2)
    assert (d.from_version, d.to_version, d.changes) == (1, 2, v2.changes)
    assert "+      send_event: justuno_lead" in d.unified and d.unified.startswith("--- v1")
    back = await wf.diff_versions(store, account, saved.id, 1, against=2)
    assert back.changes == [
        "trigger.designs: [spring-popup] → []",
        "steps[0].sync_to_app.send_event: removed justuno_lead",
    ]
    first = await wf.diff_versions(store, account, saved.id, 1)
    assert (first.from_version, first.changes) == (None, [])

    restored = await wf.restore_version(store, account, saved.id, 1, now=later)
    assert restored.draft == v1.definition and restored.latest_version == 2
    with pytest.raises(wf.UnknownWorkflow):
        await wf.get_version(store, account, saved.id, 3)


async def test_pause_enrolls_nobody_and_resume_does(store: Store) -> None:
    account = await account_with_braze(store)
    saved = await wf.create_workflow(store, account, LEADS, now=NOW)
    with pytest.raises(InputError):
        await wf.set_paused(store, account, saved.id, True, now=NOW)  # not published yet
    assert await store.workflows.active_for(account.id, "form_submitted") == []
    await wf.publish_workflow(store, account, saved.id, author="ana", note=None, now=NOW)
    assert [
        w.workflow_id for w in await store.workflows.active_for(account.id, "form_submitted")
    ] == [saved.id]
    paused = await wf.set_paused(store, account, saved.id, True, now=NOW)
    assert paused.status == "paused"
    assert await store.workflows.active_for(account.id, "form_submitted") == []
    await wf.publish_workflow(store, account, saved.id, author="ana", note="v2", now=NOW)
    assert (await wf.get_workflow(store, account, saved.id)).status == "paused"
    resumed = await wf.set_paused(store, account, saved.id, False, now=NOW)
    assert resumed.status == "active"
    (active,) = await store.workflows.active_for(account.id, "form_submitted")
    assert active.version == 2


async def test_export_import_round_trip_and_isolation(store: Store) -> None:
    account = await account_with_braze(store)
    other = await account_with_braze(store, "globex")
    saved = await wf.create_workflow(store, account, LEADS, now=NOW)
    for fmt, target in (("yaml", other), ("json", await account_with_braze(store, "initech"))):
        text = await wf.export_workflow(store, account, saved.id, fmt=fmt)
        assert load(text).to_dict() == saved.draft
        copied = await wf.import_workflow(store, target, text, now=NOW)
        assert (copied.name, copied.draft, copied.status) == ("Leads", saved.draft, "draft")
    with pytest.raises(wf.UnknownWorkflow):
        await wf.get_workflow(store, other, saved.id)
    with pytest.raises(wf.UnknownWorkflow):
        await wf.export_workflow(store, other, saved.id)
    with pytest.raises(wf.UnknownWorkflow):
        await wf.delete_workflow(store, other, saved.id)
    with pytest.raises(WorkflowError) as caught:
        await wf.import_workflow(store, account, "name: [unclosed", now=NOW)
    assert caught.value.problems
    await wf.delete_workflow(store, account, saved.id)
    assert await wf.list_workflows(store, account) == []
