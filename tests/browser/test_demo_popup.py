"""The demo store's pop-up in a real browser: loaded by ``/embed.js``, submitted with the
SMS consent box ticked and unticked, and read back from the Braze sandbox; the errors a
visitor sees, keyboard-only use, and phone width. Selectors are roles and labels, so they
double as accessibility checks."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack

pytestmark = pytest.mark.browser

OPENER = "Get 10% off your first order"
CONSENT = "Yes, text me offers"


def unique_email(name: str) -> str:
    """Every run's visitors are new to the session's sandbox."""
    return f"{name}.{uuid.uuid4().hex[:8]}@example.com"


def unique_phone() -> str:
    return f"(415) 555-{uuid.uuid4().int % 10_000:04d}"


def open_store(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.url}/demo/store")
    expect(page.get_by_role("heading", name="Linen Throw Blanket")).to_be_visible()


def open_popup(page: Page) -> None:
    page.get_by_role("button", name=OPENER).click()
    expect(page.get_by_role("dialog", name="10% off your first order")).to_be_visible()


def fill_and_submit(page: Page, email: str, phone: str, *, consent: bool) -> None:
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Phone").fill(phone)
    dialog.get_by_label("First name").fill("Ana")
    dialog.get_by_label(CONSENT).set_checked(consent)
    dialog.get_by_role("button", name="Get my code").click()
    expect(dialog.get_by_text("Thanks! Your code is on its way.")).to_be_visible()


@pytest.mark.parametrize("consent", [True, False], ids=["ticked", "unticked"])
def test_the_pop_up_reaches_braze_with_the_consent_as_given(
    page: Page, stack: Stack, consent: bool
) -> None:
    email, phone = unique_email("ana"), unique_phone()
    open_store(page, stack)
    open_popup(page)
    fill_and_submit(page, email, phone, consent=consent)
    profile = stack.profile(email, until=lambda p: stack.email_group in p.groups)
    assert profile.fields["first_name"] == "Ana"
    assert profile.groups[stack.email_group] == "subscribed"
    if consent:
        assert profile.groups[stack.sms_group] == "subscribed"
    else:  # unticked is an explicit no: never subscribed, no group entry at all
        assert stack.sms_group not in profile.groups


def test_a_bad_email_is_named_next_to_the_field(page: Page, stack: Stack) -> None:
    open_store(page, stack)
    open_popup(page)
    dialog = page.get_by_role("dialog")
    email = dialog.get_by_label("Email")
    email.fill("ana-at-example")
    dialog.get_by_role("button", name="Get my code").click()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("Enter a valid email.")
    expect(email).to_be_focused()
    expect(dialog.get_by_role("status")).to_have_text("Please fix the highlighted fields.")
    # ticking SMS consent without a phone number is named next to the phone field
    email.fill(unique_email("ana"))
    dialog.get_by_label(CONSENT).check()
    dialog.get_by_role("button", name="Get my code").click()
    phone = dialog.get_by_label("Phone")
    expect(phone).to_have_accessible_description("Enter your phone number to get texts.")
    expect(email).to_have_attribute("aria-invalid", "false")


def test_keyboard_only_from_the_opener_to_braze(page: Page, stack: Stack) -> None:
    email, phone = unique_email("kay"), unique_phone()
    open_store(page, stack)
    opener = page.get_by_role("button", name=OPENER)
    page.keyboard.press("Tab")
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Email")).to_be_focused()  # focus moved into the pop-up
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Phone")).to_be_focused()
    page.keyboard.type(phone)
    page.keyboard.press("Tab")
    page.keyboard.type("Kay")
    page.keyboard.press("Tab")
    expect(dialog.get_by_label(CONSENT)).to_be_focused()
    page.keyboard.press("Space")
    expect(dialog.get_by_label(CONSENT)).to_be_checked()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Get my code")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_text("Thanks! Your code is on its way.")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()  # focus returns to where the visitor was
    profile = stack.profile(email, until=lambda p: stack.sms_group in p.groups)
    assert profile.fields["first_name"] == "Kay"
    assert profile.groups[stack.sms_group] == "subscribed"


def test_focus_stays_in_the_open_pop_up(page: Page, stack: Stack) -> None:
    open_store(page, stack)
    open_popup(page)
    dialog = page.get_by_role("dialog")
    for _ in range(8):  # more Tabs than the pop-up has controls
        page.keyboard.press("Tab")
        inside = page.evaluate(
            "() => { const host = document.activeElement;"
            " return host === document.body || host?.hasAttribute('data-jb-embed'); }"
        )
        assert inside, "focus left the modal pop-up for the page behind it"
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_the_pop_up_fits_a_phone(phone_page: Page, stack: Stack) -> None:
    email, phone = unique_email("pia"), unique_phone()
    open_store(phone_page, stack)
    open_popup(phone_page)
    dialog = phone_page.get_by_role("dialog")
    box = dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    scroll_width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= 375, "the page scrolls sideways at phone width"
    for label in ("Email", "Phone", "First name"):
        field = dialog.get_by_label(label).bounding_box()
        assert field is not None and field["x"] + field["width"] <= 375
    fill_and_submit(phone_page, email, phone, consent=False)
    profile = stack.profile(email)
    assert stack.sms_group not in profile.groups
