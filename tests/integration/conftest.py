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


# --- web fixtures (issue 4) ---------------------------------------------------------------
# ``web_store`` is a fresh SQLite store; ``web_app``/``client`` serve it in-process (no
# lifespan: the store is the test's). ``make_account("acme")`` creates an account with an
# API token and an ingest token. For a PostgreSQL run, build on the parametrised ``store``:
# ``app_factory(store)`` + ``account_factory(store)``.

from collections.abc import Awaitable, Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from justuno_braze.config import Settings  # noqa: E402
from justuno_braze.store import Account  # noqa: E402


@dataclass(frozen=True)
class WebAccount:
    """An account with its plain tokens (as a client would hold them)."""

    account: Account
    api_token: str
    ingest_token: str

    @property
    def slug(self) -> str:
        return self.account.slug

    @property
    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}

    @property
    def ingest_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ingest_token}"}


AccountFactory = Callable[[str], Awaitable[WebAccount]]


@pytest.fixture
async def web_store(tmp_path: Path, vault: Vault) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path}/web.db", vault=vault)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    """Settings of the in-process app (tests that talk to a sandbox replace
    ``allowed_braze_urls`` with ``dataclasses.replace``)."""
    return Settings(database_url=f"sqlite:///{tmp_path}/web.db")


@pytest.fixture
def app_factory(web_settings: Settings) -> Callable[..., FastAPI]:
    """``app_factory(store, settings=None, clock=None)`` → the app on ``store``."""
    from justuno_braze.web.app import AppOptions, create_app

    def make(
        store: Store,
        settings: Settings | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> FastAPI:
        options = AppOptions() if clock is None else AppOptions(clock=clock)
        return create_app(settings or web_settings, store=store, options=options)

    return make


def account_factory(store: Store) -> AccountFactory:
    """``await make(slug)`` → a new account on ``store`` with an API and an ingest token."""

    async def make(slug: str) -> WebAccount:
        account = await store.accounts.ensure(slug, slug.title())
        api, _ = await store.tokens.create(account.id, "api", "test api")
        ingest, _ = await store.tokens.create(account.id, "ingest", "test ingest")
        return WebAccount(account, api, ingest)

    return make


@pytest.fixture
def make_account(web_store: Store) -> AccountFactory:
    return account_factory(web_store)


@pytest.fixture
def web_app(web_store: Store, app_factory: Callable[..., FastAPI]) -> FastAPI:
    app: FastAPI = app_factory(web_store)
    return app


@pytest.fixture
async def client(web_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=web_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- V3: a Braze-connected account with leads (profiles, analytics, deliveries, isolation)
# ``grouped_sandbox_url`` is a sandbox that knows exactly two subscription groups (SMS_GROUP,
# EMAIL_GROUP): a workflow using UNKNOWN_GROUP gets its objects refused (dead letters).
# ``LeadWorld`` drives the real services: connect Braze (verified against the sandbox),
# save + publish workflows, ingest events, run the delivery worker on a fixed clock.

import dataclasses  # noqa: E402
from collections.abc import Iterator, Mapping, Sequence  # noqa: E402
from typing import Any  # noqa: E402

SMS_GROUP = "6f3c2b1a-8d4e-4f5a-9b6c-1d2e3f4a5b6c"
EMAIL_GROUP = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
UNKNOWN_GROUP = "deadbeef-0000-4000-8000-000000000001"
SANDBOX_KEY = "sandbox-key"


@pytest.fixture
def grouped_sandbox_url() -> Iterator[str]:
    from justuno_braze.sandbox.options import SandboxOptions
    from justuno_braze.sandbox.server import running_sandbox

    options = SandboxOptions(subscription_groups={SMS_GROUP: "sms", EMAIL_GROUP: "email"})
    with running_sandbox(options) as url:
        yield url.rstrip("/")


def lead_workflow(
    name: str,
    *,
    designs: Sequence[str] = (),
    identify_by: str = "email",
    email_group: str = EMAIL_GROUP,
) -> dict[str, Any]:
    """A Sync to App → Braze workflow definition on ``form_submitted``."""
    trigger: dict[str, Any] = {"event": "form_submitted"}
    if designs:
        trigger["designs"] = list(designs)
    return {
        "name": name,
        "trigger": trigger,
        "reenroll": "every_event",
        "steps": [
            {
                "sync_to_app": {
                    "app": "braze",
                    "identify_by": identify_by,
                    "default_region": "US",
                    "sms_subscription_group_id": SMS_GROUP,
                    "email_subscription_group_id": email_group,
                }
            }
        ],
    }


@dataclass
class LeadWorld:
    """One account wired to a Braze sandbox through the real services."""

    store: Store
    settings: Settings
    account: Account
    connection_id: int = 0
    workflow_ids: dict[str, int] = dataclasses.field(default_factory=dict)

    @classmethod
    async def connect(
        cls, store: Store, settings: Settings, account: Account, sandbox_url: str
    ) -> LeadWorld:
        from justuno_braze.services.apps import connect_braze

        settings = dataclasses.replace(settings, allowed_braze_urls=(sandbox_url,))
        view = await connect_braze(
            store, settings, account, rest_endpoint=sandbox_url, api_key=SANDBOX_KEY, now=T0
        )
        return cls(store, settings, account, view.id)

    async def publish(self, definition: Mapping[str, Any], *, now: datetime = T0) -> int:
        from justuno_braze.services.workflows import create_workflow, publish_workflow

        view = await create_workflow(self.store, self.account, definition, now=now)
        await publish_workflow(
            self.store, self.account, view.id, author="tester", note="v1", now=now
        )
        self.workflow_ids[str(definition["name"])] = view.id
        return view.id

    async def ingest(self, events: Sequence[Mapping[str, Any]], *, now: datetime) -> None:
        from justuno_braze.services.ingestion import ingest

        await ingest(self.store, self.account, {"events": list(events)}, now=now)

    async def deliver(self, *, at: datetime) -> None:
        """Run the delivery worker until idle, its clock fixed at ``at``."""
        from justuno_braze.delivery.worker import Worker

        clock = [at.timestamp()]  # moves only when the worker sleeps: nothing waits

        async def sleep(seconds: float) -> None:
            clock[0] += max(seconds, 0.0)

        worker = Worker(self.store, self.settings, clock=lambda: clock[0], sleep=sleep)
        try:
            await worker.drain()
        finally:
            await worker.aclose()


def lead_event(
    visitor: str,
    at: datetime,
    type: str = "form_submitted",
    *,
    design: str | None = None,
    consent: Mapping[str, bool] | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A canonical Justuno event as a client posts it."""
    event: dict[str, Any] = {
        "type": type,
        "visitor_id": visitor,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "properties": properties,
    }
    if design is not None:
        event["design_id"] = design
        event["page_url"] = f"https://shop.example/{design}"
    if consent is not None:
        event["consent"] = dict(consent)
    return event


D1 = datetime(2026, 11, 27, tzinfo=UTC)  # the leads' first day
D2 = datetime(2026, 11, 28, tzinfo=UTC)
D3 = datetime(2026, 11, 29, tzinfo=UTC)  # delivery day
LEAD_CAPTURE = "Lead capture"  # every form, by email, known groups: delivered
VIP_ALIAS = "VIP by alias"  # vip-popup only, by alias, an unknown email group: dead


def _at(day: datetime, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return day.replace(hour=int(hours), minute=int(minutes))


LEADS_DAY1 = [
    lead_event("jv_ana", _at(D1, "10:00"), "page_view"),
    lead_event(
        "jv_ana",
        _at(D1, "10:05"),
        design="spring-popup",
        consent={"sms": True},
        email="Ana@Example.com",
        sms="+16502530000",
        first_name="Ana",
    ),
    lead_event("jv_ana", _at(D1, "12:00"), "page_view"),
    lead_event("jv_bob", _at(D1, "11:00"), design="spring-popup", first_name="Bob"),
]
LEADS_DAY2 = [
    {
        **lead_event(
            "jv_cy", _at(D2, "09:00"), design="vip-popup", email=" Cy@Example.com ", first_name="Cy"
        ),
        "consent_text": '=HYPERLINK("http://evil.example") I agree, "really"',
    },
    lead_event("jv_dee", _at(D2, "09:00"), "page_view"),
    lead_event("jv_dee", _at(D2, "09:10"), "page_view"),
]


@dataclass
class ApiWorld:
    """``LeadWorld`` behind the HTTP API: ``client`` on an app whose clock is ``now``
    (settable), account ``acme`` with its tokens; events go in through ``POST …/events``."""

    client: httpx.AsyncClient
    acme: WebAccount
    world: LeadWorld
    now: list[datetime]
    app: FastAPI

    def url(self, path: str, slug: str | None = None) -> str:
        return f"/api/v1/accounts/{slug or self.acme.slug}{path}"

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(self.url(path), params=params, headers=self.acme.api_headers)

    async def post(self, path: str, body: Any) -> httpx.Response:
        return await self.client.post(self.url(path), json=body, headers=self.acme.api_headers)

    async def ingest(self, events: Sequence[Mapping[str, Any]], *, now: datetime) -> None:
        self.now[0] = now
        r = await self.client.post(
            self.url("/events"), json={"events": list(events)}, headers=self.acme.ingest_headers
        )
        assert r.status_code == 202, r.text


@pytest.fixture
async def api_world(
    store: Store,
    web_settings: Settings,
    grouped_sandbox_url: str,
    app_factory: Callable[..., FastAPI],
) -> AsyncIterator[ApiWorld]:
    """On SQLite and PostgreSQL: acme connected to a sandbox, nothing published yet."""
    acme = await account_factory(store)("acme")
    world = await LeadWorld.connect(store, web_settings, acme.account, grouped_sandbox_url)
    now = [D3.replace(hour=18)]
    app = app_factory(store, world.settings, clock=lambda: now[0])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield ApiWorld(client, acme, world, now, app)


async def seed_leads(api: ApiWorld) -> None:
    """The known dataset (numbers in ``test_api_analytics``): two workflows, four
    visitors over two days, delivered on D3 — ana and cy synced, cy's VIP job dead.
    Afterwards the app's clock reads D3 18:00."""
    world = api.world
    await world.publish(lead_workflow(LEAD_CAPTURE), now=D1)
    await world.publish(
        lead_workflow(
            VIP_ALIAS, designs=["vip-popup"], identify_by="alias", email_group=UNKNOWN_GROUP
        ),
        now=D1,
    )
    await api.ingest(LEADS_DAY1, now=_at(D1, "13:00"))
    await api.ingest(LEADS_DAY2, now=_at(D2, "10:00"))
    await world.deliver(at=_at(D3, "12:00"))
    api.now[0] = D3.replace(hour=18)
