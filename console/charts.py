"""Charts of the analytics page as SVG markup drawn on the server: the console runs no script
(its Content-Security-Policy has ``script-src 'none'``) and allows no inline style, so colours
are SVG presentation attributes, with a class per series for static/console.css to override.

Every function returns a complete ``<svg>`` element as a string for a template to insert
unescaped (``|safe``): every text that goes in (title, labels, series names) is escaped here.
The chart's ``<title>`` names it for screen readers and each bar and point carries its own
``<title>`` with its label and value (a tooltip too); the page shows the same figures in a table
beside the chart. The output depends on the arguments only, so tests compare it.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape, quoteattr

WIDTH = 640
HEIGHT = 260
# Room for the axis labels on the left, the legend above and the day labels below.
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 36
# At most this many labels under the x axis; the others are in each bar's title.
MAX_X_LABELS = 12
TICKS = 4
# Colour-blind-safe (Okabe–Ito) colours, one per series in order, repeated after the last.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

Number = float
Series = Tuple[str, Sequence[Optional[Number]]]


def _n(value: float) -> str:
    """A coordinate with one decimal, so that the markup does not depend on float noise."""
    return f"{value:.1f}"


def _figure(value: Optional[float], percent: bool) -> str:
    if value is None:
        return "—"
    if percent:
        return f"{value * 100:.1f}%"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _nice_maximum(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _count_maximum(value: float) -> float:
    """The top of a count axis: TICKS grid steps of a whole 1, 2 or 5 times a power of ten, so
    that every grid line is a whole number (with a top of 1 or 5 the lines would fall on 0.25
    or 1.25, which the axis shows rounded as 0.2 and 1.2)."""
    return TICKS * max(1.0, _nice_maximum(value / TICKS))


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _open(title: str, kind: str) -> List[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class={quoteattr("chart chart-" + kind)} '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
    ]


def _axes(maximum: float, percent: bool) -> List[str]:
    """Horizontal grid lines with their values, and the x axis."""
    parts = ['<g class="axis">']
    plot_height = HEIGHT - TOP - BOTTOM
    for tick in range(TICKS + 1):
        value = maximum * tick / TICKS
        y = TOP + plot_height * (1 - tick / TICKS)
        parts.append(f'<line x1="{LEFT}" y1="{_n(y)}" x2="{WIDTH - RIGHT}" y2="{_n(y)}" stroke="#cccccc"/>')
        parts.append(
            f'<text x="{LEFT - 4}" y="{_n(y + 4)}" text-anchor="end" font-size="11">'
            f"{escape(_figure(value, percent))}</text>"
        )
    parts.append("</g>")
    return parts


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> List[str]:
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    parts = ['<g class="x-labels">']
    for index, (label, x) in enumerate(zip(labels, centres)):
        if index % every == 0:
            parts.append(
                f'<text x="{_n(x)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11">'
                f"{escape(label)}</text>"
            )
    parts.append("</g>")
    return parts


def _legend(names: Sequence[str]) -> List[str]:
    parts = ['<g class="legend">']
    x = float(LEFT)
    for index, name in enumerate(names):
        parts.append(f'<rect x="{_n(x)}" y="8" width="10" height="10" fill="{_colour(index)}" class="series-{index}"/>')
        parts.append(f'<text x="{_n(x + 14)}" y="17" font-size="11">{escape(name)}</text>')
        # Japanese names are about one em (11 px) a character wide.
        x += 24 + 11 * len(name)
    parts.append("</g>")
    return parts


def _slots(count: int) -> Tuple[float, List[float]]:
    """The width of one category's slot and the x of each slot's centre."""
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return slot, [LEFT + slot * (index + 0.5) for index in range(count)]


def _y(value: float, maximum: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / maximum)


def bar_chart(bars: Sequence[Tuple[str, Number]], title: str, percent: bool = False) -> str:
    """One bar per (label, value): conversations per day, cases per eligibility outcome."""
    peak = max((value for _, value in bars), default=0)
    maximum = _nice_maximum(peak) if percent else _count_maximum(peak)
    slot, centres = _slots(len(bars))
    parts = _open(title, "bar") + _axes(maximum, percent) + ['<g class="bars">']
    for (label, value), centre in zip(bars, centres):
        top = _y(value, maximum)
        parts.append(
            f'<rect class="bar series-0" x="{_n(centre - slot * 0.35)}" y="{_n(top)}" width="{_n(slot * 0.7)}" '
            f'height="{_n(HEIGHT - BOTTOM - top)}" fill="{_colour(0)}">'
            f"<title>{escape(f'{label}: {_figure(value, percent)}')}</title></rect>"
        )
    parts.append("</g>")
    parts += _x_labels([label for label, _ in bars], centres) + ["</svg>"]
    return "\n".join(parts)


def stacked_bars(labels: Sequence[str], series: Sequence[Series], title: str) -> str:
    """One bar per label, stacked from each series' value at that label (the trouble-type mix
    per day: one series per trouble type). Missing values count as 0."""
    totals = [sum(values[i] or 0 for _, values in series if i < len(values)) for i in range(len(labels))]
    maximum = _count_maximum(max(totals, default=0))
    slot, centres = _slots(len(labels))
    parts = _open(title, "stacked") + _legend([name for name, _ in series]) + _axes(maximum, False)
    parts.append('<g class="bars">')
    for index, (label, centre) in enumerate(zip(labels, centres)):
        base = 0.0
        for number, (name, values) in enumerate(series):
            value = (values[index] if index < len(values) else None) or 0
            if value <= 0:
                continue
            top, bottom = _y(base + value, maximum), _y(base, maximum)
            parts.append(
                f'<rect class="bar series-{number}" x="{_n(centre - slot * 0.35)}" y="{_n(top)}" '
                f'width="{_n(slot * 0.7)}" height="{_n(bottom - top)}" fill="{_colour(number)}">'
                f"<title>{escape(f'{label} {name}: {_figure(value, False)}')}</title></rect>"
            )
            base += value
    parts.append("</g>")
    parts += _x_labels(labels, centres) + ["</svg>"]
    return "\n".join(parts)


def line_chart(
    labels: Sequence[str], series: Sequence[Series], title: str, percent: bool = True, maximum: Optional[float] = None
) -> str:
    """One line per series over the labels (rates per day: handoff, containment, fallback).
    A None value (no conversations that day) breaks the line instead of drawing a zero.
    Rates are drawn against 0–100 % unless ``maximum`` is given; counts against a rounded
    maximum of their values."""
    if maximum is None:
        peak = max((v for _, values in series for v in values if v is not None), default=0)
        maximum = 1.0 if percent and peak <= 1 else _nice_maximum(peak)
    _, centres = _slots(len(labels))
    parts = _open(title, "line") + _legend([name for name, _ in series]) + _axes(maximum, percent)
    for number, (name, values) in enumerate(series):
        parts.append(f'<g class="line series-{number}">')
        runs: List[List[str]] = [[]]
        points = []
        for index, centre in enumerate(centres):
            value = values[index] if index < len(values) else None
            if value is None:
                runs.append([])
                continue
            y = _y(min(value, maximum), maximum)
            runs[-1].append(f"{_n(centre)},{_n(y)}")
            points.append(
                f'<circle cx="{_n(centre)}" cy="{_n(y)}" r="3" fill="{_colour(number)}">'
                f"<title>{escape(f'{labels[index]} {name}: {_figure(value, percent)}')}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{_colour(number)}" stroke-width="2"/>'
                )
        parts += points + ["</g>"]
    parts += _x_labels(labels, centres) + ["</svg>"]
    return "\n".join(parts)
