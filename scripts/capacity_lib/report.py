"""The figures of the capacity phase: what each turn cost, from two readings of
capacity_lib.probes taken around a run, the record written to results/scaleout_capacity.json,
and the short table printed after the check."""

from __future__ import annotations

import re
import textwrap
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

from .probes import CLOCK_TICKS_PER_S, DatabaseUsage, Usage

Key = TypeVar("Key")

# Statements kept per run in the results: the ones called most often.
TOP_STATEMENTS = 12
# Enough of a statement to see its tables and conditions.
STATEMENT_CHARS = 600
# Redis commands named in the printed table: the ones called most often.
TOP_COMMANDS = 6
# Cores the machine was busy with beyond the measured processes (the kernel, the readings
# themselves) before the table says that other work competed for the CPUs.
OTHER_WORK_CORES = 0.25


def growth(before: Mapping[Key, int], after: Mapping[Key, int]) -> Dict[Key, int]:
    """What each counter of ``after`` grew by since ``before`` (from 0 if it is new there)."""
    return {key: value - before.get(key, 0) for key, value in after.items()}


def per_turn(value: float, turns: int) -> float:
    return round(value / turns, 3) if turns else 0.0


def ms(ticks: int) -> float:
    return ticks * 1000 / CLOCK_TICKS_PER_S


def ordered(counts: Mapping[Key, float]) -> Dict[Key, float]:
    """Largest first, zeros left out: the order a reader scans the figures in."""
    return dict(sorted(((k, v) for k, v in counts.items() if v), key=lambda item: -item[1]))


def run_record(
    traffic: Mapping[str, object],
    turns: int,
    usage: Tuple[Usage, Usage],
    databases: Tuple[DatabaseUsage, DatabaseUsage],
    statements_unavailable: str,
) -> Dict[str, object]:
    """One run's figures: ``traffic`` as the senders measured it, and what the processes and
    services did per turn between the readings ``usage`` (taken at the run's first turn and at
    its last reply) and ``databases`` (each taken once PostgreSQL's counters had settled).
    ``turns`` is every turn of the run, all of which fall between the readings."""
    before, after = usage
    seconds = after.at - before.at
    cpu = growth(before.cpu_ticks, after.cpu_ticks)
    busy, steal, everything = (b - a for a, b in zip(before.machine, after.machine))
    redis = ordered(growth(before.redis_calls, after.redis_calls))
    postgres = {
        database: growth(databases[0].counters.get(database, {}), counters)
        for database, counters in databases[1].counters.items()
    }
    record: Dict[str, object] = {
        **traffic,
        "measured_s": round(seconds, 2),
        "cpu_s": {name: round(ms(ticks) / 1000, 2) for name, ticks in cpu.items()},
        "cpu_ms_per_turn": {name: per_turn(ms(ticks), turns) for name, ticks in cpu.items()},
        "cpu_ms_per_turn_all": per_turn(ms(sum(cpu.values())), turns),
        "cpu_cores_used": round(ms(sum(cpu.values())) / 1000 / seconds, 2) if seconds > 0 else 0.0,
        # Beside cpu_cores_used: what else ran on the machine meanwhile.
        "machine_cpu_busy_cores": round(ms(busy) / 1000 / seconds, 2) if seconds > 0 else 0.0,
        "machine_cpu_busy_share": round(busy / everything, 3) if everything else 0.0,
        "machine_cpu_steal_share": round(steal / everything, 3) if everything else 0.0,
        "redis_calls": redis,
        "redis_commands_per_turn": per_turn(sum(redis.values()), turns),
        "redis_calls_per_turn": {name: per_turn(calls, turns) for name, calls in redis.items()},
        "postgres": postgres,
        "postgres_per_turn": {
            database: {name: per_turn(value, turns) for name, value in counters.items()}
            for database, counters in postgres.items()
        },
    }
    if statements_unavailable:
        record["postgres_statements_unavailable"] = statements_unavailable
    else:
        calls = growth(*({key: c for key, (c, _) in d.statements.items()} for d in databases))
        rows = growth(*({key: r for key, (_, r) in d.statements.items()} for d in databases))
        record["postgres_statements_per_turn"] = {
            database: per_turn(sum(n for (db, _), n in calls.items() if db == database), turns) for database in postgres
        }
        record["postgres_top_statements"] = [
            {
                "database": database,
                "statement": re.sub(r"\s+", " ", query).strip()[:STATEMENT_CHARS],
                "calls_per_turn": per_turn(n, turns),
                "rows_per_turn": per_turn(rows[(database, query)], turns),
            }
            for (database, query), n in list(ordered(calls).items())[:TOP_STATEMENTS]
        ]
    return record


def throughput_ratio(runs: Mapping[str, Mapping[str, object]], more: str, fewer: str) -> Optional[float]:
    """Turns per second of run ``more`` over those of run ``fewer`` (None without both)."""
    if more not in runs or fewer not in runs or not runs[fewer]["turns_per_s"]:
        return None
    return round(float(runs[more]["turns_per_s"]) / float(runs[fewer]["turns_per_s"]), 3)


def cpu_note(cpus: int) -> str:
    return (
        f"This machine has {cpus} CPU(s) for everything: the Rasa servers, the action servers, "
        f"PostgreSQL, Redis and the senders. A second Rasa server here can only use what the first "
        f"left idle, so the ratio is a floor for separate machines, not a forecast; plan with the "
        f"CPU-ms per turn."
    )


def format_table(runs: Mapping[str, Mapping[str, object]], ratio: Optional[float], cpus: int) -> List[str]:
    """The printed summary: one column per run, then the busiest Redis commands and the notes."""
    labels = list(runs)
    records = [runs[label] for label in labels]
    rows: List[Tuple[str, Sequence[str]]] = [
        ("turns/s", [f"{r['turns_per_s']:.2f}" for r in records]),
        ("reply p50 / p95 (s)", [f"{r['reply_p50_s']:.2f} / {r['reply_p95_s']:.2f}" for r in records]),
        ("turns in window / whole run", [f"{r['turns_in_window']} / {r['turns']}" for r in records]),
        (
            f"CPU cores busy: these processes / machine (of {cpus})",
            [f"{r['cpu_cores_used']:.2f} / {r['machine_cpu_busy_cores']:.2f}" for r in records],
        ),
    ]
    if any(float(r["machine_cpu_steal_share"]) >= 0.01 for r in records):
        rows.append(("machine CPU stolen by the hypervisor", [f"{r['machine_cpu_steal_share']:.0%}" for r in records]))
    rows.append(("CPU ms per turn", ["" for _ in records]))
    processes: List[str] = []
    for record in records:
        processes += [name for name in record["cpu_ms_per_turn"] if name not in processes]
    rows += [(f"  {name}", [f"{r['cpu_ms_per_turn'].get(name, 0):.0f}" for r in records]) for name in processes]
    rows.append(("  all processes", [f"{r['cpu_ms_per_turn_all']:.0f}" for r in records]))
    rows.append(("Redis commands per turn", [f"{r['redis_commands_per_turn']:.1f}" for r in records]))
    for database in records[-1]["postgres_per_turn"]:
        counts = [r["postgres_per_turn"].get(database, {}) for r in records]
        rows.append((f"PostgreSQL {database}, per turn", ["" for _ in records]))
        rows.append(
            (
                "  transactions (commit+rollback)",
                [f"{c.get('xact_commit', 0):.1f}+{c.get('xact_rollback', 0):.1f}" for c in counts],
            )
        )
        if all("postgres_statements_per_turn" in r for r in records):
            rows.append(
                ("  statements", [f"{r['postgres_statements_per_turn'].get(database, 0):.1f}" for r in records])
            )
        rows.append(
            (
                "  rows returned+fetched",
                [f"{c.get('tup_returned', 0):.0f}+{c.get('tup_fetched', 0):.0f}" for c in counts],
            )
        )
        rows.append(
            (
                "  rows inserted+updated+deleted",
                [
                    f"{c.get('tup_inserted', 0):.1f}+{c.get('tup_updated', 0):.1f}+{c.get('tup_deleted', 0):.1f}"
                    for c in counts
                ],
            )
        )
    width = max(len(name) for name, _ in rows) + 2
    columns = [max(len(label), *(len(values[i]) for _, values in rows)) + 2 for i, label in enumerate(labels)]
    lines = [" " * width + "".join(label.rjust(c) for label, c in zip(labels, columns))]
    lines += [name.ljust(width) + "".join(v.rjust(c) for v, c in zip(values, columns)) for name, values in rows]
    last = records[-1]
    commands = list(last["redis_calls_per_turn"].items())[:TOP_COMMANDS]
    lines.append(f"Redis per turn ({labels[-1]}): " + ", ".join(f"{name} {calls:.1f}" for name, calls in commands))
    if "postgres_statements_unavailable" in last:
        lines.append(f"PostgreSQL statements not counted: {last['postgres_statements_unavailable']}")
    if ratio is not None:
        lines.append(f"{labels[-1]} / {labels[0]}: {ratio:.2f} x the turns per second")
    other = max(float(r["machine_cpu_busy_cores"]) - float(r["cpu_cores_used"]) for r in records)
    if other >= OTHER_WORK_CORES:
        lines += textwrap.wrap(
            f"Other work on this machine kept up to {other:.2f} cores busy meanwhile: turns/s and "
            f"reply times are below what these servers give alone (the CPU-ms per turn less so).",
            width=100,
        )
    lines += textwrap.wrap(cpu_note(cpus), width=100)
    return lines
