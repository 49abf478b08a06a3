"""The policies predict from the latest turns of a session, not from all of it.

RulePolicy and MemoizationPolicy turn the whole session into dialogue states before each
prediction (``tracker.past_states``): 20-40 ms at 1,000 events, three or four times a turn, so
that a long conversation got slower with every message (policy 8 ms a turn at the start, 95 ms
after 200 turns). What they compare is only the end of those states: MemoizationPolicy
``max_history`` (4, config.yml) states, RulePolicy each rule's states, and no rule of
data/rules is longer than a few turns nor anchored at the start of a conversation
(``conversation_start``; tests/test_prediction_window.py checks both).

So the policies get a tracker of the last PREDICTION_WINDOW_TURNS (4) user turns, preceded by what the
earlier events left behind: every slot that was set (value and "was set", which RulePolicy
reads) and the active loop with its flags. Everything else stays on the real tracker, which
the processor keeps using; a follow-up action is taken from it before any prediction.

With PREDICTION_WINDOW_CHECK=1 (the system checks and the typed conversations of make test
set it, with a window of 2 turns) every prediction is also made on the whole session and a
difference is logged as an error that fails those checks.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, List

from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    Event,
    LoopInterrupted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from addons.tracker_replay import Replays
from nettrouble.core.settings import settings

logger = logging.getLogger(__name__)

MISMATCH = "prediction window differs"


def first_index_of_last_turns(events: List[Event], turns: int) -> int:
    """Where the last ``turns`` user turns begin, the listen before the first one included
    (0 when the session has no more turns than that)."""
    seen = 0
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            seen += 1
            if seen == turns:
                return index - 1 if index > 0 and isinstance(events[index - 1], ActionExecuted) else index
    return 0


def left_behind(before: DialogueStateTracker) -> List[Event]:
    """Events that give a new tracker the slots and the loop ``before`` ended with."""
    events: List[Event] = [SlotSet(name, slot.value) for name, slot in before.slots.items() if slot.has_been_set]
    loop = before.active_loop
    if loop is not None and loop.name:
        events.append(ActiveLoop(loop.name))
        if loop.is_interrupted:
            events.append(LoopInterrupted(True))
        if loop.rejected:
            events.append(ActionExecutionRejected(loop.name))
    return events


# The events before each conversation's window, replayed: the next window of the same
# conversation replays only the events that left the window since (addons/tracker_replay.py).
_BEFORE = Replays()


def window(tracker: DialogueStateTracker, domain: Any, turns: int) -> DialogueStateTracker:
    """``tracker`` as the policies need it: its last ``turns`` user turns and what came before
    them as slot and loop events; ``tracker`` itself when it is not longer than that."""
    events = list(tracker.events)
    cut = first_index_of_last_turns(events, turns)
    if cut == 0:
        return tracker
    before = _BEFORE.tracker(tracker.sender_id, events[:cut], domain.slots)
    return DialogueStateTracker.from_events(tracker.sender_id, left_behind(before) + events[cut:], domain.slots)


def windowed(original: Callable) -> Callable:
    @functools.wraps(original)
    def _predict_next_with_tracker(self: Any, tracker: DialogueStateTracker) -> Any:
        if tracker.followup_action:
            # the processor takes it from the real tracker, no policy runs
            return original(self, tracker)
        current = settings()
        view = window(tracker, self.domain, current.prediction_window_turns)
        prediction = original(self, view)
        if current.prediction_window_check and view is not tracker:
            whole = original(self, tracker)
            if (whole.max_confidence_index, whole.policy_name, whole.events) != (
                prediction.max_confidence_index,
                prediction.policy_name,
                prediction.events,
            ):
                logger.error(
                    "%s: %s by %s on the window, %s by %s on the whole session",
                    MISMATCH,
                    prediction.max_confidence_index,
                    prediction.policy_name,
                    whole.max_confidence_index,
                    whole.policy_name,
                )
        return prediction

    return _predict_next_with_tracker


# Set on what install() patched, so that a second call leaves it alone.
_INSTALLED = "_nettrouble_window"


def install() -> None:
    from rasa.core.processor import MessageProcessor

    if not getattr(MessageProcessor, _INSTALLED, False):
        MessageProcessor._predict_next_with_tracker = windowed(MessageProcessor._predict_next_with_tracker)
        setattr(MessageProcessor, _INSTALLED, True)
