"""The time budget of scripts/bench.py on synthetic timing records in the format of
nettrouble/monitoring/timing.py's docstring: reading them, matching them to turns, medians, shares, tables."""

import json

import pytest

from scripts.bench_lib import budget


def record(
    conversation,
    request=50.0,
    nlu=10.0,
    policy=6.0,
    load=3.0,
    save=4.0,
    channel=2.0,
    calls=(),
    events=100,
    statements=5,
    rows=7,
    cpu=40.0,
    policy_runs=4,
):
    """A Rasa server record; ``calls`` are (name, ms, request_bytes, response_bytes, server_ms,
    server_db_ms, server_db_statements, server_db_rows)."""
    actions = [
        {
            "name": name,
            "ms": ms,
            "request_bytes": sent,
            "response_bytes": received,
            "server_ms": server,
            "server_cpu_ms": server,
            "server_db_ms": db,
            "server_db_statements": stmts,
            "server_db_rows": db_rows,
        }
        for name, ms, sent, received, server, db, stmts, db_rows in calls
    ]
    spans = {
        "request": request,
        "turn": request - channel,
        "channel": channel,
        "nlu": nlu,
        "policy": policy,
        "tracker_load": load,
        "tracker_save": save,
    }
    if actions:
        spans["actions"] = sum(call["ms"] for call in actions)
    return {
        "process": "rasa",
        "conversation": conversation,
        "path": "/webhooks/rest/webhook",
        "t": 1765000000.1,
        "spans_ms": spans,
        "counts": {
            "turn": 1,
            "nlu": 1,
            "policy": policy_runs,
            "actions": len(actions),
            "tracker_load": 1,
            "tracker_save": 1,
            "tracker_events": events,
        },
        "actions": actions,
        "db": {"statements": statements, "ms": 3.2, "rows_written": rows, "select": 2, "insert": 3},
        "cpu_ms": cpu,
    }


def test_parse_records_keeps_the_rasa_servers_in_order_and_skips_bad_lines():
    lines = [
        json.dumps(record("a")),
        json.dumps({"process": "actions", "conversation": "a"}),  # the action server's own
        "",
        '{"process": "rasa", "conver',  # cut short by a stopped server
        "[1, 2]",
        json.dumps(record("b")),
    ]
    assert [r["conversation"] for r in budget.parse_records(lines)] == ["a", "b"]


def test_read_records_of_a_file_not_written_is_nothing(tmp_path):
    assert budget.read_records(tmp_path / "never-written.jsonl") == []
    path = tmp_path / "turns.jsonl"
    path.write_text(json.dumps(record("会話-1"), ensure_ascii=False) + "\n", encoding="utf-8")
    assert budget.read_records(path)[0]["conversation"] == "会話-1"


def test_match_turns_by_conversation_and_order():
    records = [
        record("bench-warmup-0", request=1.0),
        record("bench-seq-1", request=10.0),
        record("bench-seq-2", request=20.0),
        record("bench-seq-1", request=11.0),
        record("bench-seq-2", request=21.0),
        record("bench-seq-2", request=22.0),  # the turn that failed: not a measured turn
        record("bench-c8-9", request=99.0),
    ]
    steps = budget.match_turns(records, {"bench-seq-1": 2, "bench-seq-2": 2, "bench-seq-3": 1})
    assert sorted(steps) == [0, 1]
    assert [r["spans_ms"]["request"] for r in steps[0]] == [10.0, 20.0]
    assert [r["spans_ms"]["request"] for r in steps[1]] == [11.0, 21.0]


def test_turn_figures_sum_the_action_calls_and_count_absent_parts_as_zero():
    figures = budget.turn_figures(
        record(
            "a",
            calls=[
                ("validate_triage_form", 10.0, 21000, 300, 6.0, 1.0, 3, 1),
                ("action_offer_articles", 5.0, 22000, 900, 2.0, 0.5, 1, 0),
            ],
        )
    )
    assert figures["actions"] == 15.0
    assert figures["action_calls"] == 2.0
    assert figures["action_server_ms"] == 8.0
    assert figures["action_db_ms"] == 1.5
    assert (figures["action_db_statements"], figures["action_db_rows"]) == (4.0, 1.0)
    assert (figures["rasa_db_statements"], figures["rasa_db_rows"]) == (5.0, 7.0)
    assert figures["policy_runs"] == 4.0 and figures["tracker_events"] == 100.0
    assert figures["other"] == 50.0 - (2.0 + 3.0 + 10.0 + 6.0 + 15.0 + 4.0)
    quiet = budget.turn_figures(record("a"))
    assert quiet["actions"] == 0.0 and quiet["action_calls"] == 0.0
    assert budget.turn_figures({})["request"] == 0.0


def test_budget_gives_medians_per_turn_and_over_all_turns():
    first = [
        record(f"s{n}", request=r, nlu=n_ms, calls=[("action_start_triage", a, 20480 * (n + 1), 1024, 5.0, 1.0, 2, 1)])
        for n, (r, n_ms, a) in enumerate([(40.0, 8.0, 10.0), (60.0, 12.0, 30.0), (50.0, 10.0, 20.0)])
    ]
    second = [record(f"s{n}", request=r) for n, r in enumerate([100.0, 80.0, 90.0])]
    found = budget.budget(
        {0: first, 1: second}, ["ツイッターで悪口", "自分です"], {0: [45.0, 65.0, 55.0], 1: [105.0, 85.0, 95.0]}
    )
    assert found["records"] == 6
    one, two = found["turns"]
    assert one["turn"] == "1. ツイッターで悪口" and one["conversations"] == 3
    assert one["reply_ms"] == 55.0
    assert one["figures"]["request"] == 50.0 and one["figures"]["nlu"] == 10.0
    assert one["actions"] == [
        {
            "name": "action_start_triage",
            "calls": 3,
            "ms": 20.0,
            "request_kb": 40.0,
            "response_kb": 1.0,
            "server_ms": 5.0,
            "server_db_ms": 1.0,
        }
    ]
    assert two["figures"]["request"] == 90.0 and two["actions"] == []
    total = found["total"]
    assert total["conversations"] == 6
    # stats.percentile over 40, 50, 60, 80, 90, 100: index round(2.5) = 2
    assert total["figures"]["request"] == 60.0
    assert total["reply_ms"] == 65.0


def test_a_turn_without_records_is_missing_not_zero():
    found = budget.budget({}, ["hello"], {0: [30.0]})
    assert found["records"] == 0
    assert found["turns"][0]["figures"]["request"] is None
    assert found["turns"][0]["reply_ms"] == 30.0
    assert all(share is None for share in found["shares"].values())


def test_shares_add_up_to_the_request_time():
    records = [
        record(
            "a",
            request=100.0,
            channel=5.0,
            load=10.0,
            nlu=20.0,
            policy=15.0,
            save=10.0,
            calls=[("x", 30.0, 1, 1, 1.0, 0.0, 0, 0)],
        ),
        record("b", request=100.0, channel=5.0, load=10.0, nlu=20.0, policy=15.0, save=10.0),
    ]
    found = budget.shares(records)
    assert found["actions"] == pytest.approx(0.15)
    assert found["nlu"] == pytest.approx(0.20)
    assert found["other"] == pytest.approx(1 - (0.05 + 0.10 + 0.20 + 0.15 + 0.15 + 0.10))
    assert sum(found.values()) == pytest.approx(1.0)
    assert budget.shares_line(found).startswith("channel 5 %; tracker load 10 %; NLU 20 %; policy 15 %")
    assert budget.shares_line({name: None for name in found}) == "—"


def test_budget_and_action_tables():
    found = budget.budget(
        {0: [record("s0", calls=[("validate_triage_form", 12.0, 21504, 307, 6.0, 1.0, 3, 1)])]},
        ["ツイッター|X で悪口"],
        {0: [52.0]},
    )
    table = budget.budget_table(found).splitlines()
    assert table[0].startswith("| Turn | Reply, client (ms) | Request (ms) |")
    assert table[1] == "|---" + "|---:" * (len(budget.BUDGET_HEADER) - 1) + "|"
    # A "|" in a message must not add a column.
    assert table[2] == (
        "| 1. ツイッター\\|X で悪口 | 52.0 | 50.0 | 2.0 | 10.0 | 6.0 (4) | 3.0 | 4.0 | 12.0 (1) "
        "| 13.0 | 5 / 7 | 3 / 1 | 40.0 | 100 |"
    )
    assert table[3].startswith("| All turns | 52.0 | 50.0 |")
    assert len(table) == 4
    calls = budget.actions_table(found).splitlines()
    assert calls[2] == "| 1. ツイッター\\|X で悪口 | validate_triage_form | 12.0 | 21.0 | 0.3 | 6.0 | 1.0 |"
    assert len(calls) == 3
