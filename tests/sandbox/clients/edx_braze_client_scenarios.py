"""Scenarios for PyPI ``edx-braze-client`` (module ``braze.client``), run in its own virtualenv.

Usage: ``python edx_braze_client_scenarios.py SCENARIO BASE_URL API_KEY``. The client is
constructed as edX does (``BrazeClient(api_key, api_url, app_id)``) with the sandbox's base
URL. The script prints one JSON object: ``{"result": …}`` or ``{"error": {"type": …, …}}``
(what the client raised); ``tests/sandbox/test_third_party_clients.py`` checks what the
sandbox stored through the sandbox's own HTTP API.

This file imports nothing from justuno-braze: it runs with the client's interpreter.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable
from typing import Any

from braze.client import BrazeClient

LABEL = "justuno_email"
SIGNUP = "2026-11-28T10:00:00Z"
BULK_USERS = 80  # more than one /users/track request: the client chunks by 75


def bulk_attributes() -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"edx-{i}",
            "email": f"edx-{i}@example.com",
            "first_name": f"Learner{i}",
            "enrolled_courses": i,
        }
        for i in range(BULK_USERS)
    ]


def track_user(client: BrazeClient) -> Any:
    """80 users (two requests), then attributes + events + purchase for one of them."""
    client.track_user(attributes=bulk_attributes())
    client.track_user(
        attributes=[{"external_id": "edx-0", "last_name": "Zero", "vip": True}],
        events=[
            {"external_id": "edx-0", "name": "course_enrolled", "time": SIGNUP},
            {"external_id": "edx-0", "name": "course_enrolled", "time": SIGNUP},
        ],
        purchases=[
            {
                "external_id": "edx-0",
                "product_id": "verified-cert",
                "currency": "USD",
                "price": 99.0,
                "time": SIGNUP,
            }
        ],
    )
    return None


def create_alias(client: BrazeClient) -> Any:
    """Email-as-alias pattern for two leads that Braze does not know yet."""
    client.create_braze_alias(["lead-a@example.com", "lead-b@example.com"], LABEL, attributes=[])
    return None


def identify(client: BrazeClient) -> Any:
    """Attach an external id to lead A's alias-only profile."""
    return client.identify_users(
        [
            {
                "external_id": "edx-lead-a",
                "user_alias": {"alias_label": LABEL, "alias_name": "lead-a@example.com"},
            }
        ]
    )


def alias_existing(client: BrazeClient) -> Any:
    """Lead A again: the alias now belongs to edx-lead-a, so no duplicate may appear."""
    found = client.get_braze_external_id_batch(["lead-a@example.com"], LABEL)
    client.create_braze_alias(["lead-a@example.com"], LABEL)
    return {"found": found}


def lookups(client: BrazeClient) -> Any:
    return {
        "known": client.get_braze_external_id("lead-a@example.com"),
        "unknown": client.get_braze_external_id("nobody@example.com"),
        "batch": client.get_braze_external_id_batch(
            ["lead-a@example.com", "lead-b@example.com"], LABEL
        ),
    }


def unsubscribe(client: BrazeClient) -> Any:
    """Email unsubscribe (``/email/status``), then the unsubscribes query around today."""
    client.track_user(attributes=[{"external_id": "edx-unsub", "email": "unsub@example.com"}])
    status = client.unsubscribe_user_email("unsub@example.com")
    today = datetime.datetime.now(datetime.UTC).date()
    start = (today - datetime.timedelta(days=1)).isoformat()
    end = (today + datetime.timedelta(days=1)).isoformat()
    return {"status": status, "unsubscribed": client.retrieve_unsubscribed_emails(start, end)}


def identify_too_many(client: BrazeClient) -> Any:
    """51 aliases in one ``/users/identify`` call: over Braze's cap of 50."""
    return client.identify_users(
        [
            {
                "external_id": f"edx-many-{i}",
                "user_alias": {"alias_label": LABEL, "alias_name": f"many-{i}@example.com"},
            }
            for i in range(51)
        ]
    )


def track_one(client: BrazeClient) -> Any:
    client.track_user(attributes=[{"external_id": "edx-solo", "first_name": "Solo"}])
    return None


SCENARIOS: dict[str, Callable[[BrazeClient], Any]] = {
    "track_user": track_user,
    "create_alias": create_alias,
    "identify": identify,
    "alias_existing": alias_existing,
    "lookups": lookups,
    "unsubscribe": unsubscribe,
    "identify_too_many": identify_too_many,
    "track_one": track_one,
}


def describe(exc: BaseException) -> dict[str, Any]:
    """What the client raised, as JSON: class, module, args and public attributes."""
    attrs = {k: v for k, v in vars(exc).items() if not k.startswith("_")}
    return {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "args": [a if isinstance(a, (str, int, float, list, dict)) else repr(a) for a in exc.args],
        "attrs": attrs,
    }


def main(argv: list[str]) -> int:
    scenario, base_url, api_key = argv
    client = BrazeClient(api_key=api_key, api_url=base_url, app_id="justuno-sandbox-app")
    try:
        outcome: dict[str, Any] = {"result": SCENARIOS[scenario](client)}
    except Exception as exc:
        outcome = {"error": describe(exc)}
    print(json.dumps(outcome, default=repr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
