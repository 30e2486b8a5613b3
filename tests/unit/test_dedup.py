"""Dedup: unchanged dropped, stale dropped, groups and non-billable fields always kept,
events idempotent (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from justuno_braze.delivery.batching import UserUpdate, coalesce
from justuno_braze.delivery.dedup import dedup, identifier_field
from justuno_braze.delivery.outbox import Job

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
SMS = "0b7c1f2e-9a8d-4c3b-8e7f-6a5b4c3d2e1f"


def update(
    attributes: dict[str, Any] | None,
    *,
    user_key: str = "email:a@x.io",
    at: datetime = T0,
    events: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
) -> UserUpdate:
    return UserUpdate(
        connection_id=1,
        user_key=user_key,
        occurred_at=at,
        job_ids=[1],
        attributes=attributes,
        events=[e for _, e in events],
        event_keys=[k for k, _ in events],
    )


def test_nothing_accepted_yet_sends_everything_and_records_it() -> None:
    u = dedup(update({"email": "a@x.io", "first_name": "Ana", "dob": "1990-01-02"}), None)
    assert u.attributes == {"email": "a@x.io", "first_name": "Ana", "dob": "1990-01-02"}
    assert u.record == {"first_name": ("Ana", T0), "dob": ("1990-01-02", T0)}
    assert u.needs_request


def test_unchanged_attributes_are_dropped_changed_ones_sent() -> None:
    accepted = {
        "first_name": ("Ana", T0 - timedelta(days=1)),
        "last_name": ("Silva", T0 - timedelta(days=1)),
    }
    u = dedup(update({"email": "a@x.io", "first_name": "Ana", "last_name": "Souza"}), accepted)
    assert u.attributes == {"email": "a@x.io", "last_name": "Souza"}
    # the unchanged value is remembered with its newer time (so later stale updates are caught)
    assert u.record == {"last_name": ("Souza", T0), "first_name": ("Ana", T0)}


def test_only_the_identifier_left_needs_no_request() -> None:
    accepted = {"first_name": ("Ana", T0)}
    u = dedup(update({"email": "a@x.io", "first_name": "Ana"}), accepted)
    assert u.attributes is None
    assert not u.needs_request
    assert u.record is None  # nothing new to remember


def test_stale_attributes_are_dropped() -> None:
    accepted = {"first_name": ("Newer", T0 + timedelta(minutes=5))}
    u = dedup(update({"email": "a@x.io", "first_name": "Older", "city": "Rio"}), accepted)
    assert u.attributes == {"email": "a@x.io", "city": "Rio"}
    assert "first_name" not in (u.record or {})


def test_staleness_uses_the_time_of_the_job_that_set_each_attribute() -> None:
    def job(i: int, minutes: int, **values: Any) -> Job:
        return Job(
            connection_id=1,
            user_key="email:a@x.io",
            source_key=f"s{i}",
            occurred_at=T0 + timedelta(minutes=minutes),
            attributes={"email": "a@x.io", **values},
            event=None,
            id=i,
            attempts=0,
            enqueued_at=T0,
            last_error=None,
        )

    [u] = coalesce([job(1, 1, first_name="Old"), job(2, 10, city="Rio")])
    accepted = {"first_name": ("Mid", T0 + timedelta(minutes=5))}
    dedup(u, accepted)
    assert u.attributes == {"email": "a@x.io", "city": "Rio"}


def test_subscription_groups_and_non_billable_fields_are_always_sent() -> None:
    groups = [{"subscription_group_id": SMS, "subscription_state": "subscribed"}]
    accepted = {
        "subscription_groups": (groups, T0),
        "country": ("BR", T0),
        "language": ("pt", T0),
        "email_subscribe": ("subscribed", T0),
        "first_name": ("Ana", T0),
    }
    attributes = {
        "email": "a@x.io",
        "first_name": "Ana",
        "country": "BR",
        "language": "pt",
        "email_subscribe": "subscribed",
        "subscription_groups": groups,
    }
    u = dedup(update(attributes), accepted)
    assert u.attributes == {
        "email": "a@x.io",
        "country": "BR",
        "language": "pt",
        "email_subscribe": "subscribed",
        "subscription_groups": groups,
    }
    assert u.needs_request


def test_identifier_and_control_keys_are_never_dropped() -> None:
    alias = {"alias_name": "jv_1", "alias_label": "justuno_visitor_id"}
    attributes = {"user_alias": alias, "_update_existing_only": False, "email": "a@x.io", "x": 1}
    accepted = {"email": ("a@x.io", T0), "user_alias": (alias, T0)}
    u = dedup(update(attributes, user_key="alias:jv_1"), accepted)
    # email is a plain attribute here (identified by alias) and unchanged: dropped
    assert u.attributes == {"user_alias": alias, "_update_existing_only": False, "x": 1}


def test_phone_is_deduped_when_email_identifies_the_user() -> None:
    accepted = {"phone": ("+5511999990000", T0)}
    u = dedup(update({"email": "a@x.io", "phone": "+5511999990000", "x": 2}), accepted)
    assert u.attributes == {"email": "a@x.io", "x": 2}


def test_a_type_change_is_a_change() -> None:
    accepted = {"vip": (1, T0), "score": (1, T0)}
    u = dedup(update({"email": "a@x.io", "vip": True, "score": 1}), accepted)
    assert u.attributes == {"email": "a@x.io", "vip": True}


def test_recorded_events_are_dropped_new_ones_kept() -> None:
    e_old = {"email": "a@x.io", "name": "signup", "time": "t1"}
    e_new = {"email": "a@x.io", "name": "signup", "time": "t2"}
    accepted = {"first_name": ("Ana", T0)}
    u = dedup(
        update({"email": "a@x.io", "first_name": "Ana"}, events=[("k1", e_old), ("k2", e_new)]),
        accepted,
        {"k1"},
    )
    assert u.events == [e_new]
    assert u.event_keys == ["k2"]
    assert u.attributes is None
    assert u.needs_request  # the new event still goes


def test_all_events_recorded_and_nothing_changed_needs_no_request() -> None:
    u = dedup(update(None, events=[("k1", {"name": "e"})]), None, {"k1"})
    assert not u.needs_request


def test_identifier_field_from_user_key() -> None:
    assert identifier_field("email:a@x.io") == "email"
    assert identifier_field("phone:+15551234567") == "phone"
    assert identifier_field("alias:jv_1") == "user_alias"
    assert identifier_field("external_id:42") == "external_id"
    assert identifier_field("weird", {"braze_id": "b"}) == "braze_id"
    assert identifier_field("weird") is None
