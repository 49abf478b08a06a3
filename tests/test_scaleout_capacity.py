"""The pure parts of the scale-out check's capacity phase (scripts/scaleout/ and
scripts/capacity_lib): reading /proc and Redis counters, turning two readings into per-turn
figures, the window of a run, and the conversations its senders play."""

import itertools
import threading
from types import SimpleNamespace

import pytest

from nettrouble.eligibility import identity
from scripts.capacity_lib import probes, report
from scripts.capacity_lib.probes import DatabaseUsage, ProcessTimes, Usage
from scripts.scaleout import capacity, client, scenarios, servers

# ---- probes: parsing ------------------------------------------------------------------------


def stat_line(pid, comm, ppid, utime, stime, cutime, cstime):
    # proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    #          utime stime cutime cstime priority ...
    return f"{pid} ({comm}) S {ppid} 1 1 0 -1 4194560 100 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0"


def test_proc_stat_fields_are_counted_from_the_last_parenthesis():
    # A command name may hold spaces and parentheses: "postgres: rasa (idle)" would shift a
    # naive split by two fields.
    times = probes.parse_proc_stat(stat_line(42, "odd ) name (x)", 7, 11, 5, 100, 30))
    assert times == ProcessTimes(ppid=7, own_ticks=16, ended_children_ticks=130)


def test_a_tree_counts_its_root_every_descendant_and_children_that_ended():
    processes = {
        1: ProcessTimes(0, 1000, 0),  # init: above the tree, not in it
        10: ProcessTimes(1, 5, 40),  # the postmaster; 40 ticks of backends that ended
        11: ProcessTimes(10, 7, 0),  # a backend
        12: ProcessTimes(10, 3, 0),
        13: ProcessTimes(12, 2, 1),  # below a backend
        20: ProcessTimes(1, 500, 0),  # another server
    }
    assert probes.tree_ticks(processes, 10) == 5 + 40 + 7 + 3 + 2 + 1
    assert probes.tree_ticks(processes, 20) == 500
    assert probes.tree_ticks(processes, 99) == 0  # gone


def test_a_backend_that_ends_between_two_readings_keeps_its_share():
    before = {10: ProcessTimes(1, 5, 0), 11: ProcessTimes(10, 7, 0)}
    # The backend worked 3 more ticks, ended, and the postmaster waited for it.
    after = {10: ProcessTimes(1, 6, 10)}
    assert probes.tree_ticks(after, 10) - probes.tree_ticks(before, 10) == 1 + 3


def test_machine_cpu_splits_busy_idle_and_steal():
    text = "cpu  100 10 50 800 40 5 5 20 7 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n"
    busy, steal, everything = probes.parse_machine_cpu(text)
    assert (busy, steal) == (100 + 10 + 50 + 5 + 5, 20)
    # Guest time is already inside user time: not added again.
    assert everything == 100 + 10 + 50 + 800 + 40 + 5 + 5 + 20


def test_redis_calls_per_command_leave_out_the_probes_own_info():
    commandstats = {
        "cmdstat_get": {"calls": 12, "usec": 30, "usec_per_call": 2.5},
        "cmdstat_info": {"calls": 4, "usec": 300},
        "cmdstat_client|setname": {"calls": 2, "usec": 1},
        "cmdstat_evalsha": {"calls": 6, "usec": 60},
    }
    assert probes.command_calls(commandstats) == {"get": 12, "client|setname": 2, "evalsha": 6}


# ---- report: two readings into per-turn figures ---------------------------------------------


def usage(at, cpu, machine, redis_calls):
    return Usage(at=at, cpu_ticks=cpu, machine=machine, redis_calls=redis_calls)


TICKS = probes.CLOCK_TICKS_PER_S
TRAFFIC = {
    "servers": ["A", "B"],
    "turns_per_s": 5.0,
    "turns_in_window": 90,
    "turns": 100,
    "reply_p50_s": 1.0,
    "reply_p95_s": 2.0,
}


@pytest.fixture
def readings():
    before = usage(
        100.0, {"Rasa server A": TICKS, "PostgreSQL": 0, probes.CLIENT: 0}, (1000, 0, 4000), {"get": 50, "set": 10}
    )
    # 10 s later: Rasa A used 20 s of CPU, PostgreSQL 5 s, this script 1 s.
    after = usage(
        110.0,
        {"Rasa server A": 21 * TICKS, "PostgreSQL": 5 * TICKS, probes.CLIENT: TICKS},
        (2800, 100, 6000),
        {"get": 650, "set": 410, "del": 300},
    )
    databases = (
        DatabaseUsage(
            {"rasa": {"xact_commit": 10, "tup_returned": 1000}},
            {("rasa", "SELECT 1"): (5, 5), ("rasa", "BEGIN"): (100, 0)},
        ),
        DatabaseUsage(
            {"rasa": {"xact_commit": 210, "tup_returned": 9000}},
            {
                ("rasa", "SELECT 1"): (105, 405),
                ("rasa", "BEGIN"): (300, 0),
                ("rasa", "INSERT INTO events\n   VALUES ($1)"): (50, 200),
            },
        ),
    )
    return (before, after), databases


def test_a_run_record_divides_what_grew_by_every_turn_of_the_run(readings):
    usages, databases = readings
    record = report.run_record(TRAFFIC, 100, usages, databases, statements_unavailable="")
    assert record["turns_per_s"] == 5.0  # the senders' figures pass through
    assert record["measured_s"] == 10.0
    assert record["cpu_ms_per_turn"] == {"Rasa server A": 200.0, "PostgreSQL": 50.0, probes.CLIENT: 10.0}
    assert record["cpu_ms_per_turn_all"] == 260.0
    assert record["cpu_cores_used"] == 2.6
    assert record["machine_cpu_busy_share"] == 0.9  # 1800 of 2000 ticks
    assert record["machine_cpu_busy_cores"] == round(1800 / TICKS / 10, 2)
    assert record["machine_cpu_steal_share"] == 0.05
    assert record["redis_commands_per_turn"] == 13.0
    # Busiest first; a command first seen in the second reading counts from 0.
    assert list(record["redis_calls_per_turn"].items()) == [("get", 6.0), ("set", 4.0), ("del", 3.0)]
    assert record["postgres"] == {"rasa": {"xact_commit": 200, "tup_returned": 8000}}
    assert record["postgres_per_turn"] == {"rasa": {"xact_commit": 2.0, "tup_returned": 80.0}}
    assert record["postgres_statements_per_turn"] == {"rasa": 3.5}
    assert record["postgres_top_statements"][0] == {
        "database": "rasa",
        "statement": "BEGIN",
        "calls_per_turn": 2.0,
        "rows_per_turn": 0.0,
    }
    assert record["postgres_top_statements"][2]["statement"] == "INSERT INTO events VALUES ($1)"
    assert record["postgres_top_statements"][1]["rows_per_turn"] == 4.0


def test_without_pg_stat_statements_the_record_says_why_and_counts_no_statements(readings):
    usages, databases = readings
    reason = "pg_stat_statements must be loaded via shared_preload_libraries"
    record = report.run_record(TRAFFIC, 100, usages, databases, statements_unavailable=reason)
    assert "postgres_statements_per_turn" not in record
    assert "postgres_top_statements" not in record
    assert record["postgres_statements_unavailable"].startswith("pg_stat_statements must be loaded")
    assert record["postgres_per_turn"]["rasa"]["xact_commit"] == 2.0


def test_a_run_without_turns_divides_by_nothing():
    assert report.per_turn(10, 0) == 0.0


def test_the_ratio_is_two_servers_over_one():
    runs = {"1 server": {"turns_per_s": 4.0}, "2 servers": {"turns_per_s": 5.0}}
    assert report.throughput_ratio(runs, "2 servers", "1 server") == 1.25
    assert report.throughput_ratio({"2 servers": {"turns_per_s": 5.0}}, "2 servers", "1 server") is None
    stopped = {**runs, "1 server": {"turns_per_s": 0.0}}
    assert report.throughput_ratio(stopped, "2 servers", "1 server") is None


def test_the_table_has_a_column_per_run_and_says_the_cpus_limit_the_second_server(readings):
    usages, databases = readings
    one = report.run_record({**TRAFFIC, "servers": ["A"], "turns_per_s": 4.0}, 100, usages, databases, "")
    two = report.run_record(TRAFFIC, 100, usages, databases, "")
    lines = report.format_table({"1 server": one, "2 servers": two}, 1.25, cpus=2)
    text = "\n".join(lines)
    assert lines[0].split() == ["1", "server", "2", "servers"]
    turns = next(line for line in lines if line.startswith("turns/s"))
    assert turns.split()[-2:] == ["4.00", "5.00"]
    rasa = next(line for line in lines if line.strip().startswith("Rasa server A"))
    assert rasa.split()[-2:] == ["200", "200"]
    busy = next(line for line in lines if line.startswith("CPU cores busy"))
    assert "(of 2)" in busy and busy.split()[-3:] == ["2.60", "/", f"{1800 / TICKS / 10:.2f}"]
    assert "stolen by the hypervisor" in text  # 5% of the machine's time
    assert "statements" in text and "Redis per turn (2 servers): get 6.0, set 4.0, del 3.0" in text
    assert "2 servers / 1 server: 1.25 x the turns per second" in text
    assert "2 CPU(s) for everything" in text
    assert "Other work" not in text  # the processes account for all the machine was busy with


def test_the_table_says_when_other_work_competed_for_the_cpus(readings):
    usages, databases = readings
    record = report.run_record(TRAFFIC, 100, usages, databases, "")
    quiet = {**record, "cpu_ms_per_turn": {}, "cpu_cores_used": 1.7, "machine_cpu_busy_cores": 1.8}
    busy = {**quiet, "machine_cpu_busy_cores": 1.99}
    assert "Other work" not in "\n".join(report.format_table({"2 servers": quiet}, None, cpus=2))
    text = " ".join(report.format_table({"1 server": quiet, "2 servers": busy}, None, cpus=2))
    assert "Other work on this machine kept up to 0.29 cores busy" in text


# ---- the script: conversations and the window of a run -------------------------------------


def test_capacity_numbers_are_docomo_numbers_of_their_own():
    numbers = [capacity.capacity_phone(run, n) for run in (1, 2) for n in (0, 1, 9999, 10000, 123456)]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert identity.normalise(number).startswith("080")
    # Phases 1 and 2 use 090 numbers: a capacity conversation never finds their consultation.
    assert not any(number.startswith("090") for number in numbers)


def test_one_server_gets_every_turn_and_two_share_them():
    messages = ["a", "b", "c", "d"]
    assert [group[0][1] for group in scenarios.alternating_plan(messages, first=0, servers=("A",))] == ["A"] * 4
    assert [group[0][1] for group in scenarios.alternating_plan(messages, first=1)] == ["B", "A", "B", "A"]


def test_each_capacity_conversation_is_a_new_user_with_a_new_number():
    start = capacity.conversation_maker("r1", 2, "2 servers", servers.SERVERS)
    conversations = [start() for _ in range(6)]
    assert len({c.sender for c in conversations}) == 6
    assert all(c.sender.startswith("scaleout-r1-c2-") for c in conversations)
    phones = {turn for c in conversations for group in c.plan for turn, _ in group if turn.startswith("080")}
    assert len(phones) == sum(1 for c in conversations if c.scenario.eligible)
    assert {c.scenario.name for c in conversations} == {s.name for s in scenarios.SCENARIOS}
    # Alternating starts balance the servers over conversations of odd length.
    firsts = [c.plan[0][0][1] for c in conversations]
    assert firsts.count("A") == firsts.count("B")


def sent(finished_at, latency, error=""):
    return scenarios.Sent("m", "A", replies=["r"], status=200, latency_s=latency, error=error, finished_at=finished_at)


def test_the_window_counts_turns_answered_in_it_and_not_failures():
    turns = [
        sent(9.0, 5.0),  # before the window
        sent(10.0, 1.0),
        sent(15.0, 2.0),
        sent(20.0, 3.0),
        sent(18.0, 9.0, error="HTTP 500"),
        sent(25.0, 8.0),  # a last conversation finishing
    ]
    figures = capacity.window_figures(turns, 10.0, 20.0)
    assert figures == {
        "window_s": 10.0,
        "turns_in_window": 3,
        "turns_per_s": 0.3,
        "reply_p50_s": 2.0,
        "reply_p95_s": 3.0,
        "reply_max_s": 3.0,
    }


class SteppedClock:
    """time.monotonic() of the client, moved only by the conversations played: the window ends
    after a fixed number of them however busy the machine is."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_senders_start_conversations_until_the_end_and_finish_the_last_one(monkeypatch):
    numbers = itertools.count()
    started_at = {}
    clock = SteppedClock()

    def play(conversation):
        clock.advance(0.05)
        conversation.results.append([])

    def start():
        conversation = scenarios.Conversation(f"s{next(numbers)}", scenarios.SCENARIOS[0], "capacity", [])
        started_at[conversation.sender] = clock.monotonic()
        return conversation

    monkeypatch.setattr(client, "play", play)
    monkeypatch.setattr(client, "time", SimpleNamespace(monotonic=clock.monotonic))
    conversations, begun, end = client.play_for(0.2, 3, start)
    assert end - begun == pytest.approx(0.2)
    assert len(conversations) > 3  # the senders kept starting new ones through the window
    assert all(c.results == [[]] for c in conversations)  # and finished what they started
    assert all(started_at[c.sender] < end for c in conversations)
