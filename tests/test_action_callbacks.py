"""Callbacks in the conversation, run for real on saved trackers: the offer after a Saturday-night
handoff, the slot chosen by button or typed, the number sealed and booked, the confirmation
with callback_slot, and cancelling and moving with the reference. The case database is a
temporary SQLite file and the calendar the test's own (capacity 2)."""

import json
import logging
from datetime import datetime

import pytest
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from sqlalchemy import select

from actions import callbacks as actions
from actions.handoff import ActionHandoff
from nettrouble.callbacks import numbers
from nettrouble.callbacks import store as callbacks
from nettrouble.cases import store as cases
from nettrouble.cases.schema import CaseDraft
from nettrouble.content import hours
from nettrouble.core import db
from nettrouble.core.clock import JST
from tests.tracker_states import message, slot_events, tracker

SATURDAY_NIGHT = "2026-12-12T21:30:00+09:00"
WEEKDAY_MORNING = "2026-12-14T11:00:00+09:00"
MONDAY_10 = datetime(2026, 12, 14, 10, 0, tzinfo=JST)
MONDAY_1030 = datetime(2026, 12, 14, 10, 30, tzinfo=JST)
SENDER = "web-callback-1"
NUMBER = "090-1234-5678"
HOURS = (
    'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon, tue, wed, thu, fri]\n'
    "public_holidays_closed: true\nqueue_wait_alert_minutes: 30\ncallback_capacity: 2\n"
    'closures: [{id: year_end, name: 年末年始, yearly: {from: "12-29", to: "01-03"}}]\n'
)


@pytest.fixture
def engine(tmp_path, env, monkeypatch):
    path = tmp_path / "hours.yml"
    path.write_text(HOURS, encoding="utf-8")
    calendar = hours.load(path)
    # An operator's edit of business/hours.yml must not move the slots asserted below.
    monkeypatch.setattr(hours, "calendar", lambda: calendar)
    url = f"sqlite:///{tmp_path / 'callbacks.db'}"
    env(
        DATABASE_URL=url,
        PERSON_KEY_SECRET="test-person-key-secret",
        CALLBACK_NUMBER_KEY="test-callback-number-key-0123456789abcdef",
        HANDOFF_WEBHOOK_URL="",
        CLOCK_OVERRIDE=SATURDAY_NIGHT,
    )
    yield db.prepare(url)
    db.dispose_all()


def open_case(engine, sender=SENDER):
    case, _ = cases.open_case(engine, CaseDraft(conversation_id=sender, channel="web"), notify=False)
    return case


def form_tracker(text, case, intent="inform", requested=None, entities=None, sender=SENDER, **slots):
    values = {"case_reference": case.reference, "requested_slot": requested, **slots}
    return tracker(message(text, intent, entities=entities), slots=values, active_loop=actions.FORM, sender_id=sender)


def book(engine, case, start=MONDAY_10):
    return callbacks.book(
        engine, case.id, start, numbers.read_number(NUMBER), datetime.fromisoformat(SATURDAY_NIGHT), hours.calendar()
    )


def texts(messages):
    return [m["text"] for m in messages]


# ---- the offer after the reference -------------------------------------------------------------


def test_a_saturday_night_handoff_offers_mondays_slots(engine, run_action):
    events, messages = run_action(ActionHandoff(), tracker(message("人と話したい", "request_human"), sender_id=SENDER))
    reference, offered = slot_events(events)["case_reference"], slot_events(events)
    assert offered["callback_offered"] is True
    assert offered["callback_options"] == [
        "2026-12-14T10:00:00+09:00",
        "2026-12-14T10:30:00+09:00",
        "2026-12-14T11:00:00+09:00",
        "2026-12-14T11:30:00+09:00",
        "2026-12-14T12:00:00+09:00",
    ]
    handed_off, offer = messages
    assert reference in handed_off["text"] and "次の受付開始は 12月14日(月) 10:00 です。" in handed_off["text"]
    assert offer["response"] == "utter_callback_offer" and "折り返し" in offer["text"]
    titles = [button["title"] for button in offer["buttons"]]
    assert titles == ["12/14(月) 10:00", "12/14(月) 10:30", "12/14(月) 11:00", "12/14(月) 11:30", "12/14(月) 12:00"] + [
        "予約しない"
    ]
    assert offer["buttons"][0]["payload"] == '/choose_callback{"callback_start":"2026-12-14T10:00:00+09:00"}'
    assert offer["buttons"][-1]["payload"] == "/deny"


def test_no_offer_while_the_centre_is_open(engine, env, run_action):
    env(CLOCK_OVERRIDE=WEEKDAY_MORNING)
    events, messages = run_action(
        ActionHandoff(), tracker(message("人と話したい", "request_human"), slots={"callback_offered": True})
    )
    assert slot_events(events)["callback_offered"] is False  # an earlier offer no longer stands
    assert [m.get("response") for m in messages] == ["utter_case_handed_off"]


def test_no_offer_without_the_key(engine, env, run_action):
    env(CALLBACK_NUMBER_KEY="")
    events, messages = run_action(ActionHandoff(), tracker(message("人と話したい", "request_human")))
    assert "callback_offered" not in slot_events(events) and len(messages) == 1


def test_a_case_with_a_callback_is_reminded_of_it(engine, run_action):
    case = open_case(engine, "conv-1")
    book(engine, case)
    events, messages = run_action(
        ActionHandoff(), tracker(message("人と話したい", "request_human"), sender_id="conv-1")
    )
    assert slot_events(events)["callback_slot"] == "2026-12-14T10:00:00+09:00"
    assert messages[-1]["response"] == "utter_callback_still_booked"
    assert "12月14日(月) 10:00〜10:30 にご予約済み" in messages[-1]["text"]


# ---- the slot --------------------------------------------------------------------------------


OPTIONS = ["2026-12-14T10:00:00+09:00", "2026-12-14T10:30:00+09:00", "2026-12-14T11:00:00+09:00"]


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("2番", "choose_callback", "2026-12-14T10:30:00+09:00"),
        ("２番でお願いします", "inform", "2026-12-14T10:30:00+09:00"),
        ("月曜の10:00で", "choose_callback", "2026-12-14T10:00:00+09:00"),
        ("火曜の11時半", "nlu_fallback", "2026-12-15T11:30:00+09:00"),
    ],
)
def test_a_typed_slot_is_taken(engine, run_action, text, intent, expected):
    case = open_case(engine)
    events, messages = run_action(
        actions.ValidateCallbackForm(), form_tracker(text, case, intent, callback_options=OPTIONS)
    )
    assert slot_events(events)["callback_choice"] == expected and messages == []


def test_a_button_names_its_slot(engine, run_action):
    case = open_case(engine)
    entities = [{"entity": "callback_start", "value": "2026-12-14T11:00:00+09:00"}]
    payload = '/choose_callback{"callback_start":"2026-12-14T11:00:00+09:00"}'
    events, _ = run_action(
        actions.ValidateCallbackForm(), form_tracker(payload, case, "choose_callback", entities=entities)
    )
    assert slot_events(events)["callback_choice"] == "2026-12-14T11:00:00+09:00"


def test_a_closed_day_or_a_full_slot_is_asked_again(engine, run_action):
    case = open_case(engine)
    for other in ("conv-a", "conv-b"):
        book(engine, open_case(engine, other), MONDAY_10)
    for text in ("土曜の10時半", "月曜の10時で"):  # Saturday is closed; Monday 10:00 is full
        events, messages = run_action(
            actions.ValidateCallbackForm(),
            form_tracker(text, case, "choose_callback", requested="callback_choice", callback_options=OPTIONS),
        )
        assert slot_events(events)["callback_choice"] is None
        assert [m["response"] for m in messages] == ["utter_callback_choice_unavailable"]
    forged = [{"entity": "callback_start", "value": "2026-12-13T10:00:00+09:00"}]  # a Sunday
    events, _ = run_action(
        actions.ValidateCallbackForm(),
        form_tracker("/choose_callback", case, "choose_callback", requested="callback_choice", entities=forged),
    )
    assert slot_events(events)["callback_choice"] is None


def test_the_question_lists_the_open_slots(engine, run_action):
    for other in ("conv-a", "conv-b"):
        book(engine, open_case(engine, other), MONDAY_10)
    events, [asked] = run_action(actions.ActionAskCallbackChoice(), form_tracker("", open_case(engine)))
    assert asked["response"] == "utter_callback_choose"
    assert asked["buttons"][0]["title"] == "12/14(月) 10:30" and len(asked["buttons"]) == 6
    assert slot_events(events)["callback_options"][0] == "2026-12-14T10:30:00+09:00"


def test_a_no_or_a_question_is_left_to_the_rules(engine, run_action):
    case = open_case(engine)
    for text, intent in (("いいえ、やっぱりいいです", "deny"), ("受付時間は何時までですか", "ask_hours")):
        events, _ = run_action(actions.ValidateCallbackForm(), form_tracker(text, case, intent, "callback_choice"))
        assert events == [ActionExecutionRejected(actions.FORM)]


# ---- the number ----------------------------------------------------------------------------------


def test_the_number_is_booked_sealed_and_never_put_in_a_slot_or_a_log(engine, run_action, caplog):
    case = open_case(engine)
    caplog.set_level(logging.DEBUG)
    events, messages = run_action(
        actions.ValidateCallbackForm(),
        form_tracker(
            "０９０ー１２３４ー５６７８です",
            case,
            requested="callback_number",
            callback_choice="2026-12-14T10:30:00+09:00",
        ),
    )
    assert slot_events(events)["callback_number"] == "stored" and messages == []
    assert "5678" not in json.dumps(events, ensure_ascii=False)
    assert f"{case.reference} booked at 2026-12-14T10:30:00+09:00" in caplog.text and "5678" not in caplog.text
    booked = callbacks.live_for_case(engine, case.id)
    assert booked.slot_start == MONDAY_1030 and callbacks.number_for_staff(engine, booked) == NUMBER
    with engine.connect() as connection:
        assert "5678" not in connection.execute(select(callbacks.callbacks.c.number_sealed)).scalar_one()


@pytest.mark.parametrize(
    "text, reply",
    [
        ("電話番号はちょっと", "utter_callback_number_unreadable"),
        ("1234-5678", "utter_callback_number_unreadable"),
        ("0120-221-360", "utter_callback_number_not_callable"),
    ],
)
def test_a_number_that_cannot_be_called_is_asked_again(engine, run_action, text, reply):
    case = open_case(engine)
    events, messages = run_action(
        actions.ValidateCallbackForm(),
        form_tracker(text, case, requested="callback_number", callback_choice="2026-12-14T10:30:00+09:00"),
    )
    assert slot_events(events)["callback_number"] is None
    assert [m["response"] for m in messages] == [reply]
    assert callbacks.live_for_case(engine, case.id) is None


def test_a_slot_taken_meanwhile_is_chosen_again(engine, run_action):
    case = open_case(engine)
    for other in ("conv-a", "conv-b"):
        book(engine, open_case(engine, other), MONDAY_10)
    events, [taken] = run_action(
        actions.ValidateCallbackForm(),
        form_tracker(NUMBER, case, requested="callback_number", callback_choice="2026-12-14T10:00:00+09:00"),
    )
    assert slot_events(events)["callback_choice"] is None and slot_events(events)["callback_number"] is None
    assert taken["response"] == "utter_callback_slot_taken" and "12月14日(月) 10:00〜10:30" in taken["text"]


def test_the_confirmation_sets_the_callback_slot(engine, run_action):
    case = open_case(engine)
    book(engine, case, MONDAY_1030)
    events, [confirmed] = run_action(
        actions.ActionCallbackBooked(),
        form_tracker(NUMBER, case, callback_number="stored", callback_choice="2026-12-14T10:30:00+09:00"),
    )
    assert slot_events(events)["callback_slot"] == "2026-12-14T10:30:00+09:00"
    assert slot_events(events)["callback_offered"] is False and slot_events(events)["callback_number"] is None
    assert confirmed["response"] == "utter_callback_booked"
    assert "日時：12月14日(月) 10:30〜11:00" in confirmed["text"] and case.reference in confirmed["text"]


# ---- cancelling and moving with the reference -------------------------------------------------


def request(text, intent, sender=SENDER, **slots):
    return tracker(message(text, intent), slots=slots, sender_id=sender)


def test_cancelling_with_the_reference_removes_the_booking_and_the_number(engine, run_action):
    case = open_case(engine)
    booked = book(engine, case)
    events, [reply] = run_action(
        actions.ActionCancelCallback(), request(f"折り返しをキャンセルしたい {case.reference}", "cancel_callback")
    )
    assert events == [SlotSet("callback_slot", None)]
    assert reply["response"] == "utter_callback_cancelled" and "12月14日(月) 10:00〜10:30" in reply["text"]
    assert callbacks.live_for_case(engine, case.id) is None and callbacks.number_for_staff(engine, booked) is None
    _, [again] = run_action(
        actions.ActionCancelCallback(), request(f"折り返しをキャンセルしたい {case.reference}", "cancel_callback")
    )
    assert again["response"] == "utter_callback_none"


def test_the_reference_of_this_session_is_used_when_none_is_typed(engine, run_action):
    case = open_case(engine)
    book(engine, case)
    _, [reply] = run_action(
        actions.ActionCancelCallback(),
        request("折り返しをキャンセルしたい", "cancel_callback", case_reference=case.reference),
    )
    assert reply["response"] == "utter_callback_cancelled"


@pytest.mark.parametrize(
    "text, sender, reply",
    [
        ("折り返しをキャンセルしたい", SENDER, "utter_callback_need_reference"),
        ("折り返しをキャンセルしたい NT-2607-12345-2", SENDER, "utter_callback_reference_mistyped"),
        ("折り返しをキャンセルしたい NT-2607-12345-1", SENDER, "utter_callback_reference_unknown"),
        ("{reference} の折り返しをキャンセル", "someone-else", "utter_callback_not_yours"),
    ],
)
def test_a_callback_is_changed_only_from_its_own_conversation(engine, run_action, text, sender, reply):
    case = open_case(engine)
    book(engine, case)
    _, [answer] = run_action(
        actions.ActionCancelCallback(), request(text.format(reference=case.reference), "cancel_callback", sender)
    )
    assert answer["response"] == reply
    assert callbacks.live_for_case(engine, case.id) is not None


def test_moving_asks_only_for_the_new_slot_and_keeps_the_number(engine, run_action):
    case = open_case(engine)
    book(engine, case)
    events, messages = run_action(
        actions.ActionChangeCallback(), request(f"折り返しの時間を変えたい {case.reference}", "change_callback")
    )
    assert messages == []
    assert slot_events(events) == {
        "callback_choice": None,
        "callback_number": "kept",
        "callback_moving": True,
        "case_reference": case.reference,
        "callback_slot": "2026-12-14T10:00:00+09:00",
    }
    moving = dict(slot_events(events), requested_slot="callback_choice")
    _, [asked] = run_action(actions.ActionAskCallbackChoice(), form_tracker("", case, **moving))
    assert asked["response"] == "utter_callback_choose_new_time" and "現在のご予約：12月14日(月) 10:00" in asked["text"]
    assert asked["buttons"][-1] == {"title": "変更しない", "payload": "/deny"}
    events, _ = run_action(
        actions.ValidateCallbackForm(), form_tracker("火曜の15時で", case, "choose_callback", **moving)
    )
    assert slot_events(events)["callback_choice"] == "2026-12-15T15:00:00+09:00"
    moved = callbacks.live_for_case(engine, case.id)
    assert moved.slot_start == datetime(2026, 12, 15, 15, 0, tzinfo=JST)
    assert callbacks.number_for_staff(engine, moved) == NUMBER
    events, [confirmed] = run_action(
        actions.ActionCallbackBooked(), form_tracker("", case, **dict(moving, callback_choice="x"))
    )
    assert confirmed["response"] == "utter_callback_moved" and "12月15日(火) 15:00〜15:30" in confirmed["text"]
    assert slot_events(events)["callback_slot"] == "2026-12-15T15:00:00+09:00"


def test_nothing_to_move_says_so_and_the_rules_wait(engine, run_action):
    case = open_case(engine)
    events, [reply] = run_action(
        actions.ActionChangeCallback(), request(f"折り返しの時間を変えたい {case.reference}", "change_callback")
    )
    assert events == [SlotSet("callback_moving", False)] and reply["response"] == "utter_callback_none"


def test_declining_clears_the_form(engine, run_action):
    events, [reply] = run_action(
        actions.ActionCallbackDeclined(), request("いいえ", "deny", callback_choice=OPTIONS[0])
    )
    assert reply["response"] == "utter_callback_not_booked"
    assert slot_events(events)["callback_choice"] is None and slot_events(events)["callback_offered"] is False
