"""The fraud-cover pre-check's actions run for real on saved trackers: the offer after the
triage, the start, the form's reading of typed replies, the answer for every outcome, and the
result on the case."""

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa_sdk.forms import REQUESTED_SLOT

from actions.fraud_cover import ActionCheckFraudCover, ActionStartFraudCover, ValidateFraudCoverForm
from actions.handoff import draft_from
from actions.triage import ActionFirstSteps
from nettrouble.cases import schema, store
from nettrouble.core import db
from nettrouble.core.settings import settings
from nettrouble.cover import codes
from tests.project_files import rasa_domain
from tests.tracker_states import message, slot_events, tracker

AFTER = "2026-12-02T11:00:00+09:00"
BEFORE_THE_TERMS = "2020-05-20T11:00:00+09:00"
FORM = "fraud_cover_form"
PREPARED = ("利用明細", "受理番号", "決済事業者が「不正利用」と認めたこと")


@pytest.fixture(autouse=True)
def service(env, clock, tmp_path):
    env(DATABASE_URL=f"sqlite:///{tmp_path / 'service.db'}", PERSON_KEY_SECRET="test-secret", HANDOFF_WEBHOOK_URL="")
    clock(AFTER)
    yield
    db.dispose_all()


def responses(messages):
    return [m.get("response") for m in messages]


def text_of(messages):
    return "\n".join(m.get("text") or "" for m in messages)


def reply(text, intent="inform", slots=None, requested=None, entities=None):
    """The form running on the user's reply to the question for ``requested``."""
    return tracker(
        message(text, intent, entities=entities),
        slots={**(slots or {}), REQUESTED_SLOT: requested},
        active_loop=FORM,
    )


# --- the offer after the triage ---------------------------------------------------------------

TRIAGED = {"triage_done": True, "triage_confirmed": True}


@pytest.mark.parametrize(
    "slots, offered",
    [
        ({"trouble_type": "payment_fraud", "payment_method": "PayPay", "money_amount": 30000}, True),
        ({"trouble_type": "payment_fraud", "money_amount": "unknown"}, True),
        ({"trouble_type": "phishing", "entered_info": "card", "money_lost": "yes", "money_amount": 50000}, True),
        ({"trouble_type": "payment_fraud", "money_amount": 0}, False),
        ({"trouble_type": "phishing", "entered_info": "password", "money_lost": "no"}, False),
        ({"trouble_type": "shopping", "money_amount": 30000}, False),
        ({"trouble_type": "payment_fraud", "money_amount": 30000, "fraud_cover": codes.NOT_MEMBER}, False),
    ],
)
def test_after_the_triage_the_offer_of_staff_offers_the_pre_check_when_money_was_lost(run_action, slots, offered):
    events, _ = run_action(ActionFirstSteps(), tracker(message("はい", "affirm"), slots={**TRIAGED, **slots}))
    assert slot_events(events) == {"fraud_cover_offer": offered}


def test_no_offer_before_the_terms_apply(run_action, clock):
    clock(BEFORE_THE_TERMS)
    slots = {**TRIAGED, "trouble_type": "payment_fraud", "money_amount": 30000}
    events, _ = run_action(ActionFirstSteps(), tracker(message("はい", "affirm"), slots=slots))
    assert slot_events(events) == {"fraud_cover_offer": False}


def test_the_offer_keeps_yes_and_no_first_and_adds_the_pre_check():
    nlg = TemplatedNaturalLanguageGenerator(rasa_domain().responses)
    plain = nlg.generate_from_slots("utter_offer_handoff", {"fraud_cover_offer": False}, "rest")
    offered = nlg.generate_from_slots("utter_offer_handoff", {"fraud_cover_offer": True}, "rest")
    # On SMS 「1」 and 「2」 still issue or decline the reference, and a typed yes still issues it.
    assert offered["buttons"][:2] == plain["buttons"] and len(plain["buttons"]) == 2
    assert offered["buttons"][2]["payload"] == "/ask_fraud_cover"
    assert "不正決済補償" in offered["text"] and "不正決済補償" not in plain["text"]


# --- the start --------------------------------------------------------------------------------


def test_the_start_takes_what_the_triage_knows_and_says_the_conditions(run_action):
    slots = {"trouble_type": "payment_fraud", "money_amount": 30000, "provider_contacted": "no", "is_member": "yes"}
    events, messages = run_action(
        ActionStartFraudCover(), tracker(message("/ask_fraud_cover", "ask_fraud_cover"), slots)
    )
    assert slot_events(events) == {
        "fraud_cover_offer": False,
        codes.AMOUNT_LOST: 30000,
        codes.PROVIDER_DECISION: codes.NOT_ASKED,
    }
    assert responses(messages) == ["utter_fraud_cover_intro"]
    assert "ご加入中であること" in text_of(messages) and "最大100万円" in text_of(messages)


def test_the_start_reads_answers_given_ahead(run_action):
    said = "会員です。カード会社は不正利用と認めてくれて、5万円のうち3万円は返金されます。補償してもらえますか"
    events, _ = run_action(ActionStartFraudCover(), tracker(message(said, "ask_fraud_cover")))
    assert slot_events(events) == {
        "fraud_cover_offer": False,
        codes.IS_MEMBER: "yes",
        codes.PROVIDER_DECISION: codes.RECOGNISED,
        codes.AMOUNT_LOST: 50000,
        codes.PROVIDER_PAYS: 30000,
    }


def test_the_start_takes_the_decision_and_membership_said_earlier_in_the_session(run_action):
    events = [
        {"event": "user", "text": "会員です。PayPayで知らない支払いがありました"},
        {"event": "session_started"},
        {"event": "user", "text": "PayPayで身に覚えのない支払いが5万円ありました"},
        {"event": "user", "text": "まだ連絡してないです"},
        {"event": "user", "text": "さっき連絡したら、不正利用と認めてもらえました"},
        {"event": "user", "text": '/inform{"answer": "no"}'},
        {"event": "user", "text": "補償の対象か確認したいです"},
    ]
    slots = {"trouble_type": "payment_fraud", "money_amount": 50000, "provider_contacted": "no"}
    latest = message("補償の対象か確認したいです", "ask_fraud_cover")
    found, _ = run_action(ActionStartFraudCover(), tracker(latest, slots, events=events))
    # The decision stated last wins over the triage's 「まだ」; membership from before the session
    # does not count.
    assert slot_events(found) == {
        "fraud_cover_offer": False,
        codes.AMOUNT_LOST: 50000,
        codes.PROVIDER_DECISION: codes.RECOGNISED,
    }


def test_asked_again_the_decision_and_the_refund_are_asked_again(run_action):
    slots = {codes.PROVIDER_DECISION: codes.WAITING, codes.AMOUNT_LOST: 50000, "provider_contacted": "no"}
    said = "カード会社が認めてくれました。補償してもらえますか"
    events, _ = run_action(ActionStartFraudCover(), tracker(message(said, "ask_fraud_cover"), slots))
    assert slot_events(events) == {
        "fraud_cover_offer": False,
        codes.PROVIDER_DECISION: codes.RECOGNISED,
        codes.PROVIDER_PAYS: None,
    }


def test_before_the_terms_apply_the_start_promises_no_questions(run_action, clock):
    clock(BEFORE_THE_TERMS)
    _, messages = run_action(ActionStartFraudCover(), tracker(message("補償してもらえますか", "ask_fraud_cover")))
    assert messages == []


# --- the form ---------------------------------------------------------------------------------


def test_on_activation_the_form_asks_the_first_input_still_needed(run_action):
    state = tracker(
        message("補償してもらえますか", "ask_fraud_cover"),
        slots={codes.IS_MEMBER: "yes"},
        events=[
            {"event": "user", "text": "補償してもらえますか"},
            {"event": "action", "name": "action_start_fraud_cover"},
        ],
    )
    events, messages = run_action(ValidateFraudCoverForm(), state)
    assert slot_events(events) == {REQUESTED_SLOT: codes.PROVIDER_DECISION} and messages == []


# (typed reply, intent, slots before, question asked, slots the form sets)
REPLIES = [
    (
        "加入しています",
        "affirm",
        {},
        codes.IS_MEMBER,
        {codes.IS_MEMBER: "yes", REQUESTED_SLOT: codes.PROVIDER_DECISION},
    ),
    (
        "はい、会員です。カード会社には認めてもらえました",
        "affirm",
        {},
        codes.IS_MEMBER,
        {codes.IS_MEMBER: "yes", codes.PROVIDER_DECISION: codes.RECOGNISED, REQUESTED_SLOT: codes.AMOUNT_LOST},
    ),
    (
        "調査中です",
        "inform",
        {codes.IS_MEMBER: "yes"},
        codes.PROVIDER_DECISION,
        {codes.PROVIDER_DECISION: codes.WAITING, REQUESTED_SLOT: None},
    ),
    (
        "本人の利用と言われて断られました",
        "inform",
        {},
        codes.IS_MEMBER,
        {codes.PROVIDER_DECISION: codes.REFUSED, codes.IS_MEMBER: None, REQUESTED_SLOT: None},
    ),
    (
        "九十八万円です",
        "inform",
        {codes.IS_MEMBER: "yes", codes.PROVIDER_DECISION: codes.RECOGNISED},
        codes.AMOUNT_LOST,
        {codes.AMOUNT_LOST: 980000, REQUESTED_SLOT: codes.PROVIDER_PAYS},
    ),
    (
        # heard as a payment-fraud report, but it answers the question asked
        "3万円使われました",
        "trouble_payment_fraud",
        {codes.IS_MEMBER: "yes", codes.PROVIDER_DECISION: codes.RECOGNISED},
        codes.AMOUNT_LOST,
        {codes.AMOUNT_LOST: 30000, REQUESTED_SLOT: codes.PROVIDER_PAYS},
    ),
    (
        "ないです",
        "deny",
        {codes.IS_MEMBER: "yes", codes.PROVIDER_DECISION: codes.RECOGNISED, codes.AMOUNT_LOST: 30000},
        codes.PROVIDER_PAYS,
        {codes.PROVIDER_PAYS: 0, REQUESTED_SLOT: None},
    ),
    (
        "わからない",
        "inform",
        {codes.IS_MEMBER: "yes", codes.PROVIDER_DECISION: codes.RECOGNISED},
        codes.AMOUNT_LOST,
        {codes.AMOUNT_LOST: None, REQUESTED_SLOT: None},
    ),
    (
        "わからないです",
        "inform",
        {codes.IS_MEMBER: "yes"},
        codes.PROVIDER_DECISION,
        {codes.PROVIDER_DECISION: codes.UNKNOWN, REQUESTED_SLOT: None},
    ),
]


@pytest.mark.parametrize("text, intent, slots, asked, expected", REPLIES, ids=[row[0] for row in REPLIES])
def test_typed_replies(run_action, text, intent, slots, asked, expected):
    events, messages = run_action(ValidateFraudCoverForm(), reply(text, intent, slots, asked))
    assert slot_events(events) == expected
    assert not any(e.get("event") == "action_execution_rejected" for e in events) and messages == []


def test_a_pressed_button_answers(run_action):
    entities = [{"entity": "answer", "value": "not_asked"}]
    events, _ = run_action(
        ValidateFraudCoverForm(),
        reply('/inform{"answer": "not_asked"}', "inform", {codes.IS_MEMBER: "yes"}, codes.PROVIDER_DECISION, entities),
    )
    assert slot_events(events) == {codes.PROVIDER_DECISION: codes.NOT_ASKED, REQUESTED_SLOT: None}


def test_an_unreadable_reply_is_asked_again_with_the_choices(run_action):
    events, messages = run_action(ValidateFraudCoverForm(), reply("いいえ", "deny", {}, codes.PROVIDER_DECISION))
    assert responses(messages) == ["utter_fraud_cover_reask_provider_decision"]
    assert "認められた" in text_of(messages)
    assert slot_events(events) == {codes.PROVIDER_DECISION: None, REQUESTED_SLOT: codes.IS_MEMBER}


@pytest.mark.parametrize(
    "text, intent",
    [
        ("電話は何時までですか", "ask_hours"),
        ("もう死にたい", "urgent_self_harm"),
        ("担当の人と話したい", "request_human"),
    ],
)
def test_what_is_not_an_answer_goes_to_its_rule(run_action, text, intent):
    events, _ = run_action(ValidateFraudCoverForm(), reply(text, intent, {}, codes.IS_MEMBER))
    assert events[-1]["event"] == "action_execution_rejected" and slot_events(events) == {}


def test_a_question_keeps_nothing_it_seems_to_say(run_action):
    text = "カード会社が認めてくれないと補償されないんですか？"
    events, _ = run_action(ValidateFraudCoverForm(), reply(text, "faq", {}, codes.PROVIDER_DECISION))
    assert events[-1]["event"] == "action_execution_rejected" and slot_events(events) == {}


def test_a_value_no_reader_gives_is_dropped():
    form = ValidateFraudCoverForm()
    state = reply("x", "inform", {}, codes.PROVIDER_DECISION)
    assert form.validate_provider_decision("approved", None, state, {}) == {codes.PROVIDER_DECISION: None}
    assert form.validate_amount_lost(-5, None, state, {}) == {codes.AMOUNT_LOST: None}
    assert form.validate_amount_lost(5000, None, state, {}) == {codes.AMOUNT_LOST: 5000}


# --- the answer -------------------------------------------------------------------------------


def answered(slots):
    return tracker(message("わかりました", "inform"), slots=slots)


MEMBER = {codes.IS_MEMBER: "yes"}
OUTCOMES = [
    (
        {
            **MEMBER,
            codes.PROVIDER_DECISION: codes.RECOGNISED,
            codes.AMOUNT_LOST: 1_500_000,
            codes.PROVIDER_PAYS: 200_000,
        },
        codes.MAY_BE_COVERED,
        1_000_000,
        ["150万円", "20万円", "130万円", "見込み額は100万円"],
    ),
    (
        {**MEMBER, codes.PROVIDER_DECISION: codes.WAITING},
        codes.PROVIDER_DECISION_NEEDED,
        None,
        ["判断を受けてください"],
    ),
    ({codes.PROVIDER_DECISION: codes.REFUSED}, codes.PROVIDER_REFUSED, None, ["認めなかった場合"]),
    (
        {**MEMBER, codes.PROVIDER_DECISION: codes.RECOGNISED, codes.AMOUNT_LOST: 30_000, codes.PROVIDER_PAYS: 30_000},
        codes.FULLY_PAID_BY_PROVIDER,
        0,
        ["全額まかなわれる"],
    ),
    ({codes.IS_MEMBER: "no"}, codes.NOT_MEMBER, None, ["会員の方が対象"]),
]


@pytest.mark.parametrize("slots, outcome, estimate, says", OUTCOMES, ids=[row[1] for row in OUTCOMES])
def test_every_outcome_is_answered_with_who_decides_and_what_to_prepare(run_action, slots, outcome, estimate, says):
    events, messages = run_action(ActionCheckFraudCover(), answered(slots))
    assert slot_events(events) == {
        "fraud_cover": outcome,
        "fraud_cover_estimate": estimate,
        "fraud_cover_offer": False,
        "next_step": "offer_staff",
    }
    assert responses(messages) == ["utter_fraud_cover_result"]
    text = text_of(messages)
    assert "保険会社" in text and "判断します" in text and "そのほかにも補償には条件がございます" in text
    for words in list(PREPARED) + says:
        assert words in text, words


def test_an_undecided_pre_check_says_what_is_missing(run_action):
    slots = {**MEMBER, codes.PROVIDER_DECISION: codes.RECOGNISED, codes.AMOUNT_LOST: 50_000}
    events, messages = run_action(ActionCheckFraudCover(), answered(slots))
    assert slot_events(events)["fraud_cover"] is None and slot_events(events)["fraud_cover_estimate"] is None
    assert responses(messages) == ["utter_fraud_cover_undecided"]
    text = text_of(messages)
    assert "決済事業者などから補償される額" in text and "被害額" not in text.split("わかりましたら")[0]
    assert "保険会社" in text and all(words in text for words in PREPARED)


def test_before_the_terms_apply_the_centre_is_given(run_action, clock):
    clock(BEFORE_THE_TERMS)
    events, messages = run_action(ActionCheckFraudCover(), answered({codes.IS_MEMBER: "no"}))
    assert slot_events(events)["fraud_cover"] is None
    assert responses(messages) == ["utter_fraud_cover_unavailable"] and "0120-221-360" in text_of(messages)


def test_a_user_who_asked_for_staff_gets_the_reference_next(run_action):
    events, _ = run_action(ActionCheckFraudCover(), answered({codes.IS_MEMBER: "no", "handoff_requested": True}))
    assert slot_events(events)["next_step"] == "handoff"


def test_after_the_reference_the_result_goes_onto_the_case(run_action):
    engine = db.prepare(settings().database_url)
    case, _ = store.open_case(
        engine, schema.CaseDraft(conversation_id="test-user", trouble_type="payment_fraud"), notify=False
    )
    slots = {
        **MEMBER,
        "trouble_type": "payment_fraud",
        "case_reference": case.reference,
        codes.PROVIDER_DECISION: codes.RECOGNISED,
        codes.AMOUNT_LOST: 80_000,
        codes.PROVIDER_PAYS: 0,
    }
    events, messages = run_action(ActionCheckFraudCover(), answered(slots))
    assert slot_events(events)["next_step"] == "nothing"
    assert responses(messages) == ["utter_fraud_cover_result", "utter_fraud_cover_recorded"]
    assert case.reference in text_of(messages)
    stored = store.get_case(engine, case.reference)
    assert (stored.fraud_cover, stored.fraud_cover_estimate, stored.fraud_cover_amount_lost) == (
        codes.MAY_BE_COVERED,
        80_000,
        80_000,
    )


def test_the_handoff_works_the_pre_check_out_again_from_the_answers():
    forged = {"fraud_cover": codes.MAY_BE_COVERED, "fraud_cover_estimate": 1_000_000}
    draft = draft_from(answered({**forged, codes.IS_MEMBER: "no", codes.AMOUNT_LOST: 50_000}))
    assert (draft.fraud_cover, draft.fraud_cover_estimate, draft.fraud_cover_amount_lost) == (
        codes.NOT_MEMBER,
        None,
        50_000,
    )
    assert draft_from(answered(forged)).fraud_cover is None
