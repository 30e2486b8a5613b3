"""Commands that run things: sandbox, serve, worker; and db upgrade, config show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from justuno_braze.cli.root import app, config_app, db_app, load_settings
from justuno_braze.errors import ConfigError

if TYPE_CHECKING:
    pass


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

    settings = load_settings()
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

    settings = load_settings()
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
    typer.echo(json.dumps(load_settings().masked(), indent=2, default=str))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate JUSTUNO_BRAZE_DATABASE_URL to the latest schema (creates a SQLite file)."""
    from justuno_braze.errors import StoreError
    from justuno_braze.store import upgrade

    settings = load_settings()
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
