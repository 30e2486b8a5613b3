"""Preview (``/workflows/{id}/preview``): run a sample event, or a stored profile, through
the saved DRAFT and show the exact Braze ``/users/track`` body with its warnings — or why
the profile would be skipped. ``services.workflows.preview_draft`` sends nothing and calls
nothing; neither does this page.

The sample event is prefilled from the draft (its trigger's event type and first design,
and a value for every mapped property) so a first Preview shows every attribute the step
would write. Lines of the body that a warning is about are marked (``<mark>``); each
warning is also listed in words, so nothing is said by colour alone.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from justuno_braze.errors import InputError, WorkflowError
from justuno_braze.services import workflows as service
from justuno_braze.services.profiles import list_profiles
from justuno_braze.store import Store
from justuno_braze.web.auth import NowDep, StoreDep
from justuno_braze.web.ui.not_found import found, path_id
from justuno_braze.web.ui.profiles import MAX_QUERY, search_terms
from justuno_braze.web.ui.render import page
from justuno_braze.web.ui.session import CsrfChecked, SignedIn, UiSession
from justuno_braze.web.ui.workflow_common import posted

router = APIRouter(include_in_schema=False)

MAX_EVENT_TEXT = 256 * 1024
PROFILE_CHOICES = 50
SAMPLE_PROPERTIES: dict[str, Any] = {
    "email": "maria.silva@example.com",
    "sms": "+1 415 555 2671",
    "first_name": "Maria",
    "last_name": "Silva",
    "language": "pt-BR",
    "gender": "female",
    "country": "United States",
}
SAMPLE_VALUES: dict[str, Any] = {"birthday": "1990-04-12", "interests": ["yoga", "travel"]}
_STEP_TARGET = re.compile(r"^steps\[0\]\.sync_to_app\.properties\[(\d+)\]\.to$")
_KEY = re.compile(r'^\s*"((?:[^"\\]|\\.)*)":')


def sample_event(draft: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A realistic event of the draft's trigger, with every mapped property filled."""
    trigger = draft.get("trigger") or {}
    designs = trigger.get("designs") or []
    properties = dict(SAMPLE_PROPERTIES)
    for step in draft.get("steps") or []:
        for row in (step.get("sync_to_app") or {}).get("properties") or []:
            source = row.get("from")
            if isinstance(source, str) and source not in properties:
                properties[source] = SAMPLE_VALUES.get(source, f"sample {source}")
    event: dict[str, Any] = {
        "type": trigger.get("event") or "form_submitted",
        "visitor_id": "jv_preview_maria",
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "design_id": designs[0] if designs else "spring-popup",
        "page_url": "https://shop.example/products/linen-shirt",
        "properties": properties,
        "consent": {"sms": True},
    }
    return event


def _mapping_rows(draft: dict[str, Any]) -> list[dict[str, Any]]:
    steps = draft.get("steps") or [{}]
    rows: list[dict[str, Any]] = (steps[0].get("sync_to_app") or {}).get("properties") or []
    return rows


def readable(warning: str, draft: dict[str, Any]) -> str:
    """A warning as a marketer reads it: ``steps[0].sync_to_app.properties[1].to: …``
    names its row instead (``tier → loyalty_tier: …``)."""
    head, sep, rest = warning.partition(": ")
    match = _STEP_TARGET.match(head)
    rows = _mapping_rows(draft)
    if sep and match is not None and int(match.group(1)) < len(rows):
        row = rows[int(match.group(1))]
        return f"{row.get('from')} → {row.get('to')}: {rest}"
    return warning


def warned_keys(warnings: list[str], draft: dict[str, Any]) -> set[str]:
    """The body keys the warnings are about: ``phone: …``, ``birthday → dob: …``, and
    ``steps[0].sync_to_app.properties[1].to: …`` (that row's target)."""
    keys = set()
    for warning in warnings:
        head = readable(warning, draft).partition(": ")[0]
        keys.add(head.rpartition(" → ")[2] if " → " in head else head)
    return keys


def body_lines(body: dict[str, Any], keys: set[str]) -> list[tuple[bool, str]]:
    """The pretty-printed body, each line with whether a warning is about its key."""
    out = []
    for line in json.dumps(body, indent=2, ensure_ascii=False).splitlines():
        match = _KEY.match(line)
        out.append((match is not None and json.loads(f'"{match.group(1)}"') in keys, line))
    return out


@router.get("/workflows/{workflow_id}/preview")
async def preview_form(
    request: Request,
    workflow_id: str,
    ui: SignedIn,
    store: StoreDep,
    now: NowDep,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
) -> Response:
    view = await found(service.get_workflow(store, ui.account, path_id(workflow_id)))
    event = json.dumps(sample_event(view.draft, now), indent=2, ensure_ascii=False)
    return await _page(request, ui, store, view, source="event", event_text=event, q=q)


@router.post("/workflows/{workflow_id}/preview")
async def run_preview(
    request: Request, workflow_id: str, ui: CsrfChecked, store: StoreDep, now: NowDep
) -> Response:
    view = await found(service.get_workflow(store, ui.account, path_id(workflow_id)))
    data = await posted(request)
    source = "profile" if data.get("source") == "profile" else "event"
    event_text = data.get("event", "")[:MAX_EVENT_TEXT]
    visitor_id = data.get("visitor_id", "").strip()
    shown: dict[str, Any] = {"source": source, "event_text": event_text, "visitor": visitor_id}
    try:
        if source == "event":
            events = _events(event_text)
            result = await service.preview_draft(store, ui.account, view.id, events=events, now=now)
        else:
            if not visitor_id:
                raise InputError("choose a stored profile", field="visitor_id")
            result = await service.preview_draft(
                store, ui.account, view.id, visitor_id=visitor_id, now=now
            )
    except InputError as exc:
        where = "visitor_id" if exc.field == "visitor_id" else "event"
        errors = {where: str(exc)}
        return await _page(request, ui, store, view, errors=errors, status_code=400, **shown)
    except WorkflowError as exc:
        return await _page(
            request, ui, store, view, problems=exc.problems, status_code=400, **shown
        )
    lines = body_lines(result.body, warned_keys(result.warnings, view.draft)) if result.body else []
    warnings = [readable(w, view.draft) for w in result.warnings]
    return await _page(
        request, ui, store, view, result=result, warnings=warnings, lines=lines, **shown
    )


def _events(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})", field="event") from None
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(item, dict) for item in items):
        raise InputError("must be an event (a JSON object) or a list of them", field="event")
    return items


async def _page(
    request: Request,
    ui: UiSession,
    store: Store,
    view: service.WorkflowView,
    *,
    source: str,
    event_text: str,
    visitor: str = "",
    q: str = "",
    status_code: int = 200,
    **context: Any,
) -> Response:
    email, visitor_id = search_terms(q)
    profiles = await list_profiles(
        store, ui.account.id, email=email, visitor_id=visitor_id, limit=PROFILE_CHOICES
    )
    options = [("", "Choose a visitor", False)] + [
        (p.visitor_id, f"{p.visitor_id}" + (f" ({p.email})" if p.email else ""), False)
        for p in profiles.items
    ]
    if visitor and all(value != visitor for value, _, _ in options):
        options.append((visitor, visitor, False))
    return page(
        request,
        "workflows/preview.html",
        ui,
        status_code=status_code,
        workflow=view,
        source=source,
        event_text=event_text,
        visitor=visitor,
        q=q,
        profile_options=options,
        errors=context.pop("errors", {}),
        **context,
    )
