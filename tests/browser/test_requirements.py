"""What the browser tests need, said once: without Playwright the other modules here are
not collected (they import it), and this test skips — or fails under
``JUSTUNO_BRAZE_REQUIRE_SERVICES=1`` — with the reason. Chromium is checked by the
``browser`` fixture."""

from __future__ import annotations

import importlib.util

from tests.browser.conftest import PLAYWRIGHT_MISSING
from tests.conftest import require_or_skip


def test_playwright_is_installed() -> None:
    require_or_skip(importlib.util.find_spec("playwright") is not None, PLAYWRIGHT_MISSING)
