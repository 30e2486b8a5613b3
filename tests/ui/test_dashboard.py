"""The dashboard as a marketer sees it: tiles, charts (with their numbers in a table),
Braze connection health and the queue, for the signed-in account only, changing as
events are ingested through the REST API and delivered by the worker to a sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from bs4 import BeautifulSoup, Tag

from justuno_braze.store import Store
from justuno_braze.web.ui.dashboard import calendar, chosen_days, window_for
from tests.ui.conftest import UiClient, UiClock, UiUser, soup
from tests.ui.lead_world import BrazeAccount, leads

ConnectBraze = Callable[[UiUser], Awaitable[BrazeAccount]]


def tiles(page: BeautifulSoup) -> dict[str, str]:
    return {
        str(t["data-tile"]): t.select_one(".stat-value").get_text(strip=True)
        for t in page.select("[data-tile]")
    }


def chart_rows(page: BeautifulSoup, title: str) -> dict[str, list[str]]:
    """The numbers table of the chart titled ``title``: {day: [values]} (non-zero days)."""
    svg = next(s for s in page.select("figure svg") if s.title and s.title.string == title)
    figure = svg.find_parent("figure")
    assert isinstance(figure, Tag)
    rows = {}
    for tr in figure.select("details tbody tr"):
        values = [td.get_text(strip=True) for td in tr.select("td")]
        if any(v != "0" for v in values):
            rows[tr.th.get_text(strip=True)] = values
    return rows


def queue(page: BeautifulSoup) -> tuple[str, str, str]:
    return tuple(
        page.select_one(f"#queue-{n}").get_text(strip=True)
        for n in ("waiting", "in-flight", "dead")
    )


async def dashboard(client: UiClient, query: str = "") -> BeautifulSoup:
    r = await client.get(f"/dashboard{query}")
    assert r.status_code == 200, r.text
    return soup(r)


async def test_signed_out_goes_to_sign_in(anon_client: httpx.AsyncClient) -> None:
    r = await anon_client.get("/dashboard?days=7")
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=/dashboard%3Fdays%3D7"


async def test_an_empty_account_shows_zeros_no_data_and_how_to_connect(
    ui_client: UiClient,
) -> None:
    page = await dashboard(ui_client)
    assert tiles(page) == {
        "Profiles created": "0",
        "Return-visitor rate": "No data",
        "Pages per session": "No data",
        "Synced": "0",
        "Skipped": "0",
        "Dead": "0",
    }
    assert queue(page) == ("0", "0", "0")
    health = page.select_one("#health-heading").find_parent("section")
    assert "Not connected" in health.get_text()
    assert health.select_one('a[href="/apps/braze"]').get_text() == "Connect Braze"
    charts = page.select("figure svg[role=img]")
    assert [c.title.string for c in charts] == [
        "Profiles created per day",
        "Deliveries per day",
    ]
    assert all("No activity in this period" in c.get_text() for c in charts)
    select = page.select_one("select#days")
    assert page.select_one('label[for="days"]') is not None
    assert select.select_one("option[selected]")["value"] == "30"


async def test_counts_change_after_ingesting_and_delivering(
    ui_client: UiClient,
    other_client: UiClient,
    ui_store: Store,
    ui_clock: UiClock,
    acme: UiUser,
    other: UiUser,
    connect_braze: ConnectBraze,
) -> None:
    world, other_world = await connect_braze(acme), await connect_braze(other)
    before = await dashboard(ui_client, "?days=7")
    assert tiles(before)["Profiles created"] == "0"

    await world.ingest(ui_client.http, leads(ui_clock()))
    page = await dashboard(ui_client, "?days=7")
    assert tiles(page) == {
        "Profiles created": "3",
        "Return-visitor rate": "33%",  # ana came back: 1 of 3
        "Pages per session": "0.5",  # 2 page views in 4 sessions
        "Synced": "0",
        "Skipped": "3",  # lead capture: bob has no contact; VIP: ana and bob not enrolled
        "Dead": "0",
    }
    assert queue(page) == ("3", "0", "0")  # ana + cy (lead), cy (VIP): waiting for Braze
    today = ui_clock().date().isoformat()
    assert chart_rows(page, "Profiles created per day") == {today: ["3"]}

    await world.deliver()
    page = await dashboard(ui_client, "?days=7")
    numbers = tiles(page)
    assert (numbers["Synced"], numbers["Dead"]) == ("2", "1")
    assert queue(page) == ("0", "0", "1")
    deliveries = chart_rows(page, "Deliveries per day")
    assert deliveries[today][0] == "2" and deliveries[today][2] == "1"  # synced, -, dead
    by_workflow = {
        tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.select("td")]
        for tr in page.select("#workflows-heading ~ div tbody tr")
    }
    assert by_workflow["Lead capture"][:3] == ["2", "1", "0"]
    assert by_workflow["VIP by alias"][2] == "1"
    assert "no identifier: 1" in by_workflow["Lead capture"][3]
    health = page.select_one("#health-heading").find_parent("section")
    assert "OK" in health.get_text() and "Failing" not in health.get_text()

    # the same numbers as the REST API's summary over the same days
    api_token, _ = await ui_store.tokens.create(acme.account.id, "api", "ui test")
    since = window_for(7, ui_clock()).since.date().isoformat()
    r = await ui_client.http.get(
        f"/api/v1/accounts/acme/analytics/summary?since={since}",
        headers={"Authorization": f"Bearer {api_token}"},
    )
    api = r.json()
    assert [str(api[k]) for k in ("profiles_created", "synced", "skipped", "dead")] == [
        numbers[k] for k in ("Profiles created", "Synced", "Skipped", "Dead")
    ]

    # the other account connected the same sandbox but ingested nothing: none of it shows
    theirs = await dashboard(other_client, "?days=7")
    assert tiles(theirs)["Profiles created"] == "0"
    assert (tiles(theirs)["Synced"], tiles(theirs)["Dead"]) == ("0", "0")
    assert queue(theirs) == ("0", "0", "0")
    assert other_world.account.name not in page.get_text()


async def test_a_failing_connection_shows_the_reason_and_where_to_fix_it(
    ui_client: UiClient, ui_store: Store, acme: UiUser, connect_braze: ConnectBraze
) -> None:
    world = await connect_braze(acme)
    await ui_store.connections.set_status(
        world.world.connection_id, "failing", "Braze refused the API key (401)"
    )
    page = await dashboard(ui_client)
    health = page.select_one("#health-heading").find_parent("section")
    text = " ".join(health.get_text().split())
    assert "Failing Braze refused the API key (401)" in text
    assert health.select_one('a[href="/apps/braze"]') is not None


async def test_the_period_select_keeps_the_choice_and_the_chart_has_one_bar_a_day(
    ui_client: UiClient,
) -> None:
    for query, days in (("?days=7", "7"), ("?days=90", "90"), ("?days=13", "30"), ("", "30")):
        page = await dashboard(ui_client, query)
        assert page.select_one("select#days option[selected]")["value"] == days
        (first, *_) = page.select("figure")
        assert len(first.select("details tbody tr")) == int(days)


def test_the_window_is_whole_utc_days_ending_now() -> None:
    now = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
    window = window_for(7, now)
    assert (window.since, window.until) == (datetime(2026, 11, 23, tzinfo=UTC), now)
    assert [d.isoformat() for d in calendar(window)][::6] == ["2026-11-23", "2026-11-29"]
    assert len(calendar(window)) == 7
    assert [chosen_days(t) for t in ("7", "30", "90", "1", "x", None, "07")] == [
        7, 30, 90, 30, 30, 30, 30,
    ]  # fmt: skip


async def test_the_dashboard_stylesheet_is_served_from_our_origin(ui_client: UiClient) -> None:
    page = await dashboard(ui_client)
    link = page.select_one('link[rel=stylesheet][href*="dashboard.css"]')
    assert link is not None and str(link["href"]).startswith("/ui/static/")
    css = await ui_client.get(str(link["href"]))
    assert css.status_code == 200 and ".tiles" in css.text
