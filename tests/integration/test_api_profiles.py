"""Profiles over HTTP, from events posted to the ingestion endpoint: newest first with
cursor paging, lookup by normalised email or visitor id, one profile with its merged
properties, sessions, events, consent entries and delivery history."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import (
    EMAIL_GROUP,
    SMS_GROUP,
    AccountFactory,
    ApiWorld,
    seed_leads,
)


@pytest.fixture
async def seeded(api_world: ApiWorld) -> ApiWorld:
    await seed_leads(api_world)
    return api_world


async def test_listing_is_newest_first_and_pages_with_a_cursor(seeded: ApiWorld) -> None:
    everyone = (await seeded.get("/profiles")).json()
    assert [p["visitor_id"] for p in everyone["items"]] == ["jv_dee", "jv_cy", "jv_bob", "jv_ana"]
    assert everyone["next_cursor"] is None

    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = (
            await seeded.get("/profiles", limit="3", **({"cursor": cursor} if cursor else {}))
        ).json()
        seen += [p["visitor_id"] for p in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == ["jv_dee", "jv_cy", "jv_bob", "jv_ana"]

    ana = everyone["items"][3]
    assert ana["email"] == "ana@example.com"
    assert ana["properties"] == {
        "email": "Ana@Example.com",
        "sms": "+16502530000",
        "first_name": "Ana",
    }
    assert (ana["sessions"], ana["page_views"], ana["forms_submitted"]) == (2, 2, 1)
    assert ana["return_visitor"] is True
    assert (ana["first_seen"], ana["last_seen"]) == ("2026-11-27T10:00:00Z", "2026-11-27T12:00:00Z")
    assert ana["created_at"] == "2026-11-27T13:00:00Z"
    dee = everyone["items"][0]
    assert (dee["sessions"], dee["page_views"], dee["return_visitor"], dee["email"]) == (
        1,
        2,
        False,
        None,
    )


async def test_lookup_by_email_is_normalised(seeded: ApiWorld) -> None:
    for email, found in (
        (" Cy@Example.com ", ["jv_cy"]),
        ("ANA@example.COM", ["jv_ana"]),
        ("cy@example.org", []),
        ("not-an-email", []),  # never "the profiles without an email"
        ("", []),
    ):
        r = await seeded.get("/profiles", email=email)
        assert r.status_code == 200, r.text
        assert [p["visitor_id"] for p in r.json()["items"]] == found, email


async def test_lookup_by_visitor_id(seeded: ApiWorld) -> None:
    r = await seeded.get("/profiles", visitor_id="jv_bob")
    assert [(p["visitor_id"], p["properties"]) for p in r.json()["items"]] == [
        ("jv_bob", {"first_name": "Bob"})
    ]
    assert (await seeded.get("/profiles", visitor_id="jv_nobody")).json()["items"] == []


async def test_one_profile_with_events_consent_and_deliveries(seeded: ApiWorld) -> None:
    r = await seeded.get("/profiles/jv_ana")
    assert r.status_code == 200, r.text
    ana = r.json()
    assert (ana["visitor_id"], ana["sessions"], ana["return_visitor"]) == ("jv_ana", 2, True)
    assert [(e["type"], e["occurred_at"]) for e in ana["events"]] == [
        ("page_view", "2026-11-27T12:00:00Z"),
        ("form_submitted", "2026-11-27T10:05:00Z"),
        ("page_view", "2026-11-27T10:00:00Z"),
    ]
    assert ana["events"][1]["consent"] == {"sms": True}
    consent = sorted(
        (c["channel"], c["group_id"], c["state"], c["basis"], c["design_id"])
        for c in ana["consent"]
    )
    assert consent == [
        ("email", EMAIL_GROUP, "subscribed", "implicit", "spring-popup"),
        ("sms", SMS_GROUP, "subscribed", "explicit", "spring-popup"),
    ]
    assert {c["event_id"] for c in ana["consent"]} == {ana["events"][1]["event_id"]}
    assert [(d["state"], d["user_key"], d["reason"]) for d in ana["deliveries"]] == [
        ("delivered", "email:ana@example.com", None)
    ]
    assert ana["deliveries"][0]["attributes"]["phone"] == "+16502530000"

    cy = (await seeded.get("/profiles/jv_cy")).json()
    assert [(d["state"], d["user_key"], d["reason"]) for d in cy["deliveries"]] == [
        ("dead", "alias:jv_cy", "BAD_SUBSCRIPTION_GROUP_ID"),
        ("delivered", "email:cy@example.com", None),
    ]
    history = (await seeded.get("/profiles/jv_cy/deliveries")).json()
    assert [d["id"] for d in history["items"]] == [d["id"] for d in cy["deliveries"]]
    bob = (await seeded.get("/profiles/jv_bob")).json()
    assert (bob["consent"], bob["deliveries"]) == ([], [])  # skipped: no identifier


async def test_unknown_profile_is_404(seeded: ApiWorld) -> None:
    for path in ("/profiles/jv_nobody", "/profiles/jv_nobody/deliveries"):
        r = await seeded.get(path)
        assert r.status_code == 404
        assert r.json() == {"message": "profile not found"}


async def test_bad_paging_is_refused(
    client: httpx.AsyncClient, make_account: AccountFactory
) -> None:
    acme = await make_account("acme")
    for params, field in (
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "0"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
    ):
        r = await client.get(
            "/api/v1/accounts/acme/profiles", params=params, headers=acme.api_headers
        )
        assert r.status_code == 422, (params, r.text)
        assert field in r.json()["message"]
