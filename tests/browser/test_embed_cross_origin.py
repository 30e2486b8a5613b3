"""``embed.js`` on other sites' pages, exactly as a store would paste it: the script, its
config and the ingestion call all cross origins, and the browser allows them only for the
sites in ``JUSTUNO_BRAZE_EMBED_ORIGINS`` (CORS)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_demo_popup import fill_and_submit, unique_email, unique_phone

pytestmark = pytest.mark.browser


def open_store_site(page: Page, site: str, stack: Stack) -> None:
    page.goto(f"{site}/?embed={quote(f'{stack.url}/embed.js', safe='')}")
    expect(page.get_by_role("heading", name="Another store")).to_be_visible()


def test_an_allowed_site_shows_the_pop_up_and_reaches_braze(page: Page, stack: Stack) -> None:
    open_store_site(page, stack.allowed_store, stack)
    page.get_by_role("button", name="Get 10% off").click()  # the teaser: the page has no opener
    email = unique_email("xo")
    fill_and_submit(page, email, unique_phone(), consent=True)
    profile = stack.profile(email)
    assert profile.groups[stack.sms_group] == "subscribed"


def test_a_site_not_allowed_gets_no_pop_up(page: Page, stack: Stack) -> None:
    def embed_said(message: ConsoleMessage) -> bool:
        return "justuno-braze embed (demo-popup)" in message.text

    with page.expect_console_message(embed_said) as said:
        open_store_site(page, stack.unknown_store, stack)
    # the browser refused to hand over the config (no CORS for this origin)
    assert "Failed to fetch" in said.value.text
    expect(page.locator("[data-jb-embed]")).to_have_count(0)
    expect(page.get_by_role("button")).to_have_count(0)
