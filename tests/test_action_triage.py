"""Triage actions run on saved tracker states with a real dispatcher."""
import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.triage import (
    ActionClarifyTrouble,
    ActionFirstSteps,
    ActionRecordUrgency,
    ActionResetTriage,
    ActionStartTriage,
    ActionTriageSummary,
    ActionTroubleMidForm,
    ValidateTriageForm,
)
from tests.tracker_states import domain, message, slot_events, texts, tracker


def run(action, state):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, state, domain()))
    return dispatcher, events


def run_form(state):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateTriageForm().run(dispatcher, state, domain()))
    return dispatcher, events


def test_start_sets_the_type_and_prefills_from_the_report():
    latest = message(
        "インスタで3万円だまし取られた", "trouble_shopping",
        entities=[{"entity": "sns_platform", "value": "Instagram"},
                  {"entity": "money_amount", "value": "3万円"}],
    )
    dispatcher, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert slots["trouble_type"] == "shopping"
    assert slots["money_amount"] == 30000
    assert "platform" not in slots or slots["platform"] is None  # shopping does not ask for it
    assert slots["urgency"] == []
    assert dispatcher.messages == []


def test_start_does_not_act_on_the_runner_up_of_an_unclear_message():
    # 「お金はまだ取られていないと思います」 fell below the threshold with trouble_account second:
    # the classifier's guess must not switch the type or erase the answers.
    latest = message("お金はまだ取られていないと思います", "nlu_fallback", 0.3, ranking=[
        {"name": "nlu_fallback", "confidence": 0.3}, {"name": "trouble_account", "confidence": 0.2}])
    dispatcher, events = run(ActionStartTriage(), tracker(latest, slots={"trouble_type": "phishing"}))
    assert events == [] and dispatcher.messages == []


def test_a_demanded_amount_is_not_prefilled_as_money_lost():
    latest = message("登録完了と出て10万円払えと言われました", "trouble_billing_scam",
                     entities=[{"entity": "money_amount", "value": "10万円"}])
    _, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert slots.get("money_lost") is None and slots.get("money_amount") is None


def test_a_paid_amount_is_prefilled_with_the_loss():
    latest = message("ギフトカードで5万円払ってしまいました", "trouble_billing_scam",
                     entities=[{"entity": "money_amount", "value": "5万円"}])
    _, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert slots["money_lost"] == "yes" and slots["money_amount"] == 50000


def test_start_of_a_new_trouble_forgets_earlier_answers():
    latest = message("アカウントを乗っ取られた", "trouble_account")
    _, events = run(ActionStartTriage(), tracker(latest, slots={"trouble_type": "defamation", "ongoing": "yes"}))
    assert slot_events(events)["ongoing"] is None


def test_intimate_image_is_urgent_and_never_asks_for_the_image():
    latest = message("元彼に裸の写真をばらまくと脅されてます", "trouble_sexual_image")
    dispatcher, events = run(ActionStartTriage(), tracker(latest))
    assert slot_events(events)["urgency"] == ["sexual_image"]
    notice = texts(dispatcher)[0]
    assert "#8103" in notice and "送っていただく必要はありません" in notice


def test_a_child_mentioned_in_the_report_is_recorded():
    latest = message("中学生の息子がLINEで悪口を言われてる", "trouble_bullying")
    _, events = run(ActionStartTriage(), tracker(latest))
    assert slot_events(events)["urgency"] == ["minor"]


def test_form_asks_only_the_questions_of_the_type():
    state = tracker(message("詐欺サイトで買い物した", "trouble_shopping"),
                    slots={"trouble_type": "shopping"}, active_loop="triage_form")
    _, events = run_form(state)
    assert slot_events(events)["requested_slot"] == "payment_method"


def test_form_reads_a_free_answer_and_moves_on():
    latest = message("銀行振込です", "inform", entities=[{"entity": "payment_service", "value": "銀行振込"}])
    state = tracker(latest, slots={"trouble_type": "shopping", "requested_slot": "payment_method",
                                    "payment_method": "銀行振込です"}, active_loop="triage_form",
                    events=[{"event": "user", "text": "銀行振込です", "parse_data": latest},
                            {"event": "slot", "name": "payment_method", "value": "銀行振込です"}])
    _, events = run_form(state)
    slots = slot_events(events)
    assert slots["payment_method"] == "銀行振込"
    assert slots["requested_slot"] == "seller_type"


def failed_answer_state(failures):
    latest = message("ラーメンが好き", "out_of_scope")
    return tracker(latest, slots={"trouble_type": "defamation", "requested_slot": "ongoing",
                                   "platform": "X", "user_role": "self", "ongoing": "ラーメンが好き",
                                   "triage_failures": failures}, active_loop="triage_form",
                   events=[{"event": "user", "text": "ラーメンが好き", "parse_data": latest},
                           {"event": "slot", "name": "ongoing", "value": "ラーメンが好き"}])


def test_first_failed_answer_asks_again():
    dispatcher, events = run_form(failed_answer_state(0))
    slots = slot_events(events)
    assert slots["ongoing"] is None and slots["triage_failures"] == 1
    assert slots["requested_slot"] == "ongoing"
    assert [m["response"] for m in dispatcher.messages] == ["utter_triage_not_understood"]


def test_second_failed_answer_explains_and_offers_to_skip():
    dispatcher, events = run_form(failed_answer_state(1))
    assert slot_events(events)["triage_failures"] == 2
    explanation = dispatcher.messages[0]
    assert "スキップ" in explanation["text"] and "「続いている」" in explanation["text"]
    assert explanation["buttons"] == [{"title": "スキップ", "payload": '/inform{"answer": "unknown"}'}]


def answer_state(slot, text, intent="inform", slots=None):
    latest = message(text, intent)
    base = {"requested_slot": slot, slot: text, **(slots or {})}
    return tracker(latest, slots=base, active_loop="triage_form",
                   events=[{"event": "user", "text": text, "parse_data": latest},
                           {"event": "slot", "name": slot, "value": text}])


def test_skipped_question_is_recorded_as_unknown():
    _, events = run_form(answer_state("ongoing", "スキップ", slots={"trouble_type": "defamation",
                                                                 "platform": "X", "user_role": "self"}))
    assert slot_events(events)["ongoing"] == "unknown"
    assert slot_events(events)["requested_slot"] == "evidence_saved"


def test_the_poster_is_moved_to_the_own_post_questions():
    dispatcher, events = run_form(answer_state("user_role", "書き込んだのは自分です",
                                               slots={"trouble_type": "defamation", "platform": "X"}))
    slots = slot_events(events)
    assert slots["trouble_type"] == "own_post" and slots["user_role"] == "poster"
    assert slots["requested_slot"] == "notice_received"
    assert dispatcher.messages[0]["response"] == "utter_switch_to_own_post"


def test_a_parent_speaking_for_a_child_marks_a_minor():
    _, events = run_form(answer_state("user_role", "保護者です", slots={"trouble_type": "bullying"}))
    assert slot_events(events)["urgency"] == ["minor"]


def test_visits_at_home_after_doxxing_are_danger():
    dispatcher, events = run_form(answer_state("offline_contact", "あった", slots={
        "trouble_type": "privacy", "platform": "X", "exposed_info": "住所"}))
    assert "danger" in slot_events(events)["urgency"]
    assert dispatcher.messages[0]["response"] == "utter_urgent_danger"


def test_answers_given_before_a_safety_message_survive_the_form_resuming():
    # The form was stopped by a danger message; the user's next message re-activates it, and
    # the answers understood before are handed in again: they must not be re-read from it.
    latest = message("スクショは撮りました", "inform")
    state = tracker(latest, slots={"trouble_type": "privacy", "platform": "Instagram",
                                   "exposed_info": "住所・顔写真", "requested_slot": "offline_contact"},
                    active_loop="triage_form",
                    events=[{"event": "user", "text": "スクショは撮りました", "parse_data": latest},
                            {"event": "slot", "name": "platform", "value": "Instagram"},
                            {"event": "slot", "name": "exposed_info", "value": "住所・顔写真"}])
    _, events = run_form(state)
    slots = slot_events(events)
    assert slots["platform"] == "Instagram" and slots["exposed_info"] == "住所・顔写真"
    assert slots["requested_slot"] == "offline_contact"


def test_last_answer_ends_the_form():
    _, events = run_form(answer_state("provider_contacted", "連絡した", slots={
        "trouble_type": "payment_fraud", "payment_method": "PayPay", "money_amount": 5000}))
    assert slot_events(events)["requested_slot"] is None


def test_another_type_mid_form_switches_the_triage():
    latest = message("いや、アカウントを乗っ取られた話です", "trouble_account", confidence=0.9)
    state = tracker(latest, slots={"trouble_type": "defamation", "requested_slot": "ongoing", "platform": "X"},
                    active_loop="triage_form")
    dispatcher, events = run(ActionTroubleMidForm(), state)
    slots = slot_events(events)
    assert slots["trouble_type"] == "account" and slots["platform"] is None
    assert [m["response"] for m in dispatcher.messages] == ["utter_ack_account", "utter_triage_restarting"]


def test_same_type_mid_form_is_read_as_the_answer():
    latest = message("Xでまだ書き込みが続いてる", "trouble_defamation", confidence=0.9)
    state = tracker(latest, slots={"trouble_type": "defamation", "requested_slot": "ongoing"},
                    active_loop="triage_form")
    dispatcher, events = run(ActionTroubleMidForm(), state)
    assert slot_events(events) == {"ongoing": "yes"}
    assert dispatcher.messages == []


def test_doubtful_other_type_that_answers_the_question_is_an_answer():
    latest = message("保存してある", "trouble_privacy", confidence=0.4)
    state = tracker(latest, slots={"trouble_type": "defamation", "requested_slot": "evidence_saved"},
                    active_loop="triage_form")
    _, events = run(ActionTroubleMidForm(), state)
    assert slot_events(events) == {"evidence_saved": "yes"}


def test_reset_forgets_type_and_answers():
    _, events = run(ActionResetTriage(), tracker(message("やめる", "cancel"),
                                                 slots={"trouble_type": "phishing", "money_lost": "yes"}))
    slots = slot_events(events)
    assert slots["trouble_type"] is None and slots["money_lost"] is None


def test_summary_reads_back_and_asks_to_confirm():
    state = tracker(message("連絡した", "inform"), slots={
        "trouble_type": "payment_fraud", "payment_method": "PayPay", "money_amount": 30000,
        "provider_contacted": "yes"})
    dispatcher, events = run(ActionTriageSummary(), state)
    text = dispatcher.messages[0]["text"]
    assert "身に覚えのない決済" in text and "30,000円" in text and "連絡済み" in text
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny", "/correct_trouble_type"]
    assert slot_events(events) == {"triage_done": True, "urgency": ["none"]}


def test_first_steps_come_from_the_business_files():
    state = tracker(message("はい", "affirm"), slots={
        "trouble_type": "phishing", "entered_info": "card", "money_lost": "no", "urgency": ["none"]})
    dispatcher, _ = run(ActionFirstSteps(), state)
    text = dispatcher.messages[0]["text"]
    assert "カード会社に連絡" in text
    assert "188" in text or "フィッシング対策協議会" in text


def test_first_steps_for_a_child_add_the_children_lines():
    state = tracker(message("はい", "affirm"), slots={
        "trouble_type": "bullying", "user_role": "parent", "urgency": ["minor"]})
    text = run(ActionFirstSteps(), state)[0].messages[0]["text"]
    assert "0120-0-78310" in text and "0120-99-7777" in text


@pytest.mark.parametrize("intent, flag", [("urgent_self_harm", "self_harm"), ("urgent_danger", "danger")])
def test_urgency_is_recorded(intent, flag):
    state = tracker(message("…", intent, safety_signals=[]), slots={"urgency": ["sexual_image"]})
    _, events = run(ActionRecordUrgency(), state)
    assert slot_events(events)["urgency"] == ["sexual_image", flag]


def test_danger_with_a_child_adds_the_children_lines():
    state = tracker(message("娘の学校の前で待ち伏せされている", "urgent_danger"), slots={"urgency": []})
    dispatcher, events = run(ActionRecordUrgency(), state)
    assert slot_events(events)["urgency"] == ["danger", "minor"]
    assert "0120-0-78310" in texts(dispatcher)[0]


def test_near_tie_offers_the_likeliest_types():
    ranking = [{"name": "nlu_fallback", "confidence": 0.3},
               {"name": "trouble_defamation", "confidence": 0.28},
               {"name": "trouble_own_post", "confidence": 0.26},
               {"name": "greet", "confidence": 0.1}]
    latest = message("リツイートのことで", "nlu_fallback", confidence=0.3, ranking=ranking)
    dispatcher, _ = run(ActionClarifyTrouble(), tracker(latest))
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/trouble_defamation", "/trouble_own_post", "/correct_trouble_type"]
    assert dispatcher.messages[0]["response"] == "utter_did_you_mean"


def test_low_confidence_without_a_trouble_asks_to_rephrase():
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "greet", "confidence": 0.2}]
    latest = message("ほげほげ", "nlu_fallback", confidence=0.3, ranking=ranking)
    dispatcher, _ = run(ActionClarifyTrouble(), tracker(latest))
    assert dispatcher.messages[0]["response"] == "utter_ask_rephrase"
