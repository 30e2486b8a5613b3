"""The ``justuno-braze`` command line (also ``python -m justuno_braze``).

Each command parses its options, calls a service, and maps errors to exit codes:
0 done, 2 invalid input/workflow/settings, 3 skipped (``preview``), 1 anything else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from justuno_braze.config import Settings
from justuno_braze.errors import ConfigError

app = typer.Typer(
    name="justuno-braze",
    help="Justuno lead profiles into Braze, durably, plus a local Braze sandbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


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


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON, secrets masked."""
    typer.echo(json.dumps(_settings().masked(), indent=2, default=str))


def main() -> None:
    app(prog_name="justuno-braze")


if __name__ == "__main__":  # pragma: no cover
    main()
