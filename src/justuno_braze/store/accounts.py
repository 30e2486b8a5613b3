"""Accounts: the Justuno accounts that own connections, workflows and data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from justuno_braze.errors import InputError
from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.session import reading, transaction
from justuno_braze.store.tables import accounts

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    slug: str
    name: str
    created_at: datetime


class Accounts:
    """The accounts repository."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ensure(self, slug: str, name: str, *, now: datetime | None = None) -> Account:
        """The account ``slug``, created with ``name`` when absent (a second call changes
        nothing)."""
        if not _SLUG.match(slug):
            raise InputError(
                "must be 1-100 lowercase letters, digits or '-' (not starting with '-')",
                field="slug",
            )
        found = await self.by_slug(slug)
        if found is not None:
            return found
        async with transaction(self._engine) as conn:
            await conn.execute(
                upsert_insert(conn.dialect, accounts)
                .values(slug=slug, name=name, created_at=now or datetime.now(UTC))
                .on_conflict_do_nothing(index_elements=["slug"])  # created concurrently
            )
        found = await self.by_slug(slug)
        assert found is not None
        return found

    async def by_slug(self, slug: str) -> Account | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(accounts).where(accounts.c.slug == slug))).first()
        return None if row is None else _account(row)

    async def get(self, account_id: int) -> Account | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(accounts).where(accounts.c.id == account_id))).first()
        return None if row is None else _account(row)

    async def all(self) -> list[Account]:
        async with reading(self._engine) as conn:
            rows = (await conn.execute(select(accounts).order_by(accounts.c.id))).all()
        return [_account(r) for r in rows]


def _account(row: Any) -> Account:
    m = row._mapping
    return Account(id=m["id"], slug=m["slug"], name=m["name"], created_at=m["created_at"])
