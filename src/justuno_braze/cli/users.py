"""Web UI users: ``users add ACCOUNT EMAIL``.

The password is never an argument (it would land in the shell history and in ``ps``):
it is asked twice with a hidden prompt, or read as the first line of stdin with
``--password-stdin`` (scripts, CI).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from justuno_braze.cli.root import load_settings, users_app
from justuno_braze.errors import InputError, StoreError


@users_app.command("add")
def users_add(
    account: Annotated[str, typer.Argument(help="The account's slug, e.g. 'demo'.")],
    email: Annotated[str, typer.Argument(help="The email the person signs in with.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
) -> None:
    """Add a person who signs in to ACCOUNT's web UI (password: 12 characters or more).

    Exit 0: added; 2: invalid input (unknown account, email taken, short password);
    1: the database is unavailable.
    """
    import asyncio
    from datetime import UTC, datetime

    from justuno_braze.services.users import add_user, check_password
    from justuno_braze.store import open_store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = load_settings()

    async def add() -> str:
        store = await open_store(settings.database_url)
        try:
            user = await add_user(store, account, email, password, now=datetime.now(UTC))
        finally:
            await store.close()
        return user.email

    try:
        check_password(password)  # before touching the database
        added = asyncio.run(add())
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"added {added} to account {account!r}: they sign in at /signin")
