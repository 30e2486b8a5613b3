"""The web UI's people (``account_users``) and their sign-in sessions (``ui_sessions``).

The repositories keep what they are given: hashing passwords and session tokens, and
deciding when a session has expired, is :mod:`justuno_braze.services.users`'s job. A
password hash never leaves this module except through :meth:`AccountUsers.credentials`
(the one caller that needs it verifies a sign-in); a session token is stored only as its
sha256, so a copy of the database signs nobody in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.errors import InputError
from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.scoped import Scoped, aware
from justuno_braze.store.tables import account_users, ui_sessions

_U = account_users
_S = ui_sessions
_USER = [c for c in _U.c if c.name != "password_hash"]


@dataclass(frozen=True, slots=True)
class AccountUser:
    """A person who signs in to one account's pages (never their password hash)."""

    id: int
    account_id: int
    email: str
    created_at: datetime
    last_signed_in_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredUiSession:
    """A live or expired sign-in session, with its user (the token itself is not kept)."""

    id: int
    user: AccountUser
    account_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class AccountUsers(Scoped):
    """The ``account_users`` repository."""

    async def add(
        self,
        account_id: int,
        email: str,
        password_hash: str,
        *,
        now: datetime,
        conn: AsyncConnection | None = None,
    ) -> AccountUser:
        """A new user; ``InputError`` (field ``email``) when the email is taken."""
        async with self._writing(conn) as c:
            row = (
                await c.execute(
                    upsert_insert(c.dialect, _U)
                    .values(
                        account_id=account_id,
                        email=email,
                        password_hash=password_hash,
                        created_at=aware(now, "now"),
                    )
                    .on_conflict_do_nothing(index_elements=["email"])
                    .returning(*_USER)
                )
            ).first()
        if row is None:
            raise InputError("a user with this email already exists", field="email")
        return _user(row)

    async def credentials(self, email: str) -> tuple[AccountUser, str] | None:
        """The user ``email`` and their password hash (to verify a sign-in), or None."""
        async with self._reading(None) as c:
            row = (
                await c.execute(select(*_USER, _U.c.password_hash).where(_U.c.email == email))
            ).first()
        return None if row is None else (_user(row), str(row.password_hash))

    async def set_password_hash(
        self, user_id: int, password_hash: str, *, conn: AsyncConnection | None = None
    ) -> None:
        async with self._writing(conn) as c:
            await c.execute(
                update(_U).where(_U.c.id == user_id).values(password_hash=password_hash)
            )

    async def signed_in(
        self, user_id: int, *, now: datetime, conn: AsyncConnection | None = None
    ) -> None:
        """Record a successful sign-in."""
        async with self._writing(conn) as c:
            await c.execute(
                update(_U).where(_U.c.id == user_id).values(last_signed_in_at=aware(now, "now"))
            )


class UiSessions(Scoped):
    """The ``ui_sessions`` repository (looked up by the sha256 of the cookie's token)."""

    async def create(
        self,
        *,
        token_hash: str,
        user: AccountUser,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
        conn: AsyncConnection | None = None,
    ) -> StoredUiSession:
        values = {
            "token_hash": token_hash,
            "user_id": user.id,
            "account_id": user.account_id,
            "csrf_token": csrf_token,
            "created_at": aware(now, "now"),
            "last_seen_at": now,
            "expires_at": aware(expires_at, "expires_at"),
        }
        async with self._writing(conn) as c:
            session_id = (
                await c.execute(_S.insert().values(**values).returning(_S.c.id))
            ).scalar_one()
        return StoredUiSession(
            id=session_id,
            user=user,
            account_id=user.account_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )

    async def find(self, token_hash: str) -> StoredUiSession | None:
        """The session stored under ``token_hash`` (expired or not), with its user."""
        stmt = (
            select(
                _S.c.id,
                _S.c.account_id,
                _S.c.csrf_token,
                _S.c.created_at,
                _S.c.last_seen_at,
                _S.c.expires_at,
                *(c.label(f"user_{c.name}") for c in _USER),
            )
            .join(_U, _U.c.id == _S.c.user_id)
            .where(_S.c.token_hash == token_hash)
        )
        async with self._reading(None) as c:
            row = (await c.execute(stmt)).first()
        if row is None:
            return None
        m = row._mapping
        return StoredUiSession(
            id=m["id"],
            user=AccountUser(
                id=m["user_id"],
                account_id=m["user_account_id"],
                email=m["user_email"],
                created_at=m["user_created_at"],
                last_signed_in_at=m["user_last_signed_in_at"],
            ),
            account_id=m["account_id"],
            csrf_token=m["csrf_token"],
            created_at=m["created_at"],
            last_seen_at=m["last_seen_at"],
            expires_at=m["expires_at"],
        )

    async def touch(
        self, session_id: int, *, now: datetime, conn: AsyncConnection | None = None
    ) -> None:
        """Record activity (pushes the idle end further)."""
        async with self._writing(conn) as c:
            await c.execute(
                update(_S).where(_S.c.id == session_id).values(last_seen_at=aware(now, "now"))
            )

    async def delete(self, token_hash: str, *, conn: AsyncConnection | None = None) -> bool:
        """End the session stored under ``token_hash``; False when there is none."""
        async with self._writing(conn) as c:
            result = await c.execute(delete(_S).where(_S.c.token_hash == token_hash))
        return bool(result.rowcount)

    async def delete_by_id(self, session_id: int, *, conn: AsyncConnection | None = None) -> None:
        async with self._writing(conn) as c:
            await c.execute(delete(_S).where(_S.c.id == session_id))

    async def purge(
        self, *, now: datetime, idle_before: datetime, conn: AsyncConnection | None = None
    ) -> int:
        """Delete the sessions past their absolute end (``expires_at <= now``) or idle
        since before ``idle_before``. Returns how many were removed."""
        async with self._writing(conn) as c:
            result = await c.execute(
                delete(_S).where(
                    or_(
                        _S.c.expires_at <= aware(now, "now"),
                        _S.c.last_seen_at <= aware(idle_before, "idle_before"),
                    )
                )
            )
        return result.rowcount


def _user(row: Any) -> AccountUser:
    m = row._mapping
    return AccountUser(
        id=m["id"],
        account_id=m["account_id"],
        email=m["email"],
        created_at=m["created_at"],
        last_signed_in_at=m["last_signed_in_at"],
    )
