"""The dashboard (``GET /dashboard?days=7|30|90``): what Justuno's dashboard shows, for
the signed-in user's account.

Tiles (profiles created, return-visitor rate, pages per session, synced / skipped /
dead) and the per-workflow table come from ``services.analytics.summary``, the charts
from ``services.analytics.daily`` — the same numbers as ``GET …/analytics/summary`` and
``…/daily`` over the same range. Braze connection health is ``services.apps``' view of
the connections; the queue is ``services.queue``.

The window is whole UTC days: ``days=7`` is today and the six days before (from
midnight UTC, until now), so a chart has exactly ``days`` bars and today is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from justuno_braze.services import analytics
from justuno_braze.services.apps import list_connections
from justuno_braze.services.queue import queue_depth
from justuno_braze.services.time_range import TimeRange
from justuno_braze.web.auth import NowDep, StoreDep
from justuno_braze.web.ui import charts
from justuno_braze.web.ui.render import page
from justuno_braze.web.ui.session import SignedIn
from justuno_braze.web.ui.workflow_names import workflow_label, workflow_names

router = APIRouter(include_in_schema=False)

DAY_CHOICES = (7, 30, 90)
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Tile:
    label: str
    value: str
    hint: str


@dataclass(frozen=True, slots=True)
class ChartView:
    """A chart as the page shows it: the SVG, its summary, and its numbers as a table."""

    chart: charts.DailyChart
    svg: Markup
    summary: str


def chosen_days(text: str | None) -> int:
    """``days`` from the query; anything but 7, 30 or 90 is the default (a stale or
    hand-made link still shows a dashboard)."""
    return int(text) if text in {str(d) for d in DAY_CHOICES} else DEFAULT_DAYS


def window_for(days: int, now: datetime) -> TimeRange:
    """Today (UTC, until ``now``) and the ``days - 1`` whole days before it."""
    today = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    return TimeRange.of(today - timedelta(days=days - 1), now)


def calendar(window: TimeRange) -> tuple[date, ...]:
    """Every UTC day of the window, oldest first (the charts' x axis)."""
    first, last = window.since.date(), window.until.date()
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


def percent(value: float | None) -> str:
    return "No data" if value is None else f"{value * 100:.0f}%"


def decimal(value: float | None) -> str:
    return "No data" if value is None else f"{value:.1f}"


def tiles(s: analytics.Summary) -> list[Tile]:
    p = s.profiles
    return [
        Tile("Profiles created", charts.full_number(p.profiles_created), "new visitors stored"),
        Tile(
            "Return-visitor rate",
            percent(p.return_visitor_rate),
            f"{charts.full_number(p.returning_visitors)} came back for a 2nd session",
        ),
        Tile(
            "Pages per session",
            decimal(p.pages_per_session),
            f"{charts.full_number(p.page_views)} page views in "
            f"{charts.full_number(p.sessions)} sessions",
        ),
        Tile("Synced", charts.full_number(s.synced), "deliveries Braze accepted"),
        Tile("Skipped", charts.full_number(s.skipped), "events with nothing to send"),
        Tile("Dead", charts.full_number(s.dead), "deliveries Braze refused for good"),
    ]


def day_charts(days: list[analytics.Day], axis: tuple[date, ...]) -> list[charts.DailyChart]:
    """Profiles created per day, and synced / skipped / dead per day (all workflows);
    days without activity are 0."""
    by_day = {d.day: d for d in days}
    created = []
    counts: dict[str, list[int]] = {"Synced": [], "Skipped": [], "Dead": []}
    for day in axis:
        found = by_day.get(day)
        created.append(found.profiles.profiles_created if found else 0)
        flows = found.workflows if found else []
        counts["Synced"].append(sum(w.synced for w in flows))
        counts["Skipped"].append(sum(w.skipped for w in flows))
        counts["Dead"].append(sum(w.dead for w in flows))
    return [
        charts.DailyChart(
            "Profiles created per day",
            "profiles",
            axis,
            (charts.Series("Created", tuple(created)),),
        ),
        charts.DailyChart(
            "Deliveries per day",
            "deliveries",
            axis,
            tuple(charts.Series(label, tuple(values)) for label, values in counts.items()),
        ),
    ]


def chart_view(chart: charts.DailyChart, element_id: str) -> ChartView:
    svg = charts.svg(chart, element_id=element_id)
    # charts.svg escapes every text it writes (tests/unit/test_charts.py): safe markup.
    return ChartView(chart, Markup(svg), charts.summary(chart))  # noqa: S704


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request, ui: SignedIn, store: StoreDep, now: NowDep, days: str | None = None
) -> HTMLResponse:
    account = ui.account
    chosen = chosen_days(days)
    window = window_for(chosen, now)
    summary = await analytics.summary(store, account.id, window)
    daily = await analytics.daily(store, account.id, window)
    names = await workflow_names(store, account)
    return page(
        request,
        "dashboard/index.html",
        ui,
        days=chosen,
        day_options=[(str(d), f"Last {d} days", False) for d in DAY_CHOICES],
        window=window,
        last_day=window.until.date(),
        tiles=tiles(summary),
        charts=[
            chart_view(chart, f"chart-{n}")
            for n, chart in enumerate(day_charts(daily, calendar(window)), start=1)
        ],
        workflows=[(workflow_label(names, w.workflow_id), w) for w in summary.workflows],
        connections=await list_connections(store, account),
        queue=await queue_depth(store, account.id),
        long_date=charts.long_date,
    )
