"""Browser tests: Debian's chromium driven by Playwright (sync API) against a real
``justuno-braze serve --demo`` process whose Braze connection points at a separate
sandbox (the demo subscription groups, a few typed custom attributes), so a test reads
what Braze stored through the sandbox's ``/users/export/ids``.

Missing chromium or Playwright skips with the reason — and fails under
``JUSTUNO_BRAZE_REQUIRE_SERVICES=1`` (``require_or_skip``). The server and the sandbox
are started once per session, the browser once per module (the suite stays well under a
minute); each test gets a fresh browser context (no cookies, no storage).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from justuno_braze.config import DEMO_EMAIL_GROUP, DEMO_SMS_GROUP
from tests.browser.braze import BrazeProfile, wait_for_profile
from tests.browser.stores import running_store
from tests.conftest import require_or_skip
from tests.e2e.serve_process import Served, running_serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

PLAYWRIGHT_MISSING = "Playwright is not installed (pip install playwright)"
if importlib.util.find_spec("playwright") is None:
    # the test modules import it: leave them out, and let test_requirements.py say why
    collect_ignore = [
        p.name for p in Path(__file__).parent.glob("test_*.py") if p.name != "test_requirements.py"
    ]

CHROMIUM = os.environ.get("JUSTUNO_BRAZE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SANDBOX_KEY = "browser-sandbox-key"
# typed targets for Sync Another Property (Object / Array of objects: shown, not selectable)
CUSTOM_ATTRIBUTES = (
    {"name": "lead_first_name", "data_type": "String"},
    {"name": "loyalty_points", "data_type": "Number"},
    {"name": "style_profile", "data_type": "Object"},
)
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 740}
TIMEOUT_MS = 10_000  # one page action or expectation; a healthy run needs far less


@dataclass(frozen=True)
class Stack:
    """The running system: the app's URL, the Braze sandbox it delivers to, and two other
    sites embedding the pop-up: one whose origin is in ``embed_origins``, one not."""

    app: Served
    braze_url: str
    allowed_store: str
    unknown_store: str
    braze_key: str = SANDBOX_KEY
    sms_group: str = DEMO_SMS_GROUP
    email_group: str = DEMO_EMAIL_GROUP

    @property
    def url(self) -> str:
        return self.app.url

    def profile(
        self, email: str, *, until: Callable[[BrazeProfile], bool] | None = None
    ) -> BrazeProfile:
        """The sandbox's profile of ``email`` once delivered (and ``until`` holds); a
        failure shows the app's output."""
        return wait_for_profile(
            self.braze_url, self.braze_key, email, until=until, log=self.app.output()
        )


@pytest.fixture(scope="session")
def braze_sandbox() -> Iterator[str]:
    """A Braze sandbox on its own port (a thread of this process)."""
    from justuno_braze.sandbox.options import SandboxOptions
    from justuno_braze.sandbox.server import running_sandbox

    options = SandboxOptions(
        api_keys={SANDBOX_KEY: None},
        subscription_groups={DEMO_SMS_GROUP: "sms", DEMO_EMAIL_GROUP: "email"},
        custom_attributes=CUSTOM_ATTRIBUTES,
    )
    with running_sandbox(options) as url:
        yield url


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, braze_sandbox: str) -> Iterator[Stack]:
    """``serve --demo`` (with its worker) whose demo Braze connection is the sandbox."""
    with running_store() as allowed, running_store() as unknown:
        env = {
            "JUSTUNO_BRAZE_DEMO_BRAZE_URL": braze_sandbox,
            "JUSTUNO_BRAZE_DEMO_BRAZE_KEY": SANDBOX_KEY,
            "JUSTUNO_BRAZE_ALLOWED_BRAZE_URLS": braze_sandbox,
            "JUSTUNO_BRAZE_EMBED_ORIGINS": allowed,
        }
        with running_serve(tmp_path_factory.mktemp("serve"), "--demo", env=env) as served:
            yield Stack(served, braze_sandbox, allowed_store=allowed, unknown_store=unknown)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, per test module: Playwright's sync API runs its own event loop while it
    is started, which the async tests of other modules cannot share."""
    from playwright.sync_api import sync_playwright

    available = Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is not None
    require_or_skip(available, f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh desktop-sized page (own context: no cookies, no local storage)."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A fresh page at phone width (375 × 740, touch)."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()
