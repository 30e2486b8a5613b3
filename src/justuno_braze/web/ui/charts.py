"""Server-made SVG charts of daily numbers (the dashboard's "over time" charts).

Why server-made: no chart library to vendor, nothing for the CSP to allow, and the chart
is there without JavaScript. :func:`svg` is a PURE function of a :class:`DailyChart` (no
clock, no locale, no I/O): the same chart always gives the same text, which the tests
read back as XML.

Accessibility: the ``<svg>`` is ``role="img"`` labelled by its ``<title>`` and described
by a text summary (:func:`summary`: totals and the busiest day, so a screen reader user
gets the gist without the picture); the page shows the same summary as a caption and
every number in a table (the template's job). Series differ by colour AND by dash
pattern, marker shape and a legend label, never by colour alone. Only presentation
attributes are used (no ``style=``): the UI's Content-Security-Policy forbids inline
styles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Literal

WIDTH = 560
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 36, 48  # room for tick labels, legend and axis titles
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
FONT_SIZE = 12
MAX_DAY_LABELS = 7  # a date label is ~45 units wide: 7 fit under the plot
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


@dataclass(frozen=True, slots=True)
class SeriesStyle:
    """How one series is drawn: colour plus a non-colour cue (dash pattern, marker)."""

    colour: str
    dash: str | None
    marker: Literal["circle", "square", "triangle"]


#: In series order; colours keep a contrast of 4.5:1 or more on white.
STYLES = (
    SeriesStyle("#1a7f37", None, "circle"),
    SeriesStyle("#8a5a00", "6 4", "square"),
    SeriesStyle("#c4141d", "2 3", "triangle"),
    SeriesStyle("#0b5cad", "10 3 2 3", "circle"),
)


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True, slots=True)
class DailyChart:
    """Numbers per UTC day: one series as bars, several as lines.

    ``unit`` names what a value counts (the y axis's title: ``profiles``); every series
    has one value per day of ``days``.
    """

    title: str
    unit: str
    days: tuple[date, ...]
    series: tuple[Series, ...]

    def __post_init__(self) -> None:
        if not self.series:
            raise ValueError("a chart needs at least one series")
        for s in self.series:
            if len(s.values) != len(self.days):
                raise ValueError(f"series {s.label!r} has {len(s.values)} values, not one a day")
            if any(v < 0 for v in s.values):
                raise ValueError(f"series {s.label!r} has a negative value")

    @property
    def kind(self) -> Literal["bars", "lines"]:
        return "bars" if len(self.series) == 1 else "lines"

    @property
    def highest(self) -> int:
        return max((max(s.values, default=0) for s in self.series), default=0)

    def rows(self) -> list[tuple[date, tuple[int, ...]]]:
        """The numbers as table rows: each day with one value per series."""
        return [(d, tuple(s.values[i] for s in self.series)) for i, d in enumerate(self.days)]


def long_date(day: date) -> str:
    """``27 Nov 2026`` (no locale: the chart is pure)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def full_number(n: int) -> str:
    """``1,234,567``: the table's and the summary's form."""
    return f"{n:,}"


def compact_number(n: int) -> str:
    """``1.23M``, ``2.5k``, ``40``: an axis label that fits in the margin."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.3g}{suffix}"
    return str(n)


def nice_top(highest: int) -> int:
    """The y axis's top: the smallest 1, 2 or 5 x 10^k that is at least ``highest``."""
    if highest <= 1:
        return 1
    scale: int = 10 ** (len(str(highest)) - 1)
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= highest)


def ticks(top: int) -> list[int]:
    """0 to ``top`` in at most 5 equal whole steps (1, 2 or 5 x 10^k; ``top`` is one of
    :func:`nice_top`'s, so the last tick is the top)."""
    step = next(s for s in _nice_steps() if top <= 5 * s)
    return list(range(0, top + 1, step))


def _nice_steps() -> Iterator[int]:
    scale = 1
    while True:
        yield from (scale, 2 * scale, 5 * scale)
        scale *= 10


def summary(chart: DailyChart) -> str:
    """One or two sentences a screen reader reads instead of the picture."""
    if not chart.days:
        return f"{chart.title}: no days to show."
    span = (
        long_date(chart.days[0])
        if len(chart.days) == 1
        else f"{long_date(chart.days[0])} to {long_date(chart.days[-1])}"
    )
    parts = [f"{chart.title}, {span}."]
    for s in chart.series:
        if s.total == 0:
            parts.append(f"{s.label}: none.")
            continue
        best = max(range(len(s.values)), key=lambda i: (s.values[i], -i))
        parts.append(
            f"{s.label}: {full_number(s.total)} in total, at most "
            f"{full_number(s.values[best])} on {long_date(chart.days[best])}."
        )
    return " ".join(parts)


def svg(chart: DailyChart, *, element_id: str) -> str:
    """The chart as an inline ``<svg>`` element; every text in it is escaped.

    ``element_id`` (lowercase letters, digits, ``-``) makes the ids of its title and
    description unique on the page.
    """
    if not _ID.match(element_id):
        raise ValueError("element_id: lowercase letters, digits and '-', starting with a letter")
    top = nice_top(chart.highest)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{element_id}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" focusable="false" '
        f'aria-labelledby="{element_id}-title {element_id}-desc" '
        f'font-size="{FONT_SIZE}" fill="currentColor">',
        f'<title id="{element_id}-title">{_text(chart.title)}</title>',
        f'<desc id="{element_id}-desc">{_text(summary(chart))}</desc>',
        *_axes(chart, top),
    ]
    if not chart.days or chart.highest == 0:
        parts.append(
            f'<text x="{LEFT + PLOT_W / 2:g}" y="{TOP + PLOT_H / 2:g}" '
            f'text-anchor="middle">No activity in this period</text>'
        )
    if chart.days:
        parts += _bars(chart, top) if chart.kind == "bars" else _lines(chart, top)
    if chart.kind == "lines":
        parts += _legend(chart.series)
    parts.append("</svg>")
    return "".join(parts)


def _text(value: str) -> str:
    return escape(value, quote=True)


def _x(chart: DailyChart, index: int) -> float:
    """The centre of day ``index``'s slot."""
    slot = PLOT_W / len(chart.days)
    return LEFT + slot * (index + 0.5)


def _y(value: int, top: int) -> float:
    return TOP + PLOT_H - PLOT_H * value / top


def _axes(chart: DailyChart, top: int) -> list[str]:
    baseline = TOP + PLOT_H
    out = [
        '<g stroke="currentColor" stroke-opacity="0.25">'
        + "".join(
            f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{_y(t, top):g}" y2="{_y(t, top):g}"/>'
            for t in ticks(top)
            if t
        )
        + "</g>",
        f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{baseline}" y2="{baseline}" '
        f'stroke="currentColor"/>',
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{baseline}" stroke="currentColor"/>',
    ]
    out += [
        f'<text x="{LEFT - 6}" y="{_y(t, top) + 4:g}" text-anchor="end">{compact_number(t)}</text>'
        for t in ticks(top)
    ]
    out += [
        f'<text x="{_x(chart, i):g}" y="{baseline + 16}" text-anchor="middle">'
        f"{short_date(chart.days[i])}</text>"
        for i in _labelled_days(len(chart.days))
    ]
    out.append(
        f'<text x="{LEFT + PLOT_W / 2:g}" y="{HEIGHT - 8}" text-anchor="middle">Day (UTC)</text>'
    )
    middle = TOP + PLOT_H / 2
    out.append(
        f'<text x="14" y="{middle:g}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle:g})">{_text(chart.unit.capitalize())}</text>'
    )
    return out


def _labelled_days(count: int) -> list[int]:
    """Which days get a date under the axis: all of a short series, else five evenly
    spaced ones from the first to the last (they would overlap)."""
    if count <= MAX_DAY_LABELS:
        return list(range(count))
    return sorted({round(i * (count - 1) / 4) for i in range(5)})


def _bars(chart: DailyChart, top: int) -> list[str]:
    (series,) = chart.series
    style = STYLES[0]
    slot = PLOT_W / len(chart.days)
    width = max(slot * 0.7, 1.0)
    out = [f'<g fill="{style.colour}">']
    for i, value in enumerate(series.values):
        if value == 0:
            continue
        y = _y(value, top)
        height = max(TOP + PLOT_H - y, 1.0)  # a small value stays visible
        out.append(
            f'<rect x="{_x(chart, i) - width / 2:.2f}" y="{TOP + PLOT_H - height:.2f}" '
            f'width="{width:.2f}" height="{height:.2f}"/>'
        )
    out.append("</g>")
    return out


def _lines(chart: DailyChart, top: int) -> list[str]:
    out: list[str] = []
    for n, series in enumerate(chart.series):
        style = STYLES[n % len(STYLES)]
        points = [(_x(chart, i), _y(v, top)) for i, v in enumerate(series.values)]
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        out.append(f'<g stroke="{style.colour}" fill="{style.colour}">')
        if len(points) > 1:
            coords = " ".join(f"{x:.2f},{y:.2f}" for x, y in points)
            out.append(f'<polyline points="{coords}" fill="none" stroke-width="2"{dash}/>')
        out += [_marker(style.marker, x, y) for x, y in points]
        out.append("</g>")
    return out


def _marker(shape: str, x: float, y: float, size: float = 3.0) -> str:
    if shape == "square":
        return (
            f'<rect x="{x - size:.2f}" y="{y - size:.2f}" '
            f'width="{2 * size:g}" height="{2 * size:g}"/>'
        )
    if shape == "triangle":
        return (
            f'<path d="M{x:.2f} {y - size - 1:.2f} L{x + size + 1:.2f} {y + size:.2f} '
            f'L{x - size - 1:.2f} {y + size:.2f} Z"/>'
        )
    return f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{size:g}"/>'


def _legend(series: Sequence[Series]) -> list[str]:
    """The series' names above the plot, each next to a sample of its line and marker."""
    out: list[str] = []
    x = float(LEFT)
    y = TOP - 18
    for n, s in enumerate(series):
        style = STYLES[n % len(STYLES)]
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        out.append(
            f'<g stroke="{style.colour}" fill="{style.colour}">'
            f'<line x1="{x:g}" x2="{x + 24:g}" y1="{y:g}" y2="{y:g}" stroke-width="2"{dash}/>'
            f"{_marker(style.marker, x + 12, y)}</g>"
            f'<text x="{x + 30:g}" y="{y + 4:g}">{_text(s.label)}</text>'
        )
        x += 30 + 8 * len(s.label) + 24
    return out
