"""The Sync to App step as a service: preview and outbox jobs (pure; time passed in).

- ``preview`` runs events through a workflow exactly as delivery would — profile merge,
  enrollment (trigger, designs, conditions; a visitor never enrolled before), the FIRST
  Sync to App step — and returns the exact ``/users/track`` body with its warnings, or
  why nothing would be sent. Nothing is sent.
- ``sync_jobs`` is the Sync to App step run for one event of one profile: the outbox jobs
  to enqueue (one per Sync to App step the enrollment runs), or why the profile is
  skipped. ``import`` uses it for every lead; ingestion too.

Source keys (the outbox's idempotency key per connection) are
``<event_id>|<workflow_id>|<step index>``: the same event through the same workflow step
is enqueued once, however often it is imported or re-sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.braze.payload import Payload, Skip, build, track_body
from justuno_braze.braze.step import STANDARD_TARGETS, SyncToApp, unknown_target_message
from justuno_braze.delivery.outbox import NewJob
from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.events import Event, Profile, merge, parse_event
from justuno_braze.workflows.engine import NEVER_ENROLLED, EnrollmentHistory, NotEnrolled, enroll
from justuno_braze.workflows.model import Workflow

NOT_ENROLLED = "not_enrolled"
MAX_WORKFLOW_ID = 100
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def workflow_id(workflow_or_name: Workflow | str) -> str:
    """The id a workflow file's jobs carry: its name as a slug (``Spring lead capture`` →
    ``spring-lead-capture``); what ``replay --workflow`` filters on."""
    name = workflow_or_name if isinstance(workflow_or_name, str) else workflow_or_name.name
    slug = _NON_SLUG.sub("-", name.strip().lower()).strip("-")
    return (slug or "workflow")[:MAX_WORKFLOW_ID]


def profile_of(events: Sequence[Event]) -> Profile:
    """The merge of a visitor's events, in the order given."""
    if not events:
        raise InputError("needs at least one event", field="event")
    profile: Profile | None = None
    for event in events:
        profile = merge(profile, event)
    assert profile is not None
    return profile


# --------------------------------------------------------------------------- preview


@dataclass(frozen=True, slots=True)
class Preview:
    """What the workflow would send: ``body`` (``None`` when skipped), warnings, and for a
    skip the reason code (``not_enrolled``, ``no_identifier``…) and the words saying why."""

    body: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    skip_detail: str = ""

    @property
    def skipped(self) -> bool:
        return self.body is None


def preview(
    workflow: Workflow,
    events: Sequence[Event],
    schema: AttributeSchema | None,
    *,
    now: datetime,
) -> Preview:
    """Run ``events`` (one visitor's, in order; the last one triggers) through ``workflow``.

    Raises ``WorkflowError`` when the schema refuses a step (S9), ``InputError`` when the
    events belong to different visitors.
    """
    problems = workflow.problems(schema)
    if problems:
        raise WorkflowError(problems)
    profile = profile_of(events)
    event = events[-1]
    enrollment = enroll(workflow, profile, event, NEVER_ENROLLED)
    warnings = workflow.steps[0].warnings(schema, prefix="steps[0].sync_to_app")
    if isinstance(enrollment, NotEnrolled):
        return Preview(None, warnings, NOT_ENROLLED, enrollment.reason)
    step = enrollment.steps[0]
    outcome = build(profile, event, step, schema, now=now)
    warnings = [*warnings, *_beyond_step_warnings(outcome.warnings, step, schema)]
    if isinstance(outcome, Skip):
        return Preview(None, warnings, outcome.reason, outcome.detail)
    return Preview(track_body([outcome]), warnings)


def _beyond_step_warnings(
    warnings: list[str], step: SyncToApp, schema: AttributeSchema | None
) -> list[str]:
    """The payload's warnings minus the per-mapping notes ``step.warnings`` already gave."""
    notes = {
        f"{m.source} → {m.target}: {_plan_note(m.target, schema)}"
        for m in step.properties
        if m.target not in STANDARD_TARGETS and (schema is None or schema.get(m.target) is None)
    }
    return [w for w in warnings if w not in notes]


def _plan_note(target: str, schema: AttributeSchema | None) -> str:
    if schema is None:
        return f"{target!r} was not checked against Braze's custom attributes"
    return unknown_target_message(target)


# --------------------------------------------------------------------------- sync step


@dataclass(frozen=True, slots=True)
class Skipped:
    """Nothing to enqueue for this event: ``reason`` is a code, ``detail`` the words."""

    reason: str
    detail: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Enqueue:
    """The jobs to enqueue for this event (one per Sync to App step) and their warnings."""

    jobs: list[NewJob]
    payloads: list[Payload]
    warnings: list[str] = field(default_factory=list)


def source_key(event_id: str, workflow: str, step_index: int) -> str:
    return f"{event_id}|{workflow}|{step_index}"


def sync_jobs(
    workflow: Workflow,
    profile: Profile,
    event: Event,
    schema: AttributeSchema | None,
    *,
    connection_id: int,
    now: datetime,
    history: EnrollmentHistory = NEVER_ENROLLED,
    workflow_key: str | None = None,
    workflow_version: int | None = None,
    import_id: str | None = None,
) -> Enqueue | Skipped:
    """Enroll ``profile`` (with ``event`` already merged) and build each Sync to App step.

    A profile is skipped when it is not enrolled or when every step skips it (the first
    step's reason is reported).
    """
    enrollment = enroll(workflow, profile, event, history)
    if isinstance(enrollment, NotEnrolled):
        return Skipped(NOT_ENROLLED, enrollment.reason)
    wid = workflow_key or workflow_id(workflow)
    jobs: list[NewJob] = []
    payloads: list[Payload] = []
    warnings: list[str] = []
    first_skip: Skip | None = None
    for index, step in enumerate(enrollment.steps):
        outcome = build(profile, event, step, schema, now=now)
        warnings.extend(outcome.warnings)
        if isinstance(outcome, Skip):
            first_skip = first_skip or outcome
            continue
        payloads.append(outcome)
        jobs.append(
            NewJob(
                connection_id=connection_id,
                user_key=outcome.user_key,
                source_key=source_key(event.event_id, wid, index),
                occurred_at=event.occurred_at,
                attributes=outcome.attributes,
                event=outcome.event,
                import_id=import_id,
                workflow_id=wid,
                workflow_version=workflow_version,
            )
        )
    if not jobs:
        skip = first_skip or Skip("no_steps")
        return Skipped(skip.reason, skip.detail, warnings)
    return Enqueue(jobs, payloads, warnings)


# --------------------------------------------------------------------------- event files


def parse_events(text: str, *, now: datetime) -> list[Event]:
    """A preview event file: one event (JSON object), a JSON array of events, or JSONL.

    Raises ``InputError`` naming the event (``events[2].properties.email``) or the line.
    """
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise InputError(
                f"not valid JSON ({exc.msg}, line {exc.lineno})", field="event"
            ) from None
        data = []
        for n, line in lines:
            try:
                data.append(json.loads(line))
            except json.JSONDecodeError as line_exc:
                raise InputError(f"not valid JSON ({line_exc.msg})", field=f"line {n}") from None
    if isinstance(data, dict):
        return [parse_event(data, now=now)]
    if not isinstance(data, list) or not data:
        raise InputError("must be an event object, a non-empty array or JSONL", field="event")
    events: list[Event] = []
    for i, item in enumerate(data):
        try:
            events.append(parse_event(item, now=now))
        except InputError as exc:
            message = str(exc).removeprefix(f"{exc.field}: ")
            raise InputError(message, field=f"events[{i}].{exc.field}") from None
    return events
