"""API tokens (hashed at rest) and seen HMAC signatures, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from justuno_braze.errors import InputError
from justuno_braze.store import Store
from justuno_braze.store.tables import api_tokens, signatures_seen
from tests.integration.conftest import T0


async def test_the_plain_token_is_never_stored_only_its_sha256(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    plain, record = await store.tokens.create(acme.id, "ingest", "webhook", now=T0)
    assert plain.startswith("jbi_") and len(plain) >= 40
    assert record.prefix == plain[:12] and record.kind == "ingest" and record.name == "webhook"
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(api_tokens))).all()
    assert len(rows) == 1
    stored = rows[0]._mapping
    assert stored["token_hash"] == hashlib.sha256(plain.encode()).hexdigest()
    assert all(plain not in str(value) for value in stored.values())

    found = await store.tokens.authenticate(plain, "ingest")
    assert found is not None and found.id == record.id and found.account_id == acme.id
    assert await store.tokens.authenticate(plain, "api") is None  # wrong kind
    assert await store.tokens.authenticate(plain + "x", "ingest") is None
    assert await store.tokens.authenticate("", "ingest") is None


async def test_two_tokens_differ_and_a_revoked_token_no_longer_authenticates(
    store: Store,
) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    first, a = await store.tokens.create(acme.id, "api", "ci", now=T0)
    second, _ = await store.tokens.create(acme.id, "api", "laptop", now=T0)
    assert first != second
    assert await store.tokens.revoke(acme.id, a.id, now=T0 + timedelta(hours=1)) is True
    assert await store.tokens.revoke(acme.id, a.id) is False  # already revoked
    assert await store.tokens.authenticate(first, "api") is None
    assert (await store.tokens.authenticate(second, "api")) is not None
    listed = await store.tokens.list(acme.id)
    assert [(t.name, t.revoked_at) for t in listed] == [
        ("ci", T0 + timedelta(hours=1)),
        ("laptop", None),
    ]
    assert [t.id for t in await store.tokens.list(acme.id, kind="ingest")] == []


async def test_last_used_is_written_at_most_every_few_minutes(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    plain, _ = await store.tokens.create(acme.id, "ingest", "webhook", now=T0)
    assert (await store.tokens.authenticate(plain, "ingest")).last_used_at is None  # type: ignore[union-attr]
    used = await store.tokens.authenticate(plain, "ingest", now=T0 + timedelta(seconds=1))
    assert used is not None and used.last_used_at == T0 + timedelta(seconds=1)
    await store.tokens.authenticate(plain, "ingest", now=T0 + timedelta(minutes=2))
    (listed,) = await store.tokens.list(acme.id)
    assert listed.last_used_at == T0 + timedelta(seconds=1)  # not rewritten within 5 min
    await store.tokens.authenticate(plain, "ingest", now=T0 + timedelta(minutes=6))
    (listed,) = await store.tokens.list(acme.id)
    assert listed.last_used_at == T0 + timedelta(minutes=6)


async def test_a_chosen_token_for_the_demo_is_seeded_once(store: Store) -> None:
    demo = await store.accounts.ensure("demo", "Demo")
    first = await store.tokens.ensure(demo.id, "ingest", "demo", "demo-token", now=T0)
    again = await store.tokens.ensure(demo.id, "ingest", "demo", "demo-token", now=T0)
    assert first.id == again.id and first.prefix == "demo-token"
    assert len(await store.tokens.list(demo.id)) == 1
    other = await store.accounts.ensure("other", "Other")
    with pytest.raises(InputError, match="token: this token is already in use"):
        await store.tokens.ensure(other.id, "ingest", "demo", "demo-token")
    with pytest.raises(InputError, match="token: must be 8-200 characters"):
        await store.tokens.create(demo.id, "ingest", "short", plain="abc")


async def test_bad_kind_or_name_is_an_input_error_naming_the_field(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    with pytest.raises(InputError, match="kind: must be one of api, ingest, design"):
        await store.tokens.create(acme.id, "admin", "x")
    with pytest.raises(InputError, match="name: must be 1-100 characters"):
        await store.tokens.create(acme.id, "api", "  ")


async def test_a_signature_is_accepted_once_and_purged_after_the_window(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    other = await store.accounts.ensure("other", "Other")
    assert await store.signatures.remember(acme.id, "sig-1", now=T0) is True
    assert await store.signatures.remember(acme.id, "sig-1", now=T0) is False  # replay
    assert await store.signatures.remember(other.id, "sig-1", now=T0) is True  # per account
    assert await store.signatures.remember(acme.id, "sig-2", now=T0 + timedelta(minutes=10)) is True
    async with store.engine.connect() as conn:
        hashes = set((await conn.execute(select(signatures_seen.c.signature_hash))).scalars())
    assert "sig-1" not in hashes and hashlib.sha256(b"sig-1").hexdigest() in hashes
    assert await store.signatures.purge(before=T0 + timedelta(minutes=5)) == 2
    assert (
        await store.signatures.remember(acme.id, "sig-2", now=T0 + timedelta(minutes=11)) is False
    )
    assert await store.signatures.remember(acme.id, "sig-1", now=T0 + timedelta(minutes=11)) is True


async def test_live_ingest_hashes_are_the_accounts_unrevoked_ingest_tokens(store: Store) -> None:
    acme = await store.accounts.ensure("acme", "Acme")
    other = await store.accounts.ensure("other", "Other")
    live, _ = await store.tokens.create(acme.id, "ingest", "site", now=T0)
    gone, revoked = await store.tokens.create(acme.id, "ingest", "old", now=T0)
    await store.tokens.create(acme.id, "api", "ci", now=T0)
    await store.tokens.create(other.id, "ingest", "site", now=T0)
    await store.tokens.revoke(acme.id, revoked.id, now=T0)
    hashes = await store.tokens.live_ingest_hashes(acme.id)
    assert hashes == [hashlib.sha256(live.encode()).hexdigest()]
    assert hashlib.sha256(gone.encode()).hexdigest() not in hashes
