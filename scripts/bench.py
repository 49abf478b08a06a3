"""Benchmarks this assistant against a plain `rasa init` bot, measured the same way in one run
on this machine, one bot after the other, and prints one table with the ratios.

The plain bot is served twice from one model: as `rasa init` makes it (in-memory tracker store)
and with Rasa's SQL tracker store on SQLite, the store ours has; the goals of the speed work
are ratios ours / plain-SQL, each printed as met or not met (never an exit status).

For each bot: a cold `rasa train` (fresh Rasa cache in a temporary directory; once for both
plain columns), start-up time (process start until /status answers with the model loaded;
ours also starts its action server, as scripts/run.py does), NLU parse latency (POST
/model/parse), reply latency over the REST channel one conversation at a time, throughput
(completed turns per second) with 8 and 32 concurrent senders, each its own conversation
waiting for every reply, and the memory of the servers after that.

Where our time goes: our Rasa server writes a timing record per turn (TURN_TIMINGS_FILE,
nettrouble/monitoring/timing.py); the records of the one-sender conversations give, per turn of the
conversation, the median request, channel, NLU, policy, tracker load and save, each action
call (sizes, the action server's own time and its database), statements and rows written, CPU
time, and each part's share of the reply time (scripts/bench_lib/budget.py).

Growth: then one conversation of --growth-turns typed turns against ours and against the plain
bot with the SQL store (same servers), the reply time and its parts over the first, a middle
and the last turns, to see what grows with the length of a conversation and how much of it is
Rasa's own (scripts/bench_lib/growth.py). Then the project's own micro-benchmarks
(scripts/bench_articles.py, scripts/bench_cases.py, scripts/bench_masking.py).

    .venv/bin/python scripts/bench.py [--turns 200] [--messages 200] [--duration 30] [--growth-turns 300]

Writes results/bench.md and results/bench.json. Servers listen on 7000-7999 only (--base-port);
everything started is stopped and the temporary directory removed, also on Ctrl-C or failure.
Exit status 1 when a step failed or any turn did not get the expected reply (in the growth
conversation: any reply at all).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_lib import bots, budget, growth, stats, traffic  # noqa: E402
from bench_lib.processes import BenchError, ensure_free, wait_until_ready  # noqa: E402

from nettrouble.core.settings import SettingsError  # noqa: E402

RESULTS = ROOT / "results"
START_TIMEOUT_S = 300.0
OTHER_BENCHMARKS = ("scripts/bench_articles.py", "scripts/bench_cases.py", "scripts/bench_masking.py")
OTHER_TIMEOUT_S = 600.0
SHOWN_FAILURES = 10
# The Rasa server writes a turn's record when the turn ends, which may be just after the
# reply left: how long to wait for the records of the turns played.
RECORDS_WAIT_S = 10.0


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def load_average() -> List[float]:
    return [round(value, 2) for value in os.getloadavg()]


def wait_for_records(path: Path, expected: Dict[str, int]) -> List[Dict]:
    """The Rasa server's timing records once every conversation of ``expected`` (sender id:
    turns) has that many, or after RECORDS_WAIT_S with what there is."""
    deadline = time.monotonic() + RECORDS_WAIT_S
    while True:
        records = budget.read_records(path)
        grouped = budget.by_conversation(records)
        missing = sum(max(count - len(grouped.get(sender, [])), 0) for sender, count in expected.items())
        if not missing:
            return records
        if time.monotonic() > deadline:
            log(f"{missing} timing records missing in {path.name} (is nettrouble/monitoring/timing.py installed?)")
            return records
        time.sleep(0.2)


def rss_mb(bot: bots.Bot) -> Optional[float]:
    memory = [mb for mb in (service.rss_mb() for service, _ in bot.services) if mb is not None]
    return sum(memory) if memory else None


def grow(bot: bots.Bot, options, sender: str) -> Dict[str, object]:
    """The long conversation of the growth phase and its summary by window of turns."""
    turns = growth.script(bot.growth_turns, options.growth_turns)
    windows = growth.windows(options.growth_turns)
    # Only errors fail a turn here; "please rephrase" is counted (the script is not a test).
    client = traffic.Client(bot.rest_url, options.token, bot.error_markers)
    played = asyncio.run(
        traffic.long_conversation(
            client, sender, turns, bot.confusion_markers, events_after=[last for _, last in windows]
        )
    )
    records: List[Dict] = []
    if bot.timings_file is not None:
        records = budget.by_conversation(wait_for_records(bot.timings_file, {sender: len(turns)})).get(sender, [])
    summary = growth.summarise(options.growth_turns, played.latencies_ms, records, played.events_after)
    summary.update(
        sender=sender, script_turns=len(bot.growth_turns), failures=played.failures, confused_turns=played.confused
    )
    first, last = summary["windows"][0]["figures"]["reply_ms"], summary["windows"][-1]["figures"]["reply_ms"]
    log(
        f"{bot.label}: growth conversation of {len(turns)} turns, reply p50 {stats.format_value(first, 'ms')} → "
        f"{stats.format_value(last, 'ms')} ms, {len(played.failures)} failed, {len(played.confused)} not understood"
    )
    return summary


def measure(bot: bots.Bot, options, stop_later: contextlib.ExitStack) -> Dict[str, object]:
    figures: Dict[str, object] = {"label": bot.label, "notes": bot.notes, "parse_messages_from": bot.parse_source}
    if bot.training is not None:
        log(f"{bot.label}: cold training (fresh Rasa cache) ...")
        stop_later.callback(bot.training.stop)
        figures["train_s"] = bot.training.run_to_end(bots.TRAIN_TIMEOUT_S)
        trained, restored = bots.training_was_cold(bot.training.log.read_text(encoding="utf-8", errors="replace"))
        if restored or not trained:
            raise bot.training.failure(f"training was not cold: {trained} components trained, {restored} from cache")
        figures["components_trained"] = trained
        log(f"{bot.label}: trained in {figures['train_s']:.1f} s ({trained} components, none from cache)")

    figures["load_average_before_serving"] = load_average()
    for service, _ in bot.services:
        stop_later.callback(service.stop)
        service.start()
    ready = wait_until_ready(bot.services, START_TIMEOUT_S)
    first_start = min(service.started for service, _ in bot.services)
    figures["startup_s"] = dict(ready)
    figures["startup_rasa_s"] = ready[bot.services[0][0].name]
    figures["startup_all_s"] = max(service.started + ready[service.name] for service, _ in bot.services) - first_start
    log(f"{bot.label}: ready after {figures['startup_all_s']:.1f} s")

    client = traffic.Client(bot.rest_url, options.token, bot.failure_markers)

    async def serve_phases() -> Tuple[int, traffic.Outcome]:
        number = 0
        warm_up = await traffic.sequential_turns(client, bot.make_conversation, "bench-warmup", number, 1)
        number += warm_up.conversations
        if warm_up.failures:
            raise BenchError(f"{bot.label}: the warm-up conversation failed: {warm_up.failures[0]}")

        parses = await traffic.parse_latencies(client, bot.parse_messages)
        figures["parse_ms"] = stats.summarise(parses)
        log(f"{bot.label}: {len(parses)} parses, p50 {figures['parse_ms']['p50']:.1f} ms")

        sequential = await traffic.sequential_turns(client, bot.make_conversation, "bench-seq", number, options.turns)
        number += sequential.conversations
        figures["reply_ms"] = stats.summarise(sequential.latencies_ms)
        figures["reply_ms_p50_by_turn"] = {
            f"{step + 1}. {bot.turn_labels[step]}": stats.percentile(samples, 0.5)
            for step, samples in sorted(sequential.by_step.items())
        }
        figures["reply_failures"] = sequential.failures
        log(
            f"{bot.label}: {sequential.turns} turns in {sequential.conversations} conversations one at a time, "
            f"{len(sequential.failures)} failed"
        )

        for senders in options.concurrency:
            loaded = await traffic.concurrent_turns(
                client, bot.make_conversation, f"bench-c{senders}", number, senders, options.duration
            )
            number += loaded.conversations
            figures[f"concurrent_{senders}"] = {
                "turns": loaded.turns,
                "conversations": loaded.conversations,
                "seconds": loaded.seconds,
                "turns_per_s": stats.rate(loaded.turns, loaded.seconds),
                "reply_ms": stats.summarise(loaded.latencies_ms),
                "failures": loaded.failures,
            }
            log(
                f"{bot.label}: {senders} senders, {loaded.turns} turns in {loaded.seconds:.1f} s, "
                f"{len(loaded.failures)} failed"
            )
        return number, sequential

    number, sequential = asyncio.run(serve_phases())
    # Before the growth conversation, so that all three columns are measured after the same work.
    figures["rss_mb"] = rss_mb(bot)
    if bot.timings_file is not None:
        records = wait_for_records(bot.timings_file, sequential.turns_by_sender)
        figures["budget"] = budget.budget(
            budget.match_turns(records, sequential.turns_by_sender), bot.turn_labels, sequential.by_step
        )
        log(f"{bot.label}: {figures['budget']['records']} timing records of the one-sender turns")
    if bot.growth_turns:
        # A conversation number no other phase used: the sender id is new to the tracker store.
        figures["growth"] = grow(bot, options, f"bench-growth-{number}")
        figures["rss_mb_after_growth"] = rss_mb(bot)
    figures["load_average_after_serving"] = load_average()
    for service, _ in reversed(bot.services):
        service.stop()
    return figures


def other_benchmarks() -> Dict[str, List[str]]:
    """The output lines of the project's micro-benchmarks, run with their default settings."""
    lines: Dict[str, List[str]] = {}
    for script in OTHER_BENCHMARKS:
        log(f"running {script} ...")
        try:
            done = subprocess.run(
                [sys.executable, script],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=OTHER_TIMEOUT_S,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(f"{script} did not finish within {OTHER_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0:
            raise BenchError(f"{script} exited with status {done.returncode}:\n{done.stderr[-2000:]}")
        lines[script] = [line for line in done.stdout.splitlines() if line.strip()]
    return lines


def rows(
    ours: Dict[str, object], plain: Dict[str, object], plain_sql: Dict[str, object], concurrency: List[int]
) -> List[stats.Row]:
    def get(figures, *keys) -> Optional[float]:
        value = figures
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def row(figure: str, unit: str, *keys: str) -> stats.Row:
        return stats.Row(figure, unit, get(ours, *keys), get(plain, *keys), get(plain_sql, *keys))

    table = [
        # One model serves both plain columns: it was trained once.
        stats.Row("Training, cold", "s", get(ours, "train_s"), get(plain, "train_s"), get(plain, "train_s")),
        row("Start-up, Rasa server until /status answers", "s", "startup_rasa_s"),
        row("Start-up, all services ready", "s", "startup_all_s"),
        row("NLU parse latency p50", "ms", "parse_ms", "p50"),
        row("NLU parse latency p95", "ms", "parse_ms", "p95"),
        row("Reply latency over REST p50, one sender", "ms", "reply_ms", "p50"),
        row("Reply latency over REST p95, one sender", "ms", "reply_ms", "p95"),
    ]
    for senders in concurrency:
        key = f"concurrent_{senders}"
        table.append(row(f"Throughput, {senders} concurrent senders", "turns/s", key, "turns_per_s"))
        table.append(row(f"Reply latency p95, {senders} concurrent senders", "ms", key, "reply_ms", "p95"))
    table.append(row("Memory of the servers after the run (RSS)", "MB", "rss_mb"))
    table.append(row("Memory after the growth conversation too (RSS)", "MB", "rss_mb_after_growth"))
    return table


def failures_of(figures: Dict[str, object]) -> List[str]:
    """Turns of the one-sender and concurrent phases without the expected reply (the growth
    conversation's are listed in its own section)."""
    found = list(figures.get("reply_failures") or [])
    for key, value in figures.items():
        if key.startswith("concurrent_") and isinstance(value, dict):
            found += value.get("failures") or []
    return found


BOTS = ("ours", "plain", "plain_sql")


def budget_section(figures: Dict[str, object]) -> List[str]:
    found = figures.get("budget")
    if not found or not found["records"]:
        return [
            "No timing records: the Rasa server wrote nothing to TURN_TIMINGS_FILE "
            "(nettrouble/monitoring/timing.py not installed by scripts/launch.py?).",
            "",
        ]
    return [
        f"Medians over the one-sender conversations ({found['records']} turns with a timing record) of "
        "each turn of the conversation; the last row is the median turn over all of them. Request is "
        "the Rasa server's time for the HTTP request, channel the part outside the message handling, "
        "other the request time no part covers (Rasa's lock, applying events, its own actions, building "
        "the reply); policy and actions show how many predictions and action calls; DB columns are "
        "statements / rows written; events are those of the tracker loaded.",
        "",
        budget.budget_table(found),
        "",
        "Share of the reply time (request, summed over all turns): " + budget.shares_line(found["shares"]) + ".",
        "",
        "Action calls per turn (medians; request is the tracker Rasa sends, the action server's time and "
        "its database time from its Server-Timing header):",
        "",
        budget.actions_table(found),
        "",
    ]


def growth_section(run: Dict[str, object]) -> List[str]:
    grown = [(run[key]["label"], run[key]["growth"]) for key in BOTS if run[key].get("growth")]
    lines = [
        f"One conversation of {run['settings']['growth_turns']} typed turns per bot after the other phases, "
        "on the same servers; medians per window of turns. Ours repeats a script of "
        f"{grown[0][1]['script_turns']} messages (trouble reports and their triage, corrections, FAQ, "
        "articles, thanks, a request for staff); the plain bot its moodbot phrases "
        f"({grown[-1][1]['script_turns']}). The plain bot has no timing records: its rows are the "
        "reply time and the events its SQL store holds.",
        "",
        growth.table(grown),
        "",
    ]
    for label, found in grown:
        lines.append(
            f"- {label}: {len(found['failures'])} turns without a reply, "
            f'{len(found["confused_turns"])} answered with "please rephrase" or the like'
            + (f" (turns {', '.join(map(str, found['confused_turns'][:20]))})" if found["confused_turns"] else "")
            + "."
        )
        lines += [f"  - {failure}" for failure in found["failures"][:SHOWN_FAILURES]]
    lines.append("")
    return lines


def report(run: Dict[str, object], table: List[stats.Row], goals: List[stats.Goal]) -> str:
    machine = run["machine"]
    lines = [
        f"# Benchmark: this bot vs a plain `rasa init` bot ({run['date']})",
        "",
        f"Machine: {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}, "
        f"Rasa {machine['rasa']}. Load average (1, 5, 15 min) at start {machine['load_average_start']}, "
        f"at end {machine['load_average_end']}. Same machine, same run, this bot first, then the plain "
        "bot as `rasa init` makes it, then the same model with an SQL tracker store on SQLite.",
        f"Settings: {run['settings']['turns']}+ turns one at a time, {run['settings']['messages']} parses, "
        f"{run['settings']['duration_s']:g} s per concurrency level; ratios are ours / plain and ours / "
        "plain-SQL (below 1 is faster for times, slower for throughput). Memory after the run is "
        "measured before the growth conversation, so that the three columns did the same work.",
        "",
        stats.markdown_table(table, run["ours"]["label"], run["plain"]["label"], run["plain_sql"]["label"]),
        "",
        "Goals (ours / plain-SQL):",
        "",
    ]
    lines += [f"- {goal.line()}" for goal in goals]
    lines += ["", "## Where our reply time goes, turn by turn (one sender)", ""]
    lines += budget_section(run["ours"])
    lines += ["## Growth over one long conversation", ""]
    lines += growth_section(run)
    lines += ["## Notes", ""]
    for key in BOTS:
        figures = run[key]
        lines.append(f"{figures['label']}:")
        lines += [f"- {note}" for note in figures["notes"]]
        lines.append(f"- Parse messages: {figures['parse_messages_from']}.")
        lines.append(
            "- Reply latency p50 by turn, one sender: "
            + "; ".join(
                f"{turn} {stats.format_value(ms, 'ms')} ms" for turn, ms in figures["reply_ms_p50_by_turn"].items()
            )
        )
        lines.append(
            f"- Load average before serving {figures['load_average_before_serving']}, "
            f"after {figures['load_average_after_serving']}."
        )
        failed = failures_of(figures)
        lines.append(f"- Turns without the expected reply: {len(failed)}.")
        lines += [f"  - {failure}" for failure in failed[:SHOWN_FAILURES]]
        lines.append("")
    lines += ["Project micro-benchmarks:", "", "```"]
    for script, output in run["other_benchmarks"].items():
        lines.append(f"$ {script}")
        lines += output
    lines.append("```")
    return "\n".join(lines) + "\n"


def parse_options(argv: List[str]):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200, help="turns measured one at a time (default 200)")
    parser.add_argument("--messages", type=int, default=200, help="NLU parses measured (default 200)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per concurrency level (default 30)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32], help="senders at once (default 8 32)")
    parser.add_argument(
        "--growth-turns",
        type=int,
        default=300,
        help=f"turns of the growth conversation (default 300, at least {growth.MIN_TURNS})",
    )
    parser.add_argument(
        "--base-port", type=int, default=7000, help="ports used: base+5, +55, +105, +155 (default 7000)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory of bench.md and bench.json")
    options = parser.parse_args(argv)
    if options.turns < 1 or options.messages < 1:
        parser.error("--turns and --messages must be at least 1")
    if not options.duration > 0 or any(n < 1 for n in options.concurrency):
        parser.error("--duration must be positive and every --concurrency at least 1")
    if options.growth_turns < growth.MIN_TURNS:
        parser.error(f"--growth-turns must be at least {growth.MIN_TURNS}")
    return options


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: List[str]) -> int:
    options = parse_options(argv)
    # Before anything reads .env into this process: the plain bot gets the plain environment.
    base_env = dict(os.environ)
    options.token = secrets.token_urlsafe(24)
    # Explicit for SIGINT too: a shell that starts the benchmark in the background ignores it.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    with bots.quiet_rasa():
        import rasa.version

    run: Dict[str, object] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            "rasa": rasa.version.__version__,
            "load_average_start": load_average(),
        },
        "settings": {
            "turns": options.turns,
            "messages": options.messages,
            "duration_s": options.duration,
            "concurrency": options.concurrency,
            "growth_turns": options.growth_turns,
            "clock": bots.CLOCK,
        },
    }
    log(f"{os.cpu_count()} CPUs, load average {run['machine']['load_average_start']}")
    try:
        ports = bots.Ports.from_base(options.base_port)
        for port in ports.all():
            ensure_free(port)
        with contextlib.ExitStack() as stop_later:
            temp = Path(stop_later.enter_context(tempfile.TemporaryDirectory(prefix="nettrouble-bench-")))
            ours = bots.ours(temp, ports, options.token, options.messages)
            run["ours"] = measure(ours, options, stop_later)
            log("plain bot: rasa init --no-prompt (it trains a first model of its own, not measured) ...")
            init = bots.init_plain(temp, base_env)
            stop_later.callback(init.stop)
            init.run_to_end(bots.TRAIN_TIMEOUT_S)
            plain = bots.plain(temp, ports, options.token, base_env, options.messages)
            run["plain"] = measure(plain, options, stop_later)
            run["plain_sql"] = measure(bots.plain_sql(plain, temp, ports, options.token), options, stop_later)
        run["other_benchmarks"] = other_benchmarks()
    except KeyboardInterrupt:
        log("interrupted; every process started was stopped")
        return 130
    except (BenchError, SettingsError, OSError) as error:
        log(f"failed: {error}")
        return 1
    run["machine"]["load_average_end"] = load_average()

    table = rows(run["ours"], run["plain"], run["plain_sql"], options.concurrency)
    goals = stats.goals(table)
    run["table"] = [row.as_dict() for row in table]
    run["goals"] = [goal.as_dict() for goal in goals]
    text = report(run, table, goals)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "bench.md").write_text(text, encoding="utf-8")
    (options.out / "bench.json").write_text(json.dumps(run, ensure_ascii=False, indent=2), encoding="utf-8")
    print(text)
    failed = [
        failure
        for key in BOTS
        for failure in failures_of(run[key]) + (run[key].get("growth") or {}).get("failures", [])
    ]
    if failed:
        log(f"{len(failed)} turns did not get the expected reply (listed above)")
        return 1
    log(f"written to {options.out / 'bench.md'} and bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
