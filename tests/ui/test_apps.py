"""The Apps pages as a marketer uses them: the catalog search, connecting Braze against a
real sandbox on 127.0.0.1 (its custom attributes and their types shown), every refusal in
plain words next to the right field, the key never shown back, refresh, replace key,
disconnect, CSRF, and another account seeing nothing of acme's connection."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI

from justuno_braze.config import Settings
from justuno_braze.sandbox.options import SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.services.demo import (
    DEMO_ACCOUNT,
    DEMO_CUSTOM_ATTRIBUTES,
    DEMO_USER_EMAIL,
    DEMO_WORKFLOW,
    EMBEDDED_SANDBOX_URL,
    seed_demo,
)
from justuno_braze.store import Store
from justuno_braze.web.app import AppOptions
from justuno_braze.web.app import create_app as create_ui_app
from tests.ui.conftest import UiClient, UiClock, UiUser, signed_in_client, soup

KEY = "sk-live-UI-SECRET-9f8e7d6c5b4a"
NEW_KEY = "sk-live-UI-ROTATED-0a1b2c3d4e5f"
TRACK_ONLY = "track-only-key-11112222"
ATTRIBUTES = (
    {"name": "favorite_color", "data_type": "String"},
    {"name": "lifetime_orders", "data_type": "Number"},
    {"name": "interests", "data_type": "Array", "array_length": 25},
    {"name": "address", "data_type": "Object"},
    {"name": "past_orders", "data_type": "Object Array"},
    {"name": "old_flag", "data_type": "Boolean", "status": "Blocklisted"},
)


@pytest.fixture
def braze() -> Iterator[str]:
    """A Braze sandbox with a full key, a second one, one without custom_attributes.get,
    and typed custom attributes."""
    options = SandboxOptions(
        api_keys={KEY: None, NEW_KEY: None, TRACK_ONLY: frozenset({"users.track"})},
        custom_attributes=ATTRIBUTES,
    )
    with running_sandbox(options) as url:
        yield url


@pytest.fixture
def closed_url() -> str:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def braze_ui_app(make_ui_app: Callable[..., FastAPI], braze: str, closed_url: str) -> FastAPI:
    """The UI whose server allows the sandbox (and a closed loopback port) as Braze."""
    return make_ui_app(allowed_braze_urls=(braze, closed_url), braze_timeout_seconds=5.0)


@pytest.fixture
async def client(braze_ui_app: FastAPI, ui_store: Store, acme: UiUser) -> AsyncIterator[UiClient]:
    async for signed_in in signed_in_client(braze_ui_app, ui_store, acme):
        yield signed_in


@pytest.fixture
async def other_braze_client(
    braze_ui_app: FastAPI, ui_store: Store, other: UiUser
) -> AsyncIterator[UiClient]:
    async for signed_in in signed_in_client(braze_ui_app, ui_store, other):
        yield signed_in


def text(node: Tag | None) -> str:
    assert node is not None
    return " ".join(node.get_text(" ", strip=True).split())


def card_names(page: BeautifulSoup) -> dict[str, str]:
    """{app name: its card's text} of the catalog."""
    return {text(card.h2): text(card) for card in page.select("#apps-results article.card")}


def attribute_table(page: BeautifulSoup) -> dict[str, tuple[str, str]]:
    """{attribute: (data type, Sync Another Property cell)} of the first connection."""
    rows = page.select("section.card table tbody tr")
    return {text(r.th): (text(r.select("td")[0]), text(r.select("td")[1])) for r in rows}


async def connect(
    client: UiClient, *, key: str = KEY, instance: str = "", other_url: str = ""
) -> httpx.Response:
    return await client.post_form(
        "/apps/braze/connect",
        {"api_key": key, "instance": instance, "other_url": other_url, "name": "default"},
    )


async def connected(client: UiClient, braze: str, store: Store) -> int:
    answer = await connect(client, instance=braze)
    assert answer.status_code == 303, answer.text
    (conn,) = await store.connections.for_account(client.user.account.id)
    return conn.id


async def page(client: UiClient, url: str = "/apps/braze") -> BeautifulSoup:
    answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    return soup(answer)


# --------------------------------------------------------------------------- catalog


async def test_catalog_search_filters_and_needs_sign_in(
    ui_client: UiClient, anon_client: httpx.AsyncClient
) -> None:
    everything = await page(ui_client, "/apps")
    cards = card_names(everything)
    assert set(cards) == {"Braze", "Klaviyo", "Webhook"}
    assert "Not connected" in cards["Braze"] and "Sync Justuno leads" in cards["Braze"]
    assert "Coming soon" in cards["Klaviyo"]
    search = everything.select_one("form[role=search] input[name=q]")
    assert search is not None and search["type"] == "search"
    label = everything.select_one(f"label[for={search['id']}]")
    assert text(label) == "Search apps"

    sms = await page(ui_client, "/apps?q=SMS")
    assert set(card_names(sms)) == {"Braze", "Klaviyo"}
    assert sms.select_one("input[name=q]")["value"] == "SMS"  # type: ignore[index]
    assert set(card_names(await page(ui_client, "/apps?q=braze"))) == {"Braze"}
    nothing = await page(ui_client, "/apps?q=salesforce")
    assert card_names(nothing) == {}
    assert "No app matches “salesforce”" in text(nothing.select_one("#apps-results"))

    refused = await anon_client.get("/apps?q=braze")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/signin?next=/apps")


# --------------------------------------------------------------------------- connect


async def test_connect_form_offers_instances_allowed_urls_and_other(
    client: UiClient, braze: str
) -> None:
    form = (await page(client)).select_one("form[action='/apps/braze/connect']")
    assert form is not None
    key = form.select_one("input[name=api_key]")
    assert key is not None and (key["type"], key["autocomplete"]) == ("password", "off")
    assert text(form.select_one(f"label[for={key['id']}]")).startswith("REST API key")
    options = {o["value"]: text(o) for o in form.select("select[name=instance] option")}
    assert options["https://rest.iad-01.braze.com"] == "US-01 — https://rest.iad-01.braze.com"
    assert options["https://rest.fra-01.braze.eu"] == "EU-01 — https://rest.fra-01.braze.eu"
    assert options[braze] == f"Allowed by this server — {braze}"
    assert options["other"].startswith("Other URL")
    other = form.select_one("input[name=other_url]")
    assert other is not None and text(form.select_one(f"label[for={other['id']}]")) == "Other URL"


async def test_connecting_shows_connected_the_masked_key_and_attribute_types(
    client: UiClient, braze: str, ui_store: Store
) -> None:
    answer = await connect(client, instance=braze)
    assert answer.status_code == 303 and answer.headers["location"] == "/apps/braze"

    shown = await client.get("/apps/braze")
    detail = soup(shown)
    assert (
        text(detail.select_one(".notice"))
        == f"Connected to Braze {braze}. 6 custom attributes found."
    )
    assert KEY not in shown.text and KEY[:-4] not in shown.text
    facts = text(detail.select_one("section.card dl"))
    assert "Status OK" in facts and f"REST endpoint {braze}" in facts
    assert "API key ****" + KEY[-4:] in facts and "6 found, refreshed" in facts
    table = attribute_table(detail)
    assert table["favorite_color"] == ("String", "Mappable")
    assert table["lifetime_orders"] == ("Number", "Mappable")
    assert table["interests"] == ("Array (up to 25 items)", "Mappable")
    assert table["address"][0] == "Object" and table["address"][1].startswith("Not mappable")
    assert "cannot write Object or Array of objects" in table["address"][1]
    assert table["past_orders"][0] == "Array of objects"
    assert table["past_orders"][1].startswith("Not mappable")
    assert table["old_flag"][1].startswith("Not mappable Blocklisted")
    assert detail.select_one("form[action='/apps/braze/connect']") is not None  # a 2nd one
    assert (await client.get("/apps/braze")).text.count("Connected to Braze") == 0  # once

    catalog = card_names(await page(client, "/apps?q=braze"))
    assert "Connected" in catalog["Braze"] and "Not connected" not in catalog["Braze"]
    (stored,) = await ui_store.connections.for_account(client.user.account.id)
    assert stored.base_url == braze and await ui_store.connections.api_key(stored.id) == KEY


@pytest.mark.parametrize(
    ("key", "endpoint", "field", "says"),
    [
        (
            "not-the-right-key-0000",
            "braze",
            "api_key",
            "Braze refused this API key (401): check you copied the whole key",
        ),
        (TRACK_ONLY, "braze", "api_key", "This key lacks the custom_attributes.get permission"),
        (KEY, "closed", "instance", "Could not reach http://127.0.0.1:"),
    ],
)
async def test_a_refusal_is_said_next_to_its_field_and_nothing_is_stored(
    client: UiClient,
    braze: str,
    closed_url: str,
    ui_store: Store,
    key: str,
    endpoint: str,
    field: str,
    says: str,
) -> None:
    url = {"braze": braze, "closed": closed_url}[endpoint]
    answer = await connect(client, key=key, instance=url)
    assert answer.status_code == 400
    form = soup(answer)
    control = form.select_one(f"#{field}")
    assert control is not None and control["aria-invalid"] == "true"
    error = form.select_one(f"#{field}-error")
    assert says in text(error)
    assert f"{field}-error" in control["aria-describedby"]
    assert says in text(form.select_one(".error-summary"))
    assert key not in answer.text  # never echoed back, not even in the key field
    assert form.select_one("input[name=api_key]")["value"] == ""  # type: ignore[index]
    picked = form.select_one("select[name=instance] option[selected]")
    assert picked is not None and picked["value"] == url  # the rest of the form is kept
    assert await ui_store.connections.for_account(client.user.account.id) == []


async def test_a_silent_braze_is_a_timeout_said_next_to_the_typed_url(
    make_ui_app: Callable[..., FastAPI], ui_store: Store, acme: UiUser
) -> None:
    with running_sandbox(SandboxOptions(api_keys={KEY: None}, latency_ms=3000)) as slow:
        app = make_ui_app(allowed_braze_urls=(slow,), braze_timeout_seconds=0.5)
        async for client in signed_in_client(app, ui_store, acme):
            answer = await connect(client, instance="other", other_url=slow)
            assert answer.status_code == 400
            error = text(soup(answer).select_one("#other_url-error"))
            assert f"Braze at {slow} did not answer in time: check the endpoint" in error
    assert await ui_store.connections.for_account(acme.account.id) == []


async def test_the_url_guard_applies_to_a_typed_url(client: UiClient, ui_store: Store) -> None:
    evil = await connect(client, instance="other", other_url="https://evil.example.com")
    assert evil.status_code == 400
    form = soup(evil)
    assert "Not a Braze REST endpoint" in text(form.select_one("#other_url-error"))
    assert form.select_one("#other_url")["value"] == "https://evil.example.com"  # type: ignore[index]
    dashboard = await connect(client, other_url="https://dashboard-01.braze.com")
    assert "did you mean https://rest.iad-01.braze.com" in text(
        soup(dashboard).select_one("#other_url-error")
    )
    both = await connect(
        client, instance="https://rest.iad-01.braze.com", other_url="https://rest.iad-02.braze.com"
    )
    assert "not both" in text(soup(both).select_one("#other_url-error"))
    blank = soup(await connect(client, key=" "))  # every problem is said at once
    assert "Pick your Braze instance" in text(blank.select_one("#instance-error"))
    assert "Paste your Braze REST API key" in text(blank.select_one("#api_key-error"))
    assert len(blank.select(".error-summary li a")) == 2
    assert await ui_store.connections.for_account(client.user.account.id) == []


async def test_the_default_app_refuses_a_sandbox_url_it_does_not_allow(
    ui_client: UiClient, braze: str, ui_store: Store
) -> None:
    form = soup(await ui_client.get("/apps/braze"))
    assert braze not in [o["value"] for o in form.select("select[name=instance] option")]
    answer = await connect(ui_client, instance="other", other_url=braze)
    assert answer.status_code == 400
    assert "JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS" in text(soup(answer).select_one("#other_url-error"))
    assert await ui_store.connections.for_account(ui_client.user.account.id) == []


# --------------------------------------------------------------------------- connected


async def test_refresh_fetches_braze_attributes_again(
    client: UiClient, braze: str, ui_store: Store
) -> None:
    cid = await connected(client, braze, ui_store)
    async with httpx.AsyncClient(base_url=braze) as http:  # Braze learns a new attribute
        tracked = await http.post(
            "/users/track",
            json={"attributes": [{"external_id": "u1", "shoe_size": 42}]},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert tracked.status_code == 201, tracked.text
    assert "shoe_size" not in attribute_table(await page(client))

    answer = await client.post_form(f"/apps/braze/{cid}/refresh")
    assert answer.status_code == 303 and answer.headers["location"] == "/apps/braze"
    detail = await page(client)
    assert (
        text(detail.select_one(".notice")) == f"Refreshed Braze {braze}. 7 custom attributes found."
    )
    assert attribute_table(detail)["shoe_size"] == ("Number", "Mappable")


async def test_replacing_the_key_verifies_it_first(
    client: UiClient, braze: str, ui_store: Store
) -> None:
    cid = await connected(client, braze, ui_store)
    wrong = await client.post_form(f"/apps/braze/{cid}/key", {f"new_key_{cid}": "wrong-key-123456"})
    assert wrong.status_code == 400
    form = soup(wrong)
    assert "Braze refused this API key (401)" in text(form.select_one(f"#new_key_{cid}-error"))
    assert "wrong-key-123456" not in wrong.text
    assert await ui_store.connections.api_key(cid) == KEY

    right = await client.post_form(f"/apps/braze/{cid}/key", {f"new_key_{cid}": NEW_KEY})
    assert right.status_code == 303
    detail = await client.get("/apps/braze")
    assert "****" + NEW_KEY[-4:] in detail.text and NEW_KEY not in detail.text
    assert await ui_store.connections.api_key(cid) == NEW_KEY


async def test_a_failing_connection_says_why_and_since_when(
    client: UiClient, braze: str, ui_store: Store, ui_clock: UiClock
) -> None:
    cid = await connected(client, braze, ui_store)
    reason = "POST /users/track: Braze refused the API key (401)"
    first = ui_clock() - timedelta(hours=2)
    await ui_store.connections.set_status(cid, "failing", reason, now=first)  # as the worker
    await ui_store.connections.set_status(cid, "failing", reason + " again", now=ui_clock())
    facts = text((await page(client)).select_one("section.card dl"))
    assert f"Status Failing {reason} again" in facts
    assert f"Failing since {first:%Y-%m-%d %H:%M} UTC (2 hours ago)" in facts
    assert "Failing" in card_names(await page(client, "/apps"))["Braze"]

    fixed = await client.post_form(f"/apps/braze/{cid}/key", {f"new_key_{cid}": NEW_KEY})
    assert fixed.status_code == 303
    facts = text((await page(client)).select_one("section.card dl"))
    assert "Status OK" in facts and "Failing" not in facts


async def test_disconnect_deletes_the_connection(
    client: UiClient, braze: str, ui_store: Store
) -> None:
    cid = await connected(client, braze, ui_store)
    form = (await page(client)).select_one(f"form[action='/apps/braze/{cid}/disconnect']")
    assert form is not None and "Disconnect" in form["data-confirm"]  # type: ignore[operator]
    answer = await client.post_form(f"/apps/braze/{cid}/disconnect")
    assert answer.status_code == 303
    detail = await page(client)
    assert text(detail.select_one(".notice")) == f"Disconnected from Braze {braze}."
    assert detail.select_one("section.card table") is None
    assert text(detail.select_one("#connect-title")) == "Connect Braze"
    assert await ui_store.connections.for_account(client.user.account.id) == []


# --------------------------------------------------------------------------- guards


async def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
    client: UiClient, braze: str, ui_store: Store
) -> None:
    cid = await connected(client, braze, ui_store)
    before = await ui_store.connections.get(cid)
    posts: list[tuple[str, dict[str, str]]] = [
        (f"/apps/braze/{cid}/disconnect", {}),
        (f"/apps/braze/{cid}/refresh", {}),
        (f"/apps/braze/{cid}/key", {f"new_key_{cid}": NEW_KEY}),
        ("/apps/braze/connect", {"api_key": KEY, "instance": braze, "name": "second"}),
    ]
    for url, data in posts:
        for token in ({}, {"csrf_token": "forged-" + client.csrf[7:]}):
            answer = await client.http.post(url, data={**data, **token})
            assert answer.status_code == 403, url
    assert await ui_store.connections.for_account(client.user.account.id) == [before]
    assert await ui_store.connections.api_key(cid) == KEY


async def test_another_account_cannot_see_or_touch_acmes_connection(
    client: UiClient, other_braze_client: UiClient, braze: str, ui_store: Store
) -> None:
    cid = await connected(client, braze, ui_store)
    theirs = await other_braze_client.get("/apps/braze")
    assert theirs.status_code == 200
    assert "****" + KEY[-4:] not in theirs.text and "favorite_color" not in theirs.text
    assert soup(theirs).select_one("#connect-title") is not None
    assert "Not connected" in card_names(await page(other_braze_client, "/apps"))["Braze"]
    for action, data in (
        ("refresh", {}),
        ("key", {f"new_key_{cid}": NEW_KEY}),
        ("disconnect", {}),
    ):
        answer = await other_braze_client.post_form(f"/apps/braze/{cid}/{action}", data)
        assert answer.status_code == 404, action
        assert "text/html" in answer.headers["content-type"]
    for bogus in ("999999", "abc", "0", str(2**40), "%C2%B2", "9" * 5000):
        assert (await client.post_form(f"/apps/braze/{bogus}/refresh")).status_code == 404
    (still,) = await ui_store.connections.for_account(client.user.account.id)
    assert still.id == cid and await ui_store.connections.api_key(cid) == KEY


# --------------------------------------------------------------------------- the demo


async def test_the_demo_connection_refreshes_in_process_and_its_workflow_blocks_disconnect(
    ui_store: Store, ui_settings: Settings, ui_clock: UiClock
) -> None:
    app = create_ui_app(ui_settings, store=ui_store, options=AppOptions(demo=True, clock=ui_clock))
    await seed_demo(ui_store, ui_settings, now=ui_clock())
    account = await ui_store.accounts.by_slug(DEMO_ACCOUNT)
    assert account is not None
    demo = UiUser(account, DEMO_USER_EMAIL, ui_settings.demo_password)
    async for client in signed_in_client(app, ui_store, demo):
        (conn,) = await ui_store.connections.for_account(account.id)
        detail = await page(client)
        assert f"REST endpoint {EMBEDDED_SANDBOX_URL}" in text(detail.select_one("section dl"))

        refreshed = await client.post_form(f"/apps/braze/{conn.id}/refresh")
        assert refreshed.status_code == 303
        notice = text((await page(client)).select_one(".notice"))
        found = len(DEMO_CUSTOM_ATTRIBUTES)
        assert notice == f"Refreshed Braze {EMBEDDED_SANDBOX_URL}. {found} custom attributes found."

        kept = await client.post_form(f"/apps/braze/{conn.id}/disconnect")
        assert kept.status_code == 303
        notice = text((await page(client)).select_one(".notice"))
        assert notice.startswith(f"Not disconnected: workflow '{DEMO_WORKFLOW}' is active")
        assert await ui_store.connections.for_account(account.id) == [
            await ui_store.connections.get(conn.id)
        ]
