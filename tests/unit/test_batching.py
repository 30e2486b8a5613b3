"""Batching: coalesce per user in event order, chunk to the caps, index maps (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from justuno_braze.delivery.batching import UserUpdate, chunk, coalesce
from justuno_braze.delivery.outbox import Job

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
SMS = "0b7c1f2e-9a8d-4c3b-8e7f-6a5b4c3d2e1f"
EMAIL = "4e1d2c3b-5a6f-4e7d-9c8b-7a6f5e4d3c2b"

_ids = iter(range(1, 1_000_000))


def job(
    user: str,
    minutes: float = 0,
    *,
    attributes: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    id: int | None = None,
    connection_id: int = 1,
    attempts: int = 0,
    enqueued_minutes: float | None = None,
) -> Job:
    job_id = id if id is not None else next(_ids)
    when = T0 + timedelta(minutes=minutes)
    return Job(
        connection_id=connection_id,
        user_key=f"email:{user}",
        source_key=f"src-{job_id}",
        occurred_at=when,
        attributes=attributes,
        event=event,
        id=job_id,
        attempts=attempts,
        enqueued_at=T0
        + timedelta(minutes=enqueued_minutes if enqueued_minutes is not None else minutes),
        last_error=None,
    )


def attrs(user: str, **values: Any) -> dict[str, Any]:
    return {"email": user, **values}


def group(gid: str, state: str) -> dict[str, str]:
    return {"subscription_group_id": gid, "subscription_state": state}


# --- coalesce ---------------------------------------------------------------------------


def test_single_job_becomes_one_update_with_its_values() -> None:
    j = job("a@x.io", attributes=attrs("a@x.io", first_name="Ana"))
    [update] = coalesce([j])
    assert update.user_key == "email:a@x.io"
    assert update.attributes == {"email": "a@x.io", "first_name": "Ana"}
    assert update.job_ids == [j.id]
    assert update.events == []
    assert update.time_of("first_name") == j.occurred_at


def test_later_values_win_in_event_order_not_claim_order() -> None:
    late = job("a@x.io", 5, attributes=attrs("a@x.io", first_name="Late", city="Rio"))
    early = job("a@x.io", 1, attributes=attrs("a@x.io", first_name="Early", last_name="Silva"))
    middle = job("a@x.io", 3, attributes=attrs("a@x.io", last_name="Souza"))
    [update] = coalesce([late, early, middle])
    assert update.attributes == {
        "email": "a@x.io",
        "first_name": "Late",
        "last_name": "Souza",
        "city": "Rio",
    }
    assert update.job_ids == [early.id, middle.id, late.id]
    assert update.occurred_at == late.occurred_at
    # each attribute remembers the time of the job that set it (for stale detection)
    assert update.time_of("last_name") == middle.occurred_at
    assert update.time_of("first_name") == late.occurred_at


def test_same_time_is_ordered_by_job_id() -> None:
    second = job("a@x.io", 0, id=900_002, attributes=attrs("a@x.io", first_name="Second"))
    first = job("a@x.io", 0, id=900_001, attributes=attrs("a@x.io", first_name="First"))
    [update] = coalesce([second, first])
    assert update.attributes is not None
    assert update.attributes["first_name"] == "Second"
    assert update.job_ids == [900_001, 900_002]


def test_subscription_groups_are_merged_by_id_and_later_state_wins() -> None:
    a = job("a@x.io", 1, attributes=attrs("a@x.io", subscription_groups=[group(SMS, "subscribed")]))
    b = job(
        "a@x.io",
        2,
        attributes=attrs(
            "a@x.io",
            subscription_groups=[group(EMAIL, "subscribed"), group(SMS, "unsubscribed")],
        ),
    )
    [update] = coalesce([b, a])
    assert update.attributes is not None
    assert sorted(
        update.attributes["subscription_groups"], key=lambda g: g["subscription_group_id"]
    ) == sorted(
        [group(SMS, "unsubscribed"), group(EMAIL, "subscribed")],
        key=lambda g: g["subscription_group_id"],
    )


def test_events_are_kept_in_order_with_their_idempotency_keys() -> None:
    e1 = job("a@x.io", 1, event={"email": "a@x.io", "name": "signup", "time": "1"})
    e2 = job(
        "a@x.io",
        2,
        attributes=attrs("a@x.io", first_name="A"),
        event={"email": "a@x.io", "name": "signup", "time": "2"},
    )
    [update] = coalesce([e2, e1])
    assert [e["time"] for e in update.events] == ["1", "2"]
    assert update.event_keys == [e1.source_key, e2.source_key]
    assert update.attributes == {"email": "a@x.io", "first_name": "A"}


def test_users_are_kept_apart_and_in_first_seen_order() -> None:
    jobs = [
        job("b@x.io", 1, attributes=attrs("b@x.io", first_name="B")),
        job("a@x.io", 1, attributes=attrs("a@x.io", first_name="A")),
        job("b@x.io", 2, attributes=attrs("b@x.io", first_name="B2")),
        job("a@x.io", 1, connection_id=2, attributes=attrs("a@x.io", first_name="A-other")),
    ]
    updates = coalesce(jobs)
    assert [(u.connection_id, u.user_key) for u in updates] == [
        (1, "email:b@x.io"),
        (1, "email:a@x.io"),
        (2, "email:a@x.io"),
    ]
    assert updates[0].attributes == {"email": "b@x.io", "first_name": "B2"}
    assert updates[2].attributes == {"email": "a@x.io", "first_name": "A-other"}


def test_retry_window_and_attempts_come_from_the_oldest_and_most_tried_job() -> None:
    a = job("a@x.io", 5, enqueued_minutes=-60, attempts=3, attributes=attrs("a@x.io", x=1))
    b = job("a@x.io", 6, enqueued_minutes=6, attempts=0, attributes=attrs("a@x.io", x=2))
    [update] = coalesce([b, a])
    assert update.first_enqueued_at == T0 - timedelta(minutes=60)
    assert update.attempts == 3


def test_the_jobs_are_not_mutated() -> None:
    original = attrs("a@x.io", first_name="A", subscription_groups=[group(SMS, "subscribed")])
    a = job("a@x.io", 1, attributes=original)
    b = job("a@x.io", 2, attributes=attrs("a@x.io", first_name="B"))
    coalesce([a, b])
    assert original == attrs(
        "a@x.io", first_name="A", subscription_groups=[group(SMS, "subscribed")]
    )


def test_events_beyond_one_request_are_deferred_to_a_later_round() -> None:
    jobs = [
        job("a@x.io", i, event={"email": "a@x.io", "name": "e", "time": str(i)}) for i in range(5)
    ]
    [update] = coalesce(jobs, cap=3)
    assert len(update.events) == 3
    assert update.job_ids == [j.id for j in jobs[:3]]
    assert update.deferred_job_ids == [j.id for j in jobs[3:]]
    # with a combined cap the attributes object counts too
    jobs2 = [
        job(
            "c@x.io",
            i,
            attributes=attrs("c@x.io", n=i),
            event={"email": "c@x.io", "name": "e", "time": str(i)},
        )
        for i in range(4)
    ]
    [update2] = coalesce(jobs2, cap=75, combined_cap=3)
    assert len(update2.events) == 2 and update2.attributes is not None
    assert update2.attributes["n"] == 1  # later jobs' attributes are not applied either
    assert update2.deferred_job_ids == [j.id for j in jobs2[2:]]


# --- chunk ------------------------------------------------------------------------------


def _updates(n: int, *, with_event: bool = False) -> list[UserUpdate]:
    jobs = [
        job(
            f"u{i}@x.io",
            attributes=attrs(f"u{i}@x.io", n=i),
            event={"email": f"u{i}@x.io", "name": "e", "time": "t"} if with_event else None,
        )
        for i in range(n)
    ]
    return coalesce(jobs)


def test_chunk_respects_the_per_array_cap_and_keeps_order() -> None:
    requests = chunk(_updates(160), cap=75)
    assert [len(r.body["attributes"]) for r in requests] == [75, 75, 10]
    assert [a["n"] for r in requests for a in r.body["attributes"]] == list(range(160))
    assert all("events" not in r.body for r in requests)


def test_chunk_with_events_keeps_each_users_objects_in_one_request() -> None:
    requests = chunk(_updates(100, with_event=True), cap=75)
    assert [len(r.body["attributes"]) for r in requests] == [75, 25]
    assert [len(r.body["events"]) for r in requests] == [75, 25]
    for r in requests:
        assert list(r.body) == ["attributes", "events"]  # attributes first
        emails_a = [a["email"] for a in r.body["attributes"]]
        emails_e = [e["email"] for e in r.body["events"]]
        assert emails_a == emails_e


def test_chunk_combined_cap_counts_all_arrays() -> None:
    requests = chunk(_updates(10, with_event=True), cap=75, combined_cap=5)
    # each user has 2 objects, so at most 2 users (4 objects) per request
    assert [len(r.updates) for r in requests] == [2, 2, 2, 2, 2]
    assert all(len(r.body["attributes"]) + len(r.body["events"]) <= 5 for r in requests)


def test_index_map_points_minor_errors_at_the_right_update() -> None:
    jobs = [
        job("a@x.io", attributes=attrs("a@x.io", n=0)),
        job("b@x.io", event={"email": "b@x.io", "name": "e", "time": "t"}),
        job(
            "c@x.io",
            attributes=attrs("c@x.io", n=2),
            event={"email": "c@x.io", "name": "e", "time": "t"},
        ),
    ]
    [request] = chunk(coalesce(jobs))
    assert request.update_for("attributes", 0).user_key == "email:a@x.io"  # type: ignore[union-attr]
    assert request.update_for("attributes", 1).user_key == "email:c@x.io"  # type: ignore[union-attr]
    assert request.update_for("events", 0).user_key == "email:b@x.io"  # type: ignore[union-attr]
    assert request.update_for("events", 1).user_key == "email:c@x.io"  # type: ignore[union-attr]
    assert request.update_for("events", 2) is None
    assert request.update_for("purchases", 0) is None
    assert request.update_for("attributes", -1) is None
    assert sorted(request.job_ids) == sorted(j.id for j in jobs)


def test_chunk_skips_updates_with_nothing_to_send() -> None:
    updates = _updates(3)
    updates[1].attributes = None
    requests = chunk(updates)
    assert [a["n"] for a in requests[0].body["attributes"]] == [0, 2]
    assert len(requests[0].updates) == 2


def test_chunk_refuses_bad_caps() -> None:
    with pytest.raises(ValueError, match="cap"):
        chunk([], cap=0)
    with pytest.raises(ValueError, match="combined_cap"):
        chunk([], combined_cap=0)
