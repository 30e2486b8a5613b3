"""Shared fixtures.

Tests that need PostgreSQL (or Chromium) run when it is reachable and are skipped with a
visible reason when not. ``JUSTUNO_BRAZE_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns
such a skip into a failure, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "JUSTUNO_BRAZE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def require_or_skip(available: bool, reason: str) -> None:
    """Skip with ``reason`` unless services are required, in which case fail."""
    if available:
        return
    if os.environ.get("JUSTUNO_BRAZE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A PostgreSQL URL (psycopg driver) of a reachable server, or skip/fail."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        require_or_skip(False, "psycopg is not installed (extra 'postgres')")
    require_or_skip(_reachable("127.0.0.1", 5432), "PostgreSQL is not reachable on 127.0.0.1:5432")
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    import psycopg

    name = f"jb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """The base URL of a fresh Braze sandbox (default options, key ``sandbox-key``)
    running on a free 127.0.0.1 port for one test."""
    from justuno_braze.sandbox.server import running_sandbox

    with running_sandbox() as url:
        yield url
