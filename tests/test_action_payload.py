"""The lighter tracker sent to the action server (addons/action_payload.py) answers every
question the actions ask of the events exactly as the whole session does, at every point of a
long conversation, and is much smaller."""

import json
import random

import pytest
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker

from actions import conversation, corrections, eligibility, handoff
from addons import action_payload
from addons.prediction_window import first_index_of_last_turns
from tests.project_files import rasa_domain

MESSAGES = [
    ("ツイッターで悪口を書かれて困っています", "report_defamation"),
    ("はい", "affirm"),
    ("自分です", "inform"),
    ("/affirm", "affirm"),
    ("受付時間は？", "ask_hours"),
    ("消費生活相談員と話したい", "request_human"),
    ("ありがとう", "thank"),
    ("090-1234-5678", "inform"),
    ("さっきの答えを訂正します、まだ続いています", "correct_answer"),
    ("こんにちは", "greet"),
    ("料金はかかりますか", "faq"),
    ("いいえ", "deny"),
]
ACTIONS = [
    "action_check_eligibility",
    "action_offer_articles",
    "action_read_answer",
    "triage_form",
    "action_handoff",
    "validate_triage_form",
]
RESPONSES = ["utter_offer_handoff", "utter_ask_hours", "utter_offer_continue_triage", "utter_anything_else"]


def conversation_events(seed: int, turns: int = 60):
    chooser = random.Random(seed)
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for turn in range(turns):
        text, intent = chooser.choice(MESSAGES)
        events.append(
            UserUttered(
                text,
                {"name": intent, "confidence": 0.9},
                [],
                {
                    "text": text,
                    "intent": {"name": intent, "confidence": 0.9},
                    "intent_ranking": [{"name": intent, "confidence": 0.9}],
                    "entities": [],
                },
                input_channel=chooser.choice(["rest", "line", "sms"]),
            )
        )
        for _ in range(chooser.randint(1, 3)):
            kind = chooser.random()
            if kind < 0.3:
                events.append(ActionExecuted(chooser.choice(ACTIONS)))
                events.append(SlotSet("trouble_type", chooser.choice(["defamation", "fraud", None])))
            elif kind < 0.4:
                events.append(ActiveLoop(chooser.choice(["triage_form", None])))
            else:
                events.append(ActionExecuted(chooser.choice(RESPONSES)))
                events.append(BotUttered(f"応答 {turn}", {"buttons": [{"title": "はい", "payload": "/affirm"}]}))
        if turn == turns // 2:
            events += [ActionExecuted("action_session_start"), SessionStarted()]
        if chooser.random() < 0.8:
            events.append(ActionExecuted("action_listen"))
    return events


def readers(tracker: Tracker):
    return {
        "user_messages": handoff.user_messages(tracker),
        "adviser_asked": handoff._adviser_asked(tracker),
        "adviser_requested": eligibility.adviser_requested(tracker),
        "open_offer": corrections.open_offer(tracker),
        "fresh_reply": [conversation.fresh_reply(tracker, form) for form in ("triage_form", "eligibility_form")],
        "slots_to_validate": tracker.slots_to_validate(),
        "channel": tracker.get_latest_input_channel(),
        "latest_action": tracker.latest_action_name,
        "slots": tracker.slots,
        "active_loop": tracker.active_loop,
    }


def sdk_tracker(state) -> Tracker:
    return Tracker.from_dict(json.loads(json.dumps(state)))


@pytest.mark.parametrize("seed", range(8))
def test_every_reader_of_the_actions_gets_the_same_answer_at_every_point(seed):
    events = conversation_events(seed)
    for end in range(1, len(events) + 1):
        tracker = DialogueStateTracker.from_events("someone", events[:end])
        whole = sdk_tracker(tracker.current_state(EventVerbosity.ALL))
        light = sdk_tracker(action_payload.tracker_state(tracker))
        assert readers(light) == readers(whole), f"seed {seed}, first {end} events"


def test_the_state_is_rasas_but_for_the_older_events():
    tracker = DialogueStateTracker.from_events("someone", conversation_events(1))
    whole = tracker.current_state(EventVerbosity.ALL)
    light = action_payload.tracker_state(tracker)
    assert {k: v for k, v in light.items() if k != "events"} == {k: v for k, v in whole.items() if k != "events"}
    cut = first_index_of_last_turns(list(tracker.events), action_payload.WHOLE_TURNS)
    assert light["events"][-(len(tracker.events) - cut) :] == whole["events"][cut:]


def test_a_long_session_is_sent_in_a_fraction_of_its_size():
    tracker = DialogueStateTracker.from_events("someone", conversation_events(2, turns=300))
    whole = len(json.dumps(tracker.current_state(EventVerbosity.ALL), ensure_ascii=False))
    light = len(json.dumps(action_payload.tracker_state(tracker), ensure_ascii=False))
    assert light < whole / 2


def test_a_short_session_goes_whole():
    tracker = DialogueStateTracker.from_events("someone", conversation_events(3, turns=4))
    assert action_payload.tracker_state(tracker) == tracker.current_state(EventVerbosity.ALL)


def test_the_domain_goes_without_its_responses_to_the_actions_that_ask_for_it():
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    domain = rasa_domain()
    endpoint = EndpointConfig("http://localhost:5055/webhook", enable_selective_domain=True)
    tracker = DialogueStateTracker.from_events("someone", conversation_events(3, turns=4))
    form = action_payload.action_call(RemoteAction("validate_triage_form", endpoint), tracker, domain)
    other = action_payload.action_call(RemoteAction("action_handoff", endpoint), tracker, domain)
    assert "domain" not in other
    assert form["domain"]["forms"] == domain.as_dict()["forms"] and "responses" not in form["domain"]
    assert form["domain"]["slots"] == domain.as_dict()["slots"]
    # Rasa's own format but for the lighter tracker
    rasas = RemoteAction("action_handoff", endpoint)._action_call_format(tracker, domain)
    assert {k: v for k, v in rasas.items() if k != "tracker"} == {k: v for k, v in other.items() if k != "tracker"}
