"""Workflows (S4–S10): drafts validated on save, preview, publish, history, pause, files.

Under ``/api/v1/accounts/{account}/workflows``: list/create, ``{id}`` get/put/delete,
``{id}/preview``, ``{id}/publish``, ``{id}/versions``, ``{id}/versions/{n}``,
``{id}/versions/{n}/diff`` (``?against=m``), ``{id}/versions/{n}/restore``,
``{id}/pause``, ``{id}/resume``, ``{id}/export?format=yaml|json``, and ``import``
(a YAML or JSON file as the body). An invalid workflow is 422 with ``problems`` naming
every problem; nothing is saved.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, Field

from justuno_braze.errors import InputError
from justuno_braze.services import workflows as service
from justuno_braze.web.auth import AccountScope, NowDep, StoreDep
from justuno_braze.web.errors import ERROR_RESPONSES, NotFound

router = APIRouter(prefix="/api/v1/accounts/{account}/workflows", tags=["workflows"])
MAX_ID = 2**31 - 1
MAX_IMPORT_BYTES = 256 * 1024
MAX_PREVIEW_EVENTS = 100
T = TypeVar("T")

WorkflowId = Annotated[int, Path(ge=1, le=MAX_ID, description="The workflow's id")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="A version number")]
Definition = Annotated[
    dict[str, Any],
    Body(
        description="The workflow in the file format's JSON form (PRODUCT.md 'Workflow file "
        "format'): name, trigger, conditions, reenroll, steps[].sync_to_app"
    ),
]


class WorkflowOut(BaseModel):
    id: int
    name: str
    status: str = Field(description="draft (never published) | active | paused")
    latest_version: int | None
    draft: dict[str, Any] = Field(description="The draft, in canonical form")
    warnings: list[str] = Field(description="What the save pointed out without refusing")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: service.WorkflowView) -> WorkflowOut:
        return cls.model_validate(v, from_attributes=True)


class WorkflowList(BaseModel):
    items: list[WorkflowOut]


class PreviewIn(BaseModel):
    event: dict[str, Any] | None = Field(default=None, description="One sample event")
    events: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=MAX_PREVIEW_EVENTS,
        description="One visitor's events in order (the last one triggers)",
    )
    visitor_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Preview a stored profile (with the events merged onto it, if any)",
    )


class PreviewOut(BaseModel):
    body: dict[str, Any] | None = Field(description="The exact /users/track body; None: skipped")
    warnings: list[str]
    skipped: bool
    skip_reason: str | None = Field(description="not_enrolled, no_identifier, …")
    skip_detail: str


class PublishIn(BaseModel):
    author: str = Field(default="api", min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class VersionOut(BaseModel):
    workflow_id: int
    version: int
    author: str
    note: str | None
    published_at: datetime
    definition: dict[str, Any]
    changes: list[str] = Field(description="What changed since the previous version")

    @classmethod
    def of(cls, v: service.VersionView) -> VersionOut:
        return cls.model_validate(v, from_attributes=True)


class VersionList(BaseModel):
    items: list[VersionOut] = Field(description="Newest first")


class DiffOut(BaseModel):
    workflow_id: int
    from_version: int | None = Field(description="None: version 1 has nothing before it")
    to_version: int
    changes: list[str]
    unified: str = Field(description="Unified diff of the two YAML files")


class ImportIn(BaseModel):
    text: str = Field(max_length=MAX_IMPORT_BYTES, description="A YAML or JSON workflow file")


async def _found(call: Awaitable[T]) -> T:
    try:
        return await call
    except service.UnknownWorkflow as exc:
        raise NotFound(str(exc)) from None


@router.get(
    "", response_model=WorkflowList, summary="The account's workflows", responses=ERROR_RESPONSES
)
async def list_workflows(account: AccountScope, store: StoreDep) -> WorkflowList:
    views = await service.list_workflows(store, account)
    return WorkflowList(items=[WorkflowOut.of(v) for v in views])


@router.post(
    "",
    response_model=WorkflowOut,
    status_code=201,
    summary="Save a new draft (validated: every problem named)",
    responses=ERROR_RESPONSES,
)
async def create_workflow(
    definition: Definition, account: AccountScope, store: StoreDep, now: NowDep
) -> WorkflowOut:
    return WorkflowOut.of(await service.create_workflow(store, account, definition, now=now))


@router.post(
    "/import",
    response_model=WorkflowOut,
    status_code=201,
    summary="Import a YAML or JSON workflow file as a new draft",
    responses=ERROR_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ImportIn.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def import_workflow(
    request: Request, account: AccountScope, store: StoreDep, now: NowDep
) -> WorkflowOut:
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise InputError(f"larger than {MAX_IMPORT_BYTES} bytes", field="file")
    text: str | bytes = raw
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            text = ImportIn.model_validate_json(raw).text
        except ValueError:
            raise InputError('send {"text": "<the file>"} as JSON', field="text") from None
    view = await service.import_workflow(store, account, text, now=now)
    return WorkflowOut.of(view)


@router.get(
    "/{workflow_id}", response_model=WorkflowOut, summary="One workflow", responses=ERROR_RESPONSES
)
async def get_workflow(
    workflow_id: WorkflowId, account: AccountScope, store: StoreDep
) -> WorkflowOut:
    return WorkflowOut.of(await _found(service.get_workflow(store, account, workflow_id)))


@router.put(
    "/{workflow_id}",
    response_model=WorkflowOut,
    summary="Save the draft (validated; published versions never change)",
    responses=ERROR_RESPONSES,
)
async def update_workflow(
    workflow_id: WorkflowId,
    definition: Definition,
    account: AccountScope,
    store: StoreDep,
    now: NowDep,
) -> WorkflowOut:
    view = await _found(service.update_workflow(store, account, workflow_id, definition, now=now))
    return WorkflowOut.of(view)


@router.delete(
    "/{workflow_id}",
    status_code=204,
    summary="Delete the workflow with its versions",
    responses=ERROR_RESPONSES,
)
async def delete_workflow(
    workflow_id: WorkflowId, account: AccountScope, store: StoreDep
) -> Response:
    await _found(service.delete_workflow(store, account, workflow_id))
    return Response(status_code=204)


@router.post(
    "/{workflow_id}/preview",
    response_model=PreviewOut,
    summary="Run a sample event or a stored profile through the draft; sends nothing",
    responses=ERROR_RESPONSES,
)
async def preview(
    workflow_id: WorkflowId, body: PreviewIn, account: AccountScope, store: StoreDep, now: NowDep
) -> PreviewOut:
    events = [*([body.event] if body.event is not None else []), *(body.events or [])]
    result = await _found(
        service.preview_draft(
            store, account, workflow_id, events=events, visitor_id=body.visitor_id, now=now
        )
    )
    return PreviewOut(
        body=result.body,
        warnings=result.warnings,
        skipped=result.skipped,
        skip_reason=result.skip_reason,
        skip_detail=result.skip_detail,
    )


@router.post(
    "/{workflow_id}/publish",
    response_model=VersionOut,
    status_code=201,
    summary="Freeze the draft as the next numbered version",
    responses=ERROR_RESPONSES,
)
async def publish(
    workflow_id: WorkflowId, account: AccountScope, store: StoreDep, now: NowDep,
    body: PublishIn | None = None,
) -> VersionOut:  # fmt: skip
    given = body or PublishIn()
    view = await _found(
        service.publish_workflow(
            store, account, workflow_id, author=given.author, note=given.note, now=now
        )
    )
    return VersionOut.of(view)


@router.get(
    "/{workflow_id}/versions",
    response_model=VersionList,
    summary="Version history, newest first, each with its changes",
    responses=ERROR_RESPONSES,
)
async def versions(workflow_id: WorkflowId, account: AccountScope, store: StoreDep) -> VersionList:
    views = await _found(service.list_versions(store, account, workflow_id))
    return VersionList(items=[VersionOut.of(v) for v in views])


@router.get(
    "/{workflow_id}/versions/{version}",
    response_model=VersionOut,
    summary="One published version",
    responses=ERROR_RESPONSES,
)
async def version(
    workflow_id: WorkflowId, version: VersionNumber, account: AccountScope, store: StoreDep
) -> VersionOut:
    return VersionOut.of(await _found(service.get_version(store, account, workflow_id, version)))


@router.get(
    "/{workflow_id}/versions/{version}/diff",
    response_model=DiffOut,
    summary="Changes to this version from the previous one (or from ?against=m)",
    responses=ERROR_RESPONSES,
)
async def diff(
    workflow_id: WorkflowId,
    version: VersionNumber,
    account: AccountScope,
    store: StoreDep,
    against: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> DiffOut:
    d = await _found(service.diff_versions(store, account, workflow_id, version, against=against))
    return DiffOut(
        workflow_id=d.workflow_id,
        from_version=d.from_version,
        to_version=d.to_version,
        changes=d.changes,
        unified=d.unified,
    )


@router.post(
    "/{workflow_id}/versions/{version}/restore",
    response_model=WorkflowOut,
    summary="Make this version the draft again (publish to run it)",
    responses=ERROR_RESPONSES,
)
async def restore(
    workflow_id: WorkflowId, version: VersionNumber, account: AccountScope, store: StoreDep,
    now: NowDep,
) -> WorkflowOut:  # fmt: skip
    view = await _found(service.restore_version(store, account, workflow_id, version, now=now))
    return WorkflowOut.of(view)


@router.post(
    "/{workflow_id}/pause",
    response_model=WorkflowOut,
    summary="Pause: the workflow enrolls nobody until resumed",
    responses=ERROR_RESPONSES,
)
async def pause(
    workflow_id: WorkflowId, account: AccountScope, store: StoreDep, now: NowDep
) -> WorkflowOut:
    return WorkflowOut.of(
        await _found(service.set_paused(store, account, workflow_id, True, now=now))
    )


@router.post(
    "/{workflow_id}/resume",
    response_model=WorkflowOut,
    summary="Resume a paused workflow (its latest version runs)",
    responses=ERROR_RESPONSES,
)
async def resume(
    workflow_id: WorkflowId, account: AccountScope, store: StoreDep, now: NowDep
) -> WorkflowOut:
    return WorkflowOut.of(
        await _found(service.set_paused(store, account, workflow_id, False, now=now))
    )


@router.get(
    "/{workflow_id}/export",
    summary="The draft (or ?version=n) as a canonical YAML or JSON workflow file",
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "The workflow file",
            "content": {"application/yaml": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "object"}}},
        },
    },
)  # fmt: skip
async def export(
    workflow_id: WorkflowId,
    account: AccountScope,
    store: StoreDep,
    format: Annotated[Literal["yaml", "json"], Query(description="File format")] = "yaml",
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    text = await _found(
        service.export_workflow(store, account, workflow_id, fmt=format, version=version)
    )
    media = "application/json" if format == "json" else "application/yaml"
    return Response(text, media_type=media)
