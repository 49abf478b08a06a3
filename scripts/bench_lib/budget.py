"""Where our bot's reply time goes, turn by turn: the timing records the Rasa server writes to
TURN_TIMINGS_FILE (their format: nettrouble/monitoring/timing.py's docstring) matched to the turns the
benchmark sent, and their medians over conversations as Markdown tables.

Records are matched to turns by conversation id and order: the benchmark sends the turns of a
conversation one at a time, so the n-th record of a conversation is its n-th turn. Pure apart
from ``read_records``, so that tests/test_bench_budget.py can check every figure on synthetic
records."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .stats import cell, format_value, percentile

# Parts of a turn that nettrouble/monitoring/timing.py times on the Rasa server, in the order of a turn.
PARTS = ("channel", "tracker_load", "nlu", "policy", "actions", "tracker_save")
PART_NAMES = {
    "channel": "channel",
    "tracker_load": "tracker load",
    "nlu": "NLU",
    "policy": "policy",
    "actions": "actions",
    "tracker_save": "tracker save",
    "other": "other (untimed)",
}
KB = 1024.0


def parse_records(lines: Iterable[str]) -> List[Dict]:
    """The Rasa server's records among timing lines, in the order written. A line that is not
    a JSON object (the last one cut short by a stopped server) is left out."""
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("process") == "rasa":
            records.append(record)
    return records


def read_records(path: Path) -> List[Dict]:
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            return parse_records(lines)
    except FileNotFoundError:
        return []


def by_conversation(records: Iterable[Mapping]) -> Dict[str, List[Mapping]]:
    """The records of each conversation, in the order written."""
    grouped: Dict[str, List[Mapping]] = {}
    for record in records:
        grouped.setdefault(str(record.get("conversation") or ""), []).append(record)
    return grouped


def match_turns(records: Iterable[Mapping], turns_by_sender: Mapping[str, int]) -> Dict[int, List[Mapping]]:
    """Records by position of their turn in the conversation (0 = first message), for the turns
    that got the expected reply: the first ``turns_by_sender[sender]`` records of each sender.
    A failed turn has a record too (after the good ones), which is left out."""
    grouped = by_conversation(records)
    steps: Dict[int, List[Mapping]] = {}
    for sender, answered in turns_by_sender.items():
        for step, record in enumerate(grouped.get(sender, [])[:answered]):
            steps.setdefault(step, []).append(record)
    return steps


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def turn_figures(record: Mapping) -> Dict[str, float]:
    """The figures of one turn. A part that did not run in the turn (no action call, no
    prediction) took no time: its figure is 0. "other" is the request time no part covers
    (Rasa's lock, applying events, running its own actions, building the reply)."""
    spans = record.get("spans_ms") or {}
    counts = record.get("counts") or {}
    db = record.get("db") or {}
    calls = [call for call in record.get("actions") or [] if isinstance(call, Mapping)]
    figures = {name: _number(spans.get(name)) for name in ("request", *PARTS)}
    figures["other"] = figures["request"] - math.fsum(figures[name] for name in PARTS)
    figures.update(
        policy_runs=_number(counts.get("policy")),
        action_calls=float(len(calls)),
        tracker_events=_number(counts.get("tracker_events")),
        rasa_db_statements=_number(db.get("statements")),
        rasa_db_rows=_number(db.get("rows_written")),
        rasa_db_ms=_number(db.get("ms")),
        action_server_ms=math.fsum(_number(call.get("server_ms")) for call in calls),
        action_db_ms=math.fsum(_number(call.get("server_db_ms")) for call in calls),
        action_db_statements=math.fsum(_number(call.get("server_db_statements")) for call in calls),
        action_db_rows=math.fsum(_number(call.get("server_db_rows")) for call in calls),
        cpu_ms=_number(record.get("cpu_ms")),
    )
    return figures


def median(values: Sequence[float]) -> Optional[float]:
    return percentile(values, 0.5) if values else None


def median_figures(records: Sequence[Mapping]) -> Dict[str, Optional[float]]:
    """The median of every figure over ``records`` (each figure on its own)."""
    per_record = [turn_figures(record) for record in records]
    names = per_record[0].keys() if per_record else turn_figures({}).keys()
    return {name: median([figures[name] for figures in per_record]) for name in names}


def action_calls(records: Sequence[Mapping]) -> List[Dict[str, object]]:
    """The action calls of one turn over conversations: the k-th call of each record, by name
    (the same turn calls the same actions in every conversation), with medians of its time,
    sizes and the action server's own figures."""
    grouped: Dict[Tuple[int, str], List[Mapping]] = {}
    for record in records:
        for index, call in enumerate(record.get("actions") or []):
            if isinstance(call, Mapping):
                grouped.setdefault((index, str(call.get("name") or "?")), []).append(call)
    rows = []
    for (_, name), calls in sorted(grouped.items()):

        def middle(key: str, scale: float = 1.0, calls: List[Mapping] = calls) -> Optional[float]:
            return median([_number(call.get(key)) / scale for call in calls])

        rows.append(
            {
                "name": name,
                "calls": len(calls),
                "ms": middle("ms"),
                "request_kb": middle("request_bytes", KB),
                "response_kb": middle("response_bytes", KB),
                "server_ms": middle("server_ms"),
                "server_db_ms": middle("server_db_ms"),
            }
        )
    return rows


def shares(records: Sequence[Mapping]) -> Dict[str, Optional[float]]:
    """Each part's share of the request time summed over ``records`` (sums, not medians, so
    that the shares add up to 1, "other" included)."""
    figures = [turn_figures(record) for record in records]
    total = math.fsum(f["request"] for f in figures)
    return {name: math.fsum(f[name] for f in figures) / total if total > 0 else None for name in (*PARTS, "other")}


def budget(
    steps: Mapping[int, Sequence[Mapping]], labels: Sequence[str], reply_by_step: Mapping[int, Sequence[float]]
) -> Dict[str, object]:
    """Per turn of the benchmark conversation (``labels``): the medians over conversations of
    every figure and of each action call, with the reply time the client measured; then the
    median turn over all turns and each part's share of the request time."""
    every = [record for step in sorted(steps) for record in steps[step]]
    turns = []
    for step, label in enumerate(labels):
        records = list(steps.get(step, []))
        turns.append(
            {
                "turn": f"{step + 1}. {label}",
                "conversations": len(records),
                "reply_ms": median(list(reply_by_step.get(step, []))),
                "figures": median_figures(records),
                "actions": action_calls(records),
            }
        )
    all_replies = [ms for step in sorted(reply_by_step) for ms in reply_by_step[step]]
    return {
        "records": len(every),
        "turns": turns,
        "total": {
            "turn": "All turns",
            "conversations": len(every),
            "reply_ms": median(all_replies),
            "figures": median_figures(every),
        },
        "shares": shares(every),
    }


def _ms(value: Optional[float]) -> str:
    return format_value(value, "ms")


def _count(value: Optional[float]) -> str:
    return format_value(value, "")


def _kb(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell(text) for text in cells) + " |"


BUDGET_HEADER = (
    "Turn",
    "Reply, client (ms)",
    "Request (ms)",
    "Channel (ms)",
    "NLU (ms)",
    "Policy ms (runs)",
    "Tracker load (ms)",
    "Tracker save (ms)",
    "Actions ms (calls)",
    "Other, untimed (ms)",
    "Rasa DB statements / rows",
    "Action DB statements / rows",
    "Rasa CPU (ms)",
    "Events",
)


def budget_table(found: Mapping[str, object]) -> str:
    """One row per turn and one for all turns, each cell a median over conversations."""
    lines = [_row(BUDGET_HEADER), "|" + "|".join(["---"] + ["---:"] * (len(BUDGET_HEADER) - 1)) + "|"]
    for turn in [*found["turns"], found["total"]]:
        f = turn["figures"]
        lines.append(
            _row(
                [
                    turn["turn"],
                    _ms(turn["reply_ms"]),
                    _ms(f["request"]),
                    _ms(f["channel"]),
                    _ms(f["nlu"]),
                    f"{_ms(f['policy'])} ({_count(f['policy_runs'])})",
                    _ms(f["tracker_load"]),
                    _ms(f["tracker_save"]),
                    f"{_ms(f['actions'])} ({_count(f['action_calls'])})",
                    _ms(f["other"]),
                    f"{_count(f['rasa_db_statements'])} / {_count(f['rasa_db_rows'])}",
                    f"{_count(f['action_db_statements'])} / {_count(f['action_db_rows'])}",
                    _ms(f["cpu_ms"]),
                    _count(f["tracker_events"]),
                ]
            )
        )
    return "\n".join(lines)


ACTIONS_HEADER = ("Turn", "Action", "Time (ms)", "Request (KB)", "Response (KB)", "Action server (ms)", "Its DB (ms)")


def actions_table(found: Mapping[str, object]) -> str:
    """One row per action call of each turn (medians over conversations)."""
    lines = [_row(ACTIONS_HEADER), "|" + "|".join(["---", "---"] + ["---:"] * (len(ACTIONS_HEADER) - 2)) + "|"]
    for turn in found["turns"]:
        for call in turn["actions"]:
            lines.append(
                _row(
                    [
                        turn["turn"],
                        str(call["name"]),
                        _ms(call["ms"]),
                        _kb(call["request_kb"]),
                        _kb(call["response_kb"]),
                        _ms(call["server_ms"]),
                        _ms(call["server_db_ms"]),
                    ]
                )
            )
    return "\n".join(lines)


def shares_line(found: Mapping[str, Optional[float]]) -> str:
    parts = [f"{PART_NAMES[name]} {value * 100:.0f} %" for name, value in found.items() if value is not None]
    return "; ".join(parts) if parts else "—"
