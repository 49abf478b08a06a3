"""The pure parts of scripts/bench.py: statistics, the table, the checks of each reply."""

import json
import re

import pytest
import yaml

from scripts.bench_lib import bots, stats
from scripts.bench_lib.processes import BenchError
from scripts.bench_lib.traffic import Turn, reply_problem


def test_percentile_is_nearest_rank_like_the_other_benchmarks():
    samples = [float(v) for v in range(1, 101)]  # 1..100, shuffled order must not matter
    shuffled = samples[::2] + samples[1::2]
    assert stats.percentile(shuffled, 0.5) == 51.0  # round(0.5 * 99) = 50 -> 51
    assert stats.percentile(shuffled, 0.95) == 95.0  # round(94.05) = 94 -> 95
    assert stats.percentile(shuffled, 0.0) == 1.0
    assert stats.percentile(shuffled, 1.0) == 100.0
    assert stats.percentile([7.0], 0.95) == 7.0


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_percentile_rejects_a_share_outside_0_1(share):
    with pytest.raises(ValueError):
        stats.percentile([1.0, 2.0], share)


def test_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        stats.percentile([], 0.5)


def test_summarise():
    summary = stats.summarise([10.0, 30.0, 20.0, 40.0])
    assert summary == {"n": 4, "p50": 30.0, "p95": 40.0, "mean": 25.0, "max": 40.0}


def test_summarise_of_nothing_is_missing_not_zero():
    assert stats.summarise([]) == {"n": 0, "p50": None, "p95": None, "mean": None, "max": None}


def test_rate():
    assert stats.rate(90, 30.0) == 3.0
    assert stats.rate(0, 30.0) == 0.0
    assert stats.rate(5, 0.0) is None
    with pytest.raises(ValueError):
        stats.rate(-1, 1.0)


def test_ratio_is_ours_over_plain_and_missing_when_undefined():
    assert stats.ratio(150.0, 100.0) == 1.5
    assert stats.ratio(None, 100.0) is None
    assert stats.ratio(150.0, None) is None
    assert stats.ratio(150.0, 0.0) is None


def test_fixed_sample_spreads_evenly_over_a_long_list():
    items = [f"intent{i // 10}-{i}" for i in range(300)]  # 30 intents of 10, sorted by intent
    sample = stats.fixed_sample(items, 200)
    assert len(sample) == 200
    assert len(set(sample)) == 200
    assert sample[0] == items[0]
    assert {s.split("-")[0] for s in sample} == {f"intent{i}" for i in range(30)}
    assert sample == stats.fixed_sample(items, 200)  # the same on every run


def test_fixed_sample_repeats_a_short_list_in_order():
    assert stats.fixed_sample(["a", "b", "c"], 7) == ["a", "b", "c", "a", "b", "c", "a"]
    assert stats.fixed_sample(["a", "b"], 2) == ["a", "b"]


@pytest.mark.parametrize("items, count", [([], 5), (["a"], 0)])
def test_fixed_sample_rejects_nothing_to_sample(items, count):
    with pytest.raises(ValueError):
        stats.fixed_sample(items, count)


@pytest.mark.parametrize(
    "value, unit, shown",
    [
        (None, "ms", "—"),
        (float("nan"), "s", "—"),
        (12.345, "ms", "12.3"),
        (1234.5, "ms", "1234"),
        (85.24, "s", "85.2"),
        (3.456, "turns/s", "3.46"),
        (14.06, "turns/s", "14.1"),
        (512.4, "MB", "512"),
    ],
)
def test_format_value(value, unit, shown):
    assert stats.format_value(value, unit) == shown


def test_markdown_table():
    rows = [
        stats.Row("Training, cold", "s", 85.0, 170.0, 170.0),
        stats.Row("Throughput | 8 senders", "turns/s", 4.0, None, 5.0),
    ]
    table = stats.markdown_table(rows, "This bot", "Plain `rasa init`", "Plain + SQL store").splitlines()
    assert table[0] == (
        "| Figure | This bot | Plain `rasa init` | Plain + SQL store | Ratio (ours / plain) "
        "| Ratio (ours / plain-SQL) |"
    )
    assert table[1] == "|---|---:|---:|---:|---:|---:|"
    assert table[2] == "| Training, cold (s) | 85.0 | 170.0 | 170.0 | 0.50 | 0.50 |"
    # A "|" in a figure name must not add a column; a missing figure has no ratio.
    assert table[3] == "| Throughput \\| 8 senders (turns/s) | 4.00 | — | 5.00 | — | 0.80 |"
    assert len(table) == 4


def test_row_as_dict_is_json_ready():
    row = stats.Row("NLU parse latency p50", "ms", 12.0, 8.0, 10.0)
    assert json.loads(json.dumps(row.as_dict())) == {
        "figure": "NLU parse latency p50",
        "unit": "ms",
        "ours": 12.0,
        "plain": 8.0,
        "plain_sql": 10.0,
        "ratio": 1.5,
        "ratio_sql": 1.2,
    }


def goal_rows(**ratios_sql):
    """Rows of every goal's figure with ours / plain-SQL as given (plain-SQL 100)."""
    return [
        stats.Row(figure, "x", ratios_sql[key] * 100, 50.0, 100.0)
        for key, (figure, _, _) in zip(("p50", "p95", "t8", "t32", "p95_32", "memory"), stats.GOALS)
        if key in ratios_sql
    ]


def test_goals_are_measured_against_plain_sql():
    found = stats.goals(goal_rows(p50=0.8, p95=0.81, t8=1.2, t32=1.1, p95_32=0.5, memory=1.3))
    assert [goal.met for goal in found] == [True, False, True, False, True, False]
    assert found[0].line() == ("Reply latency over REST p50, one sender: ours / plain-SQL 0.80, goal ≤ 0.80: met")
    assert found[3].line() == ("Throughput, 32 concurrent senders: ours / plain-SQL 1.10, goal ≥ 1.20: not met")
    assert json.loads(json.dumps(found[2].as_dict())) == {
        "figure": "Throughput, 8 concurrent senders",
        "bound": 1.2,
        "at_most": False,
        "ratio": 1.2,
        "met": True,
    }


def test_a_goal_without_its_figure_is_not_measured_not_failed():
    # --concurrency 4 16: no row for 8 or 32 senders; a plain-SQL figure that is missing.
    rows = goal_rows(p50=0.5) + [stats.Row("Reply latency over REST p95, one sender", "ms", 40.0, 30.0, None)]
    found = stats.goals(rows)
    assert [goal.met for goal in found] == [True, None, None, None, None, None]
    assert found[1].line().endswith("ours / plain-SQL —, goal ≤ 0.80: not measured")


def rest_body(*texts):
    return json.dumps([{"recipient_id": "s", "text": t} for t in texts], ensure_ascii=False)


def test_reply_problem_accepts_an_expected_reply():
    turn = Turn("/request_human", expect=r"NT-\d{4}-\d{5}-\d")
    assert (
        reply_problem(200, rest_body("ありがとうございます。", "受付番号は NT-2007-58565-3 です。"), turn, []) is None
    )
    assert reply_problem(200, rest_body("Hey! How are you?"), Turn("hello"), []) is None


@pytest.mark.parametrize(
    "status, body, problem",
    [
        (500, "Internal Server Error", "HTTP 500"),
        (200, "<html>", "not JSON"),
        (200, "[]", "no reply"),
        (200, '{"error": "x"}', "no reply"),
        (200, rest_body("申し訳ございません。ただいまお返事をご用意できませんでした。"), "fallback reply"),
        (200, rest_body("受付番号をお伝えください。"), "expected /NT-"),
    ],
)
def test_reply_problem_names_what_went_wrong(status, body, problem):
    turn = Turn("/request_human", expect=r"NT-\d{4}-\d{5}-\d")
    markers = ["申し訳ございません。ただいまお返事をご用意できませんでした。"]
    found = reply_problem(status, body, turn, markers)
    assert found is not None and found.startswith(problem)


def test_reply_problem_cuts_a_huge_reply():
    found = reply_problem(502, "x" * 100_000, Turn("hi"), [])
    assert found is not None and len(found) < 300


def test_phone_numbers_are_distinct_and_well_formed():
    numbers = {bots.phone_number(n) for n in (0, 1, 9999, 10_000, 99_999_999)}
    assert len(numbers) == 5
    assert bots.phone_number(12_345_678) == "090-1234-5678"
    with pytest.raises(ValueError):
        bots.phone_number(10**8)


def test_training_was_cold_reads_the_rasa_log():
    log = "\n".join(
        [
            "INFO rasa.engine.training.hooks - Starting to train component 'SudachiTokenizer'.",
            "INFO rasa.engine.training.hooks - Finished training component 'SudachiTokenizer'.",
            "INFO rasa.engine.training.hooks - Finished training component 'RulePolicy'.",
        ]
    )
    assert bots.training_was_cold(log) == (2, 0)
    warm = log + "\nINFO rasa.engine.training.hooks - Restored component 'RulePolicy' from cache."
    assert bots.training_was_cold(warm) == (2, 1)


def test_ports_stay_within_7xxx():
    ports = bots.Ports.from_base(7000)
    assert ports.all() == [7005, 7055, 7105, 7155]
    assert max(bots.Ports.from_base(7844).all()) == 7999
    for base in (5000, 6999, 7845, 7900):
        with pytest.raises(BenchError):
            bots.Ports.from_base(base)


def test_sql_endpoints_adds_the_store_to_the_plain_endpoints(tmp_path):
    # `rasa init`'s endpoints.yml is comments only; another one keeps its other endpoints.
    database = tmp_path / "tracker.db"
    assert yaml.safe_load(bots.sql_endpoints("# action_endpoint:\n#  url: x\n", database)) == {
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(database)}
    }
    endpoints = yaml.safe_load(
        bots.sql_endpoints(
            "action_endpoint:\n  url: http://localhost:5055/webhook\ntracker_store:\n  type: redis\n", database
        )
    )
    assert endpoints["action_endpoint"] == {"url": "http://localhost:5055/webhook"}
    assert endpoints["tracker_store"]["type"] == "SQL"
    with pytest.raises(BenchError):
        bots.sql_endpoints("- a list\n", database)


def test_the_growth_scripts_are_typed_messages_with_few_anchors():
    for script in (bots.OUR_GROWTH_TURNS, bots.PLAIN_GROWTH_TURNS):
        assert 10 <= len(script) <= 60
        assert sum(turn.expect is not None for turn in script) <= 5
    # No mobile number: the number checks are limited per conversation.
    assert not any(re.search(r"0[789]0\D?\d{4}\D?\d{4}", turn.text) for turn in bots.OUR_GROWTH_TURNS)
