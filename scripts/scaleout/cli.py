"""The scale-out check's run: its options, the phases in order, the report and the exit status;
every process it started is stopped and its directory removed, also on Ctrl-C or an error."""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Optional, Sequence

import train  # scripts/train.py

from scripts import scaleout
from scripts.scaleout.capacity import measure_capacity, write_capacity
from scripts.scaleout.checks import percentile
from scripts.scaleout.client import play_all
from scripts.scaleout.cluster import ROOT, Cluster, Services
from scripts.scaleout.scenarios import Conversation, build_conversations
from scripts.scaleout.stored import check_everything

ENDPOINTS = "deploy/endpoints.scaleout.yml"
CAPACITY_OUTPUT = ROOT / "results" / "scaleout_capacity.json"


def write_transcripts(path: Path, conversations: Sequence[Conversation]) -> None:
    path.write_text(
        json.dumps(
            [
                {
                    "sender": c.sender,
                    "scenario": c.scenario.name,
                    "phase": c.phase,
                    "turns": [[asdict(turn) for turn in group] for group in c.results],
                }
                for c in conversations
            ],
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )


def summary(conversations: Sequence[Conversation], seconds: float) -> str:
    turns = [t for c in conversations for t in c.sent]
    latencies = [t.latency_s for t in turns if not t.error]
    together = sum(1 for c in conversations for g in c.results if len(g) > 1)
    per_server = Counter(t.server for t in turns)
    return (
        f"{len(conversations)} conversations, {len(turns)} turns ({per_server['A']} to A, "
        f"{per_server['B']} to B{f', {together} pairs sent to both at once' if together else ''}) "
        f"in {seconds:.1f} s; reply latency p50 {percentile(latencies, 0.5):.2f} s, "
        f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies, default=0):.2f} s"
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=scaleout.__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=60, help="phase 1 conversations (default 60)")
    parser.add_argument(
        "--lock-conversations",
        type=int,
        default=21,
        help="phase 2 conversations sent to both servers at once (default 21)",
    )
    parser.add_argument("--model", type=Path, help="model to serve (default: the current one, trained if needed)")
    parser.add_argument(
        "--transcripts", type=Path, help="write every conversation (sent, received, server, latency) to this JSON file"
    )
    parser.add_argument(
        "--endpoints",
        default=ENDPOINTS,
        help=f"endpoints file of the servers (default {ENDPOINTS}), e.g. to try another lock store",
    )
    parser.add_argument(
        "--capacity-senders",
        type=int,
        default=16,
        help="users at once in the capacity phase (default 16; 0 leaves the phase out)",
    )
    parser.add_argument(
        "--capacity-seconds",
        type=float,
        default=20.0,
        help="seconds of each capacity run, 1 and 2 servers (default 20)",
    )
    parser.add_argument(
        "--capacity-output",
        type=Path,
        default=CAPACITY_OUTPUT,
        help=f"where the capacity figures go (default {CAPACITY_OUTPUT.relative_to(ROOT)})",
    )
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.lock_conversations < 0:
        parser.error("--conversations must be 1 or more and --lock-conversations 0 or more")
    if args.capacity_senders < 0 or args.capacity_seconds <= 0:
        parser.error("--capacity-senders must be 0 or more and --capacity-seconds more than 0")

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        model = args.model.resolve() if args.model else train.train_if_needed()
    except subprocess.CalledProcessError:
        print("scaleout: training the model failed (see above)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if not model.is_file():
        print(f"scaleout: no model at {model}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="nettrouble-scaleout-test-"))
    # PostgreSQL runs as the postgres user when this runs as root: it must reach its directory.
    workdir.chmod(0o711)
    services = Services(workdir / "services")
    cluster: Optional[Cluster] = None
    try:
        print("scaleout: starting PostgreSQL and Redis", file=sys.stderr, flush=True)
        services.start()
        cluster = Cluster(model, args.endpoints, services.env, workdir / "logs")
        print(f"scaleout: starting 2 action servers and 2 Rasa servers with {model.name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        cluster.start()
        print(f"scaleout: servers up in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

        run_id = secrets.token_hex(3)
        first, second = build_conversations(args.conversations, args.lock_conversations, run_id)
        first_s = play_all(first)
        second_s = play_all(second) if second else 0.0
        capacity = (
            measure_capacity(cluster, services.env, run_id, args.capacity_senders, args.capacity_seconds)
            if args.capacity_senders
            else []
        )
        everything = first + second + [c for run in capacity for c in run.conversations]
        findings, figures = check_everything(cluster, services.env, everything)
        if args.transcripts:
            write_transcripts(args.transcripts, everything)
        errors = cluster.log_errors()

        latencies = [t.latency_s for c in first + second for t in c.sent if not t.error]
        print(
            "\nscale-out check: 2 Rasa servers, 2 action servers, PostgreSQL (tracker store and cases), "
            "Redis lock store"
        )
        print(f"  phase 1 (turns alternate between servers): {summary(first, first_s)}")
        if second:
            print(f"  phase 2 (same conversation on both servers at once): {summary(second, second_s)}")
        for run in capacity:
            print(
                f"  capacity, {run.label} ({args.capacity_senders} senders): {summary(run.conversations, run.seconds)}"
            )
        print(
            f"  stored: {figures['events']} events, {figures['cases']} cases, "
            f"{figures['reservations']} free-consultation reservations"
        )
        print(
            f"  phases 1 and 2, all turns: p50 {percentile(latencies, 0.5):.2f} s, "
            f"p95 {percentile(latencies, 0.95):.2f} s"
        )
        print("  " + " ".join(f"{name}={value}" for name, value in findings.counts().items()))
        print(f"  server log errors: {len(errors)}")
        for line in errors[:20]:
            print(f"    {line}")
        if capacity:
            table = write_capacity(
                args.capacity_output, capacity, model, args.capacity_seconds, passed=not findings.failed
            )
            print(
                f"\ncapacity ({args.capacity_senders} senders, {args.capacity_seconds:g} s per run; "
                f"written to {args.capacity_output}):"
            )
            for line in table:
                print(f"  {line}")
        for problem in findings.problems[:40]:
            print(f"  FAIL {problem}")
        print("result: " + ("FAILED" if findings.failed else "passed"))
        return 1 if findings.failed else 0
    except KeyboardInterrupt:
        print("scaleout: interrupted; stopping everything", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"scaleout: {error}", file=sys.stderr)
        if cluster is not None:
            for line in cluster.log_errors()[:20]:
                print(f"    {line}", file=sys.stderr)
        return 1
    finally:
        # Ctrl-C during the clean-up must not leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if cluster is not None:
            cluster.stop()
        services.stop()
        shutil.rmtree(workdir, ignore_errors=True)
