"""The enrollment decision: does this event put this visitor through this workflow? (pure)

``enroll`` checks, in order: the trigger's event type, the trigger's designs, the
conditions, then the re-enrollment frequency, and answers ``Enrollment`` (the steps the
service must run) or ``NotEnrolled`` with a precise reason and the ``stage`` that said no.
It runs nothing and reads no clock: the time of an enrollment is the event's
``occurred_at``.

The caller passes the profile **with the event already merged** (so counters and the
event's session include it) and the ``EnrollmentHistory`` of this visitor in this
workflow, filled from the store with the ``enrolled_at`` of the last ``Enrollment``.

Re-enrollment: ``every_event`` enrolls on every matching event (deduplicating a re-sent
event is the ingestion's job, by ``event_id``); ``once`` enrolls a visitor at most once
ever; ``once_per_session`` at most once per session, where the session is the profile's
session span containing the event (30-minute gap rule of ``events.py``) — so an
out-of-order event is judged by the session it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from justuno_braze.events import SESSION_GAP, Event, Profile
from justuno_braze.workflows.conditions import explain
from justuno_braze.workflows.model import Reenroll, Step, Workflow

Stage: TypeAlias = Literal["trigger", "design", "conditions", "reenroll"]


@dataclass(frozen=True, slots=True)
class EnrollmentHistory:
    """This visitor's past in this workflow, as the store knows it."""

    last_enrolled_at: datetime | None = None


NEVER_ENROLLED = EnrollmentHistory()


@dataclass(frozen=True, slots=True)
class Enrollment:
    """The visitor is enrolled: run ``steps`` in order (the service does)."""

    workflow: str
    steps: tuple[Step, ...]
    enrolled_at: datetime


@dataclass(frozen=True, slots=True)
class NotEnrolled:
    """The visitor is not enrolled; ``reason`` says why in words, ``stage`` which check."""

    reason: str
    stage: Stage


def enroll(
    workflow: Workflow,
    profile: Profile,
    event: Event,
    history: EnrollmentHistory = NEVER_ENROLLED,
) -> Enrollment | NotEnrolled:
    """Decide whether ``event`` enrolls the visitor of ``profile`` in ``workflow``."""
    trigger = workflow.trigger
    if event.type != trigger.event:
        return NotEnrolled(
            f"event type {event.type!r} does not trigger this workflow (trigger: {trigger.event})",
            "trigger",
        )
    if trigger.designs and event.design_id not in trigger.designs:
        wanted = "[" + ", ".join(trigger.designs) + "]"
        if event.design_id is None:
            return NotEnrolled(
                f"the event has no design; the trigger needs one of {wanted}", "design"
            )
        return NotEnrolled(f"design {event.design_id!r} is not one of {wanted}", "design")
    if workflow.conditions is not None:
        failure = explain(workflow.conditions, profile, event)
        if failure is not None:
            return NotEnrolled(f"condition failed: {failure}", "conditions")
    last = history.last_enrolled_at
    if last is not None:
        if workflow.reenroll is Reenroll.ONCE:
            return NotEnrolled("already enrolled once", "reenroll")
        if workflow.reenroll is Reenroll.ONCE_PER_SESSION and _same_session(profile, event, last):
            return NotEnrolled("already enrolled in this session", "reenroll")
    return Enrollment(workflow.name, workflow.steps, event.occurred_at)


def _same_session(profile: Profile, event: Event, last: datetime) -> bool:
    """Whether ``last`` falls in the session of ``event``."""
    t = event.occurred_at
    for start, end in profile.session_spans:
        if start <= t <= end:
            return start <= last <= end
    # The event's session is not (or no longer) in the profile: fall back to the gap rule.
    return abs(t - last) < SESSION_GAP
