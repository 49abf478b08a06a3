"""The servers a campaign peak needs, computed from measured per-turn costs.

    python scripts/capacity_plan.py [--peak 2000] [--utilisation 0.6] [--capacity results/scaleout_capacity.json]
                                    [--bench results/bench.json]

Reads the capacity phase of `make scaleout-test` (its 2-server run: CPU-ms per turn of every
process, Redis commands, PostgreSQL transactions, statements and rows per turn) and, when
present, the per-turn budget of `make bench` (one machine, SQLite), and prints the plan of
deploy/CAPACITY.md as markdown: for each role of the scale-out profile, the load at the peak
and the cores, processes or capacity it needs so that no role runs above ``--utilisation`` of
what it has (queues, hence reply times, grow without bound as a role nears 100 %).

Rasa and the action server are one process per core: each is one asyncio loop, and the SQL
tracker store and the case database are called synchronously on it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent
RUN = "2 servers"
# A single Redis process runs commands on one thread; 100,000 simple commands a second is a
# conservative figure for one core (Redis' own benchmarks give several times that).
REDIS_COMMANDS_PER_CORE_S = 100_000


def role_cpu_ms(cpu_ms_per_turn: Mapping[str, float]) -> Dict[str, float]:
    """CPU-ms per turn summed by role (the run's Rasa servers together, and so on)."""
    roles = {"Rasa servers": 0.0, "action servers": 0.0, "PostgreSQL": 0.0, "Redis": 0.0}
    for process, ms in cpu_ms_per_turn.items():
        for role, prefix in (
            ("Rasa servers", "Rasa server"),
            ("action servers", "action server"),
            ("PostgreSQL", "PostgreSQL"),
            ("Redis", "Redis"),
        ):
            if process.startswith(prefix):
                roles[role] += float(ms)
    return roles


def plan(capacity: Mapping, peak: float, utilisation: float, bench: Optional[Mapping] = None) -> Dict[str, object]:
    run = capacity["runs"][RUN]
    cpu = role_cpu_ms(run["cpu_ms_per_turn"])
    postgres = run["postgres_per_turn"]
    rows: List[Dict[str, object]] = []
    for role, ms in cpu.items():
        cores = peak * ms / 1000.0
        rows.append(
            {
                "role": role,
                "cpu_ms_per_turn": round(ms, 2),
                "cores_busy_at_peak": round(cores, 1),
                "cores_needed": math.ceil(cores / utilisation),
                # Redis runs its commands on one thread: more cores do not help one process.
                "single_thread": role == "Redis",
            }
        )
    redis_commands = float(run["redis_commands_per_turn"])
    commits = sum(float(db["xact_commit"]) for db in postgres.values())
    inserted = sum(float(db["tup_inserted"]) for db in postgres.values())
    returned = sum(float(db["tup_returned"]) for db in postgres.values())
    statements = sum(float(n) for n in (run.get("postgres_statements_per_turn") or {}).values())
    # Rows the statements returned (pg_stat_statements); pg_stat_database's tuples also count
    # catalog reads and autovacuum.
    selected = sum(
        float(s.get("rows_per_turn") or 0)
        for s in run.get("postgres_top_statements") or []
        if str(s.get("statement", "")).lstrip().upper().startswith("SELECT")
    )
    figures = {
        "peak_turns_per_s": peak,
        "utilisation": utilisation,
        "measured": capacity.get("generated"),
        "machine": capacity.get("machine"),
        "turns_measured": run["turns"],
        "roles": rows,
        "redis_commands_per_s": round(peak * redis_commands),
        "redis_share_of_one_core": round(peak * redis_commands / REDIS_COMMANDS_PER_CORE_S, 2),
        "postgres_commits_per_s": round(peak * commits),
        "postgres_statements_per_s": round(peak * statements) if statements else None,
        "postgres_rows_inserted_per_s": round(peak * inserted),
        "postgres_rows_read_per_s": round(peak * returned),
        "postgres_rows_selected_per_s": round(peak * selected),
        "per_turn": {
            "redis_commands": redis_commands,
            "postgres_commits": round(commits, 2),
            "postgres_statements": round(statements, 2),
            "postgres_rows_inserted": round(inserted, 2),
            "postgres_rows_read": round(returned, 1),
            "postgres_rows_selected": round(selected, 1),
        },
    }
    if bench:
        total = ((bench.get("ours") or {}).get("budget") or {}).get("total") or {}
        figures["one_machine_budget"] = total.get("figures")
    return figures


def markdown(figures: Mapping) -> str:
    peak, utilisation = figures["peak_turns_per_s"], figures["utilisation"]
    lines = [
        f"Peak: {peak:,.0f} turns/s; every role planned at {utilisation:.0%} of what it has. "
        f"Per-turn costs from `make scaleout-test` ({figures['measured']}, {figures['turns_measured']} "
        "turns over 2 Rasa and 2 action servers, PostgreSQL and Redis).",
        "",
        "| Role | CPU-ms per turn (measured) | Cores busy at the peak | Cores (= processes for Rasa and actions) to plan |",
        "|---|---:|---:|---:|",
    ]
    for row in figures["roles"]:
        needed = str(row["cores_needed"])
        if row["single_thread"]:
            needed = (
                f"one thread at {row['cores_busy_at_peak']:.0%} per instance: "
                f"{math.ceil(row['cores_busy_at_peak'] / utilisation)} instance(s), conversations split between them"
            )
        lines.append(f"| {row['role']} | {row['cpu_ms_per_turn']:.2f} | {row['cores_busy_at_peak']:.1f} | {needed} |")
    per_turn = figures["per_turn"]
    lines += [
        "",
        "| Load at the peak | Per turn (measured) | Per second at the peak |",
        "|---|---:|---:|",
        f"| Redis commands | {per_turn['redis_commands']:g} | {figures['redis_commands_per_s']:,} "
        f"({figures['redis_share_of_one_core']:.0%} of one Redis core at {REDIS_COMMANDS_PER_CORE_S:,}/s) |",
        f"| PostgreSQL commits | {per_turn['postgres_commits']:g} | {figures['postgres_commits_per_s']:,} |",
        f"| PostgreSQL statements | {per_turn['postgres_statements']:g} | "
        f"{figures['postgres_statements_per_s'] or 'not measured':,} |",
        f"| PostgreSQL rows inserted | {per_turn['postgres_rows_inserted']:g} | {figures['postgres_rows_inserted_per_s']:,} |",
        f"| PostgreSQL rows returned by the statements (pg_stat_statements) | {per_turn['postgres_rows_selected']:g} | "
        f"{figures['postgres_rows_selected_per_s']:,} |",
        f"| PostgreSQL tuples read (pg_stat_database: with catalog reads and autovacuum) | "
        f"{per_turn['postgres_rows_read']:g} | {figures['postgres_rows_read_per_s']:,} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peak", type=float, default=2000.0, help="turns per second at the peak (default 2000)")
    parser.add_argument("--utilisation", type=float, default=0.6, help="share of each role's capacity to plan for")
    parser.add_argument("--capacity", type=Path, default=ROOT / "results" / "scaleout_capacity.json")
    parser.add_argument("--bench", type=Path, default=ROOT / "results" / "bench.json")
    args = parser.parse_args(argv)
    if not 0 < args.utilisation <= 1 or args.peak <= 0:
        parser.error("--peak must be positive and --utilisation between 0 and 1")
    if not args.capacity.exists():
        print(f"capacity plan: {args.capacity} is missing; run `make scaleout-test` first", file=sys.stderr)
        return 2
    capacity = json.loads(args.capacity.read_text(encoding="utf-8"))
    bench = json.loads(args.bench.read_text(encoding="utf-8")) if args.bench.exists() else None
    print(markdown(plan(capacity, args.peak, args.utilisation, bench)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
