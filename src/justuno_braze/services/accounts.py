"""Accounts and who may write to them: creation with tokens, and the HMAC body signature
of ingestion.

Signature (``X-Justuno-Signature: t=<unix seconds>,v1=<hex>``): ``v1`` is
``hex(hmac_sha256(key, f"{t}.".encode() + body))`` where ``key`` is the **signing key of
an ingest token**: ``sha256_hex(ingest_token)`` (ASCII). The server keeps only token
hashes, so the signing key is derived from the token and equals what is stored; the plain
ingest token never travels with a signed request. Any live ingest token of the account
may sign. ``t`` must be within :data:`SIGNATURE_TOLERANCE` of the server's clock, and
each signature is accepted once per account (``store.signatures``: a replay is refused).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from justuno_braze.store import Account, Store
from justuno_braze.store.tokens import API_KIND, INGEST_KIND

SIGNATURE_HEADER = "X-Justuno-Signature"
SIGNATURE_TOLERANCE = timedelta(minutes=5)
MAX_SIGNATURE_HEADER = 512


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account with its plain tokens (shown once; only their hashes are stored)."""

    account: Account
    api_token: str
    ingest_token: str


async def create_account(
    store: Store,
    slug: str,
    name: str,
    *,
    now: datetime,
    api_token: str | None = None,
    ingest_token: str | None = None,
) -> NewAccount:
    """The account ``slug`` (created when absent) with a new API token and ingest token
    (or the given ones: ``ApiTokens.ensure`` keeps an existing token of that value)."""
    account = await store.accounts.ensure(slug, name, now=now)
    if api_token is None:
        api_token, _ = await store.tokens.create(account.id, API_KIND, "api", now=now)
    else:
        await store.tokens.ensure(account.id, API_KIND, "api", api_token, now=now)
    if ingest_token is None:
        ingest_token, _ = await store.tokens.create(account.id, INGEST_KIND, "ingest", now=now)
    else:
        await store.tokens.ensure(account.id, INGEST_KIND, "ingest", ingest_token, now=now)
    return NewAccount(account, api_token, ingest_token)


def signing_key(ingest_token: str) -> str:
    """The HMAC key of an ingest token: its sha256 in hex."""
    return hashlib.sha256(ingest_token.encode("utf-8")).hexdigest()


def sign(ingest_token: str, body: bytes, timestamp: int) -> str:
    """The ``X-Justuno-Signature`` value for ``body`` at ``timestamp`` (what a client sends)."""
    return f"t={timestamp},v1={_digest(signing_key(ingest_token), body, timestamp)}"


async def signing_keys(store: Store, account_id: int) -> list[str]:
    """The signing keys of the account's live ingest tokens (= their stored hashes)."""
    return await store.tokens.live_ingest_hashes(account_id)


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """``problem`` is None when the signature is valid; ``signature`` is its ``v1``."""

    problem: str | None
    signature: str = ""


def check_signature(
    header: str, body: bytes, keys: Sequence[str], *, now: datetime
) -> SignatureCheck:
    """Verify ``header`` over ``body`` with any of ``keys`` (replays are the caller's)."""
    if len(header) > MAX_SIGNATURE_HEADER:
        return SignatureCheck(f"{SIGNATURE_HEADER} is too long")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(name.strip(), []).append(value.strip())
    stamps, signatures = parts.get("t", []), parts.get("v1", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return SignatureCheck(f"{SIGNATURE_HEADER} must be 't=<unix seconds>,v1=<hex>'")
    timestamp = int(stamps[0])
    if abs(now.timestamp() - timestamp) > SIGNATURE_TOLERANCE.total_seconds():
        return SignatureCheck(
            f"{SIGNATURE_HEADER} timestamp is more than "
            f"{int(SIGNATURE_TOLERANCE.total_seconds() // 60)} minutes from the server's time"
        )
    for key in keys:
        expected = _digest(key, body, timestamp)
        for candidate in signatures:
            if hmac.compare_digest(expected, candidate.lower()):
                return SignatureCheck(None, expected)
    return SignatureCheck(f"{SIGNATURE_HEADER} does not match the body")


def _digest(key: str, body: bytes, timestamp: int) -> str:
    return hmac.new(key.encode("ascii"), f"{timestamp}.".encode() + body, "sha256").hexdigest()
