"""``justuno-braze serve --demo`` as a real process: it prints the URL, the account and
the ingest token; a lead posted to the ingestion API reaches the embedded Braze sandbox
(polled through its export) with the demo's SMS and email subscription groups."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from justuno_braze.config import DEMO_EMAIL_GROUP, DEMO_SMS_GROUP
from tests.e2e.serve_process import running_serve

pytestmark = pytest.mark.slow

LEAD = {
    "type": "form_submitted",
    "visitor_id": "jv_demo_1",
    "design_id": "demo-popup",
    "page_url": "https://demo.shop/",
    "properties": {"email": "ines@demo.shop", "sms": "+1 415 555 0142", "first_name": "Ines"},
    "consent": {"sms": True},
    "consent_text": "Yes, text me offers",
}


def _export(url: str, email: str) -> dict[str, Any] | None:
    response = httpx.post(
        f"{url}/sandbox-braze/users/export/ids",
        headers={"Authorization": "Bearer sandbox-key"},
        json={"email_address": email, "fields_to_export": ["email", "first_name", "phone"]},
        timeout=5.0,
    )
    assert response.status_code in (200, 201), response.text
    users: list[dict[str, Any]] = response.json()["users"]
    return users[0] if users else None


def test_serve_demo_delivers_a_lead_to_the_embedded_sandbox(tmp_path: Path) -> None:
    env = {"JUSTUNO_BRAZE_DEMO_TOKEN": "e2e-demo-token"}
    with running_serve(tmp_path, "--demo", env=env) as served:
        printed = served.output()
        assert f"justuno-braze demo at {served.url}" in printed
        assert re.search(r"account:\s+demo\b", printed)
        assert re.search(r"ingest token:\s+e2e-demo-token\b", printed)

        response = httpx.post(
            f"{served.url}/api/v1/accounts/demo/events",
            json=LEAD,
            headers={"Authorization": "Bearer e2e-demo-token"},
            timeout=5.0,
        )
        assert response.status_code == 202, response.text

        deadline = time.monotonic() + 20
        user = _export(served.url, "ines@demo.shop")
        while user is None and time.monotonic() < deadline:
            time.sleep(0.1)
            user = _export(served.url, "ines@demo.shop")
        assert user is not None, served.output()
        assert user["first_name"] == "Ines"
        assert user["phone"] == "+14155550142"

        status = httpx.get(
            f"{served.url}/sandbox-braze/subscription/user/status",
            headers={"Authorization": "Bearer sandbox-key"},
            params={"email": "ines@demo.shop"},
        ).json()
        groups = {
            g["subscription_group_id"]: g["subscription_status"].lower()
            for g in status["subscription_groups"]
        }
        assert groups == {DEMO_SMS_GROUP: "subscribed", DEMO_EMAIL_GROUP: "subscribed"}
        metrics = httpx.get(f"{served.url}/metrics").text
        assert "justuno_braze_braze_users_delivered_total 1.0" in metrics

    # a second start on the same database seeds nothing new and still works
    with running_serve(tmp_path, "--demo", "--no-workers", env=env) as again:
        assert re.search(r"workflow:\s+Demo lead capture \(v1\)", again.output())
