"""Workflows as a service (S4–S10): drafts, validation on save, preview, publish, history.

- **Validated on save.** A draft is stored only when it is valid: the model's problems
  (``WorkflowError``: missing SMS group, bad UUID, unknown operator…), plus an unknown or
  ambiguous connection (``steps[0].sync_to_app.connection: unknown connection 'x'``), plus
  the schema problems of the connection's cached custom attributes (S9: Object /
  Array-of-objects targets). Every problem is named in one ``WorkflowError``; nothing is
  saved (see :mod:`~justuno_braze.services.workflow_checks`). Warnings (targets Braze
  does not know yet) come back with the saved draft. Saving invalid work in progress is
  not supported (PRODUCT: "validated on save"). Restore does not re-validate (the
  version was valid when published); publish does.
- The draft is stored in canonical form (``Workflow.to_dict``); its name is the workflow's.
- **Preview** runs a sample event, or a stored profile (with a synthetic event of the
  trigger's type, or with a given event merged onto it), through the DRAFT with the
  connection's cached attribute list: it sends nothing and calls nothing.
- **Publish** re-validates and freezes the draft as the next numbered version (author,
  time, note); versions never change. **Restore** copies a version back into the draft.
- **Pause/resume**: a paused workflow enrolls nobody (``Workflows.active_for`` returns
  only ``active`` ones).
- A missing workflow (or another account's) is :class:`UnknownWorkflow`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from justuno_braze.braze.payload import Skip, build, track_body
from justuno_braze.errors import InputError
from justuno_braze.events import Event, merge, parse_event
from justuno_braze.services.sync import NOT_ENROLLED, preview
from justuno_braze.services.workflow_checks import checked
from justuno_braze.store import Account, Store, StoredWorkflow, WorkflowVersion
from justuno_braze.workflows.diff import diff, unified
from justuno_braze.workflows.engine import NEVER_ENROLLED, NotEnrolled, enroll
from justuno_braze.workflows.model import Workflow, dump

Format = Literal["yaml", "json"]
PREVIEW_EVENT_ID = "preview"


class UnknownWorkflow(LookupError):
    """No such workflow (or version) in this account."""


@dataclass(frozen=True, slots=True)
class WorkflowView:
    id: int
    name: str
    status: str
    latest_version: int | None
    draft: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, w: StoredWorkflow, warnings: list[str] | None = None) -> WorkflowView:
        return cls(
            w.id, w.name, w.status, w.latest_version, w.draft, w.created_at, w.updated_at,
            list(warnings or []),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class VersionView:
    """A published version and what changed since the previous one."""

    workflow_id: int
    version: int
    author: str
    note: str | None
    published_at: datetime
    definition: dict[str, Any]
    changes: list[str]


@dataclass(frozen=True, slots=True)
class VersionDiff:
    workflow_id: int
    from_version: int | None
    to_version: int
    changes: list[str]
    unified: str


@dataclass(frozen=True, slots=True)
class PreviewResult:
    """What the draft would send (``body``), or why not (``skip_reason``); nothing is sent."""

    body: dict[str, Any] | None
    warnings: list[str]
    skip_reason: str | None = None
    skip_detail: str = ""

    @property
    def skipped(self) -> bool:
        return self.body is None


# --------------------------------------------------------------------------- drafts


async def _stored(store: Store, account: Account, workflow_id: int) -> StoredWorkflow:
    found = await store.workflows.get(account.id, workflow_id)
    if found is None:
        raise UnknownWorkflow(f"workflow {workflow_id} not found")
    return found


async def create_workflow(
    store: Store, account: Account, source: str | bytes | Mapping[str, Any], *, now: datetime
) -> WorkflowView:
    """A new draft from a JSON mapping or YAML/JSON text (also what import does)."""
    workflow, warnings, _ = await checked(store, account, source)
    stored = await store.workflows.create(account.id, workflow.name, workflow.to_dict(), now=now)
    return WorkflowView.of(stored, warnings)


async def get_workflow(store: Store, account: Account, workflow_id: int) -> WorkflowView:
    return WorkflowView.of(await _stored(store, account, workflow_id))


async def list_workflows(store: Store, account: Account) -> list[WorkflowView]:
    return [WorkflowView.of(w) for w in await store.workflows.list(account.id)]


async def update_workflow(
    store: Store,
    account: Account,
    workflow_id: int,
    source: str | bytes | Mapping[str, Any],
    *,
    now: datetime,
) -> WorkflowView:
    """Save the draft (renamed when the definition's name changed); versions stay."""
    await _stored(store, account, workflow_id)
    workflow, warnings, _ = await checked(store, account, source)
    saved = await store.workflows.update_draft(
        account.id, workflow_id, workflow.to_dict(), name=workflow.name, now=now
    )
    return WorkflowView.of(saved, warnings)


async def delete_workflow(store: Store, account: Account, workflow_id: int) -> None:
    if not await store.workflows.delete(account.id, workflow_id):
        raise UnknownWorkflow(f"workflow {workflow_id} not found")


async def find_workflow(
    store: Store, account: Account, *, workflow_id: int | None = None, name: str | None = None
) -> WorkflowView:
    """By id or by name (the CLI's ``--id`` / ``--name``)."""
    if workflow_id is not None:
        return await get_workflow(store, account, workflow_id)
    found = await store.workflows.by_name(account.id, name or "")
    if found is None:
        raise UnknownWorkflow(f"workflow {name!r} not found")
    return WorkflowView.of(found)


# --------------------------------------------------------------------------- preview


async def preview_draft(
    store: Store,
    account: Account,
    workflow_id: int,
    *,
    events: Sequence[Mapping[str, Any]] = (),
    visitor_id: str | None = None,
    now: datetime,
) -> PreviewResult:
    """Run sample events (one visitor's, the last one triggers) or a stored profile through
    the draft. With ``visitor_id`` and events, the events are merged onto the stored
    profile; with ``visitor_id`` alone, a synthetic event of the trigger's type (first
    listed design, no consent fields) triggers. Nothing is sent."""
    stored = await _stored(store, account, workflow_id)
    workflow, warnings, schema = await checked(store, account, stored.draft)
    parsed = _parse_events(events, now)
    if visitor_id is None:
        if not parsed:
            raise InputError("give an event (or events) or a visitor_id", field="event")
        result = preview(workflow, parsed, schema, now=now)
        return PreviewResult(result.body, result.warnings, result.skip_reason, result.skip_detail)
    found = await store.profiles.get(account.id, visitor_id)
    if found is None:
        raise InputError(f"no stored profile of visitor {visitor_id!r}", field="visitor_id")
    profile = found.profile
    if not parsed:
        designs = workflow.trigger.designs
        parsed = [
            Event(
                event_id=PREVIEW_EVENT_ID,
                type=workflow.trigger.event,
                visitor_id=visitor_id,
                occurred_at=max(now, profile.last_seen),
                design_id=designs[0] if designs else None,
            )
        ]
    for event in parsed:
        profile = merge(profile, replace(event, visitor_id=visitor_id))
    event = replace(parsed[-1], visitor_id=visitor_id)
    enrollment = enroll(workflow, profile, event, NEVER_ENROLLED)
    if isinstance(enrollment, NotEnrolled):
        return PreviewResult(None, warnings, NOT_ENROLLED, enrollment.reason)
    outcome = build(profile, event, enrollment.steps[0], schema, now=now)
    extra = [w for w in outcome.warnings if w not in warnings]
    if isinstance(outcome, Skip):
        return PreviewResult(None, [*warnings, *extra], outcome.reason, outcome.detail)
    return PreviewResult(track_body([outcome]), [*warnings, *extra])


def _parse_events(events: Sequence[Mapping[str, Any]], now: datetime) -> list[Event]:
    out: list[Event] = []
    for i, data in enumerate(events):
        try:
            out.append(parse_event(dict(data), now=now))
        except InputError as exc:
            where = f"events[{i}]" if len(events) > 1 else "event"
            message = str(exc).removeprefix(f"{exc.field}: ")
            raise InputError(message, field=f"{where}.{exc.field}") from None
    return out


# --------------------------------------------------------------------------- versions


async def publish_workflow(
    store: Store,
    account: Account,
    workflow_id: int,
    *,
    author: str,
    note: str | None,
    now: datetime,
) -> VersionView:
    """Re-validate the draft and freeze it as the next version (the workflow goes
    ``active`` on its first publish; a paused one stays paused)."""
    stored = await _stored(store, account, workflow_id)
    workflow, _, _ = await checked(store, account, stored.draft)
    if not isinstance(author, str) or not author.strip():
        raise InputError("must not be empty", field="author")
    number = await store.workflows.publish(
        account.id,
        workflow_id,
        definition=workflow.to_dict(),
        author=author,
        note=note.strip() if isinstance(note, str) and note.strip() else None,
        now=now,
    )
    return await get_version(store, account, workflow_id, number)


def _changes(previous: WorkflowVersion | None, current: WorkflowVersion) -> list[str]:
    if previous is None:
        return []
    return diff(Workflow.from_dict(previous.definition), Workflow.from_dict(current.definition))


def _version_view(v: WorkflowVersion, previous: WorkflowVersion | None) -> VersionView:
    return VersionView(
        v.workflow_id, v.version, v.author, v.note, v.published_at, v.definition,
        _changes(previous, v),
    )  # fmt: skip


async def list_versions(store: Store, account: Account, workflow_id: int) -> list[VersionView]:
    """Every version, newest first, each with its changes since the one before."""
    await _stored(store, account, workflow_id)
    versions = await store.workflows.versions(account.id, workflow_id)
    views = [_version_view(v, versions[i - 1] if i else None) for i, v in enumerate(versions)]
    return views[::-1]


async def _version(
    store: Store, account: Account, workflow_id: int, number: int
) -> WorkflowVersion:
    await _stored(store, account, workflow_id)
    found = await store.workflows.version(account.id, workflow_id, number)
    if found is None:
        raise UnknownWorkflow(f"workflow {workflow_id} has no version {number}")
    return found


async def get_version(store: Store, account: Account, workflow_id: int, number: int) -> VersionView:
    current = await _version(store, account, workflow_id, number)
    previous = await store.workflows.version(account.id, workflow_id, number - 1)
    return _version_view(current, previous)


async def diff_versions(
    store: Store, account: Account, workflow_id: int, number: int, *, against: int | None = None
) -> VersionDiff:
    """Changes from version ``against`` (default: the previous one) to version ``number``."""
    current = await _version(store, account, workflow_id, number)
    base_number = number - 1 if against is None else against
    base = None
    if against is not None or base_number >= 1:
        base = await _version(store, account, workflow_id, base_number)
    b = Workflow.from_dict(current.definition)
    if base is None:
        return VersionDiff(workflow_id, None, number, [], "")
    a = Workflow.from_dict(base.definition)
    labels = (f"v{base.version}", f"v{number}")
    return VersionDiff(workflow_id, base.version, number, diff(a, b), unified(a, b, labels=labels))


async def restore_version(
    store: Store, account: Account, workflow_id: int, number: int, *, now: datetime
) -> WorkflowView:
    """Make version ``number`` the draft again (publish it to run it)."""
    version = await _version(store, account, workflow_id, number)
    workflow = Workflow.from_dict(version.definition)
    saved = await store.workflows.update_draft(
        account.id, workflow_id, workflow.to_dict(), name=workflow.name, now=now
    )
    return WorkflowView.of(saved)


async def set_paused(
    store: Store, account: Account, workflow_id: int, paused: bool, *, now: datetime
) -> WorkflowView:
    """Pause (enrolls nobody) or resume a published workflow."""
    stored = await _stored(store, account, workflow_id)
    if stored.latest_version is None:
        raise InputError("publish the workflow before pausing or resuming it", field="status")
    status = "paused" if paused else "active"
    await store.workflows.set_status(account.id, workflow_id, status, now=now)
    return await get_workflow(store, account, workflow_id)


# --------------------------------------------------------------------------- files


async def export_workflow(
    store: Store,
    account: Account,
    workflow_id: int,
    *,
    fmt: Format = "yaml",
    version: int | None = None,
) -> str:
    """The draft (or a version) as a canonical workflow file."""
    if fmt not in ("yaml", "json"):
        raise InputError("must be yaml or json", field="format")
    if version is None:
        definition = (await _stored(store, account, workflow_id)).draft
    else:
        definition = (await _version(store, account, workflow_id, version)).definition
    return dump(Workflow.from_dict(definition), fmt)


async def import_workflow(
    store: Store, account: Account, text: str | bytes, *, now: datetime
) -> WorkflowView:
    """A new draft from a YAML or JSON workflow file."""
    if not (text.strip() if isinstance(text, str | bytes) else ""):
        raise InputError("the workflow file is empty", field="file")
    return await create_workflow(store, account, text, now=now)
