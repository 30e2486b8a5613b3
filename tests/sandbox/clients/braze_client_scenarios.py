"""Scenarios for PyPI ``braze-client`` (module ``braze.client``), run in its own virtualenv.

Usage: ``python braze_client_scenarios.py SCENARIO BASE_URL API_KEY``. The client is used
exactly as its README shows, pointed at the sandbox through its ``api_url`` argument. The
script prints one JSON object: ``{"result": …}`` or ``{"error": {"type": …, …}}`` (what the
client raised), and ``tests/sandbox/test_third_party_clients.py`` checks what the sandbox
stored through the sandbox's own HTTP API.

This file imports nothing from justuno-braze: it runs with the client's interpreter.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from braze.client import BrazeClient

SIGNUP = "2026-11-28T10:00:00Z"
EMAIL_GROUP = "4e1d2b9a-3c5f-4e7b-8a61-2d9c0f5b7a22"

ADA = {
    "external_id": "bc-ada",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "country": "GB",
    "favourite_colour": "teal",
    "lifetime_orders": 3,
    "vip": True,
    "interests": ["shoes", "bags"],
    "email_subscribe": "opted_in",
    "subscription_groups": [
        {"subscription_group_id": EMAIL_GROUP, "subscription_state": "subscribed"}
    ],
}


def track(client: BrazeClient) -> Any:
    """Attributes, two custom events and a purchase for one user in one request."""
    events = [
        {
            "external_id": "bc-ada",
            "name": "justuno_form_submitted",
            "time": SIGNUP,
            "properties": {"design_id": "spring-popup"},
        },
        {"external_id": "bc-ada", "name": "justuno_form_submitted", "time": SIGNUP},
    ]
    purchases = [
        {
            "external_id": "bc-ada",
            "product_id": "sku-shoe-1",
            "currency": "USD",
            "price": 49.5,
            "time": SIGNUP,
        }
    ]
    return client.user_track(attributes=[ADA], events=events, purchases=purchases)


def minor_errors(client: BrazeClient) -> Any:
    """One good object and one without any identifier: Braze answers 2xx + ``errors``."""
    attributes = [
        {"external_id": "bc-grace", "first_name": "Grace"},
        {"first_name": "Nobody"},
    ]
    return client.user_track(attributes=attributes)


def all_invalid(client: BrazeClient) -> Any:
    """Every object invalid: a fatal 400 the client turns into ``BrazeClientError``."""
    return client.user_track(attributes=[{"first_name": "Nobody"}])


def export(client: BrazeClient) -> Any:
    """``user_export`` by external id and by email (``email_address``)."""
    fields = ["external_id", "email", "first_name", "custom_attributes"]
    by_id = client.user_export(external_ids=["bc-ada", "bc-missing"], fields_to_export=fields)
    by_email = client.user_export(email="ada@example.com", fields_to_export=fields)
    return {"by_id": by_id, "by_email": by_email}


def delete(client: BrazeClient) -> Any:
    return client.user_delete(external_ids=["bc-grace"])


def rate_limited(client: BrazeClient) -> Any:
    """Two calls in a row against a sandbox that allows one request per window."""
    first = client.user_track(attributes=[{"external_id": "bc-rl-1", "first_name": "One"}])
    try:
        client.user_track(attributes=[{"external_id": "bc-rl-2", "first_name": "Two"}])
    except Exception as exc:
        return {"first": first, "second_error": describe(exc), "now": time.time()}
    return {"first": first, "second_error": None, "now": time.time()}


SCENARIOS: dict[str, Callable[[BrazeClient], Any]] = {
    "track": track,
    "minor_errors": minor_errors,
    "all_invalid": all_invalid,
    "export": export,
    "delete": delete,
    "rate_limited": rate_limited,
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
    client = BrazeClient(api_key=api_key, api_url=base_url)
    try:
        outcome: dict[str, Any] = {"result": SCENARIOS[scenario](client)}
    except Exception as exc:
        outcome = {"error": describe(exc)}
    print(json.dumps(outcome, default=repr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
