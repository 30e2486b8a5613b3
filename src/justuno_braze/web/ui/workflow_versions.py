"""Version history: ``/workflows/{id}/versions`` (number, note, author, time), one version
with what changed since the previous one (``/versions/{n}``), and Restore (POST), which
puts that version back into the draft (publish it to run it).

Changes read with a text marker, not only a colour: ``+`` added, ``−`` removed, ``~``
changed (``old → new``), from :func:`~justuno_braze.workflows.diff.diff` via
``services.workflows.diff_versions``; the unified diff of the two YAML files is shown too.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from justuno_braze.services import workflows as service
from justuno_braze.web.auth import NowDep, StoreDep
from justuno_braze.web.ui.not_found import found, path_id
from justuno_braze.web.ui.render import page, see_other
from justuno_braze.web.ui.session import CsrfChecked, SignedIn

router = APIRouter(include_in_schema=False)

MARKERS = {"added": "+", "removed": "−", "changed": "~"}


@dataclass(frozen=True, slots=True)
class ChangeRow:
    kind: str  # added | removed | changed
    marker: str
    path: str
    text: str


def change_rows(changes: list[str]) -> list[ChangeRow]:
    """``diff`` lines (``path: added X`` / ``path: removed X`` / ``path: a → b``) as rows."""
    rows = []
    for change in changes:
        path, _, rest = change.partition(": ")
        kind = "changed"
        for word in ("added", "removed"):
            if rest.startswith(f"{word} "):
                kind, rest = word, rest[len(word) + 1 :]
        rows.append(ChangeRow(kind, MARKERS[kind], path, rest))
    return rows


def diff_lines(unified: str) -> list[tuple[str, str]]:
    """The unified diff's lines with their kind (``added``, ``removed``, ``hunk``,
    ``file``, ``same``); the lines keep their own ``+``/``-`` markers."""
    out = []
    for line in unified.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "added"
        elif line.startswith("-"):
            kind = "removed"
        else:
            kind = "same"
        out.append((kind, line))
    return out


@router.get("/workflows/{workflow_id}/versions")
async def versions_page(
    request: Request, workflow_id: str, ui: SignedIn, store: StoreDep
) -> Response:
    number = path_id(workflow_id)
    view = await found(service.get_workflow(store, ui.account, number))
    versions = await found(service.list_versions(store, ui.account, number))
    return page(request, "workflows/versions.html", ui, workflow=view, versions=versions)


@router.get("/workflows/{workflow_id}/versions/{version}")
async def version_page(
    request: Request, workflow_id: str, version: str, ui: SignedIn, store: StoreDep
) -> Response:
    number, n = path_id(workflow_id), path_id(version)
    view = await found(service.get_workflow(store, ui.account, number))
    current = await found(service.get_version(store, ui.account, number, n))
    changes = await found(service.diff_versions(store, ui.account, number, n))
    text = await found(service.export_workflow(store, ui.account, number, version=n))
    return page(
        request,
        "workflows/version.html",
        ui,
        workflow=view,
        version=current,
        diff=changes,
        rows=change_rows(changes.changes),
        lines=diff_lines(changes.unified),
        file_text=text,
    )


@router.post("/workflows/{workflow_id}/versions/{version}/restore")
async def restore(
    workflow_id: str, version: str, ui: CsrfChecked, store: StoreDep, now: NowDep
) -> Response:
    number, n = path_id(workflow_id), path_id(version)
    view = await found(service.restore_version(store, ui.account, number, n, now=now))
    return see_other(
        f"/workflows/{view.id}",
        notice=f"Version {n} is the draft again. Publish it to run it.",
    )
