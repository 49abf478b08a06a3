"""Triage actions run on saved tracker states with a real dispatcher."""

import asyncio

import pytest

from actions.triage import (
    ActionAskTriageConfirmed,
    ActionFirstSteps,
    ActionRecordUrgency,
    ActionResetTriage,
    ActionStartTriage,
    ActionTroubleMidForm,
    ValidateTriageForm,
)
from tests.fakes.dispatcher import RenderingDispatcher
from tests.project_files import domain
from tests.tracker_states import message, slot_events, texts, tracker


def run(action, state):
    dispatcher = RenderingDispatcher()
    events = asyncio.run(action.run(dispatcher, state, domain()))
    return dispatcher, events


def run_form(state):
    return run(ValidateTriageForm(), state)


def responses(dispatcher):
    return [m.get("response") for m in dispatcher.messages]


def rejected(events):
    return any(e.get("event") == "action_execution_rejected" for e in events)


def reply(text, intent="inform", slots=None, entities=None, confidence=0.95):
    """The form running right after the user's reply to the question ``requested_slot``."""
    return tracker(
        message(text, intent, confidence=confidence, entities=entities), slots=slots, active_loop="triage_form"
    )


# --- action_start_triage ------------------------------------------------------------------


def test_start_sets_the_type_and_takes_every_answer_of_the_report():
    latest = message(
        "インスタで3万円だまし取られた",
        "trouble_shopping",
        entities=[{"entity": "sns_platform", "value": "Instagram"}, {"entity": "money_amount", "value": "3万円"}],
    )
    dispatcher, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert slots["trouble_type"] == "shopping"
    assert slots["money_amount"] == 30000
    assert "platform" not in slots or slots["platform"] is None  # shopping does not ask for it
    assert slots["urgency"] == []
    assert dispatcher.messages == []


def test_an_opening_message_answers_questions_ahead():
    latest = message(
        "Xで悪口を書かれてます。私のことで、スクショは撮ってあります",
        "trouble_defamation",
        entities=[{"entity": "sns_platform", "value": "X"}],
    )
    _, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert (slots["platform"], slots["user_role"], slots["evidence_saved"]) == ("X", "self", "yes")


def test_start_does_not_act_on_the_runner_up_of_an_unclear_message():
    # 「お金はまだ取られていないと思います」 fell below the threshold with trouble_account second:
    # the classifier's guess must not switch the type or erase the answers.
    latest = message(
        "お金はまだ取られていないと思います",
        "nlu_fallback",
        0.3,
        ranking=[{"name": "nlu_fallback", "confidence": 0.3}, {"name": "trouble_account", "confidence": 0.2}],
    )
    dispatcher, events = run(ActionStartTriage(), tracker(latest, slots={"trouble_type": "phishing"}))
    assert events == [] and dispatcher.messages == []


def test_a_demanded_amount_is_not_taken_as_money_lost():
    latest = message(
        "登録完了と出て10万円払えと言われました",
        "trouble_billing_scam",
        entities=[{"entity": "money_amount", "value": "10万円"}],
    )
    _, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert slots.get("money_lost") is None and slots.get("money_amount") is None


def test_a_paid_amount_is_taken_with_the_loss():
    latest = message(
        "ギフトカードで5万円払ってしまいました",
        "trouble_billing_scam",
        entities=[{"entity": "money_amount", "value": "5万円"}],
    )
    _, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert slots["money_lost"] == "yes" and slots["money_amount"] == 50000


def test_start_of_a_new_trouble_forgets_earlier_answers_and_the_earlier_reference():
    latest = message("アカウントを乗っ取られた", "trouble_account")
    _, events = run(
        ActionStartTriage(),
        tracker(latest, slots={"trouble_type": "defamation", "ongoing": "yes", "case_reference": "NT-2007-12345-6"}),
    )
    slots = slot_events(events)
    assert slots["ongoing"] is None and slots["case_reference"] is None


def test_a_poster_reporting_as_a_victim_gets_the_posters_questions():
    latest = message("Xに悪口を書いてしまったのは私です", "trouble_defamation")
    dispatcher, events = run(ActionStartTriage(), tracker(latest))
    assert slot_events(events)["trouble_type"] == "own_post"
    assert responses(dispatcher) == ["utter_switch_to_own_post"]


def test_intimate_image_is_urgent_and_never_asks_for_the_image():
    latest = message("元彼に裸の写真をばらまくと脅されてます", "trouble_sexual_image")
    dispatcher, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert slots["urgency"] == ["sexual_image"] and slots["image_status"] == "threatened"
    notice = texts(dispatcher)[0]
    assert "#8103" in notice and "送っていただく必要はありません" in notice


def test_a_child_mentioned_in_the_report_is_recorded():
    latest = message("中学生の息子がLINEで悪口を言われてる", "trouble_bullying")
    _, events = run(ActionStartTriage(), tracker(latest))
    slots = slot_events(events)
    assert slots["urgency"] == ["minor"] and slots["user_role"] == "parent"


def test_a_wish_to_call_in_the_report_shortens_the_triage():
    latest = message("PayPayで勝手に払われてて電話で相談したい", "trouble_payment_fraud", also_asked=["request_human"])
    dispatcher, events = run(ActionStartTriage(), tracker(latest))
    assert slot_events(events)["handoff_requested"] is True
    assert responses(dispatcher) == ["utter_staff_one_question"]


def test_a_question_in_the_report_is_answered_first():
    latest = message(
        "Xで中傷されてて、無料で電話相談できるって聞いたんですが",
        "trouble_defamation",
        also_asked=["ask_free_consultation"],
    )
    dispatcher, events = run(ActionStartTriage(), tracker(latest))
    assert slot_events(events)["trouble_type"] == "defamation"
    assert "無料相談" in texts(dispatcher)[0]


def test_a_faq_in_the_report_is_answered_with_its_key():
    latest = message(
        "カードを不正利用されたけど、補償っていくらまで出るの",
        "trouble_payment_fraud",
        also_asked=["faq"],
        response_selector={"faq": {"response": {"intent_response_key": "faq/fraud_cover_amount"}}},
    )
    dispatcher, _ = run(ActionStartTriage(), tracker(latest))
    assert "100万円" in texts(dispatcher)[0]


# --- validate_triage_form -----------------------------------------------------------------


def test_form_asks_only_the_questions_of_the_type():
    # Activated by the rules after the acknowledgement: the report is not read again.
    latest = message("詐欺サイトで買い物した", "trouble_shopping")
    state = tracker(
        latest,
        slots={"trouble_type": "shopping"},
        active_loop="triage_form",
        events=[
            {"event": "user", "text": latest["text"], "parse_data": latest},
            {"event": "action", "name": "utter_ack_shopping"},
            {"event": "bot", "text": "…"},
        ],
    )
    dispatcher, events = run_form(state)
    assert slot_events(events)["requested_slot"] == "payment_method"
    assert dispatcher.messages == []


def test_form_reads_a_free_answer_and_moves_on():
    state = reply(
        "銀行振込です",
        entities=[{"entity": "payment_service", "value": "銀行振込"}],
        slots={"trouble_type": "shopping", "requested_slot": "payment_method"},
    )
    _, events = run_form(state)
    slots = slot_events(events)
    assert slots["payment_method"] == "銀行振込"
    assert slots["requested_slot"] == "seller_type"


def test_two_answers_in_one_reply_fill_both():
    _, events = run_form(reply("息子です、小5です", slots={"trouble_type": "bullying", "requested_slot": "user_role"}))
    slots = slot_events(events)
    assert slots["user_role"] == "parent" and slots["child_grade"] == "小学5年"
    assert slots["requested_slot"] == "platform"
    assert slots["urgency"] == ["minor"]


def test_an_answer_to_a_later_question_fills_it_and_asks_the_current_one_short():
    dispatcher, events = run_form(
        reply(
            "スクショは撮ってあります",
            slots={"trouble_type": "defamation", "platform": "X", "requested_slot": "user_role"},
        )
    )
    slots = slot_events(events)
    assert slots["evidence_saved"] == "yes" and slots["short_question"] is True
    assert slots["requested_slot"] == "user_role"
    assert dispatcher.messages == []  # no "could not read that"


def failed(failures):
    return reply(
        "ラーメンが好き",
        "out_of_scope",
        slots={
            "trouble_type": "defamation",
            "requested_slot": "ongoing",
            "platform": "X",
            "user_role": "self",
            "triage_failures": failures,
        },
    )


def test_first_failed_answer_asks_again():
    dispatcher, events = run_form(failed(0))
    slots = slot_events(events)
    assert slots["triage_failures"] == 1 and slots["requested_slot"] == "ongoing"
    assert responses(dispatcher) == ["utter_triage_not_understood"]


def test_second_failed_answer_explains_and_offers_to_skip():
    dispatcher, events = run_form(failed(1))
    assert slot_events(events)["triage_failures"] == 2
    explanation = dispatcher.messages[0]
    assert "スキップ" in explanation["text"] and "「続いている」" in explanation["text"]
    assert explanation["buttons"] == [{"title": "スキップ", "payload": '/inform{"answer": "unknown"}'}]


def test_small_talk_mid_way_is_answered_and_the_question_asked_again():
    dispatcher, events = run_form(
        reply("ありがとう", "thank", slots={"trouble_type": "defamation", "requested_slot": "platform"})
    )
    assert responses(dispatcher) == ["utter_thank"]
    assert slot_events(events)["requested_slot"] == "platform"


def test_skipped_question_is_recorded_as_unknown():
    _, events = run_form(
        reply(
            "スキップ",
            slots={"trouble_type": "defamation", "platform": "X", "user_role": "self", "requested_slot": "ongoing"},
        )
    )
    assert slot_events(events)["ongoing"] == "unknown"
    assert slot_events(events)["requested_slot"] == "evidence_saved"


def test_the_poster_is_moved_to_the_own_post_questions():
    dispatcher, events = run_form(
        reply(
            "書き込んだのは自分です",
            slots={"trouble_type": "defamation", "platform": "X", "requested_slot": "user_role"},
        )
    )
    slots = slot_events(events)
    assert slots["trouble_type"] == "own_post"
    assert slots["requested_slot"] == "notice_received"
    assert responses(dispatcher) == ["utter_switch_to_own_post"]


def test_visits_at_home_after_doxxing_are_danger():
    dispatcher, events = run_form(
        reply(
            "あった",
            slots={
                "trouble_type": "privacy",
                "platform": "X",
                "exposed_info": "住所",
                "requested_slot": "offline_contact",
            },
        )
    )
    assert "danger" in slot_events(events)["urgency"]
    assert responses(dispatcher) == ["utter_urgent_danger"]


def test_a_question_mid_way_is_left_to_its_rule_and_its_answers_kept():
    _, events = run_form(
        reply(
            "ドコモ回線じゃなくても使えますか？スクショは保存済みです",
            "faq",
            slots={"trouble_type": "defamation", "platform": "X", "requested_slot": "user_role"},
        )
    )
    assert rejected(events)
    assert slot_events(events) == {"evidence_saved": "yes"}


def test_a_request_for_staff_mid_way_is_left_to_its_rule():
    _, events = run_form(
        reply(
            "電話で相談したいんですけど",
            "request_human",
            slots={"trouble_type": "defamation", "requested_slot": "platform"},
        )
    )
    assert rejected(events)


def test_a_clearly_different_trouble_is_left_to_the_switch():
    _, events = run_form(
        reply(
            "いや、アカウントを乗っ取られた話です",
            "trouble_account",
            confidence=0.9,
            slots={"trouble_type": "defamation", "requested_slot": "ongoing"},
        )
    )
    assert rejected(events) and slot_events(events) == {}


def test_the_same_trouble_named_again_is_read_as_an_answer():
    _, events = run_form(
        reply(
            "Xでまだ書き込みが続いてる",
            "trouble_defamation",
            confidence=0.9,
            slots={"trouble_type": "defamation", "platform": "X", "user_role": "self", "requested_slot": "ongoing"},
        )
    )
    assert not rejected(events) and slot_events(events)["ongoing"] == "yes"


def test_a_reply_already_answered_by_a_rule_is_not_read_again():
    latest = message("料金はいくら？スクショは撮ってない", "faq")
    state = tracker(
        latest,
        slots={"trouble_type": "defamation", "platform": "X", "requested_slot": "user_role"},
        active_loop="triage_form",
        events=[
            {"event": "user", "text": latest["text"], "parse_data": latest},
            {"event": "action_execution_rejected", "name": "triage_form"},
            {"event": "action", "name": "action_answer_faq"},
            {"event": "bot", "text": "…"},
        ],
    )
    dispatcher, events = run_form(state)
    assert "evidence_saved" not in slot_events(events) and dispatcher.messages == []
    assert slot_events(events)["requested_slot"] == "user_role"


def test_the_last_answer_leads_to_the_summary():
    _, events = run_form(
        reply(
            "連絡した",
            slots={
                "trouble_type": "payment_fraud",
                "payment_method": "PayPay",
                "money_amount": 5000,
                "requested_slot": "provider_contacted",
            },
        )
    )
    assert slot_events(events)["requested_slot"] == "triage_confirmed"


SUMMARY = {
    "trouble_type": "defamation",
    "platform": "X",
    "user_role": "self",
    "ongoing": "yes",
    "evidence_saved": "yes",
    "requested_slot": "triage_confirmed",
}


def test_a_confirmed_summary_ends_the_form():
    _, events = run_form(reply("はい、合ってます", "affirm", slots=SUMMARY))
    slots = slot_events(events)
    assert slots["triage_confirmed"] is True and slots["triage_done"] is True
    assert slots["requested_slot"] is None


def test_a_correction_at_the_summary_changes_the_answer_and_shows_it_again():
    dispatcher, events = run_form(reply("すみません、もう止まってました", "inform", slots=SUMMARY))
    slots = slot_events(events)
    assert slots["ongoing"] == "no" and slots["requested_slot"] == "triage_confirmed"
    assert responses(dispatcher) == ["utter_summary_corrected"]


def test_wanting_to_correct_an_answer_asks_what_to_change_and_keeps_the_answers():
    dispatcher, events = run_form(reply("/deny", "deny", slots=SUMMARY))
    slots = slot_events(events)
    assert "platform" not in slots and slots["requested_slot"] == "triage_confirmed"
    assert responses(dispatcher) == ["utter_summary_what_to_correct"]


def test_an_answer_that_reads_like_a_question_to_the_classifier_is_an_answer():
    _, events = run_form(
        reply(
            "よくわからないのですが、アプリを入れるように出たので入れました",
            "faq",
            slots={"trouble_type": "phishing", "requested_slot": "entered_info"},
        )
    )
    assert not rejected(events) and slot_events(events)["entered_info"] == "app"


def test_a_real_question_is_left_to_its_rule():
    _, events = run_form(
        reply("アプリってありますか？", "faq", slots={"trouble_type": "phishing", "requested_slot": "entered_info"})
    )
    assert rejected(events)


def test_a_request_for_staff_asks_only_the_essential_question():
    latest = message("電話したい", "request_human")
    state = tracker(
        latest,
        slots={"trouble_type": "privacy", "handoff_requested": True},
        active_loop="triage_form",
        events=[
            {"event": "user", "text": "電話したい", "parse_data": latest},
            {"event": "action", "name": "action_request_staff"},
        ],
    )
    _, events = run_form(state)
    assert slot_events(events)["requested_slot"] == "offline_contact"


def test_the_summary_reads_back_and_asks_to_confirm():
    state = tracker(
        message("連絡した", "inform"),
        slots={
            "trouble_type": "payment_fraud",
            "payment_method": "PayPay",
            "money_amount": 30000,
            "provider_contacted": "yes",
        },
    )
    dispatcher, events = run(ActionAskTriageConfirmed(), state)
    text = dispatcher.messages[0]["text"]
    assert "身に覚えのない決済" in text and "30,000円" in text and "連絡済み" in text
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny", "/correct_trouble_type"]
    assert events == []


# --- switching, reset, first steps, urgency -------------------------------------------------


def test_another_type_mid_form_switches_the_triage():
    latest = message("いや、アカウントを乗っ取られた話です", "trouble_account", confidence=0.9)
    state = tracker(
        latest,
        slots={"trouble_type": "defamation", "requested_slot": "ongoing", "platform": "X"},
        active_loop="triage_form",
    )
    dispatcher, events = run(ActionTroubleMidForm(), state)
    slots = slot_events(events)
    assert slots["trouble_type"] == "account" and slots["platform"] is None
    assert responses(dispatcher) == ["utter_ack_account", "utter_triage_restarting"]


def test_reset_forgets_type_and_answers():
    _, events = run(
        ActionResetTriage(),
        tracker(message("やめる", "cancel"), slots={"trouble_type": "phishing", "money_lost": "yes"}),
    )
    slots = slot_events(events)
    assert slots["trouble_type"] is None and slots["money_lost"] is None


def test_first_steps_come_from_the_business_files():
    state = tracker(
        message("はい", "affirm"),
        slots={"trouble_type": "phishing", "entered_info": "card", "money_lost": "no", "urgency": ["none"]},
    )
    dispatcher, _ = run(ActionFirstSteps(), state)
    text = dispatcher.messages[0]["text"]
    assert "カード会社に連絡" in text
    assert "188" in text or "フィッシング対策協議会" in text


def test_first_steps_for_a_child_add_the_children_lines():
    state = tracker(
        message("はい", "affirm"), slots={"trouble_type": "bullying", "user_role": "parent", "urgency": ["minor"]}
    )
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


def test_a_question_heard_as_the_trouble_itself_is_answered_and_the_question_asked_again():
    latest = message(
        "その前に、不正利用の補償っていくらまで出るんですか？",
        "trouble_account",
        also_asked=["faq"],
        response_selector={"faq": {"response": {"intent_response_key": "faq/fraud_cover_amount"}}},
    )
    dispatcher, events = run_form(
        tracker(
            latest,
            slots={"trouble_type": "account", "platform": "Instagram", "requested_slot": "can_login"},
            active_loop="triage_form",
        )
    )
    assert "100万円" in texts(dispatcher)[0]
    assert not rejected(events) and slot_events(events)["requested_slot"] == "can_login"
    assert "utter_triage_not_understood" not in responses(dispatcher)


def test_a_wish_to_call_in_an_answer_shortens_the_triage():
    latest = message("ログインできないです、もう電話で相談したい", "trouble_account", also_asked=["request_human"])
    dispatcher, events = run_form(
        tracker(
            latest,
            slots={"trouble_type": "account", "platform": "X", "requested_slot": "can_login"},
            active_loop="triage_form",
        )
    )
    slots = slot_events(events)
    assert slots["can_login"] == "no" and slots["handoff_requested"] is True
    assert slots["requested_slot"] is None  # the essential question is answered: on to the reference
