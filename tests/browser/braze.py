"""Reading what the Braze sandbox stored, polling until the delivery worker got there."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

DELIVERY_WAIT = 20.0  # seconds; the serve worker delivers in well under a second


@dataclass(frozen=True)
class BrazeProfile:
    """One user as Braze has it: exported fields and subscription group states."""

    fields: dict[str, Any]
    groups: dict[str, str] = field(default_factory=dict)  # group id -> lower-case status


def braze_profile(braze_url: str, key: str, email: str) -> BrazeProfile | None:
    auth = {"Authorization": f"Bearer {key}"}
    exported = httpx.post(
        f"{braze_url}/users/export/ids",
        headers=auth,
        json={"email_address": email},
        timeout=5.0,
    )
    assert exported.status_code in (200, 201), exported.text
    users: list[dict[str, Any]] = exported.json()["users"]
    if not users:
        return None
    status = httpx.get(
        f"{braze_url}/subscription/user/status", headers=auth, params={"email": email}
    )
    assert status.status_code == 200, status.text
    groups = {
        g["subscription_group_id"]: g["subscription_status"].lower()
        for g in status.json()["subscription_groups"]
    }
    return BrazeProfile(fields=users[0], groups=groups)


def wait_for_profile(
    braze_url: str,
    key: str,
    email: str,
    *,
    until: Callable[[BrazeProfile], bool] | None = None,
    log: str = "",
) -> BrazeProfile:
    """The profile of ``email`` once Braze has it (and ``until(profile)`` holds), polling
    for at most :data:`DELIVERY_WAIT` seconds; else fail saying what was last seen."""
    deadline = time.monotonic() + DELIVERY_WAIT
    seen: BrazeProfile | None = None
    while time.monotonic() < deadline:
        seen = braze_profile(braze_url, key, email)
        if seen is not None and (until is None or until(seen)):
            return seen
        time.sleep(0.1)
    raise AssertionError(
        f"Braze did not get the expected profile of {email} within {DELIVERY_WAIT:g} s; "
        f"last seen: {seen}\n{log}"
    )
