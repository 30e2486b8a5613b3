"""The pure part of ingestion: what to write for a request's new events (no I/O; time
passed in). Each new event is merged into its visitor's profile, in order, and run through
every published workflow it triggers — enrollment with the visitor's history, the Sync to
App step's outbox jobs (:func:`~justuno_braze.services.sync.sync_jobs`), the consent
decisions, the step runs."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import orjson

from justuno_braze.braze.attributes import AttributeSchema
from justuno_braze.braze.consent import ConsentDecision
from justuno_braze.braze.step import SyncToApp
from justuno_braze.delivery.outbox import NewJob
from justuno_braze.errors import WorkflowError
from justuno_braze.events import Event, Profile, merge
from justuno_braze.services.sync import NOT_ENROLLED, Skipped, sync_jobs
from justuno_braze.store import Account, Connection, PublishedWorkflow, StepRun
from justuno_braze.store.consent import ConsentContext
from justuno_braze.store.enrollments import EnrollmentKey
from justuno_braze.workflows.engine import EnrollmentHistory
from justuno_braze.workflows.model import Workflow, load

log = logging.getLogger(__name__)

NO_CONNECTION = "no_connection"
INVALID_WORKFLOW = "invalid_workflow"
_CACHE_LIMIT = 1024
Targets = list[Connection | None]  # the connection of each step of a workflow


@dataclass
class Plan:
    """What to write for a request's new events."""

    jobs: list[NewJob] = field(default_factory=list)
    consent: list[tuple[ConsentDecision, ConsentContext]] = field(default_factory=list)
    step_runs: list[StepRun] = field(default_factory=list)
    enrollments: dict[EnrollmentKey, datetime] = field(default_factory=dict)
    profiles: list[Profile] = field(default_factory=list)


def plan(
    account: Account,
    new: Sequence[Event],
    profiles: Mapping[str, Profile],
    published: Sequence[PublishedWorkflow],
    history: Mapping[EnrollmentKey, datetime],
    connections: Sequence[Connection],
    *,
    now: datetime,
) -> Plan:
    """Merge each new event into its visitor's profile (in order) and run every
    published workflow it triggers (pure)."""
    out = Plan()
    current = dict(profiles)
    enrolled = dict(history)
    by_type: dict[str, list[tuple[PublishedWorkflow, Workflow | None, Targets]]] = {}
    for w in published:
        loaded = _loaded(w)
        targets = [] if loaded is None else [_connection_of(s, connections) for s in loaded.steps]
        by_type.setdefault(trigger_of(w), []).append((w, loaded, targets))
    for event in new:
        profile = merge(current.get(event.visitor_id), event)
        current[event.visitor_id] = profile
        for stored, workflow, targets in by_type.get(event.type, ()):
            if workflow is None:  # a stored version that no longer loads: never blocks intake
                out.step_runs.append(
                    StepRun(*_ids(stored, event), "skipped", now, INVALID_WORKFLOW)
                )
                continue
            key = (stored.workflow_id, event.visitor_id)
            _run(out, account, stored, workflow, profile, event, enrolled, key, targets, now)
    touched = dict.fromkeys(e.visitor_id for e in new)
    out.profiles = [current[v] for v in touched]
    return out


def _run(
    out: Plan,
    account: Account,
    stored: PublishedWorkflow,
    workflow: Workflow,
    profile: Profile,
    event: Event,
    enrolled: dict[EnrollmentKey, datetime],
    key: EnrollmentKey,
    targets: Targets,
    now: datetime,
) -> None:
    def step_run(outcome: str, reason: str | None = None) -> StepRun:
        return StepRun(*_ids(stored, event), outcome, now, reason)

    first = next((c for c in targets if c is not None), None)
    if first is None:
        out.step_runs.append(step_run("skipped", NO_CONNECTION))
        return
    outcome = sync_jobs(
        workflow,
        profile,
        event,
        schema_of(first),
        connection_id=first.id,
        now=now,
        history=EnrollmentHistory(enrolled.get(key)),
        workflow_key=str(stored.workflow_id),
        workflow_version=stored.version,
    )
    if isinstance(outcome, Skipped):
        if outcome.reason != NOT_ENROLLED:
            enrolled[key] = out.enrollments[key] = _later(enrolled.get(key), event.occurred_at)
        out.step_runs.append(step_run("skipped", outcome.reason))
        return
    enrolled[key] = out.enrollments[key] = _later(enrolled.get(key), event.occurred_at)
    context = ConsentContext(event.event_id, stored.workflow_id, stored.version)
    for job, payload in zip(outcome.jobs, outcome.payloads, strict=True):
        target = targets[int(job.source_key.rsplit("|", 1)[1])]
        if target is None:
            continue
        out.jobs.append(
            replace(
                job, connection_id=target.id, account_id=account.id, visitor_id=event.visitor_id
            )
        )
        out.consent.extend((decision, context) for decision in payload.consent)
    out.step_runs.append(step_run("enqueued"))


def _ids(stored: PublishedWorkflow, event: Event) -> tuple[int, int, str, str]:
    return (stored.workflow_id, stored.version, event.event_id, event.visitor_id)


def _loaded(w: PublishedWorkflow) -> Workflow | None:
    try:
        return workflow_of(w)
    except WorkflowError:
        log.error("workflow %s v%s does not load: its events are skipped", w.workflow_id, w.version)
        return None


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def trigger_of(w: PublishedWorkflow) -> str:
    trigger = w.definition.get("trigger")
    event = trigger.get("event") if isinstance(trigger, dict) else None
    return event if isinstance(event, str) else ""


def _connection_of(step: SyncToApp, connections: Sequence[Connection]) -> Connection | None:
    """The step's connection by name, else the account's only Braze connection."""
    if step.connection is not None:
        return next((c for c in connections if c.name == step.connection), None)
    return connections[0] if len(connections) == 1 else None


# Parsed workflow versions and attribute schemas, keyed by their CONTENT (a process may
# hold several stores — tests do — whose ids collide; the content cannot).
_workflows: dict[bytes, Workflow] = {}
_schemas: dict[bytes, AttributeSchema] = {}


def _content_key(value: object) -> bytes:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).digest()


def workflow_of(w: PublishedWorkflow) -> Workflow:
    """The parsed workflow of a published version (cached by its definition)."""
    key = _content_key(w.definition)
    found = _workflows.get(key)
    if found is None:
        if len(_workflows) >= _CACHE_LIMIT:
            _workflows.clear()
        found = _workflows[key] = load(w.definition)
    return found


def schema_of(connection: Connection) -> AttributeSchema | None:
    """The connection's cached custom-attribute schema (None when never fetched)."""
    items = connection.custom_attributes
    if items is None:
        return None
    key = _content_key(items)
    found = _schemas.get(key)
    if found is None:
        if len(_schemas) >= _CACHE_LIMIT:
            _schemas.clear()
        found = _schemas[key] = AttributeSchema.from_api(items)
    return found
