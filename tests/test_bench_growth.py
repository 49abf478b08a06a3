"""The growth measurement of scripts/bench.py: windows, the summary of a long conversation on
synthetic latencies and timing records, its table, and the long conversation played against a
local server standing in for Rasa."""

import asyncio
import json

import pytest

from scripts.bench_lib import growth, traffic
from scripts.bench_lib.traffic import Turn
from tests.fakes.http_recorder import RecordingServer


def test_windows_of_300_turns_are_the_first_a_third_and_the_last():
    assert growth.windows(300) == [(1, 10), (100, 110), (290, 300)]
    assert growth.windows(30) == [(1, 10), (10, 20), (20, 30)]
    assert growth.window_label((100, 110)) == "turns 100–110"
    with pytest.raises(ValueError):
        growth.windows(29)


def test_script_repeats_in_order():
    assert growth.script(["a", "b", "c"], 7) == ["a", "b", "c", "a", "b", "c", "a"]
    with pytest.raises(ValueError):
        growth.script([], 3)


def grown_record(turn):
    """A record whose times and sizes grow with the turn number."""
    return {
        "process": "rasa",
        "conversation": "g",
        "spans_ms": {
            "request": 10.0 * turn,
            "channel": 2.0,
            "nlu": 8.0,
            "policy": float(turn),
            "tracker_load": 0.5 * turn,
            "tracker_save": 3.0,
            "actions": 2.0 * turn,
        },
        "counts": {"tracker_events": 14 * (turn - 1)},
        "actions": [
            {"name": "a", "ms": turn, "request_bytes": 1024 * turn},
            {"name": "b", "ms": turn, "request_bytes": 1024 * (turn + 1)},
        ],
        "db": {},
        "cpu_ms": 1.0,
    }


def test_summarise_medians_per_window_and_ratio_last_first():
    turns = 60
    latencies = [float(turn) * 10 for turn in range(1, turns + 1)]
    latencies[0] = None  # a failed turn has no latency
    records = [grown_record(turn) for turn in range(1, turns + 1)]
    found = growth.summarise(turns, latencies, records, {10: 130, 30: 400, 60: 800})
    first, middle, last = found["windows"]
    assert (first["label"], middle["label"], last["label"]) == ("turns 1–10", "turns 20–30", "turns 50–60")
    assert first["replies"] == 9 and first["records"] == 10
    assert first["figures"]["reply_ms"] == 60.0  # turns 2..10
    assert first["figures"]["request"] == 50.0  # stats.percentile of 10..100: index round(4.5) = 4
    assert first["figures"]["nlu"] == 8.0
    # turn 5: 50 ms of request, 2 + 2.5 + 8 + 5 + 10 + 3 ms of parts
    assert first["figures"]["other"] == 19.5
    assert first["figures"]["tracker_events"] == 56.0  # turn 5's
    # The calls of turns 1..10 sent 1..11 KB, two per turn; median over the 20 calls.
    assert first["figures"]["tracker_kb_per_call"] == 6.0
    assert first["figures"]["events_stored"] == 130
    assert last["figures"]["events_stored"] == 800
    assert found["ratio_last_first"]["nlu"] == 1.0
    assert found["ratio_last_first"]["events_stored"] == pytest.approx(800 / 130)
    assert found["ratio_last_first"]["policy"] == pytest.approx(55.0 / 5.0)
    assert found["records"] == turns


def test_summarise_a_bot_without_records():
    found = growth.summarise(30, [20.0] * 30, [], {10: None, 20: 50, 30: 75})
    figures = found["windows"][0]["figures"]
    assert figures["reply_ms"] == 20.0
    assert figures["nlu"] is None and figures["tracker_kb_per_call"] is None
    assert figures["events_stored"] is None
    assert found["ratio_last_first"]["reply_ms"] == 1.0
    assert found["ratio_last_first"]["events_stored"] is None


def test_table_shows_only_the_figures_each_bot_has():
    ours = growth.summarise(
        30, [float(t) for t in range(1, 31)], [grown_record(t) for t in range(1, 31)], {10: 130, 20: 270, 30: 410}
    )
    plain = growth.summarise(30, [20.0] * 30, [], {10: 40, 20: 80, 30: 120})
    table = growth.table([("This bot", ours), ("Plain + SQL store", plain)]).splitlines()
    assert table[0] == "| Figure | turns 1–10 | turns 10–20 | turns 20–30 | Last / first |"
    assert table[1] == "|---|---:|---:|---:|---:|"
    assert table[2] == "| This bot: Reply p50, client (ms) | 5.0 | 15.0 | 25.0 | 5.00 |"
    assert "| This bot: Tracker sent to the action server, per call (KB) | 6.0 | 15.0 | 25.0 | 4.17 |" in table
    assert "| This bot: Events (counts.tracker_events) (events) | 56 | 196 | 336 | 6.00 |" in table
    plain_rows = [line for line in table if line.startswith("| Plain + SQL store")]
    assert plain_rows == [
        "| Plain + SQL store: Reply p50, client (ms) | 20.0 | 20.0 | 20.0 | 1.00 |",
        "| Plain + SQL store: Events in the tracker store, end of window (events) | 40 | 80 | 120 | 3.00 |",
    ]


def rest_reply(*texts):
    return [{"recipient_id": "g", "text": text} for text in texts]


def test_long_conversation_goes_on_after_failures_and_counts_confusion():
    server = RecordingServer().start()
    try:
        server.answer(
            "/webhooks/rest/webhook",
            (200, rest_reply("こんにちは。")),
            (500, {"error": "boom"}),
            (200, []),
            (200, rest_reply("申し訳ございません、うまく読み取れませんでした。")),
            (200, rest_reply("受付番号は NT-2007-12345-6 です。")),
            (200, rest_reply("ただいまお返事をご用意できませんでした。")),
        )
        server.answer("/conversations/bench-growth-7/tracker", (200, {"events": [{}] * 12}), (500, {}))
        client = traffic.Client(server.url, "token", ["ただいまお返事をご用意できませんでした。"])
        turns = [
            Turn("こんにちは"),
            Turn("a"),
            Turn("b"),
            Turn("c"),
            Turn("/request_human", expect=r"NT-\d"),
            Turn("d"),
        ]
        played = asyncio.run(
            traffic.long_conversation(
                client, "bench-growth-7", turns, ["うまく読み取れませんでした"], events_after=[2, 6]
            )
        )
    finally:
        server.stop()
    assert [ms is None for ms in played.latencies_ms] == [False, True, True, False, False, True]
    assert len(played.failures) == 3
    assert played.failures[0].startswith("bench-growth-7 turn 2: HTTP 500")
    assert played.failures[1] == "bench-growth-7 turn 3: no reply"
    assert "fallback reply" in played.failures[2]
    assert played.confused == [4]
    assert played.events_after == {2: 12, 6: None}
    sent = [json.loads(r.body) for r in server.to("/webhooks/rest/webhook")]
    assert [s["message"] for s in sent] == ["こんにちは", "a", "b", "c", "/request_human", "d"]
    assert {s["sender"] for s in sent} == {"bench-growth-7"}
    assert server.to("/conversations/bench-growth-7/tracker")[0].method == "GET"


def test_says_any_reads_the_escaped_reply():
    body = json.dumps(rest_reply("申し訳ございません、うまく読み取れませんでした。"))  # \u escapes
    assert "読み取れ" not in body
    assert traffic.says_any(body, ["うまく読み取れませんでした"])
    assert not traffic.says_any(body, ["受付番号"])
    assert not traffic.says_any("<html>", ["x"])
    assert not traffic.says_any('{"text": "x"}', ["x"])
