"""The workflow builder: the list (``/workflows``), the editor (``/workflows/{id}``, and
``/workflows/new`` for one not saved yet), publish, pause and resume. Preview and version
history are in :mod:`.workflow_preview` and :mod:`.workflow_versions` (included here).

Every action goes through :mod:`justuno_braze.services.workflows`, the calls the REST API
makes. A save is validated by the service (the model's problems, the connection, Braze's
attribute types); a refused save re-renders what the user typed with EVERY problem next
to its field and a summary at the top, and stores nothing. A new workflow is stored on its
first valid save: the service keeps no invalid drafts, so "New workflow" opens an empty
editor rather than storing a half-made one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.services import apps as apps_service
from justuno_braze.services import workflows as service
from justuno_braze.services.workflow_checks import BRAZE, validate
from justuno_braze.store import Store
from justuno_braze.web.auth import NowDep, StoreDep
from justuno_braze.web.ui import workflow_preview, workflow_versions
from justuno_braze.web.ui.not_found import found, path_id
from justuno_braze.web.ui.render import page, see_other
from justuno_braze.web.ui.session import CsrfChecked, SignedIn, UiSession
from justuno_braze.web.ui.workflow_common import badges, latest_version, posted
from justuno_braze.web.ui.workflow_form import (
    EVENT_TYPES,
    GENERAL,
    OPERATORS,
    EditorForm,
    field_errors,
)
from justuno_braze.web.ui.workflow_targets import (
    DEFAULT_ATTRIBUTES,
    shown_rows,
    target_notes,
    target_picker,
)
from justuno_braze.workflows.model import MAX_NAME_LENGTH

router = APIRouter(include_in_schema=False)
router.include_router(workflow_preview.router)
router.include_router(workflow_versions.router)

LIST = "/workflows"
MAX_NOTE = 2000
REENROLL_CHOICES = (
    ("every_event", "Every time the trigger happens"),
    ("once_per_session", "Once per session"),
    ("once", "Only once per visitor"),
)
IDENTIFY_CHOICES = (
    ("email", "By email (else phone)"),
    ("alias", "By Justuno visitor id (a Braze user alias)"),
    ("external_id", "By external id from a profile property"),
)
OPERATOR_TEXT = {
    "equals": "equals",
    "not_equals": "does not equal",
    "in": "is one of (comma-separated)",
    "not_in": "is none of (comma-separated)",
    "contains": "contains",
    "exists": "exists (has a value)",
    "not_exists": "does not exist",
    "gt": "is greater than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
}
MODE_CHOICES = (("all", "All of these conditions (all of)"), ("any", "Any of them (any of)"))
FIELD_LABELS = {
    "name": "Workflow name",
    "trigger_event": "Event type",
    "trigger_designs": "Designs",
    "conditions_mode": "Conditions",
    "conditions_json": "Conditions",
    "reenroll": "Re-enrollment",
    "connection": "Braze connection",
    "identify_by": "Identify users",
    "external_id_property": "External id property",
    "default_region": "Default phone region",
    "sms_subscription_group_id": "SMS subscription group ID",
    "email_subscription_group_id": "Email subscription group ID",
    "send_event": "Custom event name",
    "mappings": "Sync Another Property",
    "more_steps": "Further steps",
    GENERAL: "Workflow",
}


def _label(field: str) -> str:
    kind, _, rest = field.partition("-")
    if kind in ("conditions", "mappings") and rest:
        row, _, part = rest.partition("-")
        what = "Condition" if kind == "conditions" else "Sync Another Property row"
        return f"{what} {int(row) + 1}, {part}"
    return FIELD_LABELS.get(field, field)


def summary_of(errors: dict[str, str]) -> dict[str, str]:
    """The top-of-page summary: each problem prefixed with the field's label."""
    return {field: f"{_label(field)}: {message}" for field, message in errors.items()}


# --------------------------------------------------------------------------- list


@router.get(LIST)
async def list_page(request: Request, ui: SignedIn, store: StoreDep) -> Response:
    return await _list(request, ui, store)


async def _list(
    request: Request, ui: UiSession, store: Store, *, name: str = "", error: str | None = None
) -> Response:
    rows = []
    for view in await service.list_workflows(store, ui.account):
        rows.append((view, badges(view, await latest_version(store, ui.account, view))))
    return page(
        request,
        "workflows/list.html",
        ui,
        status_code=400 if error else 200,
        rows=rows,
        new_name=name,
        new_error=error,
    )


@router.get(f"{LIST}/new")
async def new_page(
    request: Request,
    ui: SignedIn,
    store: StoreDep,
    name: Annotated[str, Query(max_length=10 * MAX_NAME_LENGTH)] = "",
) -> Response:
    """The editor of a workflow not stored yet (the list's "New workflow" form)."""
    if not name.strip():
        return await _list(request, ui, store, error="Give the workflow a name.")
    if len(name.strip()) > MAX_NAME_LENGTH:
        error = f"The name is longer than {MAX_NAME_LENGTH} characters."
        return await _list(request, ui, store, name=name, error=error)
    return await editor(request, ui, store, EditorForm(name=name.strip()), view=None)


@router.post(LIST)
async def create(request: Request, ui: CsrfChecked, store: StoreDep, now: NowDep) -> Response:
    """The first save of a new workflow (the editor of ``/workflows/new``)."""
    return await _submit(request, ui, store, now, view=None)


# --------------------------------------------------------------------------- editor


@router.get(LIST + "/{workflow_id}")
async def editor_page(
    request: Request, workflow_id: str, ui: SignedIn, store: StoreDep
) -> Response:
    view = await found(service.get_workflow(store, ui.account, path_id(workflow_id)))
    return await editor(request, ui, store, EditorForm.from_definition(view.draft), view=view)


@router.post(LIST + "/{workflow_id}")
async def save(
    request: Request, workflow_id: str, ui: CsrfChecked, store: StoreDep, now: NowDep
) -> Response:
    view = await found(service.get_workflow(store, ui.account, path_id(workflow_id)))
    return await _submit(request, ui, store, now, view=view)


async def _submit(
    request: Request,
    ui: UiSession,
    store: Store,
    now: datetime,
    *,
    view: service.WorkflowView | None,
) -> Response:
    """Add/remove a row or show the chosen connection's attributes (re-render, nothing
    stored), or save: every problem next to its field, or 303."""
    data = await posted(request)
    form = EditorForm.from_form(data)
    if form.apply(data.get("action", "")):
        return await editor(request, ui, store, form, view=view)
    draft = form.to_definition()
    problems = list(draft.problems)
    saved = None
    try:
        if problems:  # the form's own problems: still name the model's too
            await validate(store, ui.account, draft.definition)
        elif view is None:
            saved = await service.create_workflow(store, ui.account, draft.definition, now=now)
        else:
            saved = await service.update_workflow(
                store, ui.account, view.id, draft.definition, now=now
            )
    except WorkflowError as exc:
        problems.extend(exc.problems)
    except InputError as exc:
        problems.append(str(exc))
    if saved is None:
        errors = field_errors(problems, draft, form)
        return await editor(request, ui, store, form, view=view, errors=errors, status_code=400)
    return see_other(f"{LIST}/{saved.id}", notice=_saved(saved))


def _saved(view: service.WorkflowView) -> str:
    if view.warnings:
        return f"Draft saved, with {len(view.warnings)} warning(s): " + "; ".join(view.warnings)
    return "Draft saved. Preview it, then publish to run it."


async def editor(
    request: Request,
    ui: UiSession,
    store: Store,
    form: EditorForm,
    *,
    view: service.WorkflowView | None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The editor showing ``form`` (what is stored, or what the user typed)."""
    connections = [
        c for c in await apps_service.list_connections(store, ui.account) if c.app == BRAZE
    ]
    chosen = next((c for c in connections if c.name == form.connection), None)
    if chosen is None and len(connections) == 1 and not form.connection:
        chosen = connections[0]
    attributes = None
    if chosen is not None and chosen.custom_attributes_count is not None:
        cached = await apps_service.custom_attributes(store, ui.account, chosen.id)
        attributes = cached.attributes
    picker = target_picker(attributes)
    events = (
        EVENT_TYPES if form.trigger_event in EVENT_TYPES else (*EVENT_TYPES, form.trigger_event)
    )
    context: dict[str, Any] = {
        "form": form,
        "workflow": view,
        "badges": [],
        "errors": errors or {},
        "summary": summary_of(errors or {}),
        "action": LIST if view is None else f"{LIST}/{view.id}",
        "event_options": [(e, e, False) for e in events],
        "op_options": [(op, OPERATOR_TEXT.get(op, op), False) for op in OPERATORS],
        "mode_options": [(v, t, False) for v, t in MODE_CHOICES],
        "reenroll_options": [(v, t, False) for v, t in REENROLL_CHOICES],
        "identify_options": [(v, t, False) for v, t in IDENTIFY_CHOICES],
        "connections": connections,
        "connection": chosen,
        "picker": picker,
        "mapping_rows": shown_rows(form.mappings, picker),
        "target_notes": target_notes(form.mappings, picker),
        "default_attributes": DEFAULT_ATTRIBUTES,
        "max_note": MAX_NOTE,
    }
    if view is not None:
        context["badges"] = badges(view, await latest_version(store, ui.account, view))
    return page(request, "workflows/editor.html", ui, status_code=status_code, **context)


# --------------------------------------------------------------------------- publish, pause


@router.post(LIST + "/{workflow_id}/publish")
async def publish(
    request: Request, workflow_id: str, ui: CsrfChecked, store: StoreDep, now: NowDep
) -> Response:
    view = await found(service.get_workflow(store, ui.account, path_id(workflow_id)))
    note = (await posted(request)).get("note", "")[:MAX_NOTE]
    try:
        version = await service.publish_workflow(
            store, ui.account, view.id, author=ui.user.email, note=note, now=now
        )
    except WorkflowError as exc:
        form = EditorForm.from_definition(view.draft)
        errors = field_errors(exc.problems, form.to_definition(), form)
        errors[GENERAL] = "Not published: " + errors.get(GENERAL, "fix the problems below.")
        return await editor(request, ui, store, form, view=view, errors=errors, status_code=400)
    return see_other(
        f"{LIST}/{view.id}", notice=f"Published version {version.version}: it runs from now on."
    )


@router.post(LIST + "/{workflow_id}/pause")
async def pause(workflow_id: str, ui: CsrfChecked, store: StoreDep, now: NowDep) -> Response:
    return await _set_paused(workflow_id, ui, store, now, paused=True)


@router.post(LIST + "/{workflow_id}/resume")
async def resume(workflow_id: str, ui: CsrfChecked, store: StoreDep, now: NowDep) -> Response:
    return await _set_paused(workflow_id, ui, store, now, paused=False)


async def _set_paused(
    workflow_id: str, ui: UiSession, store: Store, now: datetime, *, paused: bool
) -> Response:
    number = path_id(workflow_id)
    try:
        view = await found(service.set_paused(store, ui.account, number, paused, now=now))
    except InputError as exc:
        return see_other(f"{LIST}/{number}", notice=str(exc).split(": ", 1)[-1].capitalize())
    said = "Paused: it enrolls nobody until resumed." if paused else "Resumed: it runs again."
    return see_other(f"{LIST}/{view.id}", notice=said)
