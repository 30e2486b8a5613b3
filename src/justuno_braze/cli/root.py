"""The ``justuno-braze`` Typer app and its command groups; commands live beside it."""

from __future__ import annotations

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
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
workflows_app = typer.Typer(help="Workflow files: validate, export, import.", no_args_is_help=True)
app.add_typer(workflows_app, name="workflows")
users_app = typer.Typer(help="People who sign in to the web UI.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def load_settings() -> Settings:
    """The settings from the environment, or exit 2 naming every problem."""
    try:
        return Settings.from_env()
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None
