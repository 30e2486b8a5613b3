"""Workflow files: preview, workflows validate / export / import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from justuno_braze.cli.root import app, load_settings, workflows_app
from justuno_braze.errors import InputError, WorkflowError

if TYPE_CHECKING:
    from justuno_braze.braze.attributes import AttributeSchema
    from justuno_braze.workflows.model import Workflow


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        typer.echo(f"error: {what} {path}: cannot read the file ({why})", err=True)
        raise typer.Exit(2) from None


def load_workflow(path: Path) -> Workflow:
    from justuno_braze.workflows.model import load_file

    try:
        return load_file(path)
    except WorkflowError as exc:
        for problem in exc.problems:
            where = "" if problem.startswith(str(path)) else f"{path}: "
            typer.echo(f"error: {where}{problem}", err=True)
        raise typer.Exit(2) from None


def load_schema(path: Path | None) -> AttributeSchema | None:
    from justuno_braze.braze.attributes import AttributeSchema

    if path is None:
        return None
    text = read_text(path, "custom attributes")
    try:
        return AttributeSchema.from_api(json.loads(text))
    except json.JSONDecodeError as exc:
        typer.echo(f"error: custom attributes {path}: not valid JSON ({exc.msg})", err=True)
    except InputError as exc:
        typer.echo(f"error: custom attributes {path}: {exc}", err=True)
    raise typer.Exit(2)


@app.command()
def preview(
    workflow: Annotated[Path, typer.Option(help="Workflow file (YAML or JSON).")],
    event: Annotated[
        Path,
        typer.Option(
            help="One event (JSON), or a visitor's events (JSON array or JSONL) merged in "
            "order; the last one triggers."
        ),
    ],
    custom_attributes: Annotated[
        Path | None,
        typer.Option(help="GET /custom_attributes' `attributes` list (or the whole body)."),
    ] = None,
) -> None:
    """Print the exact /users/track body the workflow would send (sends nothing).

    Exit 0: something would be sent; 3: skipped (reason on stderr); 2: invalid input.
    """
    from datetime import UTC, datetime

    from justuno_braze import services

    flow = load_workflow(workflow)
    schema = load_schema(custom_attributes)
    now = datetime.now(UTC)
    text = read_text(event, "event file")
    try:
        events = services.parse_events(text, now=now)
        result = services.preview(flow, events, schema, now=now)
    except InputError as exc:
        typer.echo(f"error: {event}: {exc}", err=True)
        raise typer.Exit(2) from None
    except WorkflowError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {workflow}: {problem}", err=True)
        raise typer.Exit(2) from None
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if result.body is None:
        detail = f": {result.skip_detail}" if result.skip_detail else ""
        typer.echo(f"skipped: {result.skip_reason}{detail}", err=True)
        raise typer.Exit(3)
    typer.echo(json.dumps(result.body, indent=2, ensure_ascii=False))


@workflows_app.command("validate")
def workflows_validate(
    files: Annotated[list[Path], typer.Argument(help="Workflow files (YAML or JSON).")],
    custom_attributes: Annotated[
        Path | None,
        typer.Option(help="Also check mapping targets against this GET /custom_attributes list."),
    ] = None,
) -> None:
    """Check workflow files: `FILE: ok`, or every problem; exit 2 when any is invalid."""
    from justuno_braze.workflows.model import load_file

    schema = load_schema(custom_attributes)
    invalid = 0
    for path in files:
        try:
            problems = load_file(path).problems(schema)
        except WorkflowError as exc:
            problems = exc.problems
        if problems:
            invalid += 1
            for problem in problems:
                typer.echo(f"{path}: {problem}", err=True)
        else:
            typer.echo(f"{path}: ok")
    if invalid:
        raise typer.Exit(2)


def _with_account(slug: str, work: Any) -> Any:
    """Run ``await work(store, account)`` on the settings' database; errors → exit codes."""
    import asyncio

    from justuno_braze import services
    from justuno_braze.errors import StoreError
    from justuno_braze.services.workflows import UnknownWorkflow

    async def run() -> Any:
        store = await services.open_app_store(load_settings())
        try:
            account = await store.accounts.by_slug(slug)
            if account is None:
                raise InputError(f"no account {slug!r}", field="--account")
            return await work(store, account)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except WorkflowError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None
    except (InputError, UnknownWorkflow) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@workflows_app.command("export")
def workflows_export(
    account: Annotated[str, typer.Option(help="Account slug.")],
    id_: Annotated[int | None, typer.Option("--id", help="Workflow id.")] = None,
    name: Annotated[str | None, typer.Option(help="Workflow name.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
    version: Annotated[
        int | None, typer.Option(help="A published version (default: the draft).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
) -> None:
    """Write a stored workflow (its draft, or --version N) as a workflow file."""
    from justuno_braze.services import workflows as service

    if (id_ is None) == (name is None):
        typer.echo("error: give exactly one of --id or --name", err=True)
        raise typer.Exit(2)
    if fmt not in ("yaml", "json"):
        typer.echo(f"error: --format: must be yaml or json, got {fmt!r}", err=True)
        raise typer.Exit(2)

    async def work(store: Any, acct: Any) -> str:
        found = await service.find_workflow(store, acct, workflow_id=id_, name=name)
        kind: Literal["yaml", "json"] = "json" if fmt == "json" else "yaml"
        return await service.export_workflow(store, acct, found.id, fmt=kind, version=version)

    text = _with_account(account, work)
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@workflows_app.command("import")
def workflows_import(
    file: Annotated[Path, typer.Argument(help="Workflow file (YAML or JSON).")],
    account: Annotated[str, typer.Option(help="Account slug.")],
) -> None:
    """Store a workflow file as a new draft of the account (validated: every problem named)."""
    from datetime import UTC, datetime

    from justuno_braze.services import workflows as service

    raw = read_text(file, "workflow")

    async def work(store: Any, acct: Any) -> Any:
        return await service.import_workflow(store, acct, raw, now=datetime.now(UTC))

    view = _with_account(account, work)
    for warning in view.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"imported {view.name!r} as workflow {view.id} (draft; publish it to run it)")


# --- import / replay ----------------------------------------------------------------------
