"""Account isolation, systematically: account B calls EVERY method of the service's
repositories with account A's ids, visitors, event ids, emails and names, and neither
sees nor changes anything of A's (A's rows in every table are compared before and
after). Both accounts use the same visitor and event ids, so a missing ``account_id``
filter would show. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from justuno_braze.braze.consent import ConsentDecision
from justuno_braze.delivery.outbox import NewJob
from justuno_braze.errors import InputError, StoreError
from justuno_braze.events import Profile, merge, parse_event
from justuno_braze.store import ConsentContext, StepRun, Store
from justuno_braze.store.tables import (
    api_tokens,
    consent_ledger,
    enrollments,
    events,
    outbox,
    profiles,
    quarantine,
    signatures_seen,
    step_runs,
    workflow_versions,
    workflows,
)
from tests.integration.conftest import T0

SHARED_VISITOR = "jv_shared"
SHARED_EVENT = "ev-shared"
WIDE = {"since": T0 - timedelta(days=30), "until": T0 + timedelta(days=30)}
DEFINITION = {"name": "x", "trigger": {"event": "form_submitted", "designs": []}, "steps": []}


@dataclass
class World:
    """One account's data: the same visitor and event ids in every account."""

    account_id: int
    connection_id: int
    token: str
    token_id: int
    workflow_id: int
    workflow_name: str
    only_visitor: str
    only_event: str
    email: str
    job_ids: list[int]


def decision(visitor: str) -> ConsentDecision:
    return ConsentDecision(
        channel="sms",
        group_id="g",
        state="subscribed",
        basis="implicit",
        design_id=None,
        consent_text=None,
        occurred_at=T0,
        ip=None,
        page_url=None,
        visitor_id=visitor,
    )


async def build(store: Store, slug: str) -> World:
    account = await store.accounts.ensure(slug, slug.title())
    a = account.id
    connection = await store.connections.add(
        a, base_url="https://rest.iad-01.braze.com", api_key=f"key-{slug}-0123456789"
    )
    token, record = await store.tokens.create(a, "ingest", "hook", now=T0)
    wf = await store.workflows.create(a, f"{slug} capture", DEFINITION, now=T0)
    await store.workflows.publish(a, wf.id, definition=DEFINITION, author=slug, note=None, now=T0)
    only_visitor, only_event, email = f"jv_{slug}", f"ev-{slug}", f"{slug}@example.com"
    evs = [
        parse_event(
            {
                "event_id": event_id,
                "type": "form_submitted",
                "visitor_id": visitor,
                "occurred_at": T0.isoformat(),
                "properties": {"email": email},
            }
        )
        for event_id, visitor in ((SHARED_EVENT, SHARED_VISITOR), (only_event, only_visitor))
    ]
    await store.events.insert_new(a, evs, received_at=T0)
    await store.profiles.upsert_many(a, [merge(None, e) for e in evs], now=T0)
    await store.enrollments.set_many(a, {(wf.id, SHARED_VISITOR): T0, (wf.id, only_visitor): T0})
    await store.consent.record(
        a, [decision(SHARED_VISITOR)], context=ConsentContext(SHARED_EVENT), recorded_at=T0
    )
    await store.quarantine.add(a, source="api", reason=[], body=slug, received_at=T0)
    await store.step_runs.record_many(
        a, [StepRun(wf.id, 1, SHARED_EVENT, SHARED_VISITOR, "skipped", T0, "no_identifier")]
    )
    await store.signatures.remember(a, f"sig-{slug}", now=T0)
    jobs = [
        NewJob(
            connection_id=connection.id,
            user_key=f"email:{n}-{email}",
            source_key=f"{SHARED_EVENT}|{wf.id}|{n}",
            occurred_at=T0,
            attributes={"email": email},
            event=None,
            workflow_id=str(wf.id),
            workflow_version=1,
            account_id=a,
            visitor_id=SHARED_VISITOR,
        )
        for n in range(3)
    ]
    await store.outbox.enqueue(jobs, now=T0)
    async with store.engine.connect() as conn:
        ids = sorted(
            (
                await conn.execute(
                    select(outbox.c.id).where(outbox.c.connection_id == connection.id)
                )
            ).scalars()
        )
    claimed = await store.outbox.claim(worker_id=slug, limit=10, now=T0, lease_seconds=30)
    mine = [j.id for j in claimed if j.id in ids]
    await store.outbox.ack([ids[0]], worker_id=slug, now=T0)
    await store.outbox.dead([(ids[1], "bad")], worker_id=slug, now=T0)
    await store.outbox.release([i for i in mine if i == ids[2]], worker_id=slug)
    return World(
        a,
        connection.id,
        token,
        record.id,
        wf.id,
        wf.name,
        only_visitor,
        only_event,
        email,
        ids,
    )


async def snapshot(store: Store, w: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``w``'s account in every table the service repositories touch."""
    owned = {
        t.name: select(t).where(t.c.account_id == w.account_id)
        for t in (
            api_tokens,
            workflows,
            events,
            profiles,
            enrollments,
            consent_ledger,
            quarantine,
            step_runs,
            signatures_seen,
        )
    }
    owned["workflow_versions"] = select(workflow_versions).where(
        workflow_versions.c.workflow_id == w.workflow_id
    )
    owned["outbox"] = select(outbox).where(outbox.c.connection_id == w.connection_id)
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with store.engine.connect() as conn:
        for name, stmt in owned.items():
            rows = (await conn.execute(stmt)).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
            assert out[name], f"the world has no {name} rows: the test would prove nothing"
    return out


Case = Callable[[Store, World, World], Awaitable[None]]
CASES: dict[str, Case] = {}


def case(fn: Case) -> Case:
    CASES[fn.__name__] = fn
    return fn


# ----------------------------------------------------------------------- reads as B


@case
async def tokens_list(s: Store, a: World, b: World) -> None:
    assert [t.id for t in await s.tokens.list(b.account_id)] == [b.token_id]


@case
async def tokens_authenticate_names_the_owner(s: Store, a: World, b: World) -> None:
    found = await s.tokens.authenticate(a.token, "ingest")
    assert found is not None and found.account_id == a.account_id  # the caller compares


@case
async def workflows_get_and_by_name(s: Store, a: World, b: World) -> None:
    assert await s.workflows.get(b.account_id, a.workflow_id) is None
    assert await s.workflows.by_name(b.account_id, a.workflow_name) is None


@case
async def workflows_list(s: Store, a: World, b: World) -> None:
    assert [w.id for w in await s.workflows.list(b.account_id)] == [b.workflow_id]


@case
async def workflows_versions(s: Store, a: World, b: World) -> None:
    assert await s.workflows.versions(b.account_id, a.workflow_id) == []
    assert await s.workflows.version(b.account_id, a.workflow_id, 1) is None


@case
async def workflows_active_for(s: Store, a: World, b: World) -> None:
    active = await s.workflows.active_for(b.account_id, "form_submitted")
    assert [p.workflow_id for p in active] == [b.workflow_id]


@case
async def events_get_and_for_visitor(s: Store, a: World, b: World) -> None:
    assert await s.events.get(b.account_id, a.only_event) is None
    shared = await s.events.for_visitor(b.account_id, SHARED_VISITOR)
    assert [e.properties["email"] for e in shared] == [b.email]
    assert await s.events.for_visitor(b.account_id, a.only_visitor) == []


@case
async def profiles_get_get_many_by_email_list(s: Store, a: World, b: World) -> None:
    assert await s.profiles.get(b.account_id, a.only_visitor) is None
    many = await s.profiles.get_many(b.account_id, [SHARED_VISITOR, a.only_visitor])
    assert list(many) == [SHARED_VISITOR] and many[SHARED_VISITOR].properties["email"] == b.email
    assert await s.profiles.by_email(b.account_id, a.email) == []
    listed = await s.profiles.list(b.account_id, limit=100)
    assert {p.account_id for p in listed} == {b.account_id} and len(listed) == 2
    assert await s.profiles.list(b.account_id, email=a.email) == []


@case
async def enrollments_get_many(s: Store, a: World, b: World) -> None:
    visitors = [SHARED_VISITOR, a.only_visitor]
    assert await s.enrollments.get_many(b.account_id, [a.workflow_id], visitors) == {}


@case
async def consent_export(s: Store, a: World, b: World) -> None:
    rows = [r async for r in s.consent.export(b.account_id, **WIDE)]
    assert len(rows) == 1 and rows[0].visitor_id == SHARED_VISITOR
    async with s.engine.connect() as conn:
        mine = (
            await conn.execute(
                select(consent_ledger.c.id).where(consent_ledger.c.account_id == b.account_id)
            )
        ).scalar_one()
    assert rows[0].id == mine


@case
async def quarantine_list(s: Store, a: World, b: World) -> None:
    assert [q.body for q in await s.quarantine.list(b.account_id)] == ["bravo"]


@case
async def deliveries_list_and_history(s: Store, a: World, b: World) -> None:
    listed = await s.deliveries.list_deliveries(b.account_id, limit=100)
    assert sorted(d.id for d in listed) == b.job_ids
    assert [d.id for d in await s.deliveries.list_deliveries(b.account_id, state="dead")] == [
        b.job_ids[1]
    ]
    history = await s.deliveries.history_for_profile(b.account_id, SHARED_VISITOR)
    assert sorted(d.id for d in history) == b.job_ids


@case
async def analytics(s: Store, a: World, b: World) -> None:
    (day,) = await s.analytics.profiles_by_day(b.account_id, **WIDE)
    assert (day.profiles_created, day.forms_submitted) == (2, 2)
    rows = await s.analytics.workflows_by_day(b.account_id, **WIDE)
    assert [(r.workflow_id, r.synced, r.skipped, r.dead) for r in rows] == [
        (str(b.workflow_id), 1, 1, 1)
    ]
    assert await s.analytics.queue_depth(b.account_id) == 1


# ------------------------------------------------- writes as B aimed at A's rows


@case
async def tokens_revoke(s: Store, a: World, b: World) -> None:
    assert await s.tokens.revoke(b.account_id, a.token_id) is False


@case
async def tokens_create_and_ensure(s: Store, a: World, b: World) -> None:
    await s.tokens.create(b.account_id, "ingest", "hook", now=T0)
    with pytest.raises(InputError):  # A's token cannot be re-registered to B
        await s.tokens.ensure(b.account_id, "ingest", "hook", a.token)


@case
async def workflows_update_draft(s: Store, a: World, b: World) -> None:
    with pytest.raises(StoreError):
        await s.workflows.update_draft(b.account_id, a.workflow_id, {"evil": 1}, name="x")


@case
async def workflows_set_status(s: Store, a: World, b: World) -> None:
    with pytest.raises(StoreError):
        await s.workflows.set_status(b.account_id, a.workflow_id, "paused")
    with pytest.raises(InputError):
        await s.workflows.set_status(b.account_id, a.workflow_id, "active")


@case
async def workflows_publish(s: Store, a: World, b: World) -> None:
    with pytest.raises(StoreError):
        await s.workflows.publish(
            b.account_id, a.workflow_id, definition=DEFINITION, author="b", note=None, now=T0
        )


@case
async def workflows_delete(s: Store, a: World, b: World) -> None:
    assert await s.workflows.delete(b.account_id, a.workflow_id) is False


@case
async def workflows_create_with_as_name(s: Store, a: World, b: World) -> None:
    created = await s.workflows.create(b.account_id, a.workflow_name, DEFINITION, now=T0)
    assert created.account_id == b.account_id


@case
async def events_insert_new_with_as_event_id(s: Store, a: World, b: World) -> None:
    e = parse_event(
        {
            "event_id": a.only_event,
            "type": "page_view",
            "visitor_id": a.only_visitor,
            "occurred_at": (T0 + timedelta(hours=1)).isoformat(),
        }
    )
    assert await s.events.insert_new(b.account_id, [e], received_at=T0) == [e]


@case
async def profiles_upsert_many_of_as_visitor(s: Store, a: World, b: World) -> None:
    later = T0 + timedelta(hours=2)
    intruder = Profile(a.only_visitor, later, later, {"email": "x@evil.example"})
    await s.profiles.upsert_many(b.account_id, [intruder], now=later)


@case
async def enrollments_set_many_on_as_workflow(s: Store, a: World, b: World) -> None:
    later = T0 + timedelta(days=1)
    await s.enrollments.set_many(b.account_id, {(a.workflow_id, SHARED_VISITOR): later})
    got = await s.enrollments.get_many(b.account_id, [a.workflow_id], [SHARED_VISITOR])
    assert got == {(a.workflow_id, SHARED_VISITOR): later}  # B's own row only


@case
async def consent_record(s: Store, a: World, b: World) -> None:
    await s.consent.record(
        b.account_id, [decision(a.only_visitor)], context=ConsentContext(), recorded_at=T0
    )


@case
async def quarantine_add(s: Store, a: World, b: World) -> None:
    await s.quarantine.add(b.account_id, source="api", reason=[], body="x", received_at=T0)


@case
async def step_runs_record_many(s: Store, a: World, b: World) -> None:
    run = StepRun(a.workflow_id, 1, a.only_event, a.only_visitor, "skipped", T0, "x")
    assert await s.step_runs.record_many(b.account_id, [run]) == 1


@case
async def deliveries_replay(s: Store, a: World, b: World) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert await s.deliveries.replay(b.account_id, now=now, ids=[a.job_ids[1]]) == 0
    assert await s.deliveries.replay(b.account_id, now=now, workflow_id=str(a.workflow_id)) == 0
    assert await s.deliveries.replay(b.account_id, now=now) == 1  # B's own dead letter


@case
async def signatures_remember_as_signature(s: Store, a: World, b: World) -> None:
    assert await s.signatures.remember(b.account_id, "sig-alpha", now=T0) is True


@pytest.mark.parametrize("name", list(CASES))
async def test_account_b_never_sees_or_changes_account_as_rows(store: Store, name: str) -> None:
    a = await build(store, "alpha")
    b = await build(store, "bravo")
    before = await snapshot(store, a)
    await CASES[name](store, a, b)
    assert await snapshot(store, a) == before
