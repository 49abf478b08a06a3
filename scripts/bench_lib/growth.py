"""How the reply time changes as one conversation grows: a long conversation played to its end
(scripts/bench_lib/traffic.py, ``long_conversation``), summarised over three windows of turns
(the first ten, around a third of the way, the last ones) with the ratio last / first.

For our bot the timing records of the conversation (scripts/bench_lib/budget.py) attribute the
growth to its parts: NLU, policy, tracker load and save, the action calls and the size of the
tracker each call sends. The plain bot has no records; the events its tracker store holds
(Rasa's HTTP API, after each window) show how its own session grows. Pure, so that
tests/test_bench_growth.py can check every figure."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .budget import KB, median, turn_figures
from .stats import cell, format_value, ratio

WINDOW_TURNS = 10
# Three windows of 10 turns need at least this many turns to not overlap much.
MIN_TURNS = 30

# (key, name, unit) of each figure of a window, in the order of the table.
FIGURES = (
    ("reply_ms", "Reply p50, client", "ms"),
    ("request", "Request (Rasa server)", "ms"),
    ("channel", "Channel", "ms"),
    ("tracker_load", "Tracker load", "ms"),
    ("nlu", "NLU", "ms"),
    ("policy", "Policy", "ms"),
    ("actions", "Actions", "ms"),
    ("tracker_save", "Tracker save", "ms"),
    ("other", "Other, untimed", "ms"),
    ("tracker_kb_per_call", "Tracker sent to the action server, per call", "KB"),
    ("tracker_events", "Events (counts.tracker_events)", "events"),
    ("events_stored", "Events in the tracker store, end of window", "events"),
)
TIMED_PARTS = (
    "request",
    "channel",
    "tracker_load",
    "nlu",
    "policy",
    "actions",
    "tracker_save",
    "other",
    "tracker_events",
)


def windows(turns: int) -> List[Tuple[int, int]]:
    """(first, last) turn numbers, 1-based and inclusive, of the three windows: for 300 turns
    1–10, 100–110 and 290–300."""
    if turns < MIN_TURNS:
        raise ValueError(f"a growth conversation needs at least {MIN_TURNS} turns, not {turns}")
    middle = turns // 3
    return [(1, WINDOW_TURNS), (middle, middle + WINDOW_TURNS), (turns - WINDOW_TURNS, turns)]


def window_label(window: Tuple[int, int]) -> str:
    return f"turns {window[0]}–{window[1]}"


def script(turns: Sequence, count: int) -> List:
    """``count`` turns: the script repeated in order."""
    if not turns:
        raise ValueError("no turns to repeat")
    return [turns[index % len(turns)] for index in range(count)]


def summarise(
    turns: int,
    latencies_ms: Sequence[Optional[float]],
    records: Sequence[Mapping],
    events_after: Mapping[int, Optional[int]],
) -> Dict[str, object]:
    """The figures of each window and their ratios last / first. ``latencies_ms`` has one item
    per turn (None when it failed); ``records`` are the conversation's timing records in order,
    one per turn (empty for a bot without them): the n-th record is turn n's."""
    found = []
    for first, last in windows(turns):
        replies = [ms for ms in latencies_ms[first - 1 : last] if ms is not None]
        window_records = list(records[first - 1 : last])
        figures: Dict[str, Optional[float]] = {"reply_ms": median(replies)}
        per_record = [turn_figures(record) for record in window_records]
        for key in TIMED_PARTS:
            figures[key] = median([f[key] for f in per_record])
        sizes = [
            float(call.get("request_bytes") or 0) / KB
            for record in window_records
            for call in record.get("actions") or []
            if isinstance(call, Mapping)
        ]
        figures["tracker_kb_per_call"] = median(sizes)
        figures["events_stored"] = events_after.get(last)
        found.append(
            {
                "label": window_label((first, last)),
                "first": first,
                "last": last,
                "replies": len(replies),
                "records": len(window_records),
                "figures": figures,
            }
        )
    return {
        "turns": turns,
        "records": len(records),
        "windows": found,
        "ratio_last_first": {key: ratio(found[-1]["figures"][key], found[0]["figures"][key]) for key, _, _ in FIGURES},
    }


def _value(value: Optional[float], unit: str) -> str:
    if unit == "KB":
        return "—" if value is None else f"{value:.1f}"
    return format_value(value, "ms" if unit == "ms" else "")


def table(sections: Sequence[Tuple[str, Mapping[str, object]]]) -> str:
    """One Markdown table for every bot's growth (``(label, summarise(...))``): a row per
    figure the bot has, a column per window and the ratio last / first."""
    labels = [window["label"] for window in sections[0][1]["windows"]]
    header = ["Figure", *labels, "Last / first"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for bot, growth in sections:
        for key, name, unit in FIGURES:
            values = [window["figures"][key] for window in growth["windows"]]
            if all(value is None for value in values):
                continue
            last_first = growth["ratio_last_first"][key]
            cells = [
                f"{bot}: {name} ({unit})",
                *(_value(v, unit) for v in values),
                "—" if last_first is None else f"{last_first:.2f}",
            ]
            lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(lines)
