"""API tokens (hashed at rest) and the record of seen HMAC signatures (replays refused).

A token is ``jb<kind letter>_`` + 43 URL-safe characters (256 random bits); only its
sha256 (hex) is stored, with the first 12 characters as ``prefix`` so a user can tell
tokens apart. ``authenticate`` looks the hash up (unique index), compares it in constant
time, and writes ``last_used_at`` at most once per ``LAST_USED_RESOLUTION`` per token (so
the ingestion hot path rarely writes).

Kinds: ``api`` (the REST API), ``ingest`` (event ingestion), ``design`` (a public
per-design embed key, later).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from justuno_braze.errors import InputError
from justuno_braze.store.dialect import upsert_insert
from justuno_braze.store.scoped import Scoped, aware
from justuno_braze.store.tables import api_tokens, signatures_seen

API_KIND = "api"  # the management API
INGEST_KIND = "ingest"  # event ingestion
DESIGN_KIND = "design"  # a public per-design key (its name is the design id)
KINDS = (API_KIND, INGEST_KIND, DESIGN_KIND)
PREFIX_LENGTH = 12
MIN_TOKEN_LENGTH = 8
MAX_TOKEN_LENGTH = 200
LAST_USED_RESOLUTION = timedelta(minutes=5)
_T = api_tokens
_PUBLIC = [c for c in _T.c if c.name != "token_hash"]


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token as listed: never the token itself nor its hash."""

    id: int
    account_id: int
    kind: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_hash(plain: str) -> str:
    """The sha256 (hex) under which a token is stored."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


class ApiTokens(Scoped):
    """The ``api_tokens`` repository."""

    async def create(
        self,
        account_id: int,
        kind: str,
        name: str,
        *,
        now: datetime | None = None,
        plain: str | None = None,
        conn: AsyncConnection | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new token: ``(the plain token — shown once, never stored —, its record)``.

        ``plain`` sets the token instead of generating one (the demo's fixed ingest
        token); it must be 8–200 characters and not in use.
        """
        _kind(kind)
        name = name.strip()
        if not name or len(name) > 100:
            raise InputError("must be 1-100 characters", field="name")
        if plain is None:
            plain = f"jb{kind[0]}_{secrets.token_urlsafe(32)}"
        elif not MIN_TOKEN_LENGTH <= len(plain) <= MAX_TOKEN_LENGTH:
            raise InputError(
                f"must be {MIN_TOKEN_LENGTH}-{MAX_TOKEN_LENGTH} characters", field="token"
            )
        values = {
            "account_id": account_id,
            "kind": kind,
            "name": name,
            "token_hash": token_hash(plain),
            "prefix": plain[:PREFIX_LENGTH],
            "created_at": aware(now or datetime.now(UTC), "now"),
        }
        async with self._writing(conn) as c:
            row = (
                await c.execute(
                    upsert_insert(c.dialect, _T)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=["token_hash"])
                    .returning(*_PUBLIC)
                )
            ).first()
        if row is None:
            raise InputError("this token is already in use", field="token")
        return plain, _record(row)

    async def ensure(
        self, account_id: int, kind: str, name: str, plain: str, *, now: datetime | None = None
    ) -> TokenRecord:
        """The account's live token ``plain`` of ``kind``, created when absent (seeding)."""
        found = await self.authenticate(plain, kind)
        if found is not None and found.account_id == account_id:
            return found
        return (await self.create(account_id, kind, name, now=now, plain=plain))[1]

    async def authenticate(
        self, plain: str, kind: str, *, now: datetime | None = None
    ) -> TokenRecord | None:
        """The live (not revoked) token ``plain`` of ``kind``, or None.

        With ``now``, ``last_used_at`` is updated when older than ``LAST_USED_RESOLUTION``.
        """
        _kind(kind)
        if not plain or len(plain) > MAX_TOKEN_LENGTH:
            return None
        wanted = token_hash(plain)
        async with self._reading(None) as c:
            row = (
                await c.execute(
                    select(*_PUBLIC, _T.c.token_hash).where(
                        _T.c.token_hash == wanted, _T.c.kind == kind, _T.c.revoked_at.is_(None)
                    )
                )
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, wanted):
            return None
        record = _record(row)
        if now is not None and (
            record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION
        ):
            async with self._writing(None) as c:
                await c.execute(update(_T).where(_T.c.id == record.id).values(last_used_at=now))
            record = replace(record, last_used_at=now)
        return record

    async def live_ingest_hashes(self, account_id: int) -> list[str]:
        """The stored hashes of the account's live (unrevoked) ingest tokens."""
        stmt = select(_T.c.token_hash).where(
            _T.c.account_id == account_id, _T.c.kind == "ingest", _T.c.revoked_at.is_(None)
        )
        async with self._reading(None) as c:
            return [str(h) for h in (await c.execute(stmt)).scalars()]

    async def list(self, account_id: int, *, kind: str | None = None) -> list[TokenRecord]:
        """The account's tokens (revoked ones included), oldest first."""
        stmt = select(*_PUBLIC).where(_T.c.account_id == account_id)
        if kind is not None:
            stmt = stmt.where(_T.c.kind == _kind(kind))
        async with self._reading(None) as c:
            rows = (await c.execute(stmt.order_by(_T.c.id))).all()
        return [_record(r) for r in rows]

    async def revoke(
        self,
        account_id: int,
        token_id: int,
        *,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> bool:
        """Revoke the account's token ``token_id``; False when it has no such live token."""
        async with self._writing(conn) as c:
            result = await c.execute(
                update(_T)
                .where(
                    _T.c.id == token_id, _T.c.account_id == account_id, _T.c.revoked_at.is_(None)
                )
                .values(revoked_at=aware(now or datetime.now(UTC), "now"))
            )
        return bool(result.rowcount)


class SeenSignatures(Scoped):
    """HMAC body signatures already accepted per account (``signatures_seen``)."""

    async def remember(
        self, account_id: int, signature: str, *, now: datetime, conn: AsyncConnection | None = None
    ) -> bool:
        """Record ``signature``; True when it is new, False when it was seen (a replay)."""
        aware(now, "now")
        digest = hashlib.sha256(signature.encode("utf-8")).hexdigest()
        async with self._writing(conn) as c:
            result = await c.execute(
                upsert_insert(c.dialect, signatures_seen)
                .values(account_id=account_id, signature_hash=digest, seen_at=now)
                .on_conflict_do_nothing(index_elements=["account_id", "signature_hash"])
                .returning(signatures_seen.c.signature_hash)
            )
            return result.first() is not None

    async def purge(self, *, before: datetime, conn: AsyncConnection | None = None) -> int:
        """Forget signatures seen before ``before`` (older than the timestamp window, they
        are refused for their age anyway). Returns how many were removed."""
        aware(before, "before")
        async with self._writing(conn) as c:
            result = await c.execute(
                delete(signatures_seen).where(signatures_seen.c.seen_at < before)
            )
        return result.rowcount


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"must be one of {', '.join(KINDS)}", field="kind")
    return kind


def _record(row: Any) -> TokenRecord:
    m = row._mapping
    return TokenRecord(
        id=m["id"],
        account_id=m["account_id"],
        kind=m["kind"],
        name=m["name"],
        prefix=m["prefix"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )
