"""Visitor profiles per account: ``Profile.to_dict()`` plus the columns that lookups and
analytics need (``email`` normalised for lookup; ``sessions``, ``page_views``,
``forms_submitted`` copied out of the profile so analytics is plain SQL).

``created_at`` is when the profile was first stored (analytics' "profiles created");
``upsert_many`` never changes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze import normalize
from justuno_braze.events import Profile
from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.scoped import Scoped, aware, chunks, page_size
from justuno_braze.store.tables import profiles

MAX_EMAIL = 320
_P = profiles


@dataclass(frozen=True, slots=True)
class StoredProfile:
    id: int
    account_id: int
    visitor_id: str
    email: str | None
    profile: Profile
    created_at: datetime
    updated_at: datetime


def lookup_email(value: object) -> str | None:
    """The form of an email under which profiles are indexed (None when not an email)."""
    if not isinstance(value, str) or "@" not in value:
        return None
    try:
        text = normalize.email(value)
    except normalize.Unnormalizable:
        text = value.strip().lower()
    return text[:MAX_EMAIL] or None


class Profiles(Scoped):
    """The ``profiles`` repository."""

    async def get(
        self, account_id: int, visitor_id: str, *, conn: AsyncConnection | None = None
    ) -> StoredProfile | None:
        async with self._reading(conn) as c:
            row = (
                await c.execute(
                    select(_P).where(_P.c.account_id == account_id, _P.c.visitor_id == visitor_id)
                )
            ).first()
        return None if row is None else _stored(row)

    async def get_many(
        self,
        account_id: int,
        visitor_ids: Sequence[str],
        *,
        conn: AsyncConnection | None = None,
    ) -> dict[str, Profile]:
        """``{visitor_id: Profile}`` for the visitors that have one."""
        out: dict[str, Profile] = {}
        wanted = list(dict.fromkeys(visitor_ids))
        async with self._reading(conn) as c:
            for chunk in chunks(wanted):
                rows = await c.execute(
                    select(_P.c.visitor_id, _P.c.data).where(
                        _P.c.account_id == account_id, _P.c.visitor_id.in_(chunk)
                    )
                )
                for visitor_id, data in rows:
                    out[visitor_id] = Profile.from_dict(data)
        return out

    async def upsert_many(
        self,
        account_id: int,
        batch: Sequence[Profile],
        *,
        now: datetime,
        conn: AsyncConnection | None = None,
    ) -> None:
        """Insert or replace the account's profiles (the last of a visitor in ``batch``
        wins); a new profile's ``created_at`` is ``now``."""
        aware(now, "now")
        latest = {p.visitor_id: p for p in batch}
        if not latest:
            return
        rows = [_row(account_id, p, now) for p in latest.values()]
        async with self._writing(conn) as c:
            insert = upsert_insert(c.dialect, _P)
            stmt = insert.on_conflict_do_update(
                index_elements=["account_id", "visitor_id"],
                set_={
                    name: insert.excluded[name]
                    for name in (
                        "email",
                        "data",
                        "sessions",
                        "page_views",
                        "forms_submitted",
                        "updated_at",
                    )
                },
            )
            for chunk in chunks(rows):
                await c.execute(stmt, list(chunk))

    async def by_email(self, account_id: int, email: str) -> list[StoredProfile]:
        """The account's profiles with this email (several visitors may share one)."""
        key = lookup_email(email)
        if key is None:
            return []
        async with self._reading(None) as c:
            rows = (
                await c.execute(
                    select(_P)
                    .where(_P.c.account_id == account_id, _P.c.email == key)
                    .order_by(_P.c.id)
                )
            ).all()
        return [_stored(r) for r in rows]

    async def list(
        self,
        account_id: int,
        *,
        limit: int = 50,
        before_id: int | None = None,
        email: str | None = None,
        visitor_id: str | None = None,
        updated_since: datetime | None = None,
    ) -> list[StoredProfile]:
        """Newest first; page with ``before_id`` (the last id of the previous page).

        Filters: ``email`` (exact, normalised), ``visitor_id`` (exact), ``updated_since``.
        """
        stmt = select(_P).where(_P.c.account_id == account_id)
        if before_id is not None:
            stmt = stmt.where(_P.c.id < before_id)
        if email is not None:
            key = lookup_email(email)
            if key is None:  # not an email: no profile is indexed under it
                return []
            stmt = stmt.where(_P.c.email == key)
        if visitor_id is not None:
            stmt = stmt.where(_P.c.visitor_id == visitor_id)
        if updated_since is not None:
            stmt = stmt.where(_P.c.updated_at >= aware(updated_since, "updated_since"))
        async with self._reading(None) as c:
            rows = (await c.execute(stmt.order_by(_P.c.id.desc()).limit(page_size(limit)))).all()
        return [_stored(r) for r in rows]


def _row(account_id: int, profile: Profile, now: datetime) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "visitor_id": profile.visitor_id,
        "email": lookup_email(profile.properties.get("email")),
        "data": profile.to_dict(),
        "sessions": profile.sessions,
        "page_views": profile.page_views,
        "forms_submitted": profile.forms_submitted,
        "created_at": now,
        "updated_at": now,
    }


def _stored(row: Any) -> StoredProfile:
    m = row._mapping
    return StoredProfile(
        id=m["id"],
        account_id=m["account_id"],
        visitor_id=m["visitor_id"],
        email=m["email"],
        profile=Profile.from_dict(m["data"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )
