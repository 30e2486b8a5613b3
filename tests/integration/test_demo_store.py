"""The demo store page (``/demo/store``, ``serve --demo`` only) and its public design key:
the page includes ``/embed.js`` like any store would and carries neither form nor key; the
event the embed builds reaches the embedded sandbox with the SMS consent as ticked; the key
is refused (403) for anything but one ``form_submitted`` of its design from the page's
origin, and rate-limited per IP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup

from justuno_braze.config import Settings
from justuno_braze.services.demo import SANDBOX_MOUNT, demo_api_token
from justuno_braze.vault import Vault
from justuno_braze.web.app import create_app
from justuno_braze.web.auth import DESIGN_RATE
from tests.integration.demo_app import PUBLIC_URL, Demo, demo_app, design_key
from tests.integration.test_api_ingest_delivery import braze_user, drain

EVENTS = "/api/v1/accounts/demo/events"


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with demo_app(tmp_path) as app:
        yield app


def page_event(
    email: str, *, sms_consent: bool, phone: str = "(415) 555-0101", **overrides: Any
) -> dict[str, Any]:
    """The event ``embed.js`` builds."""
    return {
        "type": "form_submitted",
        "visitor_id": f"jv_{email.split('@')[0]}",
        "design_id": "demo-popup",
        "page_url": f"{PUBLIC_URL}/demo/store",
        "properties": {"email": email, "first_name": "Ana", "sms": phone},
        "consent": {"sms": sms_consent},
        "consent_text": "Yes, text me offers",
        **overrides,
    }


async def post(demo: Demo, key: str, body: Any, origin: str = PUBLIC_URL) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Origin": origin}
    return await demo.client.post(EVENTS, json=body, headers=headers)


async def test_the_page_loads_the_pop_up_through_the_embed_script_only(demo: Demo) -> None:
    page = await demo.client.get("/demo/store")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    soup = BeautifulSoup(page.text, "html.parser")
    scripts = soup.find_all("script")
    assert [(s.get("src"), s.get("data-account"), s.get("data-design")) for s in scripts] == [
        ("/embed.js", "demo", "demo-popup")
    ]
    assert scripts[0].has_attr("async") and not scripts[0].string
    opener = soup.find("button", attrs={"data-jb-open": "demo-popup"})
    assert opener is not None and "10% off" in opener.get_text()
    assert soup.find("form") is None and soup.find("input") is None  # the embed renders it
    key = await design_key(demo.client)
    for secret in (key, demo.settings.demo_token, demo_api_token(demo.settings)):
        assert secret not in page.text
    assert (await demo.client.get("/demo/store.js")).status_code == 404  # logic moved


async def test_the_page_is_only_served_by_the_demo(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_key=Vault.generate_key())
    app = create_app(settings, store=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/demo/store")).status_code == 404


async def test_ticked_and_unticked_consent_reach_the_sandbox(demo: Demo) -> None:
    key = await design_key(demo.client)
    ticked = await post(demo, key, page_event("ana@example.com", sms_consent=True))
    assert ticked.status_code == 202, ticked.text
    same_origin = await post(
        demo,
        key,
        page_event("bo@example.com", sms_consent=False, phone="(415) 555-0102"),
        origin="http://t",
    )
    assert same_origin.status_code == 202, same_origin.text
    counts = await drain(demo.app, demo.store, demo.settings)
    assert counts["delivered"] == 2
    transport = httpx.ASGITransport(app=demo.app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://t{SANDBOX_MOUNT}") as b:
        ana = await braze_user(b, "ana@example.com")
        bo = await braze_user(b, "bo@example.com")
    sms, email = demo.settings.demo_sms_group, demo.settings.demo_email_group
    assert ana is not None and ana["first_name"] == "Ana"
    assert ana["groups"].get(sms, "").lower() == "subscribed"
    assert bo is not None and bo["first_name"] == "Ana"
    assert bo["phone"] == "+14155550102"
    assert sms not in bo["groups"]  # unticked: an explicit no, never subscribed
    assert {k: v.lower() for k, v in bo["groups"].items()} == {email: "subscribed"}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (page_event("a@example.com", sms_consent=True, type="page_view"), "page_view"),
        (page_event("a@example.com", sms_consent=True, design_id="other-popup"), "other-popup"),
        ({"events": [page_event("a@example.com", sms_consent=True)]}, "one event"),
    ],
)
async def test_the_design_key_posts_only_its_designs_form(
    demo: Demo, body: dict[str, Any], named: str
) -> None:
    key = await design_key(demo.client)
    refused = await post(demo, key, body)
    assert refused.status_code == 403
    assert named in refused.json()["message"]
    demo_account = await demo.store.accounts.by_slug("demo")
    assert demo_account is not None
    assert await demo.store.quarantine.list(demo_account.id, limit=10) == []


async def test_the_design_key_is_refused_from_another_origin_or_account(demo: Demo) -> None:
    key = await design_key(demo.client)
    event = page_event("a@example.com", sms_consent=True)
    wrong = await post(demo, key, event, origin="https://evil.example")
    assert wrong.status_code == 403 and "origin" in wrong.json()["message"]
    no_origin = await demo.client.post(
        EVENTS, json=event, headers={"Authorization": f"Bearer {key}"}
    )
    assert no_origin.status_code == 403
    other = await demo.client.post(
        "/api/v1/accounts/acme/events",
        json=event,
        headers={"Authorization": f"Bearer {key}", "Origin": PUBLIC_URL},
    )
    assert other.status_code == 404
    # the design key is no management token
    listed = await demo.client.get(
        "/api/v1/accounts/demo/quarantine", headers={"Authorization": f"Bearer {key}"}
    )
    assert listed.status_code == 401


async def test_the_design_key_is_rate_limited_per_ip(demo: Demo) -> None:
    key = await design_key(demo.client)
    for i in range(DESIGN_RATE):
        ok = await post(demo, key, page_event(f"v{i}@example.com", sms_consent=True))
        assert ok.status_code == 202, ok.text
    over = await post(demo, key, page_event("late@example.com", sms_consent=True))
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) >= 1
    # the ingest token is not rate limited
    normal = await demo.client.post(
        EVENTS,
        json=page_event("late@example.com", sms_consent=True),
        headers={"Authorization": f"Bearer {demo.settings.demo_token}"},
    )
    assert normal.status_code == 202, normal.text


async def test_the_demo_connection_knows_the_embedded_sandboxs_custom_attributes(
    demo: Demo,
) -> None:
    """The workflow builder has typed targets from the first start: the demo connection's
    cached list is what the embedded sandbox's ``GET /custom_attributes`` serves."""
    served = await demo.client.get(
        f"{SANDBOX_MOUNT}/custom_attributes", headers={"Authorization": "Bearer sandbox-key"}
    )
    assert served.status_code == 200, served.text
    account = await demo.store.accounts.by_slug("demo")
    assert account is not None
    connection = await demo.store.connections.by_name(account.id, "demo")
    assert connection is not None
    cached = connection.custom_attributes or []
    assert {a["name"]: a["data_type"] for a in cached} == {
        a["name"]: a["data_type"] for a in served.json()["attributes"]
    }
    assert {"Object", "Object Array", "Number"} <= {a["data_type"] for a in cached}
