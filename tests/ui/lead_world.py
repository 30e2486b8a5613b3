"""Seeding the dashboard and deliveries pages through the real paths: an account connected
to a Braze sandbox that knows two subscription groups, two published workflows (one
whose email group Braze does not know: its deliveries die with Braze's reason), events
ingested through the REST API with the account's ingest token, and the delivery worker.
The fixtures ``braze_url`` and ``connect_braze`` (conftest.py) use it.

Times are the UI app's clock (real time plus the test's offset), so the dashboard's
"last N days" window contains them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from justuno_braze.config import Settings
from justuno_braze.store import Account, Store
from tests.integration.conftest import (
    EMAIL_GROUP,
    SMS_GROUP,
    UNKNOWN_GROUP,
    LeadWorld,
    lead_event,
    lead_workflow,
)

if TYPE_CHECKING:  # conftest.py imports this module for its fixtures
    from tests.ui.conftest import UiClock

LEAD_CAPTURE = "Lead capture"  # every form, by email, known groups: synced
VIP_ALIAS = "VIP by alias"  # vip-popup only, by alias, an unknown email group: dead
BRAZE_REFUSAL = "BAD_SUBSCRIPTION_GROUP_ID"
#: The subscription groups the sandbox knows (UNKNOWN_GROUP is not one of them).
SANDBOX_GROUPS = {SMS_GROUP: "sms", EMAIL_GROUP: "email"}


@dataclass
class BrazeAccount:
    """``account`` connected to the sandbox, with its two workflows published."""

    world: LeadWorld
    ingest_token: str
    clock: UiClock

    @property
    def account(self) -> Account:
        return self.world.account

    @property
    def lead_id(self) -> str:
        return str(self.world.workflow_ids[LEAD_CAPTURE])

    @property
    def vip_id(self) -> str:
        return str(self.world.workflow_ids[VIP_ALIAS])

    async def ingest(self, http: httpx.AsyncClient, events: Sequence[Mapping[str, Any]]) -> None:
        """POST the events to the REST API like Justuno would (the ingest token)."""
        r = await http.post(
            f"/api/v1/accounts/{self.account.slug}/events",
            json={"events": list(events)},
            headers={"Authorization": f"Bearer {self.ingest_token}"},
        )
        assert r.status_code == 202, r.text

    async def deliver(self) -> None:
        await self.world.deliver(at=self.clock())


async def connect_account(
    store: Store, settings: Settings, account: Account, braze_url: str, clock: UiClock
) -> BrazeAccount:
    now = clock()
    world = await LeadWorld.connect(store, settings, account, braze_url)
    await world.publish(lead_workflow(LEAD_CAPTURE), now=now)
    await world.publish(
        lead_workflow(
            VIP_ALIAS, designs=["vip-popup"], identify_by="alias", email_group=UNKNOWN_GROUP
        ),
        now=now,
    )
    token, _ = await store.tokens.create(account.id, "ingest", "ui test ingest")
    return BrazeAccount(world, token, clock)


def leads(now: datetime) -> list[dict[str, Any]]:
    """Three visitors over the last hours: ana (2 sessions, 2 page views, a form with
    the SMS box ticked: synced), bob (a form without contact: skipped) and cy (the VIP
    pop-up: synced by the lead workflow, dead in the VIP one)."""
    ago = lambda minutes: now - timedelta(minutes=minutes)  # noqa: E731
    return [
        lead_event("jv_ana", ago(180), "page_view"),
        lead_event(
            "jv_ana",
            ago(175),
            design="spring-popup",
            consent={"sms": True},
            email="Ana@Example.com",
            sms="+16502530000",
            first_name="Ana",
        ),
        lead_event("jv_ana", ago(60), "page_view"),
        lead_event("jv_bob", ago(50), design="spring-popup", first_name="Bob"),
        {
            **lead_event(
                "jv_cy", ago(30), design="vip-popup", email=" Cy@Example.com ", first_name="Cy"
            ),
            "consent_text": "Yes, text me <b>offers</b>",
        },
    ]
