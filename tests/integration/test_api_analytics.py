"""Analytics (S11) over HTTP on a known dataset: exact numbers per UTC day and per
workflow, the summary over a range, rates null at 0 denominators, ranges validated."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import (
    LEAD_CAPTURE,
    VIP_ALIAS,
    AccountFactory,
    ApiWorld,
    seed_leads,
)


@pytest.fixture
async def seeded(api_world: ApiWorld) -> ApiWorld:
    await seed_leads(api_world)
    return api_world


def workflow(wid: int, synced: int = 0, dead: int = 0, **skipped: int) -> dict[str, object]:
    return {
        "workflow_id": str(wid),
        "synced": synced,
        "skipped": sum(skipped.values()),
        "skipped_by_reason": skipped,
        "dead": dead,
    }


def numbers(
    created: int, returning: int, sessions: int, views: int, forms: int
) -> dict[str, object]:
    return {
        "profiles_created": created,
        "returning_visitors": returning,
        "return_visitor_rate": returning / created if created else None,
        "sessions": sessions,
        "page_views": views,
        "pages_per_session": views / sessions if sessions else None,
        "forms_submitted": forms,
    }


async def test_daily_numbers_per_utc_day_and_workflow(seeded: ApiWorld) -> None:
    lead, vip = (seeded.world.workflow_ids[n] for n in (LEAD_CAPTURE, VIP_ALIAS))
    r = await seeded.get("/analytics/daily", since="2026-11-27", until="2026-11-30")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["since"], body["until"]) == ("2026-11-27T00:00:00Z", "2026-11-30T00:00:00Z")
    assert body["days"] == [
        # ana (2 sessions, 2 page views, a form) and bob (a form, no contact) arrive on D1:
        # the lead workflow skips bob (no identifier); the VIP one enrolls neither.
        {
            "day": "2026-11-27",
            **numbers(2, 1, 3, 2, 2),
            "workflows": [workflow(lead, no_identifier=1), workflow(vip, not_enrolled=2)],
        },
        # cy (a VIP form) and dee (two page views, one session) on D2
        {"day": "2026-11-28", **numbers(2, 0, 2, 2, 1), "workflows": []},
        # delivered on D3: ana and cy by email; cy's VIP job refused by Braze
        {
            "day": "2026-11-29",
            **numbers(0, 0, 0, 0, 0),
            "workflows": [workflow(lead, synced=2), workflow(vip, dead=1)],
        },
    ]
    assert body["days"][1]["return_visitor_rate"] == 0.0
    assert body["days"][2]["return_visitor_rate"] is None  # no profile created: no rate

    only_vip = await seeded.get("/analytics/daily", since="2026-11-27", workflow_id=str(vip))
    assert [(d["day"], d["workflows"]) for d in only_vip.json()["days"]] == [
        ("2026-11-27", [workflow(vip, not_enrolled=2)]),
        ("2026-11-28", []),
        ("2026-11-29", [workflow(vip, dead=1)]),
    ]


async def test_summary_totals_over_a_range(seeded: ApiWorld) -> None:
    lead, vip = (seeded.world.workflow_ids[n] for n in (LEAD_CAPTURE, VIP_ALIAS))
    r = await seeded.get("/analytics/summary", since="2026-11-27T00:00:00Z", until="2026-11-30")
    assert r.status_code == 200, r.text
    assert r.json() == {
        **numbers(4, 1, 5, 4, 3),
        "since": "2026-11-27T00:00:00Z",
        "until": "2026-11-30T00:00:00Z",
        "synced": 2,
        "skipped": 3,
        "dead": 1,
        "queue_depth": 0,
        "workflows": [
            workflow(lead, synced=2, no_identifier=1),
            workflow(vip, dead=1, not_enrolled=2),
        ],
    }
    assert (r.json()["return_visitor_rate"], r.json()["pages_per_session"]) == (0.25, 0.8)

    # D2 alone (half-open: D3's deliveries are out), and the default range (30 days to now)
    d2 = (await seeded.get("/analytics/summary", since="2026-11-28", until="2026-11-29")).json()
    assert (d2["profiles_created"], d2["forms_submitted"], d2["synced"], d2["dead"]) == (
        2,
        1,
        0,
        0,
    )
    default = (await seeded.get("/analytics/summary")).json()
    assert (default["since"], default["until"]) == (
        "2026-10-30T18:00:00Z",
        "2026-11-29T18:00:00Z",
    )
    assert (default["profiles_created"], default["synced"], default["dead"]) == (4, 2, 1)


async def test_rates_are_null_without_denominators(seeded: ApiWorld) -> None:
    r = await seeded.get("/analytics/summary", since="2026-11-29", until="2026-11-30")
    body = r.json()
    assert (body["profiles_created"], body["sessions"]) == (0, 0)
    assert body["return_visitor_rate"] is None and body["pages_per_session"] is None
    assert (body["synced"], body["dead"]) == (2, 1)
    empty = await seeded.get("/analytics/daily", since="2025-01-01", until="2025-02-01")
    assert empty.json()["days"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-29", "until": "2026-11-28"}, "until"),
        ({"since": "2026-11-29T00:00:00Z", "until": "2026-11-29T00:00:00Z"}, "until"),
    ],
)
async def test_bad_ranges_are_refused_naming_the_field(
    client: httpx.AsyncClient, make_account: AccountFactory, params: dict[str, str], field: str
) -> None:
    acme = await make_account("acme")
    for path in ("summary", "daily"):
        r = await client.get(
            f"/api/v1/accounts/acme/analytics/{path}", params=params, headers=acme.api_headers
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        assert field in r.json()["message"]
