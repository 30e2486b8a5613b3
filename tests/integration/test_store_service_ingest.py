"""What ingestion writes: events (deduplicated), profiles, enrollments, the consent
ledger, quarantine and step runs — each alone and all in ONE caller's transaction — on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from justuno_braze.braze.consent import ConsentDecision
from justuno_braze.delivery.outbox import NewJob
from justuno_braze.errors import InputError, StoreError
from justuno_braze.events import Event, Profile, merge, parse_event
from justuno_braze.store import Connection, ConsentContext, StepRun, Store
from justuno_braze.store.consent import COLUMNS
from justuno_braze.store.session import transaction
from justuno_braze.store.tables import consent_ledger, events, outbox, profiles, step_runs
from tests.integration.conftest import T0

SAMPLE = Path(__file__).parents[1] / "data" / "justuno-events-sample.jsonl"


def event(event_id: str, visitor: str = "jv_1", minutes: int = 0, **extra: Any) -> Event:
    return parse_event(
        {
            "event_id": event_id,
            "type": extra.pop("type", "form_submitted"),
            "visitor_id": visitor,
            "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            **extra,
        }
    )


def decision(visitor: str, minutes: int, channel: str = "sms") -> ConsentDecision:
    return ConsentDecision(
        channel=channel,
        group_id="0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a",
        state="subscribed",
        basis="explicit",
        design_id="spring-popup",
        consent_text="Text me offers",
        occurred_at=T0 + timedelta(minutes=minutes),
        ip="203.0.113.7",
        page_url="https://shop.example/",
        visitor_id=visitor,
    )


async def count(store: Store, table: Any) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_events_are_stored_once_per_event_id(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    sample = [parse_event(json.loads(line)) for line in SAMPLE.read_text().splitlines() if line]
    new = await store.events.insert_new(acme.id, sample, received_at=T0)
    assert [e.event_id for e in new] == list(dict.fromkeys(e.event_id for e in sample))
    assert await store.events.insert_new(acme.id, sample, received_at=T0) == []
    batch = [event("x1"), event("x1", minutes=5), event(sample[0].event_id), event("x2")]
    assert [e.event_id for e in await store.events.insert_new(acme.id, batch, received_at=T0)] == [
        "x1",
        "x2",
    ]
    assert await count(store, events) == len(new) + 2
    stored = await store.events.get(acme.id, "x1")
    assert stored == batch[0]  # the first of the duplicates won
    visitor = sample[0].visitor_id
    history = await store.events.for_visitor(acme.id, visitor)
    assert history == sorted(
        (e for e in new if e.visitor_id == visitor), key=lambda e: e.occurred_at
    )


async def test_profiles_upsert_lookup_and_listing(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    ana = merge(None, event("a1", "jv_ana", properties={"email": " Ana@Example.COM "}))
    bo = merge(None, event("b1", "jv_bo", type="page_view"))
    await store.profiles.upsert_many(acme.id, [ana, bo], now=T0)
    ana2 = merge(ana, event("a2", "jv_ana", minutes=45, type="page_view"))
    await store.profiles.upsert_many(acme.id, [ana2], now=T0 + timedelta(hours=1))

    got = await store.profiles.get_many(acme.id, ["jv_ana", "jv_bo", "jv_nobody"])
    assert got == {"jv_ana": ana2, "jv_bo": bo}
    stored = await store.profiles.get(acme.id, "jv_ana")
    assert stored is not None and stored.profile == ana2 and stored.email == "ana@example.com"
    assert (stored.created_at, stored.updated_at) == (T0, T0 + timedelta(hours=1))
    by_email = await store.profiles.by_email(acme.id, "ANA@example.com")
    assert [p.visitor_id for p in by_email] == ["jv_ana"]
    assert await store.profiles.by_email(acme.id, "nobody@example.com") == []

    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    profiles.c.sessions, profiles.c.page_views, profiles.c.forms_submitted
                ).where(profiles.c.visitor_id == "jv_ana")
            )
        ).one()
    assert tuple(row) == (2, 1, 1)

    first = await store.profiles.list(acme.id, limit=1)
    assert [p.visitor_id for p in first] == ["jv_bo"]
    rest = await store.profiles.list(acme.id, limit=1, before_id=first[0].id)
    assert [p.visitor_id for p in rest] == ["jv_ana"]
    assert [p.visitor_id for p in await store.profiles.list(acme.id, email="ana@EXAMPLE.com")] == [
        "jv_ana"
    ]
    assert [p.visitor_id for p in await store.profiles.list(acme.id, visitor_id="jv_bo")] == [
        "jv_bo"
    ]
    updated = await store.profiles.list(acme.id, updated_since=T0 + timedelta(minutes=30))
    assert [p.visitor_id for p in updated] == ["jv_ana"]
    with pytest.raises(InputError, match="limit: must be between 1 and 1000"):
        await store.profiles.list(acme.id, limit=0)


async def test_enrollments_keep_the_latest_time(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    wf = await store.workflows.create(acme.id, "Forms", {}, now=T0)
    await store.enrollments.set_many(acme.id, {(wf.id, "jv_1"): T0, (wf.id, "jv_2"): T0})
    await store.enrollments.set_many(
        acme.id, {(wf.id, "jv_1"): T0 + timedelta(hours=1), (wf.id, "jv_2"): T0 - timedelta(1)}
    )
    got = await store.enrollments.get_many(acme.id, [wf.id], ["jv_1", "jv_2", "jv_3"])
    assert got == {(wf.id, "jv_1"): T0 + timedelta(hours=1), (wf.id, "jv_2"): T0}


async def test_the_consent_ledger_exports_a_time_range_in_order(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    ctx = ConsentContext(event_id="e1", workflow_id=7, workflow_version=2)
    # recorded out of order: the export sorts by the decision's time
    await store.consent.record(
        acme.id, [decision("jv_c", 30), decision("jv_a", 10)], context=ctx, recorded_at=T0
    )
    await store.consent.record_many(
        acme.id,
        [
            (decision("jv_b", 20, "email"), ConsentContext(event_id="e2")),
            (decision("jv_z", 60), ConsentContext(event_id="e3")),
            (decision("jv_y", 0), ConsentContext(event_id="e4")),
        ],
        recorded_at=T0 + timedelta(hours=2),
    )
    rows = [
        entry
        async for entry in store.consent.export(
            acme.id, since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=60)
        )
    ]
    assert [(r.visitor_id, r.channel, r.event_id) for r in rows] == [
        ("jv_a", "sms", "e1"),
        ("jv_b", "email", "e2"),
        ("jv_c", "sms", "e1"),
    ]
    first = rows[0]
    assert (first.workflow_id, first.workflow_version, first.recorded_at) == (7, 2, T0)
    assert (first.ip, first.consent_text, first.basis, first.state) == (
        "203.0.113.7",
        "Text me offers",
        "explicit",
        "subscribed",
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(r.values() for r in rows)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert parsed[0]["occurred_at"] == "2026-11-29T12:10:00Z"
    assert parsed[0]["group_id"] == "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"


async def test_the_consent_ledger_pages_by_time_and_id_within_the_account(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    other = await store.accounts.ensure("other", "Other")
    ctx = ConsentContext(event_id="e1")
    # two decisions at the same minute: the id breaks the tie
    await store.consent.record(
        acme.id,
        [decision("jv_c", 30), decision("jv_a", 10), decision("jv_b", 10, "email")],
        context=ctx,
        recorded_at=T0,
    )
    await store.consent.record(acme.id, [decision("jv_z", 90)], context=ctx, recorded_at=T0)
    await store.consent.record(other.id, [decision("jv_a", 20)], context=ctx, recorded_at=T0)
    window = {"since": T0, "until": T0 + timedelta(minutes=60)}
    first = await store.consent.page(acme.id, **window, limit=2)
    assert [(e.visitor_id, e.channel) for e in first] == [("jv_a", "sms"), ("jv_b", "email")]
    last = first[-1]
    rest = await store.consent.page(acme.id, **window, after=(last.occurred_at, last.id), limit=2)
    assert [e.visitor_id for e in rest] == ["jv_c"]
    assert [e.visitor_id for e in await store.consent.page(other.id, **window, limit=5)] == ["jv_a"]


async def test_a_visitors_latest_consent_entries_newest_first(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    other = await store.accounts.ensure("other", "Other")
    ctx = ConsentContext(event_id="e1")
    await store.consent.record(
        acme.id,
        [decision("jv_a", 10), decision("jv_a", 30, "email"), decision("jv_a", 20)],
        context=ctx,
        recorded_at=T0,
    )
    await store.consent.record(acme.id, [decision("jv_b", 40)], context=ctx, recorded_at=T0)
    await store.consent.record(other.id, [decision("jv_a", 50)], context=ctx, recorded_at=T0)
    latest = await store.consent.latest_for_visitor(acme.id, "jv_a", limit=2)
    assert [(e.occurred_at, e.channel) for e in latest] == [
        (T0 + timedelta(minutes=30), "email"),
        (T0 + timedelta(minutes=20), "sms"),
    ]
    assert len(await store.consent.latest_for_visitor(other.id, "jv_a", limit=10)) == 1
    assert await store.consent.latest_for_visitor(acme.id, "jv_nobody", limit=10) == []


async def test_quarantine_keeps_refused_input_capped(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    reason = [{"field": "visitor_id", "message": "is required"}]
    small = await store.quarantine.add(
        acme.id, source="api", reason=reason, body='{"type": "x"}', received_at=T0
    )
    big = "é" * 70_000 + "\x00"
    await store.quarantine.add(
        acme.id, source="api", reason=reason, body=big.encode(), received_at=T0
    )
    await store.quarantine.add(
        None, source="api", reason=[{"message": "unknown account"}], body="{}", received_at=T0
    )
    latest, first = await store.quarantine.list(acme.id)
    assert first.id == small and first.body == '{"type": "x"}' and first.reason == reason
    assert not first.truncated
    assert latest.truncated and len(latest.body) == 64 * 1024
    assert latest.body_size == len(big.encode())
    (orphan,) = await store.quarantine.list(None)
    assert orphan.account_id is None and orphan.reason == [{"message": "unknown account"}]
    with pytest.raises(InputError, match="source: must be one of"):
        await store.quarantine.add(acme.id, source="ftp", reason=[], body="", received_at=T0)


async def test_one_transaction_writes_everything_or_nothing(
    store: Store, connection: Connection
) -> None:
    acme_id = connection.account_id
    wf = await store.workflows.create(acme_id, "Forms", {}, now=T0)
    e = event("e1", "jv_1", properties={"email": "ana@example.com"})
    job = NewJob(
        connection_id=connection.id,
        user_key="email:ana@example.com",
        source_key=f"e1|{wf.id}|0",
        occurred_at=e.occurred_at,
        attributes={"email": "ana@example.com"},
        event=None,
        workflow_id=str(wf.id),
        workflow_version=1,
    )

    async def ingest(fail: bool) -> None:
        async with transaction(store.engine) as conn:
            new = await store.events.insert_new(acme_id, [e], received_at=T0, conn=conn)
            seen = await store.profiles.get_many(acme_id, ["jv_1"], conn=conn)
            profile: Profile = merge(seen.get("jv_1"), new[0])
            await store.profiles.upsert_many(acme_id, [profile], now=T0, conn=conn)
            await store.enrollments.set_many(acme_id, {(wf.id, "jv_1"): T0}, conn=conn)
            await store.consent.record(
                acme_id,
                [decision("jv_1", 0)],
                context=ConsentContext("e1"),
                recorded_at=T0,
                conn=conn,
            )
            await store.step_runs.record_many(
                acme_id, [StepRun(wf.id, 1, "e1", "jv_1", "enqueued", T0)], conn=conn
            )
            await store.outbox.enqueue([job], now=T0, conn=conn)
            if fail:
                raise StoreError("simulated failure before commit")

    with pytest.raises(StoreError, match="simulated"):
        await ingest(fail=True)
    for table in (events, profiles, consent_ledger, step_runs, outbox):
        assert await count(store, table) == 0
    assert await store.enrollments.get_many(acme_id, [wf.id], ["jv_1"]) == {}

    await ingest(fail=False)
    for table in (events, profiles, consent_ledger, step_runs, outbox):
        assert await count(store, table) == 1
    assert await store.enrollments.get_many(acme_id, [wf.id], ["jv_1"]) == {(wf.id, "jv_1"): T0}
    assert (await store.profiles.get(acme_id, "jv_1")).email == "ana@example.com"  # type: ignore[union-attr]


async def test_step_runs_refuse_an_unknown_outcome(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    with pytest.raises(InputError, match="outcome: must be one of enqueued, skipped"):
        await store.step_runs.record_many(acme.id, [StepRun(1, 1, "e", "v", "sent", T0)])
