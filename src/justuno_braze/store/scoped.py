"""The base of the account-scoped repositories (issue 4): one engine, and the caller's
transaction joined when given.

Every write method of these repositories takes ``conn: AsyncConnection | None``: with a
connection it runs inside the caller's transaction (so ingestion writes the event, the
profile, the outbox jobs and the ledger entries in ONE transaction, like
``Outbox.enqueue(..., conn=)``); without one it opens and commits its own. Every method
takes the ``account_id`` it works for and filters on it: no statement reads or changes
another account's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from justuno_braze.errors import InputError
from justuno_braze.store.session import reading, transaction

CHUNK = 5000  # rows per statement: far below both databases' parameter limits
MAX_PAGE = 1000  # the most rows a listing returns at once

T = TypeVar("T")


class Scoped:
    """An account-scoped repository on the store's async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def _writing(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        """The caller's connection, or a transaction of our own committed at the end."""
        if conn is not None:
            yield conn
            return
        async with transaction(self._engine) as own:
            yield own

    @asynccontextmanager
    async def _reading(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        """The caller's connection (reads see its uncommitted writes), or a read of our own."""
        if conn is not None:
            yield conn
            return
        async with reading(self._engine) as own:
            yield own


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def aware(value: datetime, field: str) -> datetime:
    """``value`` when it is an aware datetime, else ``InputError`` naming ``field``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError("must be an aware datetime (UTC)", field=field)
    return value


def page_size(limit: int) -> int:
    """``limit`` checked: 1 to ``MAX_PAGE``."""
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"must be between 1 and {MAX_PAGE}", field="limit")
    return limit


def is_conflict(exc: BaseException) -> bool:
    """True when ``exc`` is (or wraps, as ``StoreError``) a unique-constraint violation."""
    return isinstance(exc, IntegrityError) or isinstance(exc.__cause__, IntegrityError)
