"""The enrollment decision: trigger, designs, conditions, re-enrollment, with reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from justuno_braze.events import Event, Profile, merge, parse_event
from justuno_braze.workflows.engine import Enrollment, EnrollmentHistory, NotEnrolled, enroll
from justuno_braze.workflows.model import Reenroll, Workflow, load, load_file

DATA = Path(__file__).parents[1] / "data" / "workflows"
SPRING = load_file(DATA / "valid" / "spring-lead-capture.yaml")  # US, page_views >= 2


def event(at: str = "2026-11-29T10:00:00Z", **fields: Any) -> Event:
    data: dict[str, Any] = {
        "type": "form_submitted",
        "visitor_id": "jv_1",
        "occurred_at": at,
        "design_id": "spring-popup",
        "page_url": "https://shop.example/",
        "properties": {"email": "ana@example.com", "country": "United States"},
    }
    data.update(fields)
    return parse_event(data)


def merged(*events: Event) -> Profile:
    profile: Profile | None = None
    for e in events:
        profile = merge(profile, e)
    assert profile is not None
    return profile


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def workflow(reenroll: Reenroll, designs: list[str] | None = None) -> Workflow:
    data = SPRING.to_dict()
    del data["conditions"]
    data["reenroll"] = reenroll.value
    data["trigger"]["designs"] = designs or []
    return load(data)


def returning_visitor(current: Event) -> Profile:
    """Two page views, then ``current``: meets ``page_views gte 2``."""
    views = [event(f"2026-11-29T09:4{i}:00Z", type="page_view", properties={}) for i in (0, 5)]
    return merged(*views, current)


def test_a_matching_event_enrolls_with_the_steps_to_run() -> None:
    current = event()
    result = enroll(SPRING, returning_visitor(current), current, EnrollmentHistory())
    assert result == Enrollment("Spring lead capture", SPRING.steps, at("2026-11-29T10:00:00Z"))
    assert result.steps[0].sms_subscription_group_id == "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"


def test_another_event_type_does_not_trigger() -> None:
    current = event(type="page_view", properties={})
    assert enroll(SPRING, returning_visitor(current), current) == NotEnrolled(
        "event type 'page_view' does not trigger this workflow (trigger: form_submitted)",
        "trigger",
    )


def test_another_design_does_not_trigger() -> None:
    current = event(design_id="exit-intent")
    assert enroll(SPRING, returning_visitor(current), current) == NotEnrolled(
        "design 'exit-intent' is not one of [spring-popup]", "design"
    )
    no_design = event(design_id=None)
    assert enroll(SPRING, returning_visitor(no_design), no_design) == NotEnrolled(
        "the event has no design; the trigger needs one of [spring-popup]", "design"
    )


def test_no_designs_means_any_design() -> None:
    current = event(design_id="exit-intent")
    assert isinstance(enroll(workflow(Reenroll.ONCE), merged(current), current), Enrollment)


def test_a_failed_condition_is_named_with_what_the_profile_has() -> None:
    brazilian = event(properties={"email": "ana@example.com", "country": "BR"})
    assert enroll(SPRING, returning_visitor(brazilian), brazilian) == NotEnrolled(
        "condition failed: country equals US (profile has 'BR')", "conditions"
    )
    straight_to_the_form = event()
    profile = merged(straight_to_the_form)
    assert enroll(SPRING, profile, straight_to_the_form) == NotEnrolled(
        "condition failed: page_views gte 2 (profile has 0)", "conditions"
    )


def test_once_enrolls_a_visitor_a_single_time() -> None:
    current = event()
    w = workflow(Reenroll.ONCE)
    assert isinstance(enroll(w, merged(current), current, EnrollmentHistory(None)), Enrollment)
    history = EnrollmentHistory(last_enrolled_at=at("2026-10-01T00:00:00Z"))
    assert enroll(w, merged(current), current, history) == NotEnrolled(
        "already enrolled once", "reenroll"
    )


def test_every_event_enrolls_again() -> None:
    current = event()
    history = EnrollmentHistory(last_enrolled_at=at("2026-11-29T09:59:00Z"))
    result = enroll(workflow(Reenroll.EVERY_EVENT), merged(current), current, history)
    assert isinstance(result, Enrollment)


def test_once_per_session_enrolls_again_only_in_a_new_session() -> None:
    w = workflow(Reenroll.ONCE_PER_SESSION)
    first = event("2026-11-29T10:00:00Z")
    again = event("2026-11-29T10:20:00Z")  # 20 minutes later: same session
    later = event("2026-11-29T11:00:00Z")  # 40 minutes after the last activity: new session
    enrolled = EnrollmentHistory(last_enrolled_at=first.occurred_at)

    assert enroll(w, merged(first, again), again, enrolled) == NotEnrolled(
        "already enrolled in this session", "reenroll"
    )
    assert isinstance(enroll(w, merged(first, again, later), later, enrolled), Enrollment)


def test_once_per_session_judges_a_late_event_by_its_own_session() -> None:
    w = workflow(Reenroll.ONCE_PER_SESSION)
    morning = event("2026-11-29T08:00:00Z")
    evening = event("2026-11-29T20:00:00Z")
    late_morning = event("2026-11-29T08:10:00Z")  # arrives last, belongs to the morning
    profile = merged(morning, evening, late_morning)
    enrolled_in_the_evening = EnrollmentHistory(last_enrolled_at=evening.occurred_at)
    assert isinstance(enroll(w, profile, late_morning, enrolled_in_the_evening), Enrollment)
    enrolled_in_the_morning = EnrollmentHistory(last_enrolled_at=morning.occurred_at)
    assert enroll(w, profile, late_morning, enrolled_in_the_morning) == NotEnrolled(
        "already enrolled in this session", "reenroll"
    )


def test_once_per_session_without_the_event_in_the_profile_uses_the_gap_rule() -> None:
    w = workflow(Reenroll.ONCE_PER_SESSION)
    old = event("2026-11-29T10:00:00Z")
    current = event("2026-11-29T10:10:00Z")
    profile = merged(old)  # the caller forgot to merge: fall back to the 30-minute gap
    history = EnrollmentHistory(last_enrolled_at=old.occurred_at)
    assert enroll(w, profile, current, history) == NotEnrolled(
        "already enrolled in this session", "reenroll"
    )
    much_later = event("2026-11-29T12:00:00Z")
    assert isinstance(enroll(w, profile, much_later, history), Enrollment)


def test_trigger_is_checked_before_conditions_and_conditions_before_reenrollment() -> None:
    brazilian = event(properties={"country": "BR"}, type="page_view")
    history = EnrollmentHistory(last_enrolled_at=at("2026-10-01T00:00:00Z"))
    once = load({**SPRING.to_dict(), "reenroll": "once"})
    first = enroll(once, returning_visitor(brazilian), brazilian, history)
    assert isinstance(first, NotEnrolled) and first.stage == "trigger"
    submitted = event(properties={"country": "BR"})
    second = enroll(once, returning_visitor(submitted), submitted, history)
    assert isinstance(second, NotEnrolled) and second.stage == "conditions"
