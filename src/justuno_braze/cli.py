"""The ``justuno-braze`` command line (also ``python -m justuno_braze``).

Each command parses its options, calls a service, and maps errors to exit codes:
0 done, 2 invalid input/workflow/settings, 3 skipped (``preview``), 1 anything else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from justuno_braze.config import Settings
from justuno_braze.errors import ConfigError, InputError, WorkflowError

if TYPE_CHECKING:
    from justuno_braze.braze.attributes import AttributeSchema
    from justuno_braze.workflows.model import Workflow

app = typer.Typer(
    name="justuno-braze",
    help="Justuno lead profiles into Braze, durably, plus a local Braze sandbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
workflows_app = typer.Typer(help="Workflow files: validate, export, import.", no_args_is_help=True)
app.add_typer(workflows_app, name="workflows")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9292,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            help="KEY or KEY:perm,perm… (repeatable). No permission list = every permission. "
            "Default: one key 'sandbox-key' with every permission.",
        ),
    ] = None,
    custom_attributes: Annotated[
        Path | None,
        typer.Option(help="JSON list shaped like the `attributes` of GET /custom_attributes."),
    ] = None,
    rate_limit: Annotated[
        str | None, typer.Option(help="N/SECONDS for /users/track (default 3000/3).")
    ] = None,
    latency_ms: Annotated[float, typer.Option(help="Added latency per request.")] = 0.0,
    fault_rate: Annotated[
        float, typer.Option(help="Fraction (0–1) of requests answered with --fault-status.")
    ] = 0.0,
    fault_status: Annotated[int, typer.Option(help="Status of injected faults.")] = 503,
    subscription_group: Annotated[
        list[str] | None,
        typer.Option(
            "--subscription-group",
            help="ID:sms|email (repeatable). None given = any well-formed UUID is a group.",
        ),
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="Persist users here (JSON); in memory when absent.")
    ] = None,
    combined_cap: Annotated[
        int | None, typer.Option(help="New-pricing mode: cap over all three arrays (50 or 75).")
    ] = None,
) -> None:
    """Run the Braze sandbox: a local emulator of the Braze REST API."""
    from justuno_braze.sandbox.server import SandboxOptionsError, options_from_cli, serve

    try:
        options = options_from_cli(
            api_keys=api_key or [],
            custom_attributes=custom_attributes,
            rate_limit=rate_limit,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            fault_status=fault_status,
            subscription_groups=subscription_group or [],
            state=state,
            combined_cap=combined_cap,
        )
    except SandboxOptionsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    serve(options, host=host, port=port)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, help="Requests in flight per connection (default JUSTUNO_BRAZE_MAX_IN_FLIGHT)."
        ),
    ] = None,
    batch: Annotated[
        int | None, typer.Option(min=1, help="Jobs claimed per batch (default 10 × batch cap).")
    ] = None,
) -> None:
    """Run delivery workers against JUSTUNO_BRAZE_DATABASE_URL until SIGINT/SIGTERM."""
    import asyncio
    import logging

    from justuno_braze.delivery.worker import run_worker_process
    from justuno_braze.errors import JustunoBrazeError

    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise
    try:
        asyncio.run(run_worker_process(settings, concurrency=concurrency, batch_size=batch))
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None
    except JustunoBrazeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


SERVE_IDLE_SECONDS = 0.05  # serve's worker polls an empty outbox often: 202 → Braze fast


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    demo: Annotated[
        bool, typer.Option(help="Seed the demo account (embedded Braze sandbox) and print it.")
    ] = False,
    workers: Annotated[bool, typer.Option(help="Run the delivery worker in this process.")] = True,
) -> None:
    """Run the REST API, ingestion and (unless --no-workers) delivery in one process."""
    import logging

    import uvicorn

    from justuno_braze.web.app import AppOptions, create_app

    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)  # per /readyz
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    options = AppOptions(
        workers=workers,
        demo=demo,
        public_url=f"http://{shown}:{port}",
        announce=lambda text: typer.echo(text),
        worker_kwargs={"idle_seconds": SERVE_IDLE_SECONDS},
    )
    application = create_app(settings, options=options)
    uvicorn.run(application, host=host, port=port, access_log=False, log_level="info")


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON, secrets masked."""
    typer.echo(json.dumps(_settings().masked(), indent=2, default=str))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate JUSTUNO_BRAZE_DATABASE_URL to the latest schema (creates a SQLite file)."""
    from justuno_braze.errors import StoreError
    from justuno_braze.store import upgrade

    settings = _settings()
    where = settings.masked()["database_url"]
    try:
        applied = upgrade(settings.database_url)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if applied:
        typer.echo(f"{where}: applied {', '.join(applied)}; now at {applied[-1]} (head)")
    else:
        typer.echo(f"{where}: already at the latest schema, nothing to do")


# --- preview / workflows validate -------------------------------------------------------


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        typer.echo(f"error: {what} {path}: cannot read the file ({why})", err=True)
        raise typer.Exit(2) from None


def _load_workflow(path: Path) -> Workflow:
    from justuno_braze.workflows.model import load_file

    try:
        return load_file(path)
    except WorkflowError as exc:
        for problem in exc.problems:
            where = "" if problem.startswith(str(path)) else f"{path}: "
            typer.echo(f"error: {where}{problem}", err=True)
        raise typer.Exit(2) from None


def _load_schema(path: Path | None) -> AttributeSchema | None:
    from justuno_braze.braze.attributes import AttributeSchema

    if path is None:
        return None
    text = _read_text(path, "custom attributes")
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

    flow = _load_workflow(workflow)
    schema = _load_schema(custom_attributes)
    now = datetime.now(UTC)
    text = _read_text(event, "event file")
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

    schema = _load_schema(custom_attributes)
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
        store = await services.open_app_store(_settings())
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

    raw = _read_text(file, "workflow")

    async def work(store: Any, acct: Any) -> Any:
        return await service.import_workflow(store, acct, raw, now=datetime.now(UTC))

    view = _with_account(account, work)
    for warning in view.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"imported {view.name!r} as workflow {view.id} (draft; publish it to run it)")


# --- import / replay ----------------------------------------------------------------------


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Lead export: CSV with a header row, or JSONL.")],
    workflow: Annotated[Path, typer.Option(help="Workflow file (YAML or JSON).")],
    braze_url: Annotated[str, typer.Option(help="REST endpoint of the Braze instance.")],
    braze_key: Annotated[
        str | None,
        typer.Option(
            help="Braze REST API key (default: JUSTUNO_BRAZE_BRAZE_KEY).", show_default=False
        ),
    ] = None,
    account: Annotated[str, typer.Option(help="Account that owns the connection.")] = "default",
    enqueue_only: Annotated[
        bool, typer.Option(help="Stop after enqueueing: running workers deliver.")
    ] = False,
) -> None:
    """Backfill a Justuno lead export through a workflow into Braze (resumable).

    Exit 0 when every row is delivered, skipped, invalid or dead-lettered; 1 when Braze
    refused the key (the jobs are kept: re-run with the right key); 2 on invalid input.
    """
    import asyncio
    from datetime import UTC, datetime

    from justuno_braze.backfill import ImportRequest, run_import
    from justuno_braze.braze.instances import check_braze_url
    from justuno_braze.errors import AuthError, JustunoBrazeError
    from justuno_braze.services import open_app_store

    settings = _settings()
    key = braze_key or settings.braze_key
    if not key.strip():
        typer.echo(
            "error: no Braze API key: pass --braze-key or set JUSTUNO_BRAZE_BRAZE_KEY", err=True
        )
        raise typer.Exit(2)
    try:
        base_url = check_braze_url(braze_url, settings.allowed_braze_urls)
    except InputError as exc:
        typer.echo(f"error: --braze-url: {exc}", err=True)
        raise typer.Exit(2) from None
    flow = _load_workflow(workflow)
    request = ImportRequest(file, flow, base_url, key, account, enqueue_only)

    async def run() -> Any:
        store = await open_app_store(settings)
        try:
            with _ImportProgress() as progress:
                return await run_import(
                    store, settings, request, now=lambda: datetime.now(UTC), progress=progress
                )
        finally:
            await store.close()

    try:
        summary = asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo(
            "interrupted: what was enqueued is kept; re-run the same command to resume "
            "(nothing is sent twice)",
            err=True,
        )
        raise typer.Exit(130) from None
    except WorkflowError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {workflow}: {problem}", err=True)
        raise typer.Exit(2) from None
    except (InputError, ConfigError) as exc:
        typer.echo(
            f"error: {file}: {exc}" if isinstance(exc, InputError) else f"error: {exc}", err=True
        )
        raise typer.Exit(2) from None
    except AuthError as exc:
        typer.echo(
            f"error: Braze refused the API key ({exc}); nothing was sent. Jobs enqueued by "
            "earlier runs are kept: re-run the import with the right key to resume.",
            err=True,
        )
        raise typer.Exit(1) from None
    except JustunoBrazeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for line in summary.lines():
        typer.echo(line)
    if summary.paused:
        for reason in summary.paused.values():
            typer.echo(f"error: delivery paused: {reason}", err=True)
        typer.echo(
            f"error: Braze refused the API key; {summary.pending} jobs are kept in the outbox. "
            "Re-run the import with the right key to deliver them (nothing is sent twice).",
            err=True,
        )
        raise typer.Exit(1)
    if enqueue_only:
        typer.echo(f"enqueue only: {summary.pending} jobs wait for `justuno-braze worker`")
    elif summary.dead:
        typer.echo(
            f"done, but {sum(summary.dead.values())} profiles were dead-lettered (reasons above); "
            "`justuno-braze replay` re-queues them after a fix"
        )
    else:
        typer.echo("done: every row is delivered, skipped or invalid")


class _ImportProgress:
    """A Rich progress bar on stderr: rows read, then jobs delivered (or dead)."""

    def __enter__(self) -> _ImportProgress:
        from rich.console import Console
        from rich.progress import Progress

        self._progress = Progress(console=Console(stderr=True), transient=False)
        self._tasks: dict[str, Any] = {}
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        label = {"read": "rows read", "deliver": "delivered"}.get(stage, stage)
        task = self._tasks.get(stage)
        if task is None:
            task = self._tasks[stage] = self._progress.add_task(label, total=total)
        self._progress.update(task, completed=done, total=total)


@app.command()
def replay(
    workflow: Annotated[str | None, typer.Option(help="Workflow id (or name).")] = None,
    reason: Annotated[
        str | None, typer.Option(help="Text the dead-letter reason contains.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Dead at or after (ISO date-time).")] = None,
    until: Annotated[str | None, typer.Option(help="Dead at or before (ISO date-time).")] = None,
    connection: Annotated[int | None, typer.Option(help="Connection id.")] = None,
    dry_run: Annotated[bool, typer.Option(help="List what would be re-queued.")] = False,
    drain: Annotated[
        bool, typer.Option(help="Deliver now instead of leaving it to workers.")
    ] = False,
) -> None:
    """Re-queue dead letters (after a fix); workers then deliver them."""
    import asyncio
    from datetime import UTC, datetime

    from justuno_braze import services
    from justuno_braze.delivery.worker import Worker
    from justuno_braze.errors import JustunoBrazeError
    from justuno_braze.events import parse_time

    settings = _settings()
    try:
        where = services.ReplayFilter(
            workflow=workflow,
            reason=reason,
            since=parse_time(since, "--since") if since else None,
            until=parse_time(until, "--until") if until else None,
            connection_id=connection,
        )
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    async def run() -> None:
        store = await services.open_app_store(settings)
        try:
            if dry_run:
                letters = await services.matching_dead_letters(store, where)
                for d in letters:
                    typer.echo(
                        f"{d.id}\tconnection {d.connection_id}\t{d.workflow_id or '-'}\t"
                        f"{d.dead_at.isoformat()}\t{d.user_key}\t{d.reason}"
                    )
                typer.echo(f"{len(letters)} dead letters would be re-queued (dry run)")
                return
            count = await services.replay(store, where, now=datetime.now(UTC))
            typer.echo(f"{count} dead letters re-queued")
            if drain and count:
                worker = Worker(store, settings)
                try:
                    result = await worker.drain()
                finally:
                    await worker.aclose()
                c = result.counts
                typer.echo(
                    f"outbox: {c['delivered']} delivered, {c['dead']} dead, {c['pending']} pending"
                )
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except JustunoBrazeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def main() -> None:
    app(prog_name="justuno-braze")


if __name__ == "__main__":  # pragma: no cover
    main()
