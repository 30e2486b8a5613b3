"""Backfill and recovery: import a lead export, replay dead letters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from justuno_braze.cli.root import app, load_settings
from justuno_braze.cli.workflow_files import load_workflow
from justuno_braze.errors import ConfigError, InputError, WorkflowError

if TYPE_CHECKING:
    pass


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
    import gc

    # The garbage collector: what is imported here lives as long as the process, so no
    # collection while importing it, then out of the collector's sight (a collection walks
    # only what the import allocates, and the delivery process shares those pages instead
    # of copying them as collections touch them). Reading collects less often than the
    # default, but not as rarely as the delivery process (``backfill_process``): with the
    # worker's thresholds the reading process grew ~130 bytes per row (a 1,000,000-row
    # import peaked at 204 MB); with these it stays flat (76 MB through 400,000 rows).
    gc.disable()
    import asyncio
    from datetime import UTC, datetime

    from justuno_braze.backfill import ImportRequest, run_import
    from justuno_braze.backfill_process import ForkedDelivery
    from justuno_braze.braze.instances import check_braze_url
    from justuno_braze.errors import AuthError, JustunoBrazeError
    from justuno_braze.services import open_app_store

    gc.freeze()
    gc.set_threshold(5_000, 10, 10)
    gc.enable()

    settings = load_settings()
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
    flow = load_workflow(workflow)
    request = ImportRequest(file, flow, base_url, key, account, enqueue_only)

    # Delivery in a second process, forked now: before this one has threads to copy.
    delivery = None if enqueue_only else ForkedDelivery.start(settings)

    async def run() -> Any:
        store = await open_app_store(settings)
        try:
            with _ImportProgress() as progress:
                return await run_import(
                    store,
                    settings,
                    request,
                    now=lambda: datetime.now(UTC),
                    progress=progress,
                    delivery=delivery,
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

    settings = load_settings()
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
