"""Steps a marketer takes in the web UI, shared by the journey test and the screenshots."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from justuno_braze.config import Settings
from justuno_braze.services.demo import DEMO_USER_EMAIL
from tests.browser.conftest import Stack

DEMO_PASSWORD = Settings().demo_password  # serve --demo's default (not overridden here)


def sign_in(page: Page, stack: Stack, next_path: str = "/dashboard") -> None:
    """Sign in as the demo account's user through the sign-in form."""
    page.goto(f"{stack.url}{next_path}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # redirected
    page.get_by_label("Email").fill(DEMO_USER_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
