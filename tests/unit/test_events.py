"""Justuno events: parsing the canonical JSON and merging events into profiles."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from justuno_braze.errors import InputError
from justuno_braze.events import Event, Profile, merge, parse_event

SAMPLE = Path(__file__).parents[1] / "data" / "justuno-events-sample.jsonl"
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def raw(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "form_submitted",
        "visitor_id": "jv_1",
        "occurred_at": "2026-11-29T10:00:00Z",
        "design_id": "spring-popup",
        "page_url": "https://shop.example/",
        "properties": {"email": "a@example.com", "interests": ["x", "y"]},
        "consent": {"sms": True},
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def event(t: datetime, type_: str = "page_view", **props: Any) -> Event:
    return Event(
        event_id=f"e-{t.isoformat()}-{type_}",
        type=type_,
        visitor_id="jv_1",
        occurred_at=t,
        properties=props,
    )


def test_every_sample_event_parses() -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    events = [parse_event(json.loads(line)) for line in lines]
    assert len(events) == 349
    first = events[0]
    assert first.event_id == "sample-0000"
    assert first.occurred_at == datetime(2026, 11, 2, 18, 37, tzinfo=UTC)
    assert first.properties["email"] == "Chloé.Rossi0@example.com"
    assert sum(1 for e in events if e.consent) == 153


def test_canonical_event_is_parsed_with_all_fields() -> None:
    e = parse_event(raw(event_id="abc", ip="2001:db8:0:0::1", consent_text="I agree"))
    assert e == Event(
        event_id="abc",
        type="form_submitted",
        visitor_id="jv_1",
        occurred_at=T0,
        design_id="spring-popup",
        page_url="https://shop.example/",
        properties={"email": "a@example.com", "interests": ["x", "y"]},
        consent={"sms": True},
        ip="2001:db8::1",
        consent_text="I agree",
    )
    assert parse_event(e.to_dict()) == e


def test_event_id_is_derived_from_the_content_and_stable() -> None:
    a = parse_event(raw())
    b = parse_event(raw(occurred_at="2026-11-29T11:00:00+01:00", extra_template_key=1))
    c = parse_event(raw(properties={"email": "b@example.com"}))
    assert a.event_id.startswith("ev_") and len(a.event_id) == 35
    assert a.event_id == b.event_id  # same instant, unknown keys ignored
    assert a.event_id != c.event_id


def test_naive_time_is_utc_and_offsets_are_converted() -> None:
    assert parse_event(raw(occurred_at="2026-11-29T10:00:00")).occurred_at == T0
    assert parse_event(raw(occurred_at="2026-11-29 07:00:00-03:00")).occurred_at == T0


def test_missing_time_is_now_only_when_now_is_given() -> None:
    with pytest.raises(InputError) as info:
        parse_event(raw(occurred_at=...))
    assert info.value.field == "occurred_at"
    assert parse_event(raw(occurred_at=...), now=T0).occurred_at == T0


def test_time_far_in_the_future_is_refused_when_now_is_given() -> None:
    later = (T0 + timedelta(days=2)).isoformat()
    assert parse_event(raw(occurred_at=later)).occurred_at == T0 + timedelta(days=2)
    with pytest.raises(InputError, match="future"):
        parse_event(raw(occurred_at=later), now=T0)


def test_nulls_and_blank_properties_are_absent() -> None:
    e = parse_event(
        raw(design_id=None, page_url=None, properties={"email": None, "name": "  ", "x": 0})
    )
    assert e.design_id is None and e.page_url is None
    assert e.properties == {"x": 0}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (raw(type=...), "type"),
        (raw(type=""), "type"),
        (raw(type=3), "type"),
        (raw(visitor_id=...), "visitor_id"),
        (raw(visitor_id="v" * 256), "visitor_id"),
        (raw(visitor_id=["jv"]), "visitor_id"),
        (raw(occurred_at="yesterday"), "occurred_at"),
        (raw(occurred_at="2026-11-29"), "occurred_at"),
        (raw(occurred_at="2026-13-29T10:00:00Z"), "occurred_at"),
        (raw(occurred_at=1764410400), "occurred_at"),
        (raw(properties=[1, 2]), "properties"),
        (raw(properties={"": 1}), "properties"),
        (raw(properties={"k" * 256: 1}), "properties"),
        (raw(properties={"score": float("nan")}), "properties.score"),
        (
            raw(properties={"nested": {"deep": [1, {"x": float("inf")}]}}),
            "properties.nested.deep[1].x",
        ),
        (raw(consent={"sms": "yes"}), "consent.sms"),
        (raw(consent={"sms": True, "push": True}), "consent.push"),
        (raw(consent=True), "consent"),
        (raw(ip="999.1.1.1"), "ip"),
        (raw(event_id=12), "event_id"),
        (raw(page_url={"u": 1}), "page_url"),
        ([1, 2, 3], "event"),
        ("{}", "event"),
    ],
)
def test_malformed_events_name_the_field(data: object, field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_event(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_phone_may_be_sent_as_sms_or_phone_and_the_key_is_kept() -> None:
    assert parse_event(raw(properties={"phone": "+1 303 555 0105"})).properties == {
        "phone": "+1 303 555 0105"
    }
    assert "sms" in parse_event(raw(properties={"sms": "+1 303 555 0105"})).properties


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["type", "visitor_id", "occurred_at", "event_id", "design_id", "page_url", "properties",
     "consent", "ip", "consent_text", "other"]
)  # fmt: skip


@settings(deadline=None, max_examples=250)
@given(
    data=JSON_VALUES
    | st.dictionaries(FIELDS, JSON_VALUES)
    | st.builds(lambda extra: {**raw(), **extra}, st.dictionaries(FIELDS, JSON_VALUES, max_size=2))
)
def test_parse_event_raises_only_input_error_on_any_json(data: object) -> None:
    try:
        e = parse_event(data)
    except InputError as exc:
        assert exc.field
        return
    assert e.occurred_at.tzinfo is not None
    assert parse_event(e.to_dict()) == e


# ----------------------------------------------------------------------------- merge


def test_first_event_creates_the_profile() -> None:
    p = merge(None, event(T0, "form_submitted", email="a@example.com"))
    assert p.visitor_id == "jv_1"
    assert p.properties == {"email": "a@example.com"}
    assert (p.first_seen, p.last_seen, p.sessions, p.forms_submitted, p.page_views) == (
        T0,
        T0,
        1,
        1,
        0,
    )
    assert p.current_session_start == T0


def test_later_event_wins_and_a_late_older_event_only_fills_gaps() -> None:
    p = merge(None, event(T0, "form_submitted", email="new@example.com"))
    late = event(T0 - timedelta(hours=1), "form_submitted", email="old@example.com", zip="90210")
    p2 = merge(p, late)
    assert p2.properties == {"email": "new@example.com", "zip": "90210"}
    assert p2.first_seen == T0 - timedelta(hours=1) and p2.last_seen == T0
    assert p.properties == {"email": "new@example.com"}  # merge did not touch its input
    p3 = merge(p2, event(T0 + timedelta(minutes=1), "profile_updated", email="newest@example.com"))
    assert p3.properties["email"] == "newest@example.com"
    assert p3.property_times["email"] == T0 + timedelta(minutes=1)


def test_sessions_start_after_thirty_minutes_of_inactivity() -> None:
    times = [T0, T0 + timedelta(minutes=29), T0 + timedelta(minutes=58)]
    times.append(times[-1] + timedelta(minutes=30))  # exactly 30 min gap: new session
    p = None
    for t in times:
        p = merge(p, event(t))
    assert p is not None
    assert p.sessions == 2
    assert p.page_views == 4
    assert p.current_session_start == times[-1]


def test_a_late_event_that_bridges_two_sessions_joins_them() -> None:
    p = merge(merge(None, event(T0)), event(T0 + timedelta(minutes=50)))
    assert p.sessions == 2
    p = merge(p, event(T0 + timedelta(minutes=25)))
    assert p.sessions == 1
    assert p.current_session_start == T0


def test_merge_refuses_another_visitors_event() -> None:
    p = merge(None, event(T0))
    other = Event(event_id="x", type="page_view", visitor_id="jv_2", occurred_at=T0)
    with pytest.raises(InputError) as info:
        merge(p, other)
    assert info.value.field == "visitor_id"


def test_profile_round_trips_through_its_dict_form() -> None:
    p = None
    for i, t in enumerate([T0, T0 + timedelta(hours=2), T0 + timedelta(minutes=5)]):
        p = merge(p, event(t, "form_submitted", n=i, tags=["a", {"b": None}]))
    assert p is not None
    stored = json.loads(json.dumps(p.to_dict()))
    assert Profile.from_dict(stored) == p
    with pytest.raises(InputError):
        Profile.from_dict({"visitor_id": "x"})


KEYS = st.sampled_from(["email", "first_name", "sms", "country"])


@settings(deadline=None, max_examples=200)
@given(
    offsets=st.lists(st.integers(0, 60 * 24 * 10), min_size=1, max_size=25, unique=True),
    keys=st.lists(st.sets(KEYS, max_size=3), min_size=25, max_size=25),
    types=st.lists(st.sampled_from(["page_view", "form_submitted", "x"]), min_size=25, max_size=25),
    data=st.data(),
)
def test_merge_is_order_independent_for_distinct_times(
    offsets: list[int], keys: list[set[str]], types: list[str], data: st.DataObject
) -> None:
    events = [
        event(T0 + timedelta(minutes=m), types[i], **{k: f"{k}@{m}" for k in keys[i]})
        for i, m in enumerate(offsets)
    ]
    shuffled = data.draw(st.permutations(events))
    a = b = None
    for e in sorted(events, key=lambda e: e.occurred_at):
        a = merge(a, e)
    for e in shuffled:
        b = merge(b, e)
    assert a is not None and b is not None
    assert a == b
    # the session count is the number of >= 30 minute gaps in the sorted times, plus one
    ordered = sorted(offsets)
    assert a.sessions == 1 + sum(1 for x, y in itertools.pairwise(ordered) if y - x >= 30)


def test_old_sessions_are_counted_but_forgotten() -> None:
    p = None
    for day in range(70):  # 70 one-event sessions, a day apart
        p = merge(p, event(T0 + timedelta(days=day)))
    assert p is not None
    assert p.sessions == 70
    assert len(p.session_spans) == 64
    # older than every remembered session: taken to belong to a forgotten one
    old = merge(p, event(T0 + timedelta(days=2, minutes=10)))
    assert old.sessions == 70 and old.page_views == 71
    # within the remembered window: exact
    assert merge(p, event(T0 + timedelta(days=60, hours=12))).sessions == 71


def test_naive_now_is_utc() -> None:
    naive_now = datetime(2026, 11, 29, 10, 0)
    assert parse_event(raw(occurred_at=...), now=naive_now).occurred_at == T0
    with pytest.raises(InputError, match="future"):
        parse_event(raw(occurred_at="2026-12-01T10:00:01Z"), now=naive_now)
