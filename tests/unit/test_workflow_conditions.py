"""Conditions against real profiles (events merged with ``events.merge``)."""

from __future__ import annotations

from typing import Any

import pytest

from justuno_braze.events import Event, Profile, merge, parse_event
from justuno_braze.workflows.conditions import channel, describe, evaluate, explain, resolve
from justuno_braze.workflows.model import Condition, ConditionGroup, Operator


def event(**fields: Any) -> Event:
    data: dict[str, Any] = {
        "type": "form_submitted",
        "visitor_id": "jv_1",
        "occurred_at": "2026-11-29T10:00:00Z",
        "design_id": "spring-popup",
        "page_url": "https://shop.example/sale",
    }
    data.update(fields)
    return parse_event(data)


def visit(*events: Event) -> tuple[Profile, Event]:
    """The profile after all events, and the last event (the current one)."""
    profile: Profile | None = None
    for e in events:
        profile = merge(profile, e)
    assert profile is not None
    return profile, events[-1]


PROFILE, EVENT = visit(
    event(type="page_view", occurred_at="2026-11-28T09:00:00Z", properties={}),
    event(type="page_view", occurred_at="2026-11-29T09:50:00Z", properties={}),
    event(
        properties={
            "country": "Brasil",
            "language": "Português",
            "email": "ana@example.com",
            "age": "34",
            "vip": True,
            "interests": ["cooking", "Sneakers"],
            "birthday": "1990-05-17",
            "score": 7.5,
        }
    ),
)


def holds(prop: str, op: str, value: object = None) -> bool:
    v = tuple(value) if isinstance(value, list) else value
    return evaluate(Condition(prop, Operator(op), v), PROFILE, EVENT)  # type: ignore[arg-type]


def test_the_profile_used_here_is_what_merge_made() -> None:
    assert (PROFILE.sessions, PROFILE.page_views, PROFILE.forms_submitted) == (2, 2, 1)


@pytest.mark.parametrize(
    ("prop", "op", "value", "expected"),
    [
        # equals / not_equals: case-insensitive text, normalised country and language
        ("email", "equals", "ANA@example.com ", True),
        ("email", "equals", "bob@example.com", False),
        ("country", "equals", "BR", True),
        ("country", "equals", "brazil", True),
        ("country", "equals", "US", False),
        ("language", "equals", "pt", True),
        ("language", "not_equals", "en", True),
        ("language", "not_equals", "Portuguese", False),
        ("age", "equals", 34, True),
        ("score", "equals", "7.5", True),
        ("vip", "equals", True, True),
        ("vip", "equals", "true", True),
        ("vip", "not_equals", False, True),
        ("interests", "equals", "cooking", False),
        # in / not_in
        ("country", "in", ["US", "BR"], True),
        ("country", "in", ["US", "CA"], False),
        ("country", "not_in", ["US", "CA"], True),
        ("interests", "in", ["sneakers", "golf"], True),
        ("interests", "not_in", ["golf"], True),
        ("interests", "not_in", ["COOKING"], False),
        # contains: membership for lists, substring for text
        ("interests", "contains", "sneakers", True),
        ("interests", "contains", "golf", False),
        ("email", "contains", "@EXAMPLE.", True),
        ("email", "contains", "gmail", False),
        ("age", "contains", "3", True),
        ("page_views", "contains", "2", False),
        # exists / not_exists
        ("email", "exists", None, True),
        ("email", "not_exists", None, False),
        # gt / gte / lt / lte: numbers, numeric texts, dates
        ("page_views", "gte", 2, True),
        ("page_views", "gt", 2, False),
        ("sessions", "lt", 3, True),
        ("sessions", "lte", 1, False),
        ("age", "gte", 18, True),
        ("age", "lt", 18.5, False),
        ("score", "gt", 7, True),
        ("email", "gt", 3, False),
        ("birthday", "lt", "2000-01-01", True),
        ("birthday", "gt", "1990-05-17", False),
        ("birthday", "gte", "1990-05-17T00:00:00Z", True),
        ("first_seen", "lt", "2026-11-29", True),
        ("first_seen", "gte", "2026-11-28", True),
        ("last_seen", "gte", "2026-11-29T11:00:00+01:00", True),
        ("last_seen", "gt", "2026-11-29T10:00:01Z", False),
        ("email", "lt", "2026-01-01", False),
    ],
)
def test_operators_on_present_values(prop: str, op: str, value: object, expected: bool) -> None:
    assert holds(prop, op, value) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("equals", "x", False),
        ("not_equals", "x", False),
        ("in", ["x"], False),
        ("not_in", ["x"], False),
        ("contains", "x", False),
        ("exists", None, False),
        ("not_exists", None, True),
        ("gt", 0, False),
        ("gte", 0, False),
        ("lt", 10, False),
        ("lte", "2030-01-01", False),
    ],
)
def test_a_missing_property_fails_every_operator_but_not_exists(
    op: str, value: object, expected: bool
) -> None:
    assert holds("phone", op, value) is expected


def test_null_blank_and_empty_list_values_count_as_missing() -> None:
    profile, e = visit(event(properties={"a": "x", "b": ["x"]}))
    profile = Profile(
        visitor_id=profile.visitor_id,
        first_seen=profile.first_seen,
        last_seen=profile.last_seen,
        properties={"a": None, "b": [], "c": "   "},
    )
    for prop in ("a", "b", "c"):
        assert evaluate(Condition(prop, Operator.NOT_EXISTS), profile, e)
        assert not evaluate(Condition(prop, Operator.NOT_EQUALS, "x"), profile, e)


def test_behaviour_fields_read_the_event() -> None:
    assert resolve("url", PROFILE, EVENT) == "https://shop.example/sale"
    assert resolve("page_url", PROFILE, EVENT) == "https://shop.example/sale"
    assert resolve("design", PROFILE, EVENT) == "spring-popup"
    assert holds("url", "contains", "/sale")
    assert holds("design", "in", ["spring-popup", "exit-intent"])
    assert holds("channel", "equals", "Direct")


def test_a_behaviour_field_wins_over_a_property_of_the_same_name() -> None:
    profile, e = visit(event(properties={"sessions": "99"}))
    assert evaluate(Condition("sessions", Operator.EQUALS, 1), profile, e)


@pytest.mark.parametrize(
    ("page_url", "properties", "expected"),
    [
        ("https://shop.example/?utm_source=nl&utm_medium=Email", {}, "email"),
        ("https://shop.example/?utm_medium=cpc&utm_source=google", {}, "paid_search"),
        ("https://shop.example/?utm_medium=paid_social", {}, "social"),
        ("https://shop.example/?utm_medium=banner", {}, "display"),
        ("https://shop.example/?utm_medium=affiliate", {}, "affiliate"),
        ("https://shop.example/?utm_medium=podcast", {}, "other"),
        ("https://shop.example/?gclid=abc", {}, "paid_search"),
        ("https://shop.example/?fbclid=abc", {}, "social"),
        ("https://shop.example/", {"referrer": "https://www.google.com/search?q=x"}, "organic"),
        ("https://shop.example/", {"referrer": "https://l.instagram.com/"}, "social"),
        ("https://shop.example/", {"referrer_url": "https://mail.google.com/"}, "email"),
        ("https://shop.example/", {"referrer": "https://blog.example.org/post"}, "referral"),
        ("https://shop.example/", {"referrer": "https://shop.example/cart"}, "direct"),
        ("https://shop.example/", {}, "direct"),
        ("http://[shop.example/?utm_medium=email", {"referrer": "http://[x"}, "direct"),
        ("https://shop.example/", {"referrer": "https://t.company.example/"}, "referral"),
        ("https://shop.example/", {"referrer": "https://t.co/abc"}, "social"),
        (None, {}, None),
    ],
)
def test_channel_rule(page_url: str | None, properties: dict[str, str], expected: str) -> None:
    assert channel(event(page_url=page_url, properties=properties)) == expected


def test_channel_conditions_ignore_case_spaces_and_dashes() -> None:
    profile, e = visit(event(page_url="https://shop.example/?utm_medium=cpc"))
    assert evaluate(Condition("channel", Operator.EQUALS, "Paid search"), profile, e)
    assert evaluate(Condition("channel", Operator.IN, ("paid-search", "email")), profile, e)
    imported, e2 = visit(event(page_url=None))
    assert evaluate(Condition("channel", Operator.NOT_EXISTS), imported, e2)


def test_groups_combine_all_and_any_nested() -> None:
    brazilian_returning = ConditionGroup(
        "all",
        (
            Condition("country", Operator.EQUALS, "BR"),
            ConditionGroup(
                "any",
                (
                    Condition("sessions", Operator.GTE, 5),
                    Condition("interests", Operator.CONTAINS, "cooking"),
                ),
            ),
        ),
    )
    assert evaluate(brazilian_returning, PROFILE, EVENT)
    american = ConditionGroup("any", (Condition("country", Operator.EQUALS, "US"),))
    assert not evaluate(ConditionGroup("all", (brazilian_returning, american)), PROFILE, EVENT)


def test_explain_names_the_failing_condition_and_shows_safe_values_only() -> None:
    assert explain(Condition("country", Operator.EQUALS, "US"), PROFILE, EVENT) == (
        "country equals US (profile has 'Brasil')"
    )
    assert explain(Condition("page_views", Operator.GTE, 5), PROFILE, EVENT) == (
        "page_views gte 5 (profile has 2)"
    )
    # personal data is never quoted in a reason
    assert explain(Condition("email", Operator.EQUALS, "bob@example.com"), PROFILE, EVENT) == (
        "email equals bob@example.com (profile has another value)"
    )
    assert explain(Condition("phone", Operator.EXISTS), PROFILE, EVENT) == (
        "phone exists (profile has no phone)"
    )
    assert explain(Condition("country", Operator.EQUALS, "BR"), PROFILE, EVENT) is None


def test_explain_of_an_any_group_lists_every_failure() -> None:
    group = ConditionGroup(
        "any",
        (
            Condition("country", Operator.IN, ("US", "CA")),
            Condition("sessions", Operator.GT, 3),
        ),
    )
    assert explain(group, PROFILE, EVENT) == (
        "none of [country in [US, CA] (profile has 'Brasil'); sessions gt 3 (profile has 2)] holds"
    )
    assert explain(
        ConditionGroup("all", (Condition("vip", Operator.EXISTS), group)), PROFILE, EVENT
    )


def test_describe_reads_like_the_file() -> None:
    group = ConditionGroup(
        "any", (Condition("vip", Operator.EQUALS, False), Condition("x", Operator.NOT_EXISTS))
    )
    assert describe(group) == "any of [vip equals false, x not_exists]"
