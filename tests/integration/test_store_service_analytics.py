"""Analytics and deliveries on a small known dataset (exact numbers), on SQLite and
PostgreSQL: UTC day buckets, per-workflow synced / skipped / dead, queue depth, the
account's deliveries by state and a profile's delivery history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from justuno_braze.delivery.outbox import NewJob
from justuno_braze.errors import InputError
from justuno_braze.events import Profile, parse_event
from justuno_braze.store import Connection, ProfileDay, StepRun, Store, WorkflowDay

D1 = datetime(2026, 11, 27, tzinfo=UTC)
D2 = datetime(2026, 11, 28, tzinfo=UTC)
SINCE, UNTIL = D1, D2 + timedelta(days=1)
LAST_MICROSECOND = timedelta(days=1) - timedelta(microseconds=1)


def profile(visitor: str, sessions: int, page_views: int, forms: int = 0) -> Profile:
    return Profile(
        visitor_id=visitor,
        first_seen=D1,
        last_seen=D1,
        sessions=sessions,
        page_views=page_views,
        forms_submitted=forms,
    )


def job(connection: Connection, n: int, workflow: str, visitor: str | None = None) -> NewJob:
    return NewJob(
        connection_id=connection.id,
        user_key=f"email:u{n}@example.com",
        source_key=f"e{n}|{workflow}|0",
        occurred_at=D1,
        attributes={"email": f"u{n}@example.com"},
        event=None,
        workflow_id=workflow,
        workflow_version=1,
        account_id=connection.account_id if visitor else None,
        visitor_id=visitor,
    )


async def other_connection(store: Store) -> Connection:
    other = await store.accounts.ensure("other", "Other")
    return await store.connections.add(
        other.id, base_url="https://rest.iad-01.braze.com", api_key="key-other-0000"
    )


async def test_profile_numbers_per_utc_day(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    other = await store.accounts.ensure("other", "Other")
    await store.profiles.upsert_many(acme.id, [profile("p0", 5, 5)], now=D1 - timedelta(hours=1))
    await store.profiles.upsert_many(
        acme.id, [profile("p1", 2, 3), profile("p2", 1, 1)], now=D1 + LAST_MICROSECOND
    )
    await store.profiles.upsert_many(acme.id, [profile("p3", 3, 5)], now=D2)
    await store.profiles.upsert_many(other.id, [profile("p9", 9, 9)], now=D2)
    forms = [
        parse_event({"type": t, "visitor_id": "p1", "occurred_at": at.isoformat()})
        for t, at in (
            ("form_submitted", D1),
            ("form_submitted", D1 + LAST_MICROSECOND),
            ("form_submitted", D2),
            ("page_view", D2),
            ("form_submitted", UNTIL),  # outside the range
        )
    ]
    await store.events.insert_new(acme.id, forms, received_at=D2)
    await store.events.insert_new(other.id, forms, received_at=D2)

    days = await store.analytics.profiles_by_day(acme.id, since=SINCE, until=UNTIL)
    assert days == [
        ProfileDay(date(2026, 11, 27), 2, 1, 3, 4, 2),
        ProfileDay(date(2026, 11, 28), 1, 1, 3, 5, 1),
    ]
    assert (days[0].return_visitor_rate, days[0].pages_per_session) == (0.5, 4 / 3)
    assert (days[1].return_visitor_rate, days[1].pages_per_session) == (1.0, 5 / 3)
    total = await store.analytics.totals(acme.id, since=SINCE, until=UNTIL)
    assert (total.profiles_created, total.returning, total.forms_submitted) == (3, 2, 3)
    assert total.return_visitor_rate == 2 / 3 and total.pages_per_session == 9 / 6
    empty = await store.analytics.profiles_by_day(acme.id, since=UNTIL, until=UNTIL)
    assert empty == [] and ProfileDay(date(2026, 1, 1)).return_visitor_rate == 0.0


async def test_synced_skipped_dead_per_workflow_and_day(
    store: Store, connection: Connection
) -> None:
    acme_id = connection.account_id
    foreign = await other_connection(store)
    await store.outbox.enqueue([job(connection, n, "7") for n in (1, 2, 3)], now=D1)
    await store.outbox.enqueue([job(connection, 4, "9"), job(foreign, 5, "7")], now=D1)
    claimed = await store.outbox.claim(worker_id="w", limit=10, now=D1, lease_seconds=30)
    by_user = {j.user_key: j.id for j in claimed}
    ids = [by_user[f"email:u{n}@example.com"] for n in range(1, 6)]
    assert await store.outbox.ack(ids[0:2], worker_id="w", now=D1 + timedelta(hours=1)) == 2
    assert await store.outbox.dead([(ids[2], "bad phone")], worker_id="w", now=D2) == 1
    assert await store.outbox.ack([ids[3]], worker_id="w", now=D2 + LAST_MICROSECOND) == 1
    assert await store.outbox.ack([ids[4]], worker_id="w", now=D1) == 1  # other account
    await store.outbox.enqueue([job(connection, 6, "9")], now=D2)  # still queued
    await store.step_runs.record_many(
        acme_id,
        [
            StepRun(7, 1, "e1", "v1", "skipped", D1, "no_identifier"),
            StepRun(7, 1, "e2", "v2", "enqueued", D1),
            StepRun(9, 1, "e3", "v3", "skipped", D2, "not_enrolled"),
            StepRun(9, 1, "e4", "v4", "skipped", D2 + timedelta(hours=3), "not_enrolled"),
            StepRun(9, 1, "e5", "v5", "skipped", UNTIL, "not_enrolled"),  # outside
        ],
    )

    rows = await store.analytics.workflows_by_day(acme_id, since=SINCE, until=UNTIL)
    assert rows == [
        WorkflowDay("7", date(2026, 11, 27), synced=2, skipped=1, dead=0),
        WorkflowDay("7", date(2026, 11, 28), synced=0, skipped=0, dead=1),
        WorkflowDay("9", date(2026, 11, 28), synced=1, skipped=2, dead=0),
    ]
    assert await store.analytics.queue_depth(acme_id) == 1
    assert await store.analytics.queue_depth(foreign.account_id) == 0


async def test_deliveries_by_state_history_and_replay(store: Store, connection: Connection) -> None:
    acme_id = connection.account_id
    foreign = await other_connection(store)
    visitors = {1: "jv_ana", 2: "jv_ana", 3: None}  # an import may leave the visitor out
    await store.outbox.enqueue([job(connection, n, "7", v) for n, v in visitors.items()], now=D1)
    await store.outbox.enqueue([job(foreign, 4, "7", "jv_ana")], now=D1)
    claimed = await store.outbox.claim(worker_id="w", limit=10, now=D1, lease_seconds=30)
    ids = sorted(j.id for j in claimed)
    await store.outbox.ack([ids[0]], worker_id="w", now=D1)
    await store.outbox.dead(
        [(ids[1], "invalid phone"), (ids[2], "invalid email"), (ids[3], "x")],
        worker_id="w",
        now=D2,
    )

    dead = await store.deliveries.list_deliveries(acme_id, state="dead")
    assert [(d.id, d.reason, d.state) for d in dead] == [
        (ids[2], "invalid email", "dead"),
        (ids[1], "invalid phone", "dead"),
    ]
    page = await store.deliveries.list_deliveries(acme_id, limit=2)
    assert [d.id for d in page] == [ids[2], ids[1]]
    rest = await store.deliveries.list_deliveries(acme_id, limit=2, before_id=page[-1].id)
    assert [(d.id, d.state, d.finished_at) for d in rest] == [(ids[0], "delivered", D1)]
    history = await store.deliveries.history_for_profile(acme_id, "jv_ana")
    assert [(d.id, d.state, d.visitor_id) for d in history] == [
        (ids[1], "dead", "jv_ana"),
        (ids[0], "delivered", "jv_ana"),
    ]
    assert history[0].attributes == {"email": "u2@example.com"}

    assert await store.deliveries.replay(acme_id, now=D2, ids=[ids[1], ids[3]]) == 1
    assert await store.deliveries.replay(acme_id, now=D2, workflow_id="8") == 0
    assert await store.deliveries.replay(acme_id, now=D2) == 1  # ids[2]
    assert [d.id for d in await store.deliveries.list_deliveries(acme_id, state="dead")] == []
    assert await store.outbox.counts(connection_id=foreign.id) == {
        "pending": 0,
        "leased": 0,
        "delivered": 0,
        "dead": 1,
    }
    with pytest.raises(InputError, match="state: must be one of"):
        await store.deliveries.list_deliveries(acme_id, state="sent")


async def test_skips_by_reason_per_workflow_and_day(store: Store, connection: Connection) -> None:
    acme_id = connection.account_id
    foreign = await other_connection(store)
    await store.step_runs.record_many(
        acme_id,
        [
            StepRun(7, 1, "e1", "v1", "skipped", D1, "no_identifier"),
            StepRun(7, 1, "e2", "v2", "skipped", D1 + timedelta(hours=1), "no_identifier"),
            StepRun(7, 1, "e3", "v3", "skipped", D1, None),
            StepRun(7, 1, "e4", "v4", "enqueued", D1),
            StepRun(9, 1, "e5", "v5", "skipped", D2, "not_enrolled"),
            StepRun(9, 1, "e6", "v6", "skipped", UNTIL, "not_enrolled"),  # outside
        ],
    )
    await store.step_runs.record_many(
        foreign.account_id, [StepRun(7, 1, "f1", "v9", "skipped", D1, "no_identifier")]
    )
    assert await store.analytics.skips_by_reason(acme_id, since=SINCE, until=UNTIL) == {
        ("7", date(2026, 11, 27)): {"no_identifier": 2, "unknown": 1},
        ("9", date(2026, 11, 28)): {"not_enrolled": 1},
    }
    assert await store.analytics.skips_by_reason(foreign.account_id, since=SINCE, until=UNTIL) == {
        ("7", date(2026, 11, 27)): {"no_identifier": 1}
    }
