"""A tracker rebuilt from a conversation's last replay (addons/tracker_replay.py) is the tracker
Rasa's full replay gives, at every point of long conversations, and stays independent."""

import pytest
from rasa.shared.core.events import ActionExecuted, FollowupAction, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from test_action_payload import conversation_events

from addons import tracker_replay
from tests.project_files import rasa_domain

DOMAIN = rasa_domain()


def state(tracker: DialogueStateTracker):
    return (
        tracker.current_state(EventVerbosity.ALL),
        {name: (slot.value, slot.has_been_set) for name, slot in tracker.slots.items()},
        tracker.active_loop,
        tracker.latest_action,
        tracker.followup_action,
        tracker.is_paused(),
        tracker.latest_message,
        tracker.latest_bot_utterance,
        tracker.sender_source,
        tracker.model_id,
    )


@pytest.mark.parametrize("seed", range(6))
def test_every_prefix_is_rebuilt_as_a_full_replay_rebuilds_it(seed):
    events = conversation_events(seed, turns=50)
    events.insert(7, FollowupAction("action_handoff"))
    replays = tracker_replay.Replays()
    for end in range(0, len(events) + 1):
        rebuilt = replays.tracker("someone", events[:end], DOMAIN.slots)
        assert state(rebuilt) == state(DialogueStateTracker.from_events("someone", events[:end], DOMAIN.slots)), end
        # a turn changes its tracker; the next rebuild does not see that
        rebuilt.update(UserUttered("not stored"))
        rebuilt.update(SlotSet("trouble_type", "changed"))
        rebuilt.slots["platform"].value = "changed in place"


def test_other_events_under_the_same_id_are_replayed_whole():
    replays = tracker_replay.Replays()
    first, second = conversation_events(1, turns=10), conversation_events(2, turns=10)
    replays.tracker("someone", first, DOMAIN.slots)
    assert state(replays.tracker("someone", second, DOMAIN.slots)) == state(
        DialogueStateTracker.from_events("someone", second, DOMAIN.slots)
    )
    assert state(replays.tracker("someone", first[:5], DOMAIN.slots)) == state(
        DialogueStateTracker.from_events("someone", first[:5], DOMAIN.slots)
    )


def test_copy_is_rasas_copy():
    tracker_replay.install()
    tracker = DialogueStateTracker.from_events("someone", conversation_events(3, turns=30), DOMAIN.slots)
    tracker.model_id = "model"
    for extra in range(3):
        copied = tracker.copy()
        assert state(copied) == state(tracker.travel_back_in_time(float("inf")))
        copied.update(ActionExecuted("action_listen"))
        tracker.update(ActionExecuted(f"utter_{extra}"))
    assert len(tracker.copy().events) == len(tracker.events)


def test_kept_conversations_are_bounded():
    replays = tracker_replay.Replays(kept=3)
    for number in range(10):
        replays.tracker(f"person-{number}", conversation_events(number, turns=2), DOMAIN.slots)
    assert len(replays._replays) == 3


def test_a_stored_copy_of_an_event_is_not_taken_for_the_event_itself():
    """The tracker store keeps a masked copy of a message with a number: a replay that saw the
    message as typed must not hand it out again."""
    replays = tracker_replay.Replays()
    events = conversation_events(4, turns=10)
    typed = UserUttered("090-1234-5678 です")
    turn = events + [typed, ActionExecuted("utter_x"), ActionExecuted("action_listen")]
    replays.tracker("someone", turn, DOMAIN.slots)
    stored = events + [UserUttered("［電話番号］ です"), turn[-2], turn[-1]]
    rebuilt = replays.tracker("someone", stored, DOMAIN.slots)
    assert [e.text for e in rebuilt.events if isinstance(e, UserUttered)][-1] == "［電話番号］ です"


def test_a_list_that_grows_after_a_replay_is_replayed_to_its_end():
    replays = tracker_replay.Replays()
    events = conversation_events(5, turns=10)
    replays.tracker("someone", events, DOMAIN.slots)
    events.append(SlotSet("trouble_type", "fraud"))
    assert replays.tracker("someone", events, DOMAIN.slots).get_slot("trouble_type") == "fraud"


def loop_conversation(seed: int, turns: int):
    """Forms run, rerun, rejected and interrupted, with reverts: what applied_events undoes."""
    import random

    from rasa.shared.core.events import (
        ActionExecutionRejected,
        ActionReverted,
        ActiveLoop,
        Restarted,
        UserUtteranceReverted,
    )

    chooser = random.Random(seed)
    events = conversation_events(seed, turns=turns)
    mixed = []
    for event in events:
        mixed.append(event)
        roll = chooser.random()
        if roll < 0.08:
            form = chooser.choice(["triage_form", "eligibility_form"])
            mixed += [ActionExecuted(form), ActiveLoop(form), ActionExecuted(form)]
        elif roll < 0.11:
            mixed.append(ActionExecutionRejected(chooser.choice(["triage_form", "eligibility_form"])))
        elif roll < 0.13:
            mixed.append(UserUtteranceReverted())
        elif roll < 0.14:
            mixed.append(ActionReverted())
        elif roll < 0.145:
            mixed.append(Restarted())
        elif roll < 0.16:
            mixed.append(ActiveLoop(None))
    return mixed


@pytest.mark.parametrize("seed", range(5))
def test_applied_events_carried_on_are_rasas(seed):
    from rasa.shared.core.events import ActiveLoop

    rasas = tracker_replay.RASA_APPLIED_EVENTS
    applied = tracker_replay.AppliedEvents(rasas)
    events = loop_conversation(seed, turns=120)
    # a form name first seen late changes how its earlier runs count
    events.insert(len(events) - 5, ActiveLoop("late_form"))
    # (after the session start half way, which would empty the list again)
    events[len(events) - 40 : len(events) - 40] = [ActionExecuted("late_form"), ActionExecuted("late_form")]
    checked = 0
    for end in range(tracker_replay.APPLIED_FROM - 5, len(events) + 1, 7):
        tracker = DialogueStateTracker.from_events("someone", events[:end], DOMAIN.slots)
        assert applied.of(tracker) == rasas(tracker), end
        checked += 1
    assert checked > 20
