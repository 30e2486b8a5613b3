"""The dashboard's SVG charts: well-formed, accessible (role, title, description), the
numbers where they should be, texts escaped, and sane with no data, one day or big numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from justuno_braze.web.ui.charts import (
    BOTTOM,
    HEIGHT,
    LEFT,
    PLOT_W,
    TOP,
    DailyChart,
    Series,
    compact_number,
    nice_top,
    summary,
    svg,
    ticks,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
D = date(2026, 11, 27)


def days(n: int) -> tuple[date, ...]:
    return tuple(D + timedelta(days=i) for i in range(n))


def parse(chart: DailyChart, element_id: str = "chart") -> ET.Element:
    return ET.fromstring(svg(chart, element_id=element_id))


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iterfind(".//svg:text", NS)]


def test_bars_are_labelled_and_their_heights_follow_the_values() -> None:
    chart = DailyChart("Profiles created", "profiles", days(3), (Series("Created", (2, 0, 4)),))
    root = parse(chart, "profiles-chart")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "profiles-chart-title profiles-chart-desc"
    assert root.findtext("svg:title", namespaces=NS) == "Profiles created"
    assert root.findtext("svg:desc", namespaces=NS) == summary(chart)
    bars = root.findall(".//svg:rect", NS)
    assert len(bars) == 2  # the day with 0 has no bar
    heights = [float(b.get("height", "0")) for b in bars]
    assert heights[1] == pytest.approx(2 * heights[0])  # 4 vs 2 on a 0-5 axis
    shown = texts(root)
    assert [t for t in shown if t.endswith("Nov")] == ["27 Nov", "28 Nov", "29 Nov"]
    assert "Day (UTC)" in shown and "Profiles" in shown
    assert {"0", "1", "2", "3", "4", "5"} <= set(shown)  # the y axis's ticks


def test_summary_gives_totals_and_the_busiest_day() -> None:
    chart = DailyChart(
        "Deliveries",
        "deliveries",
        days(3),
        (Series("Synced", (1, 5, 5)), Series("Dead", (0, 0, 0))),
    )
    assert summary(chart) == (
        "Deliveries, 27 Nov 2026 to 29 Nov 2026. "
        "Synced: 11 in total, at most 5 on 28 Nov 2026. Dead: none."
    )


def test_several_series_are_lines_told_apart_without_colour() -> None:
    chart = DailyChart(
        "Deliveries",
        "deliveries",
        days(4),
        (Series("Synced", (1, 2, 3, 4)), Series("Skipped", (0, 1, 0, 1)), Series("Dead", (0,) * 4)),
    )
    root = parse(chart)
    lines = root.findall(".//svg:polyline", NS)
    assert len(lines) == 3
    dashes = [line.get("stroke-dasharray") for line in lines]
    assert len(set(dashes)) == 3  # solid, dashed, dotted
    assert {"Synced", "Skipped", "Dead"} <= set(texts(root))  # a legend names each one
    markers = [g[-1].tag.split("}")[1] for g in root.findall("svg:g[@stroke]", NS)[-3:]]
    assert len(set(markers)) == 3  # a different marker shape per series


def test_no_days_is_an_empty_chart_that_says_so() -> None:
    chart = DailyChart("Profiles created", "profiles", (), (Series("Created", ()),))
    root = parse(chart)
    assert "No activity in this period" in texts(root)
    assert root.findall(".//svg:rect", NS) == []
    assert summary(chart) == "Profiles created: no days to show."
    assert chart.rows() == []


def test_all_zero_days_keep_an_axis_and_say_no_activity() -> None:
    chart = DailyChart("Profiles created", "profiles", days(7), (Series("Created", (0,) * 7),))
    root = parse(chart)
    assert "No activity in this period" in texts(root)
    assert {"0", "1"} <= set(texts(root))
    assert summary(chart).endswith("Created: none.")


def test_a_single_day_is_one_centred_bar_or_one_marker() -> None:
    bars = parse(DailyChart("P", "profiles", days(1), (Series("Created", (3,)),)))
    (bar,) = bars.findall(".//svg:rect", NS)
    centre = float(bar.get("x", "0")) + float(bar.get("width", "0")) / 2
    assert centre == pytest.approx(LEFT + PLOT_W / 2)
    lines = parse(DailyChart("D", "deliveries", days(1), (Series("A", (3,)), Series("B", (1,)))))
    assert lines.findall(".//svg:polyline", NS) == []  # one point: no line, but a marker
    assert len(lines.findall(".//svg:circle", NS)) == 2  # the point and the legend sample


def test_large_values_get_compact_axis_labels_and_stay_inside_the_plot() -> None:
    values = (1_234_567, 999, 2_500_000)
    root = parse(DailyChart("Big", "deliveries", days(3), (Series("Synced", values),)))
    assert nice_top(2_500_000) == 5_000_000
    assert {"0", "1M", "2M", "5M"} <= set(texts(root))
    for bar in root.findall(".//svg:rect", NS):
        assert TOP <= float(bar.get("y", "0")) <= HEIGHT - BOTTOM
    chart = DailyChart("Big", "deliveries", days(3), (Series("Synced", values),))
    assert "3,735,566 in total, at most 2,500,000 on 29 Nov 2026" in summary(chart)


def test_labels_are_escaped() -> None:
    evil = '<script>alert("x")</script> & co'
    chart = DailyChart(evil, evil, days(2), (Series(evil, (1, 2)), Series("ok", (0, 1))))
    text = svg(chart, element_id="c1")
    assert "<script>" not in text
    root = ET.fromstring(text)  # still well-formed
    assert root.findtext("svg:title", namespaces=NS) == evil
    assert evil in texts(root)


@pytest.mark.parametrize("bad", ["", "1abc", 'x" onload="y', "UPPER"])
def test_element_ids_are_checked(bad: str) -> None:
    chart = DailyChart("P", "profiles", days(1), (Series("Created", (1,)),))
    with pytest.raises(ValueError, match="element_id"):
        svg(chart, element_id=bad)


def test_series_must_have_one_value_a_day() -> None:
    with pytest.raises(ValueError, match="not one a day"):
        DailyChart("P", "profiles", days(2), (Series("Created", (1,)),))
    with pytest.raises(ValueError, match="negative"):
        DailyChart("P", "profiles", days(1), (Series("Created", (-1,)),))


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0"), (999, "999"), (1000, "1k"), (2500, "2.5k"), (1_234_567, "1.23M")]
)
def test_compact_numbers(n: int, text: str) -> None:
    assert compact_number(n) == text


@pytest.mark.parametrize(("highest", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20)])
def test_nice_top(highest: int, top: int) -> None:
    assert nice_top(highest) == top


@pytest.mark.parametrize(
    ("top", "expected"),
    [(1, [0, 1]), (2, [0, 1, 2]), (5, [0, 1, 2, 3, 4, 5]), (20, [0, 5, 10, 15, 20])],
)
def test_ticks_are_whole_even_steps_up_to_the_top(top: int, expected: list[int]) -> None:
    assert ticks(top) == expected
    assert len(ticks(5_000_000)) == 6


def test_long_series_label_five_days_short_ones_every_day() -> None:
    def dates(n: int) -> list[str]:
        root = parse(DailyChart("P", "profiles", days(n), (Series("Created", (1,) * n),)))
        return [t for t in texts(root) if t[:1].isdigit() and " " in t]

    assert dates(7) == [f"{27 + i} Nov" if i < 4 else f"{i - 3} Dec" for i in range(7)]
    assert dates(90)[0] == "27 Nov" and len(dates(90)) == 5
