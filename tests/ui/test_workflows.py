"""The workflow builder as a marketer uses it: create, edit with mappings, save (every
problem next to its field, nothing stored), preview (nothing sent), publish, history with
diffs, restore, pause/resume; another account's workflows are 404; every POST needs CSRF."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup, Tag
from fastapi import FastAPI

from justuno_braze.config import Settings
from justuno_braze.events import merge, parse_event
from justuno_braze.sandbox.app import SandboxApp, create_app
from justuno_braze.sandbox.options import DEFAULT_API_KEY, SandboxOptions
from justuno_braze.sandbox.server import running_sandbox
from justuno_braze.services import apps as apps_service
from justuno_braze.services import workflows as service
from justuno_braze.store import Store
from tests.ui.conftest import UiClient, UiUser, signed_in_client, soup

SMS = "0b7c3f9e-4d1a-4c5e-9f2b-6a8d7e1c2b3a"
EMAIL_GROUP = "4e1d2c3b-5a6f-4b7c-8d9e-0f1a2b3c4d5e"
ATTRIBUTES: list[dict[str, Any]] = [
    {"name": "shoe_size", "data_type": "Number"},
    {"name": "favourite_colour", "data_type": "String"},
    {"name": "address", "data_type": "Object"},
    {"name": "past_orders", "data_type": "Object Array"},
]
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers


def form_fields(page: BeautifulSoup, form_id: str = "editor") -> dict[str, str]:
    """What a browser would post from the form (submit buttons left out)."""
    form = page.find("form", id=form_id)
    assert isinstance(form, Tag), f"no form #{form_id}"
    data: dict[str, str] = {}
    for tag in form.find_all(["input", "select", "textarea"]):
        if tag.find_parent("template") is not None or not tag.get("name"):
            continue
        name = str(tag["name"])
        if tag.name == "select":
            chosen = tag.find("option", selected=True) or tag.find("option")
            data[name] = str(chosen["value"]) if chosen else ""
        elif tag.name == "textarea":
            data[name] = tag.get_text()
        elif tag.get("type") in ("radio", "checkbox"):
            if tag.has_attr("checked"):
                data[name] = str(tag.get("value", "on"))
        else:
            data[name] = str(tag.get("value", ""))
    return data


def field_error(page: BeautifulSoup, name: str) -> str:
    """The error shown next to field ``name`` (empty when none)."""
    error = page.find(id=f"{name}-error")
    return error.get_text(" ", strip=True) if error else ""


def summary_links(page: BeautifulSoup) -> list[str]:
    return [str(a["href"]) for a in page.select(".error-summary a")]


async def add_connection(store: Store, user: UiUser, name: str = "default") -> None:
    """A Braze connection whose cached custom attributes are ``ATTRIBUTES``."""
    created = await store.connections.add(
        user.account.id, base_url="https://rest.iad-01.braze.com", api_key="k-123", name=name
    )
    await store.connections.set_custom_attributes(created.id, ATTRIBUTES, now=NOW)


async def new_workflow(client: UiClient, name: str = "Spring leads", **fields: str) -> int:
    """Create a workflow through the UI (editor of /workflows/new → save); its id."""
    page = soup(await client.get("/workflows/new", params={"name": name}))
    data = form_fields(page) | {"sms_subscription_group_id": SMS, "action": "save"} | fields
    r = await client.post_form("/workflows", data)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


async def editor(client: UiClient, workflow_id: int) -> BeautifulSoup:
    r = await client.get(f"/workflows/{workflow_id}")
    assert r.status_code == 200, r.text
    return soup(r)


async def save(client: UiClient, workflow_id: int, **fields: str) -> httpx.Response:
    data = form_fields(await editor(client, workflow_id)) | {"action": "save"} | fields
    return await client.post_form(f"/workflows/{workflow_id}", data)


def step(draft: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = draft["steps"][0]["sync_to_app"]
    return settings


def badges(page: BeautifulSoup) -> list[str]:
    return [b.get_text(strip=True) for b in page.select(".page-header .badge")]


@pytest.fixture
async def connected(ui_store: Store, acme: UiUser) -> None:
    await add_connection(ui_store, acme)


# --------------------------------------------------------------------------- list, create, save


async def test_signed_out_goes_to_sign_in(anon_client: httpx.AsyncClient) -> None:
    r = await anon_client.get("/workflows")
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=/workflows"


@pytest.mark.usefixtures("connected")
async def test_create_then_edit_a_mapping_stores_exactly_that_mapping(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    listing = soup(await ui_client.get("/workflows"))
    assert listing.find("form", action="/workflows/new").find("input", attrs={"name": "name"})

    page = soup(await ui_client.get("/workflows/new", params={"name": "Spring leads"}))
    assert page.find("input", id="name")["value"] == "Spring leads"
    sms = page.find("input", id="sms_subscription_group_id")
    assert sms.has_attr("required")
    assert "Audience › Subscriptions" in page.find(id="sms_subscription_group_id-hint").get_text()
    defaults = [li.strong.get_text() for li in page.select("#default-attributes li")]
    assert defaults == [
        "email", "phone", "first name", "last name", "language", "gender", "country"
    ]  # fmt: skip

    # without JS: "Sync Another Property" re-renders the form with one more (empty) row
    data = form_fields(page) | {"sms_subscription_group_id": SMS, "action": "add_mapping"}
    r = await ui_client.post_form("/workflows", data)
    assert r.status_code == 200
    page = soup(r)
    assert page.find("input", id="sms_subscription_group_id")["value"] == SMS
    assert page.find("select", id="mappings-0-target") is not None
    assert await service.list_workflows(ui_store, acme.account) == []

    data = form_fields(page) | {
        "mappings-0-source": "shoe",
        "mappings-0-target": "shoe_size",
        "action": "save",
    }
    r = await ui_client.post_form("/workflows", data)
    assert r.status_code == 303
    workflow_id = int(r.headers["location"].rsplit("/", 1)[1])
    stored = await service.get_workflow(ui_store, acme.account, workflow_id)
    assert stored.name == "Spring leads"
    assert step(stored.draft)["sms_subscription_group_id"] == SMS
    assert step(stored.draft)["properties"] == [{"from": "shoe", "to": "shoe_size"}]

    # edit: the row shows its target; add a new-attribute row and an email group
    page = await editor(ui_client, workflow_id)
    chosen = page.find("select", id="mappings-0-target").find("option", selected=True)
    assert chosen["value"] == "shoe_size"
    assert chosen.get_text() == "shoe_size (Number)"
    data = form_fields(page) | {"action": "add_mapping"}
    page = soup(await ui_client.post_form(f"/workflows/{workflow_id}", data))
    data = form_fields(page) | {
        "mappings-1-source": "tier",
        "mappings-1-target": "__new__",
        "mappings-1-new": "loyalty_tier",
        "email_subscription_group_id": EMAIL_GROUP,
        "action": "save",
    }
    r = await ui_client.post_form(f"/workflows/{workflow_id}", data)
    assert r.status_code == 303
    stored = await service.get_workflow(ui_store, acme.account, workflow_id)
    assert step(stored.draft)["properties"] == [
        {"from": "shoe", "to": "shoe_size"},
        {"from": "tier", "to": "loyalty_tier"},
    ]
    assert step(stored.draft)["email_subscription_group_id"] == EMAIL_GROUP
    # the REST API returns the same draft
    page = await editor(ui_client, workflow_id)
    assert page.find("select", id="mappings-1-target").find("option", selected=True)["value"] == (
        "__new__"
    )
    assert page.find("input", id="mappings-1-new")["value"] == "loyalty_tier"

    listing = soup(await ui_client.get("/workflows"))
    row = listing.find("a", string="Spring leads").find_parent("tr")
    assert [b.get_text() for b in row.select(".badge")] == ["Draft"]


@pytest.mark.usefixtures("connected")
async def test_an_invalid_sms_group_is_shown_at_its_field_and_nothing_is_saved(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    workflow_id = await new_workflow(ui_client)
    before = await service.get_workflow(ui_store, acme.account, workflow_id)
    page = await editor(ui_client, workflow_id)
    data = form_fields(page) | {
        "action": "add_condition",
    }
    page = soup(await ui_client.post_form(f"/workflows/{workflow_id}", data))
    data = form_fields(page) | {
        "name": "Renamed",
        "sms_subscription_group_id": "not-a-uuid",
        "conditions-0-property": "page_views",
        "conditions-0-op": "gte",
        "conditions-0-value": "soon",
        "action": "save",
    }
    r = await ui_client.post_form(f"/workflows/{workflow_id}", data)
    assert r.status_code == 400
    page = soup(r)
    sms = page.find("input", id="sms_subscription_group_id")
    assert sms["value"] == "not-a-uuid"
    assert sms["aria-invalid"] == "true"
    assert "UUID" in field_error(page, "sms_subscription_group_id")
    assert "number or an ISO date" in field_error(page, "conditions-0-value")
    assert page.find("input", id="name")["value"] == "Renamed"
    assert page.find("input", id="conditions-0-value")["value"] == "soon"
    assert set(summary_links(page)) == {"#sms_subscription_group_id", "#conditions-0-value"}
    after = await service.get_workflow(ui_store, acme.account, workflow_id)
    assert after == before


@pytest.mark.usefixtures("connected")
async def test_a_new_workflow_without_sms_group_is_not_stored(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    page = soup(await ui_client.get("/workflows/new", params={"name": "Leads"}))
    r = await ui_client.post_form("/workflows", form_fields(page) | {"action": "save"})
    assert r.status_code == 400
    assert field_error(soup(r), "sms_subscription_group_id").startswith("Error: required")
    assert await service.list_workflows(ui_store, acme.account) == []


async def test_a_new_workflow_needs_a_name(ui_client: UiClient) -> None:
    r = await ui_client.get("/workflows/new", params={"name": "  "})
    assert r.status_code == 400
    assert "name" in field_error(soup(r), "name")


@pytest.mark.usefixtures("connected")
async def test_object_attributes_are_listed_but_not_selectable(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    workflow_id = await new_workflow(
        ui_client, **{"mappings-0-source": "shoe", "mappings-0-target": "shoe_size"}
    )
    page = await editor(ui_client, workflow_id)
    options = {
        str(o["value"]): o for o in page.find("select", id="mappings-0-target").find_all("option")
    }
    assert options["address"].has_attr("disabled")
    assert "Object" in options["address"].get_text()
    assert "not selectable" in options["address"].get_text()
    assert options["past_orders"].has_attr("disabled")
    assert "(Array of objects)" in options["past_orders"].get_text()
    assert not options["shoe_size"].has_attr("disabled")
    assert not options["favourite_colour"].has_attr("disabled")
    assert "__new__" in options

    # a forged post of a disabled option is refused at that row
    r = await save(ui_client, workflow_id, **{"mappings-0-target": "address"})
    assert r.status_code == 400
    assert "Object" in field_error(soup(r), "mappings-0-target")
    stored = await service.get_workflow(ui_store, acme.account, workflow_id)
    assert step(stored.draft)["properties"] == [{"from": "shoe", "to": "shoe_size"}]


async def test_with_several_connections_the_step_names_one(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    await add_connection(ui_store, acme, "default")
    eu = await ui_store.connections.add(
        acme.account.id, base_url="https://rest.fra-01.braze.eu", api_key="k-eu", name="eu"
    )
    await ui_store.connections.set_custom_attributes(
        eu.id, [{"name": "eu_only", "data_type": "Boolean"}], now=NOW
    )
    page = soup(await ui_client.get("/workflows/new", params={"name": "EU leads"}))
    options = [o["value"] for o in page.find("select", id="connection").find_all("option")]
    assert options == ["", "default", "eu"]
    data = form_fields(page) | {"sms_subscription_group_id": SMS, "action": "save"}
    r = await ui_client.post_form("/workflows", data)
    assert r.status_code == 400
    assert "several Braze connections" in field_error(soup(r), "connection")

    workflow_id = await new_workflow(ui_client, "EU leads", connection="eu")
    stored = await service.get_workflow(ui_store, acme.account, workflow_id)
    assert step(stored.draft)["connection"] == "eu"
    page = soup(await save(ui_client, workflow_id, action="add_mapping"))
    picker = page.find("select", id="mappings-0-target")
    assert picker.find("option", value="eu_only").get_text() == "eu_only (Boolean)"
    assert picker.find("option", value="shoe_size") is None


def picked(page: BeautifulSoup, row: int) -> str:
    """The value the mapping row's target select shows as selected."""
    option = page.find("select", id=f"mappings-{row}-target").find("option", selected=True)
    return str(option["value"]) if option else ""


async def test_the_picker_follows_the_chosen_connection_without_saving(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    await add_connection(ui_store, acme, "default")
    eu = await ui_store.connections.add(
        acme.account.id, base_url="https://rest.fra-01.braze.eu", api_key="k-eu", name="eu"
    )
    eu_attributes = [
        {"name": "shoe_size", "data_type": "Number"},
        {"name": "favourite_colour", "data_type": "Object"},
        {"name": "eu_only", "data_type": "Boolean"},
    ]
    await ui_store.connections.set_custom_attributes(eu.id, eu_attributes, now=NOW)
    rows = {
        "mappings-0-source": "shoe",
        "mappings-0-target": "shoe_size",
        "mappings-1-source": "colour",
        "mappings-1-target": "favourite_colour",
        "mappings-2-source": "flag",
        "mappings-2-target": "__new__",
        "mappings-2-new": "eu_only",
    }
    workflow_id = await new_workflow(ui_client, "Leads", connection="default", **rows)
    before = (await service.get_workflow(ui_store, acme.account, workflow_id)).draft
    page = await editor(ui_client, workflow_id)
    assert page.find("select", id="mappings-0-target").find("option", value="eu_only") is None

    typed = {"name": "Leads, typed", "send_event": "typed_event", "connection": "eu"}
    data = form_fields(page) | typed | {"action": "show_attributes"}
    r = await ui_client.post_form(f"/workflows/{workflow_id}", data)
    assert r.status_code == 200, r.text
    page = soup(r)
    assert page.find("option", value="eu_only").get_text() == "eu_only (Boolean)"
    assert page.find("option", value="past_orders") is None  # default's, not eu's
    assert form_fields(page)["name"] == "Leads, typed"
    assert form_fields(page)["send_event"] == "typed_event"
    assert form_fields(page)["connection"] == "eu"
    assert picked(page, 0) == "shoe_size"  # eu has it too: kept
    assert picked(page, 1) == "__new__"  # an Object on eu: marked, its name kept
    assert form_fields(page)["mappings-1-new"] == "favourite_colour"
    assert "Object" in page.find(id="mappings-1-target-note").get_text()
    assert picked(page, 2) == "eu_only"  # the typed new name is one of eu's attributes
    assert page.find(id="mappings-0-target-note") is None
    assert summary_links(page) == []
    assert (await service.get_workflow(ui_store, acme.account, workflow_id)).draft == before

    back = form_fields(page) | {"connection": "default", "action": "show_attributes"}
    page = soup(await ui_client.post_form(f"/workflows/{workflow_id}", back))
    assert [picked(page, i) for i in range(3)] == ["shoe_size", "favourite_colour", "__new__"]
    assert "no custom attribute 'eu_only'" in page.find(id="mappings-2-target-note").get_text()

    r = await ui_client.post_form(f"/workflows/{workflow_id}", data | {"action": "save"})
    assert r.status_code == 400  # the save names the mapping eu cannot write
    assert "Object" in field_error(soup(r), "mappings-1-target")
    assert (await service.get_workflow(ui_store, acme.account, workflow_id)).draft == before


@pytest.mark.usefixtures("connected")
async def test_add_and_remove_condition_rows_without_js(ui_client: UiClient) -> None:
    page = soup(await ui_client.get("/workflows/new", params={"name": "Rows"}))
    data = form_fields(page) | {"action": "add_condition"}
    page = soup(await ui_client.post_form("/workflows", data))
    data = form_fields(page) | {"conditions-0-property": "country", "action": "add_condition"}
    page = soup(await ui_client.post_form("/workflows", data))
    assert [i["value"] for i in page.select("input[id$='-property']")] == ["country", ""]
    data = form_fields(page) | {"action": "remove_condition:0"}
    page = soup(await ui_client.post_form("/workflows", data))
    assert [i["value"] for i in page.select("input[id$='-property']")] == [""]


# --------------------------------------------------------------------------- preview


@pytest.fixture
def braze_sandbox() -> Iterator[tuple[SandboxApp, str]]:
    app = create_app(SandboxOptions(custom_attributes=tuple(ATTRIBUTES)))
    with running_sandbox(app=app) as url:
        yield app, url


async def test_preview_shows_the_body_and_warnings_and_sends_nothing(
    braze_sandbox: tuple[SandboxApp, str],
    make_ui_app: Callable[..., FastAPI],
    ui_store: Store,
    ui_settings: Settings,
    acme: UiUser,
) -> None:
    sandbox, url = braze_sandbox
    settings = dataclasses.replace(ui_settings, allowed_braze_urls=(url,))
    await apps_service.connect_braze(
        ui_store, settings, acme.account, rest_endpoint=url, api_key=DEFAULT_API_KEY, now=NOW
    )
    app = make_ui_app(allowed_braze_urls=(url,))
    async for client in signed_in_client(app, ui_store, acme):
        workflow_id = await new_workflow(
            client, **{"mappings-0-source": "shoe", "mappings-0-target": "shoe_size"}
        )
        page = soup(await save(client, workflow_id, action="add_mapping"))
        data = form_fields(page) | {
            "mappings-1-source": "tier",
            "mappings-1-target": "__new__",
            "mappings-1-new": "loyalty_tier",
            "action": "save",
        }
        assert (await client.post_form(f"/workflows/{workflow_id}", data)).status_code == 303

        page = soup(await client.get(f"/workflows/{workflow_id}/preview"))
        sample = json.loads(page.find("textarea", id="event").get_text())
        assert sample["type"] == "form_submitted"
        assert {"email", "sms", "shoe", "tier"} <= set(sample["properties"])

        event = {
            "type": "form_submitted",
            "visitor_id": "jv_1",
            "occurred_at": "2026-11-29T09:00:00Z",
            "properties": {"email": "Ana@Example.com", "sms": "12345", "shoe": "42",
                           "tier": "gold"},
        }  # fmt: skip
        r = await client.post_form(
            f"/workflows/{workflow_id}/preview", {"source": "event", "event": json.dumps(event)}
        )
        assert r.status_code == 200, r.text
        page = soup(r)
        shown = page.select_one("[data-track-body]").get_text()
        body = json.loads(shown)
        assert shown.strip() == json.dumps(body, indent=2, ensure_ascii=False)  # pretty
        attributes = body["attributes"][0]
        assert attributes["email"] == "ana@example.com"
        assert attributes["shoe_size"] == 42
        assert attributes["loyalty_tier"] == "gold"
        assert "phone" not in attributes
        warnings = [li.get_text(" ", strip=True) for li in page.select(".preview-warnings li")]
        assert any(w.startswith("Warning phone:") for w in warnings), warnings
        assert any("loyalty_tier" in w for w in warnings), warnings
        marked = [m.get_text() for m in page.select("[data-track-body] mark")]
        assert any('"loyalty_tier"' in m for m in marked), marked

        # a visitor the draft would not enroll: the reason, no body
        other_design = {**event, "type": "page_view"}
        r = await client.post_form(
            f"/workflows/{workflow_id}/preview",
            {"source": "event", "event": json.dumps(other_design)},
        )
        page = soup(r)
        assert page.select_one("[data-track-body]") is None
        assert "Skipped" in page.select_one("#result-heading").find_parent("section").get_text()

        # bad JSON is an error next to the box, with what was typed kept
        r = await client.post_form(
            f"/workflows/{workflow_id}/preview", {"source": "event", "event": "{oops"}
        )
        assert r.status_code == 400
        assert "not valid JSON" in field_error(soup(r), "event")
        assert soup(r).find("textarea", id="event").get_text() == "{oops"
    assert len(sandbox.users) == 0


@pytest.mark.usefixtures("connected")
async def test_preview_a_stored_profile(ui_client: UiClient, ui_store: Store, acme: UiUser) -> None:
    stored = {
        "type": "form_submitted",
        "visitor_id": "jv_stored",
        "occurred_at": "2026-11-28T09:00:00Z",
        "properties": {"email": "bea@example.com", "shoe": 38},
    }
    profile = merge(None, parse_event(stored, now=NOW))
    await ui_store.profiles.upsert_many(acme.account.id, [profile], now=NOW)
    workflow_id = await new_workflow(
        ui_client, **{"mappings-0-source": "shoe", "mappings-0-target": "shoe_size"}
    )
    page = soup(await ui_client.get(f"/workflows/{workflow_id}/preview?q=bea@example.com"))
    options = [o.get_text() for o in page.find("select", id="visitor_id").find_all("option")]
    assert "jv_stored (bea@example.com)" in options
    r = await ui_client.post_form(
        f"/workflows/{workflow_id}/preview", {"source": "profile", "visitor_id": "jv_stored"}
    )
    assert r.status_code == 200, r.text
    body = json.loads(soup(r).select_one("[data-track-body]").get_text())
    assert body["attributes"][0]["email"] == "bea@example.com"
    assert body["attributes"][0]["shoe_size"] == 38

    r = await ui_client.post_form(
        f"/workflows/{workflow_id}/preview", {"source": "profile", "visitor_id": "jv_nobody"}
    )
    assert r.status_code == 400
    assert "no stored profile" in field_error(soup(r), "visitor_id")


# --------------------------------------------------------------------------- versions


@pytest.mark.usefixtures("connected")
async def test_publish_history_diff_and_restore(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    workflow_id = await new_workflow(ui_client)
    r = await ui_client.post_form(f"/workflows/{workflow_id}/publish", {"note": "First cut"})
    assert r.status_code == 303
    page = await editor(ui_client, workflow_id)
    assert badges(page) == ["Published v1"]

    page = soup(await save(ui_client, workflow_id, action="add_mapping"))
    data = form_fields(page) | {
        "mappings-0-source": "shoe",
        "mappings-0-target": "shoe_size",
        "action": "save",
    }
    assert (await ui_client.post_form(f"/workflows/{workflow_id}", data)).status_code == 303
    assert badges(await editor(ui_client, workflow_id)) == [
        "Published v1",
        "Draft changes not published",
    ]
    r = await ui_client.post_form(f"/workflows/{workflow_id}/publish", {"note": "Shoe size"})
    assert r.status_code == 303

    history = soup(await ui_client.get(f"/workflows/{workflow_id}/versions"))
    rows = [[c.get_text(" ", strip=True) for c in tr.select("th, td")][:3]
            for tr in history.select("tbody tr")]  # fmt: skip
    assert [r[1:] for r in rows] == [["Shoe size", acme.email], ["First cut", acme.email]]
    assert rows[0][0].startswith("v2")

    page = soup(await ui_client.get(f"/workflows/{workflow_id}/versions/2"))
    changes = [li.get_text(" ", strip=True) for li in page.select(".changes li")]
    assert changes == [
        "+ added: steps[0].sync_to_app.properties : [{from: shoe, to: shoe_size}]"
    ], changes
    added = [s.get_text() for s in page.select("pre .diff-add")]
    assert any("shoe_size" in line and line.startswith("+") for line in added), added
    first = soup(await ui_client.get(f"/workflows/{workflow_id}/versions/1"))
    assert "first version" in first.get_text()

    r = await ui_client.post_form(f"/workflows/{workflow_id}/versions/1/restore")
    assert r.status_code == 303
    draft = (await service.get_workflow(ui_store, acme.account, workflow_id)).draft
    v1 = await service.get_version(ui_store, acme.account, workflow_id, 1)
    assert draft == v1.definition
    assert "properties" not in step(draft)
    assert badges(await editor(ui_client, workflow_id)) == [
        "Published v2",
        "Draft changes not published",
    ]


async def test_publish_refuses_a_draft_braze_no_longer_accepts(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    await add_connection(ui_store, acme)
    workflow_id = await new_workflow(
        ui_client, **{"mappings-0-source": "colour", "mappings-0-target": "favourite_colour"}
    )
    (connection,) = await ui_store.connections.for_account(acme.account.id)
    changed = [{"name": "favourite_colour", "data_type": "Object"}]
    await ui_store.connections.set_custom_attributes(connection.id, changed, now=NOW)
    r = await ui_client.post_form(f"/workflows/{workflow_id}/publish", {"note": "go"})
    assert r.status_code == 400
    page = soup(r)
    assert "an Object" in field_error(page, "mappings-0-target")
    assert page.find(id="workflow").get_text().startswith("Not published")
    assert await service.list_versions(ui_store, acme.account, workflow_id) == []


@pytest.mark.usefixtures("connected")
async def test_pause_and_resume(ui_client: UiClient, ui_store: Store, acme: UiUser) -> None:
    workflow_id = await new_workflow(ui_client)
    r = await ui_client.post_form(f"/workflows/{workflow_id}/pause")
    assert r.status_code == 303
    assert (await service.get_workflow(ui_store, acme.account, workflow_id)).status == "draft"
    await ui_client.post_form(f"/workflows/{workflow_id}/publish", {"note": ""})
    await ui_client.post_form(f"/workflows/{workflow_id}/pause")
    assert badges(await editor(ui_client, workflow_id)) == ["Paused (v1)"]
    assert (await service.get_workflow(ui_store, acme.account, workflow_id)).status == "paused"
    await ui_client.post_form(f"/workflows/{workflow_id}/resume")
    assert badges(await editor(ui_client, workflow_id)) == ["Published v1"]


# --------------------------------------------------------------------------- isolation, CSRF


@pytest.mark.usefixtures("connected")
async def test_another_accounts_workflow_is_404(
    ui_client: UiClient, other_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    workflow_id = await new_workflow(ui_client)
    await ui_client.post_form(f"/workflows/{workflow_id}/publish", {"note": "v1"})
    before = await service.get_workflow(ui_store, acme.account, workflow_id)
    for url in ("", "/preview", "/versions", "/versions/1"):
        r = await other_client.get(f"/workflows/{workflow_id}{url}")
        assert r.status_code == 404, url
        assert "Page not found" in r.text
    for url in ("", "/publish", "/pause", "/preview", "/versions/1/restore"):
        r = await other_client.post_form(f"/workflows/{workflow_id}{url}", {"name": "Stolen"})
        assert r.status_code == 404, url
    odd_ids = ("999999", "abc", "%C2%B2", "9" * 5000)  # ² is a digit to str.isdigit()
    for url in [f"/workflows/{n}" for n in odd_ids] + ["/workflows/1/versions/99"]:
        assert (await ui_client.get(url)).status_code == 404, url
    assert await service.get_workflow(ui_store, acme.account, workflow_id) == before
    listing = soup(await other_client.get("/workflows"))
    assert listing.find("a", string="Spring leads") is None


@pytest.mark.usefixtures("connected")
async def test_a_post_without_csrf_token_is_403_and_changes_nothing(
    ui_client: UiClient, ui_store: Store, acme: UiUser
) -> None:
    workflow_id = await new_workflow(ui_client)
    before = await service.get_workflow(ui_store, acme.account, workflow_id)
    data = form_fields(await editor(ui_client, workflow_id)) | {"name": "Changed"}
    data.pop("csrf_token")
    for url in ("", "/publish", "/pause", "/versions/1/restore"):
        r = await ui_client.http.post(f"/workflows/{workflow_id}{url}", data=data)
        assert r.status_code == 403, url
    r = await ui_client.http.post("/workflows", data=data)
    assert r.status_code == 403
    assert await service.get_workflow(ui_store, acme.account, workflow_id) == before
    assert len(await service.list_workflows(ui_store, acme.account)) == 1
