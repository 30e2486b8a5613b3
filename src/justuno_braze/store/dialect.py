"""The dialect-specific bits, in one place: database URLs and ``INSERT … ON CONFLICT``.

``sqlite:///x.db`` → ``sqlite+aiosqlite`` (async) / ``sqlite`` (sync, for Alembic);
``postgresql://`` or ``postgres://`` → ``postgresql+psycopg`` (both).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import ArgumentError

from justuno_braze.errors import StoreError

_SQLITE = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}
CHUNK = 10_000  # rows or ids per statement: far below both databases' parameter limits
T = TypeVar("T")
_POSTGRES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg_async"}


def database_url(url: str, *, driver: str = "async") -> URL:
    """``url`` with the driver this package uses (``driver``: ``async`` or ``sync``).

    A SQLite file's directory is created. Unsupported URLs raise ``StoreError`` (with the
    password hidden).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            "database URL is not a valid URL (expected sqlite:///… or postgresql://…)"
        ) from None
    if parsed.drivername in _SQLITE:
        name = "sqlite+aiosqlite" if driver == "async" else "sqlite+pysqlite"
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise StoreError("SQLite needs a file path: sqlite:///path/to/file.db")
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(drivername=name)
    if parsed.drivername in _POSTGRES:
        return parsed.set(drivername="postgresql+psycopg")
    raise StoreError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: use "
        "sqlite:///path.db or postgresql://user@host/db"
    )


def upsert_insert(dialect: Dialect, table: Table) -> Any:
    """The dialect's ``INSERT`` that has ``on_conflict_do_nothing/update`` and ``excluded``."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``CHUNK``."""
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]
