"""Operator analytics on a hand-built set of conversations and cases whose figures are worked
out by hand below: contained, abandoned (a form and an offer), handed off, not understood,
"did you mean", two channels, two days, one sender with two sessions, and conversations the
range leaves out."""

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from nettrouble.cases import tracker_events
from nettrouble.cases.schema import cases
from nettrouble.cases.tracker_events import StoredEvent
from nettrouble.core.clock import JST
from nettrouble.staff import analytics


def jst(*args):
    return datetime(*args, tzinfo=JST)


class Script:
    """Builds the events of one sender, a second apart unless told otherwise."""

    def __init__(self, at):
        self.at = at
        self.events = []

    def _add(self, type_name, data, intent=None, action=None, after=1):
        self.at += timedelta(seconds=after)
        self.events.append(
            StoredEvent(len(self.events) + 1, type_name, self.at, intent, action, dict(data, event=type_name))
        )
        return self

    def session(self):
        return (
            self._add("action", {"name": "action_session_start"}, action="action_session_start")
            ._add("session_started", {})
            ._add("action", {"name": "action_listen"}, action="action_listen")
        )

    def user(self, text, intent, channel, after=1):
        return self._add(
            "user",
            {"text": text, "input_channel": channel, "parse_data": {"intent": {"name": intent}}},
            intent=intent,
            after=after,
        )

    def bot(self, response, text="…"):
        return self._add("action", {"name": response}, action=response)._add(
            "bot", {"text": text, "metadata": {"utter_action": response}}
        )

    def slot(self, name, value, after=1):
        return self._add("slot", {"name": name, "value": value}, after=after)

    def reference(self, value, seconds):
        """Sets the case reference ``seconds`` after the session's first user message."""
        first = next(e.timestamp for e in reversed(self.events) if e.type_name == "session_started")
        first = next(e.timestamp for e in self.events if e.type_name == "user" and e.timestamp > first)
        return self.slot("case_reference", value, after=(first + timedelta(seconds=seconds) - self.at).total_seconds())

    def form(self, name):
        return self._add("active_loop", {"name": name})

    def fallback(self):
        return self._add("action", {"name": "action_default_fallback"}, action="action_default_fallback")._add(
            "bot", {"text": "…", "metadata": {"utter_action": "utter_default"}}
        )


def conversations():
    """(sender id, events) of every conversation, as the tracker store gives them."""
    found = {}
    # Day 1, 2026-07-01 (a Wednesday).
    # A: web, an FAQ answer and thanks: contained, 2 turns.
    a = Script(jst(2026, 7, 1, 9, 0)).session()
    a.user("料金はいくら？", "faq", "web").bot("utter_faq/price").user("ありがとう", "thank", "web").bot("utter_thank")
    # B: web, triage then a reference 300 s after the first message: handed off, 3 turns.
    b = Script(jst(2026, 7, 1, 10, 0)).session()
    b.user("Xで悪口を書かれた", "trouble_defamation", "web").slot("trouble_type", "defamation").form("triage_form").bot(
        "utter_ask_platform"
    ).user("X", "inform", "web", after=60).form(None).user(
        "電話で相談したい", "request_human", "web", after=100
    ).reference("NT-2607-00001-5", 300).bot("utter_next_step_after_reference")
    # C: LINE at 00:30 Japan time (still June 30 in UTC), left inside the triage: abandoned.
    c = Script(jst(2026, 7, 1, 0, 29, 57)).session()
    c.user("アカウント乗っ取られた", "trouble_account", "line").slot("trouble_type", "account").form("triage_form").bot(
        "utter_ask_can_login"
    )
    found["web-a"] = a.events
    found["web-b"] = b.events
    found["line-c"] = c.events
    # Day 2, 2026-07-02.
    # D: LINE, not understood, then "did you mean" left unanswered: unresolved, 2 turns.
    d = Script(jst(2026, 7, 2, 11, 0)).session()
    d.user("あばばば", "nlu_fallback", "line").bot("utter_ask_rephrase").user(
        "ぱすわーど忘れた", "nlu_fallback", "line"
    ).bot("utter_did_you_mean")
    # E: web, a core fallback in the middle, a reference 900 s after the first message.
    e = Script(jst(2026, 7, 2, 14, 0)).session()
    e.user("カードが勝手に使われた", "trouble_payment_fraud", "web").slot("trouble_type", "payment_fraud").bot(
        "utter_ack_payment_fraud"
    ).user("？？？", "greet", "web").fallback().user("電話したい", "request_human", "web").reference(
        "NT-2607-00002-3", 900
    )
    # F: the sender of A again, a new session: "did you mean", a button, then the offer of a
    # reference left unanswered: abandoned.
    a.session().user("パスワードを忘れました", "nlu_fallback", "web", after=86_000).bot("utter_did_you_mean").user(
        "/trouble_account", "trouble_account", "web"
    ).slot("trouble_type", "account").bot("utter_offer_handoff")
    found["line-d"] = d.events
    found["web-e"] = e.events
    # Outside: a conversation of June 30 (Japan time) and a session with no message at all.
    found["web-old"] = (
        Script(jst(2026, 6, 30, 23, 58)).session().user("こんにちは", "greet", "web").bot("utter_greet").events
    )
    found["web-silent"] = Script(jst(2026, 7, 2, 8, 0)).session().events
    return found


CASES = [
    (jst(2026, 7, 1, 10, 5), "eligible"),
    (jst(2026, 7, 2, 14, 15), None),
    (jst(2026, 6, 30, 12, 0), "eligible"),  # before the range
]


def check(report):
    day1, day2 = report.days[0], report.days[1]
    assert (day1.start, day2.start) == (date(2026, 7, 1), date(2026, 7, 2))
    assert day1.conversations == 3
    assert day1.outcomes == {"handed_off": 1, "contained": 1, "abandoned": 1, "unresolved": 0}
    assert day1.trouble_types == {"account": 1, "defamation": 1, "none": 1}
    assert day1.channels == {"web": 2, "line": 1}
    assert (day1.user_turns, day1.fallback_turns, day1.did_you_mean_turns) == (6, 0, 0)
    assert day1.eligibility == {"eligible": 1} and day1.cases == 1
    assert day1.median_seconds_to_reference == day1.p90_seconds_to_reference == 300

    assert day2.conversations == 3
    assert day2.outcomes == {"handed_off": 1, "contained": 0, "abandoned": 1, "unresolved": 1}
    assert day2.trouble_types == {"account": 1, "none": 1, "payment_fraud": 1}
    assert day2.channels == {"web": 2, "line": 1}
    assert (day2.user_turns, day2.fallback_turns, day2.did_you_mean_turns) == (7, 2, 2)
    assert day2.eligibility == {"none": 1} and day2.cases == 1
    assert day2.median_seconds_to_reference == 900

    total = report.total
    assert total.conversations == 6
    assert total.handoff_rate == pytest.approx(2 / 6)
    assert total.containment_rate == pytest.approx(1 / 6)
    assert total.abandonment_rate == pytest.approx(2 / 6)
    assert total.fallback_rate == pytest.approx(2 / 13)
    assert total.did_you_mean_rate == pytest.approx(2 / 13)
    assert total.median_seconds_to_reference == 600
    assert total.p90_seconds_to_reference == 900
    assert total.eligibility == {"eligible": 1, "none": 1}

    # An empty day has counts of zero and no rates; weeks start on Monday, cut at the range.
    empty = report.days[-1]
    assert empty.conversations == 0 and empty.handoff_rate is None and empty.fallback_rate is None
    assert [(w.start, w.end, w.conversations) for w in report.weeks] == [
        (date(2026, 7, 1), date(2026, 7, 5), 6),
        (date(2026, 7, 6), date(2026, 7, 6), 0),
    ]


def test_the_figures_of_a_hand_built_range():
    check(analytics.summarise(date(2026, 7, 1), date(2026, 7, 6), conversations().items(), CASES))


def test_each_conversation_has_its_outcome():
    found = {(c.sender_id, c.started_at.date()): c for c in analytics.conversations(conversations().items())}
    assert found["web-a", date(2026, 7, 1)].outcome == analytics.CONTAINED
    assert found["web-a", date(2026, 7, 2)].outcome == analytics.ABANDONED  # the offer, next session
    assert found["line-c", date(2026, 7, 1)].outcome == analytics.ABANDONED  # the form
    assert found["line-d", date(2026, 7, 2)].outcome == analytics.UNRESOLVED
    assert found["web-b", date(2026, 7, 1)].reference == "NT-2607-00001-5"
    assert [t.kind for t in found["web-e", date(2026, 7, 2)].turns] == ["understood", "fallback", "understood"]
    assert ("web-silent", date(2026, 7, 2)) not in found


def test_the_report_reads_both_stores(service_database, tmp_path):
    path = tmp_path / "tracker.db"
    writer = create_engine(f"sqlite:///{path}", future=True)
    tracker_events.events.metadata.create_all(writer)
    with writer.begin() as connection:
        for sender, events in conversations().items():
            connection.execute(
                tracker_events.events.insert(),
                [
                    dict(
                        sender_id=sender,
                        type_name=e.type_name,
                        timestamp=e.timestamp.timestamp(),
                        intent_name=e.intent_name,
                        action_name=e.action_name,
                        data=json.dumps(e.data),
                    )
                    for e in events
                ],
            )
    writer.dispose()
    with service_database.begin() as connection:
        for number, (created_at, eligibility) in enumerate(CASES):
            connection.execute(
                cases.insert().values(
                    reference=f"NT-0000-0000{number}-0",
                    created_at=created_at,
                    updated_at=created_at,
                    channel="web",
                    conversation_id=f"case-{number}",
                    trouble_type="defamation",
                    triage_answers={},
                    urgency=[],
                    eligibility=eligibility,
                    articles_shown=[],
                    summary="",
                    status="new",
                    status_changed_at=created_at,
                    status_changed_by="assistant",
                )
            )
    reader = tracker_events.tracker_engine(f"sqlite:///{path}")
    try:
        check(analytics.report(service_database, reader, date(2026, 7, 1), date(2026, 7, 6)))
    finally:
        reader.dispose()


def test_percentiles_and_a_reversed_range():
    assert analytics.nearest_rank([5, 1, 4, 2, 3, 6, 7, 8, 9, 10], 0.9) == 9
    assert analytics.nearest_rank([], 0.9) is None
    with pytest.raises(ValueError):
        analytics.summarise(date(2026, 7, 2), date(2026, 7, 1), [], [])
