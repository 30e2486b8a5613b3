"""The demo (PRODUCT.md "The demo"), seeded idempotently: seeding twice changes nothing.

- account ``demo``; its ingest token is ``Settings.demo_token`` (default ``demo-token``);
  a management API token derived from it (:func:`demo_api_token`, so it is the same on
  every start and can be printed without storing it);
- a Braze connection named ``demo`` to ``demo_braze_url`` + ``demo_braze_key`` when both
  are set, else to the EMBEDDED sandbox (:data:`EMBEDDED_SANDBOX_URL`, a name the
  in-process worker routes to the sandbox app mounted in the same server — nothing
  leaves the process; the sandbox is also served over HTTP at :data:`SANDBOX_MOUNT`);
- the published workflow "Demo lead capture": any ``form_submitted``, identify by
  email, the SMS and email subscription groups of the settings;
- the demo store page's public design key (token kind ``design``, named after the design
  it is scoped to, :data:`DEMO_DESIGN`), derived like the API token (:func:`demo_design_key`):
  it may only post that design's ``form_submitted`` events (see ``web/auth.py``);
- the web UI user :data:`DEMO_USER_EMAIL`, signing in with ``Settings.demo_password``
  (default ``demo-password``; the announcement prints both and the sign-in URL).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from justuno_braze.braze.instances import check_braze_url
from justuno_braze.config import Settings
from justuno_braze.sandbox.options import (
    DEFAULT_API_KEY,
    SandboxOptions,
    validate_custom_attributes,
)
from justuno_braze.store import Connection, Store
from justuno_braze.store.tokens import DESIGN_KIND
from justuno_braze.workflows.model import load

DEMO_ACCOUNT = "demo"
DEMO_WORKFLOW = "Demo lead capture"
DEMO_CONNECTION = "demo"
DEMO_AUTHOR = "demo seed"
EMBEDDED_SANDBOX_URL = "http://sandbox-braze.localhost"
EMBEDDED_SANDBOX_KEY = DEFAULT_API_KEY
SANDBOX_MOUNT = "/sandbox-braze"
DEMO_DESIGN = "demo-popup"
DEMO_STORE_PATH = "/demo/store"
DEMO_USER_EMAIL = "demo@example.com"


def demo_api_token(settings: Settings) -> str:
    """The demo account's management API token: derived from the demo ingest token."""
    digest = hashlib.sha256(f"justuno-braze demo api:{settings.demo_token}".encode()).hexdigest()
    return f"jba_demo_{digest[:32]}"


def demo_design_key(settings: Settings) -> str:
    """The demo store page's public design key: derived from the demo ingest token."""
    digest = hashlib.sha256(f"justuno-braze demo design:{settings.demo_token}".encode()).hexdigest()
    return f"jbd_demo_{digest[:32]}"


def uses_embedded_sandbox(settings: Settings) -> bool:
    return not (settings.demo_braze_url and settings.demo_braze_key)


def demo_braze_urls(settings: Settings) -> tuple[str, ...]:
    """The Braze base URLs the demo connection may use besides ``allowed_braze_urls``."""
    if uses_embedded_sandbox(settings):
        return (EMBEDDED_SANDBOX_URL,)
    return (settings.demo_braze_url.rstrip("/"),)


# The embedded sandbox's custom attributes, as its ``GET /custom_attributes`` lists them:
# one of each kind the workflow builder treats differently (Object and Array of objects
# are shown but cannot be a Sync Another Property target).
DEMO_CUSTOM_ATTRIBUTES = validate_custom_attributes(
    [
        {"name": "favorite_category", "data_type": "String"},
        {"name": "lifetime_value", "data_type": "Number"},
        {"name": "vip", "data_type": "Boolean"},
        {"name": "last_order_at", "data_type": "Date"},
        {"name": "interests", "data_type": "Array", "array_length": 25},
        {"name": "shipping_address", "data_type": "Object"},
        {"name": "past_orders", "data_type": "Object Array"},
    ],
    "the demo's custom attributes",
)


def sandbox_options(settings: Settings) -> SandboxOptions:
    """The embedded sandbox: the demo key, the demo subscription groups, a few custom
    attributes of each kind."""
    return SandboxOptions(
        api_keys={EMBEDDED_SANDBOX_KEY: None},
        subscription_groups={settings.demo_sms_group: "sms", settings.demo_email_group: "email"},
        custom_attributes=DEMO_CUSTOM_ATTRIBUTES,
    )


def demo_workflow(settings: Settings) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": DEMO_WORKFLOW,
        "trigger": {"event": "form_submitted"},
        "reenroll": "every_event",
        "steps": [
            {
                "sync_to_app": {
                    "app": "braze",
                    "connection": DEMO_CONNECTION,
                    "identify_by": "email",
                    "default_region": "US",
                    "sms_subscription_group_id": settings.demo_sms_group,
                    "email_subscription_group_id": settings.demo_email_group,
                }
            }
        ],
    }
    load(definition)  # a bad demo group UUID in the settings is a WorkflowError here
    return definition


@dataclass(frozen=True, slots=True)
class DemoSeed:
    """What the demo consists of (tokens in plain: the demo prints them)."""

    account: str
    ingest_token: str
    api_token: str
    design_key: str
    braze_url: str
    embedded_sandbox: bool
    workflow_id: int
    workflow_version: int
    user_email: str
    user_password: str

    def announcement(self, public_url: str) -> str:
        braze = (
            f"embedded Braze sandbox ({public_url}{SANDBOX_MOUNT}, key {EMBEDDED_SANDBOX_KEY})"
            if self.embedded_sandbox
            else self.braze_url
        )
        return "\n".join(
            [
                f"justuno-braze demo at {public_url}",
                f"  account:       {self.account}",
                f"  ingest token:  {self.ingest_token}",
                f"  API token:     {self.api_token}",
                f"  ingest with:   curl -X POST {public_url}/api/v1/accounts/{self.account}"
                f"/events -H 'Authorization: Bearer {self.ingest_token}' "
                "-H 'Content-Type: application/json' -d @event.json",
                f"  Braze:         {braze}",
                f"  workflow:      {DEMO_WORKFLOW} (v{self.workflow_version})",
                f"  web UI:        {public_url}/signin  (email {self.user_email}, "
                f"password {self.user_password})",
                f"  API docs:      {public_url}/api/v1/docs",
                f"  store page:    {public_url}{DEMO_STORE_PATH}",
            ]
        )


async def seed_demo(store: Store, settings: Settings, *, now: datetime) -> DemoSeed:
    """Create what is missing of the demo; what exists is left as it is."""
    from justuno_braze.services.accounts import create_account
    from justuno_braze.services.users import ensure_user

    api_token = demo_api_token(settings)
    made = await create_account(
        store,
        DEMO_ACCOUNT,
        "Demo",
        now=now,
        api_token=api_token,
        ingest_token=settings.demo_token,
    )
    account = made.account
    design_key = demo_design_key(settings)
    await store.tokens.ensure(account.id, DESIGN_KIND, DEMO_DESIGN, design_key, now=now)
    connection = await _connection(store, settings, account.id, now)
    await ensure_user(store, account.id, DEMO_USER_EMAIL, settings.demo_password, now=now)
    workflow = await store.workflows.by_name(account.id, DEMO_WORKFLOW)
    if workflow is None:
        workflow = await store.workflows.create(
            account.id, DEMO_WORKFLOW, demo_workflow(settings), now=now
        )
    version = workflow.latest_version
    if version is None:
        version = await store.workflows.publish(
            account.id,
            workflow.id,
            definition=workflow.draft,
            author=DEMO_AUTHOR,
            note="seeded by serve --demo",
            now=now,
        )
    return DemoSeed(
        account=account.slug,
        ingest_token=settings.demo_token,
        api_token=api_token,
        design_key=design_key,
        braze_url=connection.base_url,
        embedded_sandbox=connection.base_url == EMBEDDED_SANDBOX_URL,
        workflow_id=workflow.id,
        workflow_version=version,
        user_email=DEMO_USER_EMAIL,
        user_password=settings.demo_password,
    )


async def _connection(
    store: Store, settings: Settings, account_id: int, now: datetime
) -> Connection:
    found = await store.connections.by_name(account_id, DEMO_CONNECTION)
    if found is not None:
        return found
    if not uses_embedded_sandbox(settings):
        allowed = (*settings.allowed_braze_urls, *demo_braze_urls(settings))
        url = check_braze_url(settings.demo_braze_url, allowed)
        return await store.connections.add(
            account_id, base_url=url, api_key=settings.demo_braze_key, name=DEMO_CONNECTION, now=now
        )
    made = await store.connections.add(
        account_id,
        base_url=EMBEDDED_SANDBOX_URL,
        api_key=EMBEDDED_SANDBOX_KEY,
        name=DEMO_CONNECTION,
        now=now,
    )
    # what a refresh would fetch from the embedded sandbox (not served before start-up)
    await store.connections.set_custom_attributes(made.id, list(DEMO_CUSTOM_ATTRIBUTES), now=now)
    return made
