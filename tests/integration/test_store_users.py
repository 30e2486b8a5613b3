"""The web UI's users and sessions on SQLite and PostgreSQL: the repositories
(``store.users``, ``store.ui_sessions``) and the service over them
(:mod:`justuno_braze.services.users`): hashing, sign-in, rehash, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from justuno_braze.errors import InputError
from justuno_braze.services.users import (
    SESSION_IDLE,
    SESSION_LIFETIME,
    TOUCH_RESOLUTION,
    add_user,
    end_session,
    ensure_user,
    resume_session,
    start_session,
    verify_sign_in,
)
from justuno_braze.store import Store
from justuno_braze.store.tokens import token_hash
from tests.integration.conftest import T0

# cheap argon2id parameters (the production ones cost ~0.5 s a hash); ``NEWER`` differs
OLDER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NEWER = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
PASSWORD = "correct horse battery"


async def test_users_are_added_once_per_email_with_an_argon2id_hash(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    other = await store.accounts.ensure("other", "Other")
    user = await add_user(store, "acme", " Ann@Example.COM ", PASSWORD, now=T0, hasher=OLDER)
    assert (user.account_id, user.email, user.created_at) == (acme.id, "ann@example.com", T0)
    assert user.last_signed_in_at is None

    with pytest.raises(InputError, match="already exists"):
        await add_user(store, "other", "ann@example.com", PASSWORD, now=T0, hasher=OLDER)
    with pytest.raises(InputError, match="at least 12 characters"):
        await add_user(store, "other", "bob@example.com", "too short", now=T0, hasher=OLDER)
    with pytest.raises(InputError, match="no account 'nope'"):
        await add_user(store, "nope", "bob@example.com", PASSWORD, now=T0, hasher=OLDER)
    with pytest.raises(InputError, match="email address"):
        await add_user(store, "other", "not-an-email", PASSWORD, now=T0, hasher=OLDER)

    found = await store.users.credentials("ann@example.com")
    assert found is not None
    stored_user, stored_hash = found
    assert stored_user == user
    assert stored_hash.startswith("$argon2id$")
    assert PASSWORD not in stored_hash
    assert await store.users.credentials("bob@example.com") is None
    assert other.id != acme.id


async def test_sign_in_verifies_the_password_and_rehashes_old_parameters(store: Store) -> None:
    await store.accounts.ensure("acme", "Acme")
    user = await add_user(store, "acme", "ann@example.com", PASSWORD, now=T0, hasher=OLDER)
    assert await verify_sign_in(store, "ann@example.com", "wrong!", now=T0, hasher=OLDER) is None
    assert await verify_sign_in(store, "nobody@example.com", PASSWORD, now=T0, hasher=OLDER) is None
    assert await verify_sign_in(store, "", PASSWORD, now=T0, hasher=OLDER) is None
    found = await store.users.credentials("ann@example.com")
    assert found is not None and found[0].last_signed_in_at is None  # failures leave no trace

    later = T0 + timedelta(hours=1)
    signed = await verify_sign_in(store, "ANN@example.com", PASSWORD, now=later, hasher=NEWER)
    assert signed is not None and signed.id == user.id
    found = await store.users.credentials("ann@example.com")
    assert found is not None
    assert found[0].last_signed_in_at == later
    assert "m=2048,t=2,p=1" in found[1]  # rehashed with the current parameters
    assert await verify_sign_in(store, "ann@example.com", PASSWORD, now=later, hasher=NEWER)


async def test_ensure_user_changes_nothing_when_the_password_still_verifies(
    store: Store,
) -> None:
    account = await store.accounts.ensure("demo", "Demo")
    first = await ensure_user(store, account.id, "demo@example.com", PASSWORD, now=T0, hasher=OLDER)
    before = await store.users.credentials("demo@example.com")
    again = await ensure_user(store, account.id, "demo@example.com", PASSWORD, now=T0, hasher=OLDER)
    assert again == first
    assert await store.users.credentials("demo@example.com") == before
    # a new demo password in the settings: the same user, the password the demo prints
    changed = await ensure_user(
        store, account.id, "demo@example.com", "another demo password", now=T0, hasher=OLDER
    )
    assert changed.id == first.id
    assert await verify_sign_in(
        store, "demo@example.com", "another demo password", now=T0, hasher=OLDER
    )


async def test_sessions_are_stored_by_hash_and_end_idle_absolute_or_signed_out(
    store: Store,
) -> None:
    await store.accounts.ensure("acme", "Acme")
    await store.accounts.ensure("other", "Other")
    ann = await add_user(store, "acme", "ann@example.com", PASSWORD, now=T0, hasher=OLDER)
    bob = await add_user(store, "other", "bob@example.com", PASSWORD, now=T0, hasher=OLDER)

    token, session = await start_session(store, ann, now=T0)
    bob_token, _ = await start_session(store, bob, now=T0)
    assert len(token) == 43 and token != bob_token  # 256 random bits, URL-safe
    assert session.expires_at == T0 + SESSION_LIFETIME
    stored = await store.ui_sessions.find(token_hash(token))
    assert stored == session
    assert stored.user == ann and stored.account_id == ann.account_id
    assert await store.ui_sessions.find(token) is None  # the plain token is not a key

    resumed = await resume_session(store, bob_token, now=T0 + TOUCH_RESOLUTION)
    assert resumed is not None and resumed.user == bob
    assert await resume_session(store, "", now=T0) is None
    assert await resume_session(store, "x" * 43, now=T0) is None

    # activity keeps a session alive; idleness ends it
    at = T0 + SESSION_IDLE - timedelta(minutes=1)
    assert await resume_session(store, token, now=at) is not None
    touched = await store.ui_sessions.find(token_hash(token))
    assert touched is not None and touched.last_seen_at == at
    assert await resume_session(store, token, now=at + SESSION_IDLE) is None
    assert await store.ui_sessions.find(token_hash(token)) is None

    # the absolute end holds however active the session is
    token, _ = await start_session(store, ann, now=T0)
    now = T0
    while now + SESSION_IDLE / 2 < T0 + SESSION_LIFETIME:
        now += SESSION_IDLE / 2
        assert await resume_session(store, token, now=now) is not None
    assert await resume_session(store, token, now=T0 + SESSION_LIFETIME) is None

    # sign-out
    token, _ = await start_session(store, ann, now=T0)
    await end_session(store, token)
    assert await resume_session(store, token, now=T0) is None
    await end_session(store, token)  # twice is harmless


async def test_starting_a_session_purges_expired_ones(store: Store) -> None:
    await store.accounts.ensure("acme", "Acme")
    ann = await add_user(store, "acme", "ann@example.com", PASSWORD, now=T0, hasher=OLDER)
    idle, _ = await start_session(store, ann, now=T0)
    live, _ = await start_session(store, ann, now=T0 + SESSION_IDLE)
    await start_session(store, ann, now=T0 + SESSION_IDLE + timedelta(minutes=1))
    assert await store.ui_sessions.find(token_hash(idle)) is None
    assert await store.ui_sessions.find(token_hash(live)) is not None


async def test_deleting_an_account_deletes_its_users_and_sessions(store: Store) -> None:
    from sqlalchemy import delete

    from justuno_braze.store.tables import accounts

    account = await store.accounts.ensure("gone", "Gone")
    ann = await add_user(store, "gone", "ann@example.com", PASSWORD, now=T0, hasher=OLDER)
    token, _ = await start_session(store, ann, now=T0)
    async with store.engine.begin() as conn:
        await conn.execute(delete(accounts).where(accounts.c.id == account.id))
    assert await store.users.credentials("ann@example.com") is None
    assert await store.ui_sessions.find(token_hash(token)) is None
