"""The web UI's people: adding users, verifying a sign-in, and server-side sessions.

Passwords are hashed with argon2id (``argon2-cffi``'s ``PasswordHasher``, RFC 9106's
low-memory profile); a hash made with older parameters is replaced on the next sign-in.
An unknown email is verified against a dummy hash, so a sign-in takes about as long
whether or not the email exists (timing does not reveal who has an account).

A session is a random 256-bit token held by the browser's cookie; the store keeps only
its sha256 (like API tokens), with a CSRF token, the user and the account. It ends
:data:`SESSION_IDLE` after the last request or :data:`SESSION_LIFETIME` after sign-in,
whichever comes first, and at sign-out. Every sign-in starts a new session (no fixation).
Hashing runs in a worker thread: tens of milliseconds of CPU must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from justuno_braze.errors import InputError
from justuno_braze.store import AccountUser, Store, StoredUiSession
from justuno_braze.store.tokens import token_hash

PASSWORD_HASHER = PasswordHasher()  # argon2id; its defaults are RFC 9106's low-memory set
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing a megabyte per attempt would be a cheap DoS
MAX_EMAIL_LENGTH = 320
SESSION_IDLE = timedelta(hours=12)
SESSION_LIFETIME = timedelta(days=7)
TOUCH_RESOLUTION = timedelta(minutes=1)  # last_seen_at is written at most this often
MAX_TOKEN_LENGTH = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> str:
    """``raw`` trimmed and lower-cased, or ``InputError`` (field ``email``)."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InputError("must be an email address like name@example.com", field="email")
    return email


def check_password(password: str) -> str:
    """``password`` when it is long enough (and not absurdly long), else ``InputError``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"must be at most {MAX_PASSWORD_LENGTH} characters", field="password")
    return password


async def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    return await asyncio.to_thread(_hasher(hasher).hash, password)


async def add_user(
    store: Store,
    account_slug: str,
    email: str,
    password: str,
    *,
    now: datetime,
    hasher: PasswordHasher | None = None,
) -> AccountUser:
    """A new user of account ``account_slug``; ``InputError`` naming the field when the
    account is unknown, the email is invalid or taken, or the password too short."""
    account = await store.accounts.by_slug(account_slug)
    if account is None:
        raise InputError(f"no account {account_slug!r}", field="account")
    address = normalize_email(email)
    hashed = await hash_password(check_password(password), hasher)
    return await store.users.add(account.id, address, hashed, now=now)


async def ensure_user(
    store: Store,
    account_id: int,
    email: str,
    password: str,
    *,
    now: datetime,
    hasher: PasswordHasher | None = None,
) -> AccountUser:
    """The user ``email`` of ``account_id`` signing in with ``password`` (seeding): created
    when absent; an existing user keeps their row and gets ``password`` only when it no
    longer verifies, so seeding twice with the same settings changes nothing."""
    hasher = _hasher(hasher)
    address = normalize_email(email)
    found = await store.users.credentials(address)
    if found is None:
        return await store.users.add(
            account_id, address, await hash_password(password, hasher), now=now
        )
    user, stored = found
    if user.account_id != account_id:
        raise InputError("a user with this email belongs to another account", field="email")
    if not await _verifies(hasher, stored, password):
        await store.users.set_password_hash(user.id, await hash_password(password, hasher))
    return user


async def verify_sign_in(
    store: Store,
    email: str,
    password: str,
    *,
    now: datetime,
    hasher: PasswordHasher | None = None,
) -> AccountUser | None:
    """The user whose ``email`` and ``password`` these are, or None (whichever was wrong:
    the caller says "Email or password is incorrect" either way)."""
    hasher = _hasher(hasher)
    try:
        address = normalize_email(email)
    except InputError:
        address = ""
    found = await store.users.credentials(address) if address else None
    if found is None or len(password) > MAX_PASSWORD_LENGTH:
        dummy = await asyncio.to_thread(_dummy_hash, hasher)
        await _verifies(hasher, dummy, password[:MAX_PASSWORD_LENGTH])
        return None
    user, stored = found
    if not await _verifies(hasher, stored, password):
        return None
    if hasher.check_needs_rehash(stored):
        await store.users.set_password_hash(user.id, await hash_password(password, hasher))
    await store.users.signed_in(user.id, now=now)
    return user


async def start_session(
    store: Store, user: AccountUser, *, now: datetime
) -> tuple[str, StoredUiSession]:
    """A new session of ``user``: ``(the cookie's token — never stored —, the session)``.
    Expired sessions (anyone's) are purged on the way."""
    await store.ui_sessions.purge(now=now, idle_before=now - SESSION_IDLE)
    token = secrets.token_urlsafe(32)
    session = await store.ui_sessions.create(
        token_hash=token_hash(token),
        user=user,
        csrf_token=secrets.token_urlsafe(32),
        now=now,
        expires_at=now + SESSION_LIFETIME,
    )
    return token, session


async def resume_session(store: Store, token: str, *, now: datetime) -> StoredUiSession | None:
    """The live session of the cookie's ``token``, or None (unknown, or expired — an
    expired one is deleted). Activity is recorded at most every ``TOUCH_RESOLUTION``."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    session = await store.ui_sessions.find(token_hash(token))
    if session is None:
        return None
    if now >= session.expires_at or now - session.last_seen_at >= SESSION_IDLE:
        await store.ui_sessions.delete_by_id(session.id)
        return None
    if now - session.last_seen_at >= TOUCH_RESOLUTION:
        await store.ui_sessions.touch(session.id, now=now)
    return session


async def end_session(store: Store, token: str) -> None:
    """Sign out: the session of ``token`` no longer exists (nothing when it did not)."""
    if token and len(token) <= MAX_TOKEN_LENGTH:
        await store.ui_sessions.delete(token_hash(token))


def _hasher(given: PasswordHasher | None) -> PasswordHasher:
    """``given``, else :data:`PASSWORD_HASHER` as it is now (tests may swap it for a
    cheaper argon2id so that each sign-in does not cost half a second of CPU)."""
    return given if given is not None else PASSWORD_HASHER


async def _verifies(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with ``hasher``'s parameters that no password is checked against for real."""
    return hasher.hash(secrets.token_urlsafe(16))
