"""The capacity phase: senders playing the scenarios one after another for a fixed time, to one
server and then to both, with what every process and shared service did per turn
(scripts/capacity_lib)."""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Sequence

from scripts.capacity_lib.probes import PG_STATS_SETTLE_S, PROBE_ERRORS, Probes, machine_description
from scripts.capacity_lib.report import cpu_note, format_table, run_record, throughput_ratio
from scripts.scaleout.checks import percentile
from scripts.scaleout.client import play_for
from scripts.scaleout.cluster import Cluster
from scripts.scaleout.scenarios import SCENARIOS, Conversation, Sent, alternating_plan
from scripts.scaleout.servers import SERVERS

# The capacity phase's runs: a label and the servers each conversation's turns go to in turn.
CAPACITY_RUNS = (("1 server", ("A",)), ("2 servers", SERVERS))


def capacity_phone(run: int, n: int) -> str:
    """A docomo number of conversation ``n`` of capacity run ``run``: an 080 number, apart
    from phases 1 and 2's 090 numbers, so that every conversation has its own free consultation."""
    return f"080-{run}{n // 10000:03d}-{n % 10000:04d}"


def window_figures(turns: Sequence[Sent], start: float, end: float) -> Dict[str, float]:
    """Rate and reply times of the turns answered between ``start`` and ``end``
    (time.monotonic()), while every sender was busy, unlike when they finish their last
    conversations."""
    answered = [t.latency_s for t in turns if not t.error and start <= t.finished_at <= end]
    seconds = end - start
    return {
        "window_s": round(seconds, 2),
        "turns_in_window": len(answered),
        "turns_per_s": round(len(answered) / seconds, 3) if seconds > 0 else 0.0,
        "reply_p50_s": round(percentile(answered, 0.5), 3),
        "reply_p95_s": round(percentile(answered, 0.95), 3),
        "reply_max_s": round(max(answered, default=0.0), 3),
    }


def conversation_maker(run_id: str, run: int, label: str, servers: Sequence[str]) -> Callable[[], Conversation]:
    """Makes the conversations of capacity run ``run``: the scenarios in turn, each with a new
    sender id and phone number, its turns going to ``servers`` in turn."""
    numbers = itertools.count()  # next() of a count is atomic: the senders share it

    def start() -> Conversation:
        n = next(numbers)
        scenario = SCENARIOS[n % len(SCENARIOS)]
        turns = scenario.turns(capacity_phone(run, n))
        plan = alternating_plan(turns, first=n % len(servers), servers=servers)
        return Conversation(f"scaleout-{run_id}-c{run}-{n:04d}", scenario, f"capacity, {label}", plan)

    return start


@dataclass
class CapacityRun:
    """One run of the capacity phase: its conversations, checked with all others at the end,
    and its figures (capacity_lib.report.run_record)."""

    label: str
    conversations: List[Conversation]
    seconds: float  # from the first turn to the last reply
    record: Dict[str, object]


def measure_capacity(
    cluster: Cluster, services: Mapping[str, str], run_id: str, senders: int, seconds: float
) -> List[CapacityRun]:
    """Each of CAPACITY_RUNS with ``senders`` users at once for ``seconds``, and what every
    process and shared service did per turn (scripts/capacity_lib)."""
    try:
        probes = Probes(services, {service.name: service.process.pid for service in cluster.services()})
    except PROBE_ERRORS as error:
        raise RuntimeError(f"capacity phase: cannot read PostgreSQL, Redis or /proc: {error}") from error
    runs: List[CapacityRun] = []
    try:
        probes.analyze()
        # The earlier phases' last counts must reach pg_stat_database before the first reading.
        time.sleep(PG_STATS_SETTLE_S)
        databases = probes.database_usage()
        for run, (label, servers) in enumerate(CAPACITY_RUNS, start=1):
            print(f"scaleout: capacity, {label}: {senders} senders for {seconds:g} s", file=sys.stderr, flush=True)
            before = probes.usage()
            start = conversation_maker(run_id, run, label, servers)
            conversations, window_start, window_end = play_for(seconds, senders, start)
            after = probes.usage()
            time.sleep(PG_STATS_SETTLE_S)
            settled = probes.database_usage()
            turns = [t for c in conversations for t in c.sent]
            traffic = {
                "servers": list(servers),
                "senders": senders,
                "conversations": len(conversations),
                "turns": len(turns),
                "turns_by_server": dict(Counter(t.server for t in turns)),
                "errors": sum(1 for t in turns if t.error),
                **window_figures(turns, window_start, window_end),
            }
            record = run_record(
                traffic, len(turns), (before, after), (databases, settled), probes.statements_unavailable
            )
            runs.append(CapacityRun(label, conversations, after.at - before.at, record))
            databases = settled
    except PROBE_ERRORS as error:
        raise RuntimeError(f"capacity phase: reading PostgreSQL, Redis or /proc failed: {error}") from error
    finally:
        probes.close()
    return runs


def write_capacity(
    path: Path, runs: Sequence[CapacityRun], model: Path, seconds_per_run: float, passed: bool
) -> List[str]:
    """Writes the capacity figures to ``path`` and returns the table to print."""
    records = {run.label: run.record for run in runs}
    ratio = throughput_ratio(records, CAPACITY_RUNS[1][0], CAPACITY_RUNS[0][0])
    machine = machine_description()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": machine,
                "model": model.name,
                "seconds_per_run": seconds_per_run,
                "runs": records,
                "throughput_ratio_2_to_1": ratio,
                "note": cpu_note(int(machine["cpus"])),
                "checks": "passed" if passed else "FAILED",
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return format_table(records, ratio, int(machine["cpus"]))
