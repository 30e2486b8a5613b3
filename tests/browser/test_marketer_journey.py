"""The marketer's journey through the web UI in a real browser, against ``serve --demo``
and a Braze sandbox: sign in, connect Braze (a wrong key is refused in plain words),
refresh its custom attributes, build a workflow with a Sync Another Property mapping and
publish it with a note, submit the demo pop-up ticked and unticked, find both profiles in
Braze with the right subscription groups and the mapped attribute, and see the dashboard
counts change. One test: each step needs the one before."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.braze import BrazeProfile
from tests.browser.conftest import DESKTOP, Stack
from tests.browser.test_demo_popup import (
    fill_and_submit,
    open_popup,
    open_store,
    unique_email,
    unique_phone,
)
from tests.browser.ui import sign_in

pytestmark = pytest.mark.browser

CONNECTION = "browser workspace"
WORKFLOW = "Browser lead capture"
NOTE = "First name into lead_first_name, for the welcome series"
MAPPED = "lead_first_name"


def connect_braze(page: Page, stack: Stack) -> None:
    """Connect a second Braze workspace (the sandbox) and fetch its custom attributes."""
    page.goto(f"{stack.url}/apps/braze")
    page.get_by_text("Connect another Braze workspace").click()
    form = page.locator("form[action='/apps/braze/connect']")
    form.get_by_label("REST API key").fill("not-the-key")
    form.get_by_label("REST endpoint").select_option("other")
    form.get_by_label("Other URL").fill(stack.braze_url)
    form.get_by_label("Connection name").fill(CONNECTION)
    form.get_by_role("button", name="Connect and verify").click()
    key = form.get_by_label("REST API key")
    expect(key).to_have_attribute("aria-invalid", "true")  # said next to the field:
    expect(key).to_have_accessible_description(re.compile("Braze refused this API key"))
    key.fill(stack.braze_key)
    form.get_by_role("button", name="Connect and verify").click()
    section = page.get_by_role("region", name=f"Connection “{CONNECTION}”")
    expect(section).to_contain_text("Braze accepts the key")
    section.get_by_role("button", name="Refresh custom attributes").click()
    expect(section.get_by_role("row", name="style_profile")).to_contain_text("Not mappable")
    expect(section.get_by_role("row", name=MAPPED)).to_contain_text("String")


def build_and_publish(page: Page, stack: Stack) -> str:
    """Create the workflow, map a property, save, publish with a note; its editor URL."""
    page.goto(f"{stack.url}/workflows")
    page.get_by_label("Workflow name").fill(WORKFLOW)
    page.get_by_role("button", name="Create and edit").click()
    editor = page.locator("form#editor")
    expect(editor.get_by_label("Workflow name")).to_have_value(WORKFLOW)  # stored on save
    editor.get_by_label("Event type").select_option("form_submitted")
    editor.get_by_label("Braze connection").select_option(CONNECTION)
    editor.get_by_label("SMS subscription group ID").fill(stack.sms_group)
    editor.get_by_label("Email subscription group ID").fill(stack.email_group)
    # not saved yet: the target picker follows the connection just chosen
    editor.get_by_role("button", name="Sync Another Property").click()
    row = editor.get_by_role("group", name="Property 1")
    row.get_by_label("Justuno property").fill("first_name")
    target = row.get_by_label("Braze attribute")
    # Object attributes are listed with the reason, but cannot be picked
    expect(target.get_by_role("option", name=re.compile("^style_profile"))).to_be_disabled()
    target.select_option(MAPPED)
    expect(page).to_have_url(re.compile(r"/workflows/new\?"))  # re-rendered in place
    editor.get_by_role("button", name="Save draft").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(WORKFLOW)
    expect(page.get_by_role("status")).to_be_visible()
    editor_url = page.url
    saved = page.locator("form#editor").get_by_role("group", name="Property 1")
    expect(saved.get_by_label("Justuno property")).to_have_value("first_name")
    expect(saved.get_by_label("Braze attribute")).to_have_value(MAPPED)
    publish = page.get_by_role("region", name="Publish")
    publish.get_by_label("Note").fill(NOTE)
    publish.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published v1")).to_be_visible()
    page.get_by_role("link", name="Version history").click()
    expect(page.get_by_role("main")).to_contain_text(NOTE)
    return editor_url


def dashboard_numbers(page: Page, stack: Stack) -> dict[str, str]:
    """The dashboard's tiles (label → value) and this workflow's Synced cell."""
    page.goto(f"{stack.url}/dashboard")
    numbers = {
        label: page.locator(f"[data-tile='{label}'] .stat-value").inner_text().strip()
        for label in ("Profiles created", "Synced")
    }
    row = page.get_by_role("row", name=WORKFLOW)
    numbers["workflow synced"] = (
        row.get_by_role("cell").first.inner_text().strip() if row.count() else "0"
    )
    return numbers


def as_int(text: str) -> int:
    return int(text.replace(",", ""))


def submit_popup(browser: Browser, stack: Stack, email: str, *, consent: bool) -> None:
    """A visitor (own browser context: a new visitor id) submits the demo pop-up."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        visitor = context.new_page()
        open_store(visitor, stack)
        open_popup(visitor)
        fill_and_submit(visitor, email, unique_phone(), consent=consent)
    finally:
        context.close()


def test_marketer_journey(browser: Browser, page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    before = dashboard_numbers(page, stack)
    connect_braze(page, stack)
    build_and_publish(page, stack)

    ticked, unticked = unique_email("tia"), unique_email("uma")
    submit_popup(browser, stack, ticked, consent=True)
    submit_popup(browser, stack, unticked, consent=False)

    def mapped(profile: BrazeProfile) -> bool:
        custom = profile.fields.get("custom_attributes") or {}
        return bool(custom.get(MAPPED) == "Ana")

    for email, consent in ((ticked, True), (unticked, False)):
        profile = stack.profile(email, until=mapped)
        assert profile.groups[stack.email_group] == "subscribed"
        if consent:
            assert profile.groups[stack.sms_group] == "subscribed"
        else:
            assert stack.sms_group not in profile.groups

    after = dashboard_numbers(page, stack)
    assert as_int(after["Profiles created"]) == as_int(before["Profiles created"]) + 2
    assert as_int(after["Synced"]) >= as_int(before["Synced"]) + 2
    assert as_int(after["workflow synced"]) == 2
