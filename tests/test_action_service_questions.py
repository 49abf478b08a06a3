"""Questions about the service and replies outside the questions, on saved tracker states."""

import asyncio

import pytest
from rasa_sdk.events import FollowupAction

from actions.corrections import ActionReadAnswer
from actions.service_questions import ActionAnswerFaq, ActionFreeConsultationIntro, ActionNextStepAdvice
from tests.fakes.dispatcher import RenderingDispatcher
from tests.project_files import domain
from tests.tracker_states import message, slot_events, texts, tracker


@pytest.fixture
def clock(clock, env, tmp_path):
    """tests/conftest.py's clock, pinned in the campaign, with a database of the test's own."""
    env(DATABASE_URL=f"sqlite:///{tmp_path / 'cases.db'}")
    clock("2020-07-15T11:00:00+09:00")
    return clock


def run(action, state):
    dispatcher = RenderingDispatcher()
    events = asyncio.run(action.run(dispatcher, state, domain()))
    return dispatcher, events


def faq_message(text, key):
    return message(text, "faq", response_selector={"faq": {"response": {"intent_response_key": f"faq/{key}"}}})


def test_a_faq_is_answered_from_its_key(clock):
    dispatcher, _ = run(ActionAnswerFaq(), tracker(faq_message("補償っていくらまで？", "fraud_cover_amount")))
    assert "100万円" in texts(dispatcher)[0]


def test_the_campaign_is_worded_for_the_clock(clock):
    during = texts(run(ActionAnswerFaq(), tracker(faq_message("無料相談ってまだやってますか", "campaign_period")))[0])[
        0
    ]
    clock("2026-12-02T11:00:00+09:00")
    after = texts(run(ActionAnswerFaq(), tracker(faq_message("無料相談ってまだやってますか", "campaign_period")))[0])[0]
    assert "実施しております" in during and "終了" not in during
    assert "終了いたしました" in after and "実施しております" not in after


def test_the_free_consultation_is_introduced_only_while_a_campaign_runs(clock):
    dispatcher, _ = run(ActionFreeConsultationIntro(), tracker(message("無料相談を使いたい", "ask_free_consultation")))
    assert "無料" in texts(dispatcher)[0]
    clock("2026-12-02T11:00:00+09:00")
    dispatcher, _ = run(ActionFreeConsultationIntro(), tracker(message("無料相談を使いたい", "ask_free_consultation")))
    assert dispatcher.messages == []  # the decision says it has ended, once


def test_no_introduction_for_a_trouble_the_campaign_does_not_cover(clock):
    asked = message("無料で電話相談できますか？", "ask_free_consultation")
    dispatcher, _ = run(ActionFreeConsultationIntro(), tracker(asked, slots={"trouble_type": "shopping"}))
    assert dispatcher.messages == []  # the decision says at once that shopping is not covered
    dispatcher, _ = run(ActionFreeConsultationIntro(), tracker(asked, slots={"trouble_type": "defamation"}))
    assert "確認させてください" in texts(dispatcher)[0]


def test_what_to_do_now_with_a_reference(clock):
    dispatcher, _ = run(
        ActionNextStepAdvice(),
        tracker(message("どうすればいい？", "ask_next_step"), slots={"case_reference": "NT-2007-12345-6"}),
    )
    assert dispatcher.messages[0]["response"] == "utter_next_step_after_reference"
    assert "受付時間" in texts(dispatcher)[1]


def test_what_to_do_now_after_the_triage_repeats_the_steps_and_offers_staff(clock):
    dispatcher, events = run(
        ActionNextStepAdvice(),
        tracker(
            message("で、どうしたらいいの", "ask_next_step"),
            slots={"trouble_type": "phishing", "triage_done": True, "entered_info": "card", "urgency": ["none"]},
        ),
    )
    assert "カード会社" in texts(dispatcher)[0]
    assert events == [FollowupAction("utter_offer_handoff")]


def test_what_to_do_now_before_any_trouble_invites_it(clock):
    dispatcher, _ = run(ActionNextStepAdvice(), tracker(message("どうすればいい？", "ask_next_step")))
    assert dispatcher.messages[0]["response"] == "utter_next_step_before_triage"


# --- action_read_answer ----------------------------------------------------------------------

DONE = {
    "trouble_type": "defamation",
    "platform": "X",
    "user_role": "self",
    "ongoing": "yes",
    "evidence_saved": "yes",
    "triage_done": True,
}


def test_a_correction_after_the_summary_changes_the_answer_and_shows_it(clock):
    dispatcher, events = run(
        ActionReadAnswer(), tracker(message("すみません、もう止まってました", "inform"), slots=DONE)
    )
    assert slot_events(events) == {"ongoing": "no"}
    assert dispatcher.messages[0]["response"] == "utter_summary_corrected"
    assert "止まっている" in texts(dispatcher)[1]


def test_a_correction_while_staff_is_offered_offers_it_again(clock):
    latest = message("やっぱり続いてました", "inform")
    events = [
        {"event": "action", "name": "utter_offer_handoff"},
        {"event": "bot", "text": "発行しますか？"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "やっぱり続いてました", "parse_data": latest},
    ]
    corrected = dict(DONE, ongoing="no")
    dispatcher, events = run(ActionReadAnswer(), tracker(latest, slots=corrected, events=events))
    assert slot_events(events) == {"ongoing": "yes"}
    assert dispatcher.messages[0]["response"] == "utter_summary_corrected"
    assert events[-1] == FollowupAction("utter_offer_handoff")


def test_an_unreadable_reply_to_an_offer_asks_it_again(clock):
    latest = message("うーんと", "nlu_fallback")
    events = [
        {"event": "action", "name": "utter_offer_handoff"},
        {"event": "bot", "text": "発行しますか？"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "うーんと", "parse_data": latest},
    ]
    dispatcher, result = run(ActionReadAnswer(), tracker(latest, slots=DONE, events=events))
    assert result == [FollowupAction("utter_offer_handoff")] and dispatcher.messages == []


def test_an_unclear_first_message_offers_the_likeliest_types(clock):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.3},
        {"name": "trouble_defamation", "confidence": 0.28},
        {"name": "trouble_own_post", "confidence": 0.26},
        {"name": "greet", "confidence": 0.1},
    ]
    dispatcher, _ = run(
        ActionReadAnswer(), tracker(message("リツイートのことで", "nlu_fallback", 0.3, ranking=ranking))
    )
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == [
        "/trouble_defamation",
        "/trouble_own_post",
        "/correct_trouble_type",
    ]


def test_a_stray_yes_is_answered_politely(clock):
    dispatcher, _ = run(ActionReadAnswer(), tracker(message("はい", "affirm")))
    assert dispatcher.messages[0]["response"] == "utter_anything_else"
