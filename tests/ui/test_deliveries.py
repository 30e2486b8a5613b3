"""Deliveries and profiles as a marketer sees them: dead letters with Braze's reason
(made by a sandbox that refuses an unknown subscription group), filters, replay of some or
all matching (CSRF-checked, re-queued in the outbox), and a visitor's profile with its
events, consent ledger and delivery history — for the signed-in account only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup

from justuno_braze.store import Store
from tests.integration.conftest import EMAIL_GROUP, SMS_GROUP, lead_event
from tests.ui.conftest import UiClient, UiClock, UiUser, soup
from tests.ui.lead_world import BRAZE_REFUSAL, BrazeAccount, leads


@pytest.fixture
async def seeded(
    ui_client: UiClient,
    ui_clock: UiClock,
    acme: UiUser,
    connect_braze: Callable[[UiUser], Awaitable[BrazeAccount]],
) -> BrazeAccount:
    """acme's leads ingested and delivered: ana and cy synced, cy's VIP job dead."""
    world = await connect_braze(acme)
    await world.ingest(ui_client.http, leads(ui_clock()))
    await world.deliver()
    return world


def vip_leads(now: datetime, count: int) -> list[dict[str, Any]]:
    """``count`` more VIP pop-up leads: each one a dead letter of the VIP workflow."""
    return [
        lead_event(f"jv_vip{n}", now - timedelta(minutes=5), design="vip-popup", email=f"v{n}@x.io")
        for n in range(count)
    ]


async def page_of(client: UiClient, url: str, status: int = 200) -> BeautifulSoup:
    r = await client.get(url)
    assert r.status_code == status, r.text
    return soup(r)


def dead_rows(page: BeautifulSoup) -> list[dict[str, str]]:
    heads = ["select", "reason", "workflow", "visitor", "user", "died", "attempts"]
    return [
        dict(zip(heads, (td.get_text(" ", strip=True) for td in tr.select("td")), strict=True))
        | {"id": str(tr["data-delivery"])}
        for tr in page.select("tr[data-delivery]")
    ]


async def states(store: Store, account_id: int, state: str) -> list[int]:
    return [d.id for d in await store.deliveries.list_deliveries(account_id, state=state)]


async def test_dead_letters_show_brazes_reason_workflow_visitor_and_time(
    ui_client: UiClient, seeded: BrazeAccount
) -> None:
    page = await page_of(ui_client, "/deliveries")
    (row,) = dead_rows(page)
    assert BRAZE_REFUSAL in row["reason"]
    assert (row["workflow"], row["visitor"], row["user"]) == (
        "VIP by alias",
        "jv_cy",
        "alias:jv_cy",
    )
    assert row["died"].startswith(seeded.clock().strftime("%Y-%m-%d")) and row["died"].endswith(
        "UTC"
    )
    link = page.select_one('tr[data-delivery] a[href="/profiles/jv_cy"]')
    assert link is not None
    assert page.select_one(f'input[type=checkbox][name=ids][value="{row["id"]}"]') is not None
    assert page.select_one("form#replay-form")["data-confirm"]
    recent = [tr.select("td")[0].get_text(strip=True) for tr in page.select("#recent tbody tr")]
    assert sorted(recent) == ["email:ana@example.com", "email:cy@example.com"]


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("?reason=bad_subscription", 1),  # a part of the reason, any case
        ("?reason=timeout", 0),
        ("?workflow={vip}", 1),
        ("?workflow={lead}", 0),
        ("?since={today}&until={today}", 1),  # both days included
        ("?until={yesterday}", 0),
        ("?since={tomorrow}", 0),
        ("?workflow={vip}&reason=subscription&since={today}", 1),
    ],
)
async def test_filters_narrow_the_list(
    ui_client: UiClient, seeded: BrazeAccount, query: str, shown: int
) -> None:
    today = seeded.clock().date()
    url = "/deliveries" + query.format(
        vip=seeded.vip_id,
        lead=seeded.lead_id,
        today=today,
        yesterday=today - timedelta(days=1),
        tomorrow=today + timedelta(days=1),
    )
    page = await page_of(ui_client, url)
    assert len(dead_rows(page)) == shown
    if not shown:
        assert "No dead letter matches these filters." in page.get_text()
    form = page.select_one('form[method=get][action="/deliveries"]')
    assert form is not None and form.select_one("label[for=reason]") is not None


async def test_a_bad_filter_is_shown_next_to_its_field(
    ui_client: UiClient, seeded: BrazeAccount
) -> None:
    page = await page_of(ui_client, "/deliveries?since=2026-11-30&until=2026-11-01", status=400)
    error = page.select_one("#until-error")
    assert error is not None and "on or after the first day" in error.get_text()
    assert page.select_one("#until")["aria-invalid"] == "true"
    assert page.select_one("#until")["value"] == "2026-11-01"
    page = await page_of(ui_client, "/deliveries?since=yesterday", status=400)
    assert "must be a date like 2026-11-29" in page.select_one("#since-error").get_text()


async def test_replay_selected_requeues_it_and_says_so(
    ui_client: UiClient, ui_store: Store, seeded: BrazeAccount
) -> None:
    account_id = seeded.account.id
    (dead_id,) = await states(ui_store, account_id, "dead")
    r = await ui_client.post_form(
        "/deliveries/replay", {"ids": [str(dead_id)], "scope": "selected"}
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/deliveries"
    assert await states(ui_store, account_id, "dead") == []
    (job,) = await ui_store.deliveries.list_deliveries(account_id, state="pending")
    assert (job.id, job.attempts, job.finished_at) == (dead_id, 0, None)

    page = await page_of(ui_client, r.headers["location"])
    assert page.select_one(".notice").get_text(strip=True) == "1 delivery re-queued."
    assert dead_rows(page) == []

    await seeded.deliver()  # Braze still refuses the group: dead again, same reason
    assert await states(ui_store, account_id, "dead") == [dead_id]


async def test_replay_all_matching_requeues_every_match_and_keeps_the_filters(
    ui_client: UiClient, ui_store: Store, ui_clock: UiClock, seeded: BrazeAccount
) -> None:
    await seeded.ingest(ui_client.http, vip_leads(ui_clock(), 2))
    await seeded.deliver()
    account_id = seeded.account.id
    assert len(await states(ui_store, account_id, "dead")) == 3

    nothing = await ui_client.post_form(
        "/deliveries/replay", {"scope": "matching", "reason": "timeout"}
    )
    assert nothing.status_code == 303
    assert len(await states(ui_store, account_id, "dead")) == 3

    r = await ui_client.post_form(
        "/deliveries/replay",
        {"scope": "matching", "reason": "subscription", "workflow": seeded.vip_id},
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/deliveries?workflow={seeded.vip_id}&reason=subscription"
    page = await page_of(ui_client, r.headers["location"])
    assert page.select_one(".notice").get_text(strip=True) == "3 deliveries re-queued."
    assert await states(ui_store, account_id, "dead") == []
    assert len(await states(ui_store, account_id, "pending")) == 3


async def test_replay_without_csrf_is_refused_and_changes_nothing(
    ui_client: UiClient, ui_store: Store, seeded: BrazeAccount
) -> None:
    dead = await states(ui_store, seeded.account.id, "dead")
    for token in ({}, {"csrf_token": "not-the-token"}):
        r = await ui_client.http.post("/deliveries/replay", data={"scope": "matching", **token})
        assert r.status_code == 403
    assert await states(ui_store, seeded.account.id, "dead") == dead


async def test_replay_with_nothing_selected_asks_to_select(
    ui_client: UiClient, ui_store: Store, seeded: BrazeAccount
) -> None:
    r = await ui_client.post_form("/deliveries/replay", {"scope": "selected"})
    assert r.status_code == 400
    assert "Select at least one dead letter" in soup(r).select_one("#ids-error").get_text()
    assert soup(r).select_one("table#ids")["aria-describedby"] == "ids-error"
    listed = await page_of(ui_client, "/deliveries")
    assert listed.select_one("table#ids").get("aria-describedby") is None
    assert len(await states(ui_store, seeded.account.id, "dead")) == 1


async def test_another_account_neither_sees_nor_replays_them(
    other_client: UiClient, ui_store: Store, seeded: BrazeAccount
) -> None:
    (dead_id,) = await states(ui_store, seeded.account.id, "dead")
    page = await page_of(other_client, "/deliveries")
    assert dead_rows(page) == [] and page.select("#recent tbody tr") == []
    r = await other_client.post_form(
        "/deliveries/replay", {"ids": [str(dead_id)], "scope": "selected"}
    )
    assert r.status_code == 404
    r = await other_client.post_form("/deliveries/replay", {"scope": "matching"})
    assert r.status_code == 303  # "all" of theirs: none
    assert await states(ui_store, seeded.account.id, "dead") == [dead_id]
    assert (await other_client.get("/profiles/jv_cy")).status_code == 404
    assert "jv_cy" not in (await other_client.get("/profiles")).text


async def test_profile_search_by_email_or_visitor_id(
    ui_client: UiClient, seeded: BrazeAccount
) -> None:
    def visitors(page: BeautifulSoup) -> list[str]:
        return [th.get_text(strip=True) for th in page.select("#profiles tbody th")]

    assert sorted(visitors(await page_of(ui_client, "/profiles"))) == ["jv_ana", "jv_bob", "jv_cy"]
    assert visitors(await page_of(ui_client, "/profiles?q=+ANA@example.COM+")) == ["jv_ana"]
    assert visitors(await page_of(ui_client, "/profiles?q=jv_bob")) == ["jv_bob"]
    empty = await page_of(ui_client, "/profiles?q=nobody@example.com")
    assert visitors(empty) == []
    assert "No profile matches" in empty.select_one("#no-profiles").get_text()
    assert empty.select_one("input#q")["value"] == "nobody@example.com"


async def test_profile_page_shows_properties_events_consent_and_deliveries(
    ui_client: UiClient, seeded: BrazeAccount
) -> None:
    page = await page_of(ui_client, "/profiles/jv_ana")
    about = page.select_one("#about").get_text(" ", strip=True)
    assert "ana@example.com" in about and "Return visitor" in about
    props = {
        tr.th.get_text(strip=True): tr.td.get_text(strip=True)
        for tr in page.select("#properties tbody tr")
    }
    assert props["first_name"] == "Ana" and props["sms"] == "+16502530000"

    consent = {
        cells[1]: cells
        for cells in (
            [td.get_text(" ", strip=True) for td in tr.select("td")]
            for tr in page.select("#consent tbody tr")
        )
    }
    assert set(consent) == {"SMS", "Email"}  # the box ticked: SMS explicit; email implicit
    sms = consent["SMS"]
    assert sms[2:6] == [SMS_GROUP, "Subscribed", "explicit", "spring-popup"]
    assert sms[8:] == ["https://shop.example/spring-popup", "Lead capture v1"]
    assert consent["Email"][2:5] == [EMAIL_GROUP, "Subscribed", "implicit"]

    events = [tr.select("td")[1].get_text(strip=True) for tr in page.select("#events tbody tr")]
    assert sorted(events) == ["form submitted", "page view", "page view"]
    (delivery,) = [
        [td.get_text(" ", strip=True) for td in tr.select("td")]
        for tr in page.select("#deliveries tbody tr")
    ]
    assert delivery[:3] == ["Synced", "Lead capture v1", "email:ana@example.com"]

    # each table scrolls in its own wrapper on a phone, and every header cell has a scope
    tables = page.select("table")
    assert [t["id"] for t in tables] == ["properties", "consent", "deliveries", "events"]
    assert all("table-wrap" in t.parent["class"] for t in tables)
    assert all(th.get("scope") in ("col", "row") for t in tables for th in t.select("th"))
    assert [th.get_text() for th in page.select("#deliveries thead th")][3:5] == [
        "Braze's reason",
        "Attempts",
    ]


async def test_profile_page_shows_a_dead_delivery_and_escapes_what_visitors_typed(
    ui_client: UiClient, seeded: BrazeAccount
) -> None:
    r = await ui_client.get("/profiles/jv_cy")
    assert r.status_code == 200
    assert "<b>offers</b>" not in r.text and "&lt;b&gt;offers&lt;/b&gt;" in r.text
    states_shown = sorted(
        tr.select("td")[0].get_text(strip=True) for tr in soup(r).select("#deliveries tbody tr")
    )
    assert states_shown == ["Dead", "Synced"]
    assert BRAZE_REFUSAL in soup(r).select_one("#deliveries").get_text()


async def test_unknown_profile_is_404(ui_client: UiClient, seeded: BrazeAccount) -> None:
    for url in ("/profiles/nobody", "/profiles/" + "x" * 300):
        r = await ui_client.get(url)
        assert r.status_code == 404
        assert "text/html" in r.headers["content-type"]


async def test_signed_out_goes_to_sign_in(anon_client: httpx.AsyncClient) -> None:
    for url in ("/deliveries", "/profiles", "/profiles/jv_ana"):
        r = await anon_client.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
    r = await anon_client.post("/deliveries/replay", data={"scope": "matching"})
    assert r.status_code == 403


async def test_select_all_script_is_served_and_only_enhances(
    ui_client: UiClient, seeded: BrazeAccount
) -> None:
    page = await page_of(ui_client, "/deliveries")
    script = page.select_one('script[src*="deliveries.js"]')
    assert script is not None and page.select_one("#select-all") is None  # added by JS only
    js = await ui_client.get(str(script["src"]))
    assert js.status_code == 200 and "select-all" in js.text


async def test_older_dead_letters_are_a_page_away_with_the_filters_kept(
    ui_client: UiClient, ui_clock: UiClock, seeded: BrazeAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from justuno_braze.web.ui import deliveries

    await seeded.ingest(ui_client.http, vip_leads(ui_clock(), 2))
    await seeded.deliver()
    monkeypatch.setattr(deliveries, "PAGE_SIZE", 2)

    first = await page_of(ui_client, "/deliveries?reason=subscription")
    older = first.find("a", string="Older dead letters")
    assert older is not None and str(older["href"]).startswith("/deliveries?reason=subscription&")
    second = await page_of(ui_client, str(older["href"]))
    shown = [r["id"] for r in dead_rows(first)] + [r["id"] for r in dead_rows(second)]
    assert len(shown) == 3 and len(set(shown)) == 3
    assert second.find("a", string="Older dead letters") is None
    assert second.find("a", string="Newest")["href"] == "/deliveries?reason=subscription"
