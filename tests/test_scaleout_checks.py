"""The pure parts of the scale-out check (scripts/scaleout/): finding lost, duplicated,
out-of-order and unanswered turns in stored events, comparing cases, the plans it sends and
the servers' environment."""

import pytest

from nettrouble.core.masking import PHONE_MASK
from nettrouble.core.settings import setting_names
from scripts.scaleout import checks, cluster, scenarios


class Clock:
    """Distinct, increasing event timestamps, as Rasa writes them."""

    def __init__(self):
        self.now = 1_594_778_400.0

    def __call__(self):
        self.now += 0.25
        return self.now


@pytest.fixture
def tick():
    return Clock()


def user(tick, text):
    return {"event": "user", "timestamp": tick(), "text": text, "parse_data": {}}


def bot(tick, text, buttons=None):
    return {"event": "bot", "timestamp": tick(), "text": text, "data": {"buttons": buttons}}


def action(tick, name):
    return {"event": "action", "timestamp": tick(), "name": name}


def turn(tick, text, *replies):
    """The events of one answered turn."""
    events = [user(tick, text), action(tick, "utter_x")]
    events += [bot(tick, reply) for reply in replies]
    return events + [action(tick, "action_listen")]


def start(tick):
    return [
        action(tick, "action_session_start"),
        {"event": "session_started", "timestamp": tick()},
        action(tick, "action_listen"),
    ]


def counts(findings):
    return {name: value for name, value in findings.counts().items() if value}


# ---- check_turns ---------------------------------------------------------------------------


def test_a_conversation_stored_as_it_happened_passes(tick):
    groups = [[("こんにちは", ["こんにちは。"])], [("090-1234-5678", ["ありがとうございます。"])]]
    # The tracker store keeps the number masked; the comparison masks what was sent too.
    events = start(tick) + turn(tick, "こんにちは", "こんにちは。") + turn(tick, PHONE_MASK, "ありがとうございます。")
    found = checks.check_turns(groups, events)
    assert not found.failed, found.problems


def test_a_text_is_received_one_paragraph_a_message_unless_it_came_with_buttons_or_a_card(tick):
    text = "まず、次のことをおすすめします。\n\nご相談できる公的な窓口："
    assert checks.delivered_texts(bot(tick, text)) == ["まず、次のことをおすすめします。", "ご相談できる公的な窓口："]
    assert checks.delivered_texts(bot(tick, text, buttons=[{"title": "はい", "payload": "/affirm"}])) == [text]
    with_card = {**bot(tick, text), "data": {"custom": {"card": {"kind": "guidance"}}}}
    assert checks.delivered_texts(with_card) == [text]


def test_a_message_missing_from_the_tracker_is_lost(tick):
    groups = [[("一", ["a"])], [("二", ["b"])], [("三", ["c"])]]
    events = start(tick) + turn(tick, "一", "a") + turn(tick, "三", "c")
    found = checks.check_turns(groups, events)
    assert counts(found) == {"lost": 1}
    assert "二" in found.problems[0]


def test_a_message_stored_twice_is_duplicated(tick):
    groups = [[("一", ["a"])], [("二", ["b"])]]
    events = start(tick) + turn(tick, "一", "a") + turn(tick, "二", "b") + turn(tick, "二", "b")
    assert counts(checks.check_turns(groups, events)) == {"duplicated": 1}


def test_the_same_event_written_twice_is_found(tick):
    groups = [[("一", ["a"])]]
    events = start(tick) + turn(tick, "一", "a")
    events.insert(6, dict(events[5]))  # the bot message once more, same time and text
    found = checks.check_turns(groups, events)
    assert found.duplicate_events == 1
    assert found.reply_mismatch == 1  # and the user would have read it once only


def test_turns_stored_in_another_order_are_out_of_order(tick):
    groups = [[("一", ["a"])], [("二", ["b"])]]
    events = start(tick) + turn(tick, "二", "b") + turn(tick, "一", "a")
    assert counts(checks.check_turns(groups, events)) == {"out_of_order": 2}


def test_turns_sent_at_once_may_be_stored_in_either_order(tick):
    groups = [[("一", ["a"]), ("二", ["b"])], [("三", ["c"])]]
    events = start(tick) + turn(tick, "二", "b") + turn(tick, "一", "a") + turn(tick, "三", "c")
    assert not checks.check_turns(groups, events).failed


def test_two_servers_answering_one_conversation_at_once_are_caught(tick):
    # What a lock that two servers both hold leaves behind: both messages, then both answers.
    groups = [[("一", ["a"]), ("二", ["b"])]]
    events = start(tick) + [
        user(tick, "一"),
        user(tick, "二"),
        bot(tick, "a"),
        bot(tick, "b"),
        action(tick, "action_listen"),
    ]
    found = checks.check_turns(groups, events)
    assert found.unanswered == 1
    assert found.reply_mismatch == 2


def test_a_stored_message_without_an_answer_is_unanswered(tick):
    groups = [[("一", [])]]
    events = start(tick) + [user(tick, "一"), action(tick, "action_listen")]
    assert counts(checks.check_turns(groups, events)) == {"unanswered": 1}


def test_a_reply_that_differs_from_the_tracker_is_a_mismatch(tick):
    groups = [[("一", ["a", "extra"])]]
    events = start(tick) + turn(tick, "一", "a")
    found = checks.check_turns(groups, events)
    assert counts(found) == {"reply_mismatch": 1}
    assert "extra" in found.problems[0]


def test_a_stored_text_arrives_as_one_message_per_paragraph(tick):
    # Rasa's output channels split a text without buttons at blank lines; one with buttons not.
    groups = [[("一", ["最初の段落。", "次の段落。", "質問です。\n\n続き"])]]
    events = start(tick) + [
        user(tick, "一"),
        bot(tick, "最初の段落。\n\n次の段落。"),
        bot(tick, "質問です。\n\n続き", buttons=[{"title": "はい", "payload": "/affirm"}]),
        action(tick, "action_listen"),
    ]
    assert not checks.check_turns(groups, events).failed


def test_the_action_server_notice_counts_as_degraded_not_as_a_mismatch(tick):
    notice = "申し訳ございません。ただいまシステムの一部に不具合が起きております。0120-221-360"
    groups = [[("一", ["a", notice])], [("二", ["b"])]]
    events = start(tick) + turn(tick, "一", "a") + turn(tick, "二", "b")
    assert counts(checks.check_turns(groups, events, notices=[notice])) == {"degraded": 1}


def test_the_api_and_the_events_table_must_agree(tick):
    events = start(tick) + turn(tick, "一", "a")
    assert not checks.check_api_against_db(events, [dict(e) for e in events]).failed
    assert checks.check_api_against_db(events, events[:-1]).api_db_mismatch == 1


# ---- divergence ----------------------------------------------------------------------------


def test_conversations_of_a_scenario_differing_only_in_number_and_reference_are_alike():
    first = checks.reply_signature([[("090-1111-2222", ["受付番号は NT-2007-12345-6 です。"])]])
    second = checks.reply_signature([[("090-3333-4444", ["受付番号は NT-2007-65432-1 です。"])]])
    assert first == second


def test_a_conversation_answered_otherwise_than_its_scenario_is_divergent():
    usual = checks.reply_signature([[("一", ["a"])], [("二", ["b"])]])
    other = checks.reply_signature([[("一", ["a"])], [("二", ["もう一度お願いします"])]])
    found = checks.check_divergence({"c1": usual, "c2": usual, "c3": other, "c4": usual})
    assert found.divergent == 1
    assert found.problems == ["c3: answered differently from turn 2 on"]


def test_a_conversation_cut_short_is_divergent():
    usual = checks.reply_signature([[("一", ["a"])], [("二", ["b"])]])
    short = checks.reply_signature([[("一", ["a"])]])
    assert checks.check_divergence({"c1": usual, "c2": usual, "c3": short}).divergent == 1


# ---- cases ---------------------------------------------------------------------------------


def case_row(conversation, reference, trouble="defamation", eligibility="eligible"):
    return {
        "conversation_id": conversation,
        "trouble_type": trouble,
        "reference": reference,
        "eligibility": eligibility,
    }


@pytest.fixture
def expected():
    return {
        "c1": checks.ExpectedCase("defamation", True, ("NT-2007-00001-1",)),
        "c2": checks.ExpectedCase("privacy", False, ("NT-2007-00002-2", "NT-2007-00002-2")),
    }


@pytest.fixture
def rows():
    return [case_row("c1", "NT-2007-00001-1"), case_row("c2", "NT-2007-00002-2", trouble="privacy", eligibility=None)]


def test_one_case_per_conversation_with_the_reference_told_passes(expected, rows):
    assert not checks.check_cases(expected, rows, ["NT-2007-00001-1"]).failed


def test_a_second_case_for_the_same_conversation_and_trouble_is_a_duplicate(expected, rows):
    rows.append(case_row("c1", "NT-2007-00003-3"))
    assert counts(checks.check_cases(expected, rows, ["NT-2007-00001-1"])) == {"duplicate_cases": 1}


def test_a_reference_used_twice_is_found(expected, rows):
    rows.append(case_row("c3", "NT-2007-00001-1", trouble="privacy", eligibility=None))
    found = checks.check_cases(expected, rows, ["NT-2007-00001-1"])
    assert found.duplicate_references == 1
    assert found.unexpected_cases == 1


def test_a_missing_case_is_found(expected, rows):
    found = checks.check_cases(expected, rows[:1], ["NT-2007-00001-1"])
    assert counts(found) == {"missing_cases": 1}


def test_a_user_told_another_reference_than_stored_is_found(expected, rows):
    expected["c2"] = checks.ExpectedCase("privacy", False, ("NT-2007-00009-9",))
    assert counts(checks.check_cases(expected, rows, ["NT-2007-00001-1"])) == {"reference_mismatch": 1}


def test_a_user_told_no_reference_is_found(expected, rows):
    expected["c2"] = checks.ExpectedCase("privacy", False, ())
    assert counts(checks.check_cases(expected, rows, ["NT-2007-00001-1"])) == {"reference_mismatch": 1}


def test_an_eligible_case_needs_its_one_ledger_row(expected, rows):
    assert counts(checks.check_cases(expected, rows, [])) == {"ledger_mismatch": 1}
    doubled = ["NT-2007-00001-1", "NT-2007-00001-1"]
    assert counts(checks.check_cases(expected, rows, doubled)) == {"ledger_mismatch": 1}


def test_a_case_that_lost_its_eligibility_is_found(expected, rows):
    rows[0] = case_row("c1", "NT-2007-00001-1", eligibility=None)
    assert checks.check_cases(expected, rows, ["NT-2007-00001-1"]).wrong_eligibility == 1


# ---- plans, figures, logs --------------------------------------------------------------------


def test_every_scenario_is_a_triage_of_8_to_12_turns_ending_in_a_handoff():
    assert {s.trouble_type for s in scenarios.SCENARIOS} == {"defamation", "privacy", "payment_fraud"}
    for scenario in scenarios.SCENARIOS:
        turns = scenario.turns("090-6100-0001")
        assert 8 <= len(turns) <= 12
        assert turns[scenario.handoff] == scenarios.STAFF
        assert not any("{" in t for t in turns)
    defamation = next(s for s in scenarios.SCENARIOS if s.eligible)
    assert "090-6100-0001" in defamation.turns("090-6100-0001")


def test_turns_alternate_between_the_servers():
    plan = scenarios.alternating_plan(["一", "二", "三"], first=1)
    assert plan == [[("一", "B")], [("二", "A")], [("三", "B")]]


def test_the_lock_plan_sends_greeting_handoff_and_closing_to_both_servers_at_once():
    for scenario in scenarios.SCENARIOS:
        plan = scenarios.lock_plan(scenario, "090-6100-0002")
        together = [group for group in plan if len(group) > 1]
        assert together == [
            [(scenarios.GREETING, "A"), (scenarios.GREETING, "B")],
            [(scenarios.STAFF, "A"), (scenarios.STAFF, "B")],
            [(scenarios.HOURS, "A"), (scenarios.THANKS, "B")],
        ]
        middle = [group[0] for group in plan if len(group) == 1]
        assert [m for m, _ in middle] == [
            t for t in scenario.turns("090-6100-0002")[: scenario.handoff] if t != scenarios.GREETING
        ]
        assert all(a[1] != b[1] for a, b in zip(middle, middle[1:]))


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(100, 0, -1)]
    assert checks.percentile(values, 0.5) == 50.0
    assert checks.percentile(values, 0.95) == 95.0
    assert checks.percentile([], 0.5) == 0.0


def test_log_errors_keeps_error_lines_and_the_exception_of_each_traceback():
    log = "\n".join(
        [
            "2026-11-29 07:00:00 INFO     rasa - Starting",
            "2026-11-29 07:00:01 ERROR    nettrouble.core.db  - database unavailable at start-up",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in <module>',
            "psycopg2.errors.UniqueViolation: duplicate key value",
            "",
            "During handling of the above exception, another exception occurred:",
            "Traceback (most recent call last):",
            '  File "y.py", line 2, in <module>',
            "nettrouble.core.db.Unavailable: the database could not be prepared",
            "2026-11-29 07:00:02 INFO     rasa - Ready",
        ]
    )
    assert checks.log_errors(log) == [
        "2026-11-29 07:00:01 ERROR    nettrouble.core.db  - database unavailable at start-up",
        "psycopg2.errors.UniqueViolation: duplicate key value",
        "nettrouble.core.db.Unavailable: the database could not be prepared",
    ]


def test_servers_get_every_setting_from_the_check_and_nothing_from_dotenv(monkeypatch):
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "from-the-developer-shell")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/nettrouble.core.db")
    services = {"DATABASE_URL": "postgresql://nettrouble:pw@127.0.0.1:6130/nettrouble"}
    env = cluster.server_env(services, {"RASA_API_TOKEN": "t"}, "B")
    # python-dotenv leaves a variable that is set alone, even when it is empty.
    assert all(name in env for name in setting_names())
    assert env["LINE_CHANNEL_SECRET"] == ""
    assert env["DATABASE_URL"] == services["DATABASE_URL"]
    assert env["ACTION_SERVER_URL"] == "http://127.0.0.1:6156/webhook"
    assert env["RASA_PORT"] == "6106"
    assert env["CLOCK_OVERRIDE"] == "2020-07-15T11:00:00+09:00"
