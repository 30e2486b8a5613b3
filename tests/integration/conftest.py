"""Fixtures for the store contract suite: every ``db_url`` test runs on SQLite (a temporary
file) and on PostgreSQL (a fresh database; skipped, or failed under
``JUSTUNO_BRAZE_REQUIRE_SERVICES=1``, when the server is absent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from justuno_braze.store import Connection, Store, open_store
from justuno_braze.vault import Vault

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def vault() -> Vault:
    return Vault(Vault.generate_key())


@pytest.fixture
async def store(db_url: str, vault: Vault) -> AsyncIterator[Store]:
    opened = await open_store(db_url, vault=vault)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def connection(store: Store) -> Connection:
    """A Braze connection of account ``acme`` (status ``ok``)."""
    account = await store.accounts.ensure("acme", "Acme")
    return await store.connections.add(
        account.id, base_url="https://rest.iad-01.braze.com", api_key="key-0123456789abcdef"
    )
