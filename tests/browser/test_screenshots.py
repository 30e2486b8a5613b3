"""Screenshots of the main pages for the docs — runs only when asked:

    JUSTUNO_BRAZE_SCREENSHOTS=docs/screenshots .venv/bin/pytest tests/browser/test_screenshots.py

It seeds a little traffic through the ingestion API (so the dashboard, the profiles and
the preview have something to show), then saves PNGs of the apps, workflow editor,
preview, dashboard, deliveries, profile and demo store pages at desktop width, and a few
at phone width. Each shot is also a check: the page must render its heading first.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from justuno_braze.config import Settings
from tests.browser.conftest import Stack
from tests.browser.test_demo_popup import open_popup, open_store
from tests.browser.ui import sign_in

pytestmark = pytest.mark.browser

TARGET = os.environ.get("JUSTUNO_BRAZE_SCREENSHOTS", "")
VISITORS = (
    ("ana", "Ana", True),
    ("bo", "Bo", False),
    ("chen", "Chen", True),
    ("dara", "Dara", True),
    ("eli", "Eli", False),
)


@pytest.fixture
def shots() -> Path:
    if not TARGET:
        pytest.skip("screenshots are taken only with JUSTUNO_BRAZE_SCREENSHOTS=<directory>")
    out = Path(TARGET)
    out.mkdir(parents=True, exist_ok=True)
    return out


def seed_traffic(stack: Stack) -> None:
    """A few shoppers: page views and pop-up submissions, through the ingest token."""
    events: list[dict[str, object]] = []
    for i, (name, first, consent) in enumerate(VISITORS):
        visitor = f"jv_shot_{name}"
        for page in range(1 + i % 3):
            events.append(
                {
                    "type": "page_view",
                    "visitor_id": visitor,
                    "page_url": f"{stack.url}/demo/store?p={page}",
                }
            )
        events.append(
            {
                "type": "form_submitted",
                "visitor_id": visitor,
                "design_id": "demo-popup",
                "page_url": f"{stack.url}/demo/store",
                "properties": {
                    "email": f"{name}@example.com",
                    "first_name": first,
                    "sms": f"+1 415 555 01{i:02d}",
                },
                "consent": {"sms": consent},
                "consent_text": "Yes, text me offers",
            }
        )
    posted = httpx.post(
        f"{stack.url}/api/v1/accounts/demo/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {Settings().demo_token}"},
        timeout=10.0,
    )
    assert posted.status_code == 202, posted.text
    for name, _, _ in VISITORS:
        stack.profile(f"{name}@example.com")


def shoot(page: Page, out: Path, name: str, heading: str | re.Pattern[str]) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)


def test_screenshots(shots: Path, page: Page, phone_page: Page, stack: Stack) -> None:
    seed_traffic(stack)
    sign_in(page, stack)

    page.goto(f"{stack.url}/apps")
    shoot(page, shots, "apps", "Apps")
    page.goto(f"{stack.url}/apps/braze")
    shoot(page, shots, "apps-braze", "Braze")

    page.goto(f"{stack.url}/workflows")
    shoot(page, shots, "workflows", "Workflows")
    page.get_by_role("link", name="Demo lead capture").click()
    shoot(page, shots, "workflow-editor", "Demo lead capture")
    editor = page.url
    page.get_by_role("link", name="Preview").click()
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_role("heading", name="Result")).to_be_visible()
    shoot(page, shots, "workflow-preview", re.compile("Preview"))
    page.goto(f"{editor}/versions")
    shoot(page, shots, "workflow-versions", re.compile("Version"))

    page.goto(f"{stack.url}/dashboard")
    shoot(page, shots, "dashboard", "Dashboard")
    page.goto(f"{stack.url}/deliveries")
    shoot(page, shots, "deliveries", "Deliveries")
    page.goto(f"{stack.url}/profiles")
    shoot(page, shots, "profiles", "Profiles")
    page.get_by_role("link", name="jv_shot_ana", exact=True).click()
    shoot(page, shots, "profile", re.compile("ana@example.com|jv_shot_ana"))

    open_store(page, stack)
    open_popup(page)
    page.get_by_role("dialog").get_by_label("Email").fill("ana-at-example")
    page.get_by_role("dialog").get_by_role("button", name="Get my code").click()
    page.screenshot(path=str(shots / "demo-store-popup.png"))

    # phone width
    phone = phone_page  # 375 × 740
    sign_in(phone, stack)
    phone.goto(f"{stack.url}/dashboard")
    shoot(phone, shots, "dashboard-phone", "Dashboard")
    phone.goto(editor)
    shoot(phone, shots, "workflow-editor-phone", "Demo lead capture")
    open_store(phone, stack)
    open_popup(phone)
    phone.screenshot(path=str(shots / "demo-store-popup-phone.png"))
