"""Pure statistics and formatting of the benchmark: percentiles, ratios, the message sample and
the Markdown table. No I/O, so that tests/test_bench_stats.py can check every figure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, TypeVar

T = TypeVar("T")

# Same definition as scripts/evaluate_nlu.py and scripts/bench_articles.py (nearest rank on the
# sorted samples), so that every figure of `make bench` is comparable.


def percentile(samples: Sequence[float], share: float) -> float:
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, not {share}")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summarise(samples: Sequence[float]) -> Dict[str, Optional[float]]:
    """Count, p50, p95, mean and max; the figures are None when there is no sample, so that a
    phase where every turn failed shows as missing instead of as zero."""
    if not samples:
        return {"n": 0, "p50": None, "p95": None, "mean": None, "max": None}
    return {
        "n": len(samples),
        "p50": percentile(samples, 0.50),
        "p95": percentile(samples, 0.95),
        "mean": math.fsum(samples) / len(samples),
        "max": max(samples),
    }


def rate(count: int, seconds: float) -> Optional[float]:
    """Events per second; None when nothing was timed."""
    if count < 0:
        raise ValueError(f"count must not be negative, not {count}")
    return count / seconds if seconds > 0 else None


def ratio(ours: Optional[float], plain: Optional[float]) -> Optional[float]:
    """ours / plain, or None when either is missing or plain is zero."""
    if ours is None or plain is None or plain == 0:
        return None
    return ours / plain


def fixed_sample(items: Sequence[T], count: int) -> List[T]:
    """Exactly ``count`` items, the same on every run: evenly spread over ``items`` when there
    are enough (so that every intent of a file sorted by intent is represented), otherwise
    ``items`` repeated in order."""
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    if not items:
        raise ValueError("no items to sample from")
    if len(items) >= count:
        return [items[index * len(items) // count] for index in range(count)]
    return [items[index % len(items)] for index in range(count)]


@dataclass(frozen=True)
class Row:
    figure: str
    unit: str
    ours: Optional[float]
    plain: Optional[float]
    # The same plain bot with an SQL tracker store on SQLite, as ours has.
    plain_sql: Optional[float]

    @property
    def ratio(self) -> Optional[float]:
        return ratio(self.ours, self.plain)

    @property
    def ratio_sql(self) -> Optional[float]:
        return ratio(self.ours, self.plain_sql)

    def as_dict(self) -> Dict[str, object]:
        return {
            "figure": self.figure,
            "unit": self.unit,
            "ours": self.ours,
            "plain": self.plain,
            "plain_sql": self.plain_sql,
            "ratio": self.ratio,
            "ratio_sql": self.ratio_sql,
        }


MISSING = "—"


def format_value(value: Optional[float], unit: str) -> str:
    """Enough digits to compare the two columns, no more."""
    if value is None or math.isnan(value):
        return MISSING
    if unit == "ms":
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"
    if unit in ("turns/s", "s"):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    if unit == "MB":
        return f"{value:.0f}"
    return f"{value:g}"


def format_ratio(value: Optional[float]) -> str:
    return MISSING if value is None else f"{value:.2f}"


def cell(text: str) -> str:
    # A "|" inside a cell would split the Markdown row.
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Row], ours_label: str, plain_label: str, plain_sql_label: str) -> str:
    header = ["Figure", ours_label, plain_label, plain_sql_label, "Ratio (ours / plain)", "Ratio (ours / plain-SQL)"]
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join(["---", "---:", "---:", "---:", "---:", "---:"]) + "|",
    ]
    for row in rows:
        cells = [
            f"{row.figure} ({row.unit})",
            format_value(row.ours, row.unit),
            format_value(row.plain, row.unit),
            format_value(row.plain_sql, row.unit),
            format_ratio(row.ratio),
            format_ratio(row.ratio_sql),
        ]
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Goal:
    """A goal of the speed work: ours / plain-SQL of one figure at most (or at least) a bound."""

    figure: str
    bound: float
    at_most: bool
    ratio: Optional[float]

    @property
    def met(self) -> Optional[bool]:
        """None when the figure was not measured."""
        if self.ratio is None:
            return None
        return self.ratio <= self.bound if self.at_most else self.ratio >= self.bound

    def line(self) -> str:
        verdict = {True: "met", False: "not met", None: "not measured"}[self.met]
        sign = "≤" if self.at_most else "≥"
        return f"{self.figure}: ours / plain-SQL {format_ratio(self.ratio)}, goal {sign} {self.bound:.2f}: {verdict}"

    def as_dict(self) -> Dict[str, object]:
        return {
            "figure": self.figure,
            "bound": self.bound,
            "at_most": self.at_most,
            "ratio": self.ratio,
            "met": self.met,
        }


# (figure of the results table, bound, at most): the goals, against plain-SQL.
GOALS = (
    ("Reply latency over REST p50, one sender", 0.8, True),
    ("Reply latency over REST p95, one sender", 0.8, True),
    ("Throughput, 8 concurrent senders", 1.2, False),
    ("Throughput, 32 concurrent senders", 1.2, False),
    ("Reply latency p95, 32 concurrent senders", 1.0, True),
    ("Memory of the servers after the run (RSS)", 1.2, True),
)


def goals(rows: Sequence[Row]) -> List[Goal]:
    """Each goal with the ratio of its row; a row not in the table (another --concurrency) is
    not measured."""
    by_figure = {row.figure: row for row in rows}
    return [
        Goal(figure, bound, at_most, by_figure[figure].ratio_sql if figure in by_figure else None)
        for figure, bound, at_most in GOALS
    ]
