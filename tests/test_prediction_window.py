"""The policies' window of a session (addons/prediction_window.py) gives them the same dialogue
states at its end as the whole session, and is longer than any rule."""

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from rasa.shared.core.events import ActionExecuted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from test_action_payload import conversation_events

from addons import prediction_window
from nettrouble.core import settings
from tests.project_files import rasa_domain

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = rasa_domain()


def rules():
    for path in sorted((ROOT / "data" / "rules").glob("*.yml")):
        yield from (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules") or []


def test_no_rule_reaches_beyond_the_window_or_back_to_the_start():
    window = settings.settings().prediction_window_turns
    longest = max(sum(1 for step in rule.get("steps") or [] if "intent" in step or "user" in step) for rule in rules())
    # a rule's condition describes the state before its first step: one more turn
    assert longest + 1 < window
    assert not any(rule.get("conversation_start") for rule in rules())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("turns", [2, 3, 10])
def test_the_last_states_are_those_of_the_whole_session(seed, turns):
    events = conversation_events(seed, turns=40)
    events.insert(10, SlotSet("platform", None))  # set, though to its initial value
    for end in range(1, len(events) + 1, 3):
        whole = DialogueStateTracker.from_events("someone", events[:end], DOMAIN.slots)
        view = prediction_window.window(whole, DOMAIN, turns)
        for omit_unset in (False, True):
            all_states = whole.past_states(DOMAIN, omit_unset_slots=omit_unset)
            view_states = view.past_states(DOMAIN, omit_unset_slots=omit_unset)
            # the first state of the window lacks the action before it
            shared = len(view_states) - 1
            assert view_states[-shared:] == all_states[-shared:] if shared > 0 else True, (seed, turns, end)
        # what the policies read of the loop (its trigger message is the slot mappings' concern)
        if whole.active_loop_name:
            assert (view.active_loop.name, view.active_loop.is_interrupted, view.active_loop.rejected) == (
                whole.active_loop.name,
                whole.active_loop.is_interrupted,
                whole.active_loop.rejected,
            )
        assert view.latest_message == whole.latest_message
        assert view.latest_action_name == whole.latest_action_name


def test_a_short_session_is_predicted_on_itself():
    tracker = DialogueStateTracker.from_events("someone", conversation_events(1, turns=3), DOMAIN.slots)
    assert prediction_window.window(tracker, DOMAIN, 10) is tracker


class Prediction(SimpleNamespace):
    pass


def fake_predictor(seen):
    def original(self, tracker):
        seen.append(len(tracker.events))
        if tracker.followup_action:
            tracker.clear_followup_action()
            return Prediction(max_confidence_index=0, policy_name="followup", events=[])
        return Prediction(max_confidence_index=len(tracker.events), policy_name="rules", events=[])

    return original


@pytest.fixture
def check_mode(env):
    env(PREDICTION_WINDOW_CHECK="1", PREDICTION_WINDOW_TURNS="2")


def test_a_difference_is_logged_in_check_mode(check_mode, caplog):
    seen = []
    predict = prediction_window.windowed(fake_predictor(seen))
    tracker = DialogueStateTracker.from_events("someone", conversation_events(4, turns=20), DOMAIN.slots)
    processor = SimpleNamespace(domain=DOMAIN)
    first_length = len(tracker.events)
    with caplog.at_level(logging.ERROR):
        for _ in range(2):
            predict(processor, tracker)
            tracker.update(ActionExecuted("action_listen"))
    # the window first, then the whole session
    assert seen[1] == first_length and seen[0] < seen[1]
    assert any(prediction_window.MISMATCH in record.getMessage() for record in caplog.records)


def test_a_follow_up_action_is_taken_from_the_real_tracker(check_mode):
    seen = []
    predict = prediction_window.windowed(fake_predictor(seen))
    tracker = DialogueStateTracker.from_events("someone", conversation_events(5, turns=20), DOMAIN.slots)
    tracker.trigger_followup_action("action_handoff")
    assert predict(SimpleNamespace(domain=DOMAIN), tracker).policy_name == "followup"
    assert seen == [len(tracker.events)] and tracker.followup_action is None
