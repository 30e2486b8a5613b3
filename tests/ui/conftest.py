"""Fixtures of the web UI tests (issue 5).

- ``ui_store``: a fresh migrated SQLite store; ``ui_settings``: its ``Settings``;
  ``ui_clock``: the app's clock (real time plus an offset: ``ui_clock.advance(hours=13)``);
  ``ui_app``: ``create_app`` on them (no lifespan: the store is the test's);
  ``make_ui_app(**settings_overrides)``: another app on the same store and clock.
- ``acme`` / ``other``: two accounts, each with a UI user (``.account``, ``.email``,
  ``.password``).
- ``ui_client`` / ``other_client``: a :class:`UiClient` signed in as acme's / other's user;
  ``anon_client``: a plain ``httpx.AsyncClient`` nobody signed in on.
- ``braze_url``: a Braze sandbox on 127.0.0.1; ``connect_braze(acme)``: that user's account
  connected to it with two published workflows (:mod:`tests.ui.lead_world`).
Redirects are never followed: assert the 303 and its ``location``.

Passwords are hashed with a cheap argon2id here (autouse ``cheap_password_hashing``):
the production parameters cost ~0.5 s of CPU per hash, too much for every fixture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from bs4 import BeautifulSoup
from fastapi import FastAPI

from justuno_braze.config import Settings
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.services import users as user_service
from justuno_braze.services.users import add_user
from justuno_braze.store import Account, Store, open_store
from justuno_braze.store.tokens import token_hash
from justuno_braze.vault import Vault
from justuno_braze.web.app import AppOptions, create_app
from tests.ui.lead_world import SANDBOX_GROUPS, BrazeAccount, connect_account

BASE_URL = "http://testserver"


class UiClock:
    """The app's clock: the real time plus an offset that tests move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass(frozen=True)
class UiUser:
    """An account and the credentials of its UI user (as the person would type them)."""

    account: Account
    email: str
    password: str


@dataclass
class UiClient:
    """A browser-like client signed in as ``user``: cookies kept, redirects not followed."""

    http: httpx.AsyncClient
    user: UiUser
    csrf: str

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, **kwargs)

    async def post_form(self, url: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """POST ``data`` form-encoded, with this session's ``csrf_token`` added."""
        return await self.http.post(url, data={**(data or {}), "csrf_token": self.csrf})


def soup(response: httpx.Response) -> BeautifulSoup:
    """The page's HTML, parsed."""
    return BeautifulSoup(response.text, "html.parser")


CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_service, "PASSWORD_HASHER", CHEAP_HASHER)


@pytest.fixture
async def ui_store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path}/ui.db", vault=Vault(Vault.generate_key()))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def ui_settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/ui.db")


@pytest.fixture
def ui_clock() -> UiClock:
    return UiClock()


@pytest.fixture
def make_ui_app(
    ui_store: Store, ui_settings: Settings, ui_clock: UiClock
) -> Callable[..., FastAPI]:
    """``make_ui_app(**overrides)`` → an app on ``ui_store`` whose settings are
    ``ui_settings`` with ``overrides`` (e.g. ``allowed_braze_urls=(sandbox_url,)``)."""

    def make(**overrides: Any) -> FastAPI:
        settings = dataclasses.replace(ui_settings, **overrides)
        return create_app(settings, store=ui_store, options=AppOptions(clock=ui_clock))

    return make


@pytest.fixture
def ui_app(make_ui_app: Callable[..., FastAPI]) -> FastAPI:
    return make_ui_app()


async def make_user(store: Store, slug: str, name: str) -> UiUser:
    """A new account ``slug`` with one UI user ``<slug>-user@example.com``."""
    account = await store.accounts.ensure(slug, name)
    email, password = f"{slug}-user@example.com", f"{slug} correct horse battery"
    await add_user(store, slug, email, password, now=datetime.now(UTC))
    return UiUser(account, email, password)


@pytest.fixture
async def acme(ui_store: Store) -> UiUser:
    return await make_user(ui_store, "acme", "Acme Outdoor")


@pytest.fixture
async def other(ui_store: Store) -> UiUser:
    return await make_user(ui_store, "other", "Other Brand")


def http_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, follow_redirects=False
    )


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """Open the sign-in page and submit it like a browser (the form's token included)."""
    form = soup(await http.get("/signin"))
    token = form.find("input", attrs={"name": "csrf_token"})
    assert token is not None, "the sign-in form has no csrf_token field"
    return await http.post(
        "/signin",
        data={"email": email, "password": password, "csrf_token": token["value"], "next": ""},
    )


async def signed_in_client(app: FastAPI, store: Store, user: UiUser) -> AsyncIterator[UiClient]:
    async with http_client(app) as http:
        answer = await sign_in(http, user.email, user.password)
        assert answer.status_code == 303, answer.text
        cookie = http.cookies.get("jb_session")
        assert cookie is not None
        session = await store.ui_sessions.find(token_hash(cookie))
        assert session is not None
        yield UiClient(http=http, user=user, csrf=session.csrf_token)


@pytest.fixture
async def ui_client(ui_app: FastAPI, ui_store: Store, acme: UiUser) -> AsyncIterator[UiClient]:
    async for client in signed_in_client(ui_app, ui_store, acme):
        yield client


@pytest.fixture
async def other_client(ui_app: FastAPI, ui_store: Store, other: UiUser) -> AsyncIterator[UiClient]:
    async for client in signed_in_client(ui_app, ui_store, other):
        yield client


@pytest.fixture
async def anon_client(ui_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(ui_app) as http:
        yield http


@pytest.fixture
def braze_url() -> Iterator[str]:
    """A Braze sandbox on 127.0.0.1 that knows lead_world's two subscription groups only."""
    with running_sandbox(SandboxOptions(subscription_groups=dict(SANDBOX_GROUPS))) as url:
        yield url.rstrip("/")


@pytest.fixture
def connect_braze(
    ui_store: Store, ui_settings: Settings, ui_clock: UiClock, braze_url: str
) -> Callable[[UiUser], Awaitable[BrazeAccount]]:
    """``await connect_braze(acme)``: the user's account connected to ``braze_url`` with
    lead_world's two workflows published; nothing ingested yet."""

    async def connect(user: UiUser) -> BrazeAccount:
        return await connect_account(ui_store, ui_settings, user.account, braze_url, ui_clock)

    return connect
