"""A conversation's tracker rebuilt from its events without replaying them all each time.

Rasa rebuilds trackers by replaying every event of the session: the tracker store on each
turn (``from_events``) and the processor before every action (``tracker.copy()``, which is
``travel_back_in_time(inf)``: three or four times a turn). At 4,000 events that was the largest
part of a turn (profile of the 300-turn growth conversation of make bench).

A replay is a pure function of the events, and a conversation's events are only ever appended.
So ``Replays`` keeps, per conversation, the tracker of its last replay and the events it
replayed; the next replay of the same event objects plus new ones (checked object by object:
the stored, masked copy of a message is another object than the one typed during the turn)
applies only the new ones to it and hands out a copy (``clone``). The copy is what a full replay returns: the same events (Rasa's
replay shares the event objects too) in a new deque, new slot objects with the same values and
"was set" flags, the loop and the latest action copied, everything else as it is. Anything that
does not match (other events, another domain's slots, a shorter list) is replayed whole, as
Rasa does; tests/test_tracker_replay.py compares both on every prefix of long conversations.

``tracker.applied_events()`` (the events not undone by a revert or a loop's rerun) is worked
out twice a turn from the whole session by the processor (is the session empty, has it
expired), and it copies the list of events so far at every rerun of a form: quadratic in the
session. ``AppliedEvents`` carries the same computation on from where it stopped for the same
event objects, unless a new form name turns up (which changes how earlier events count).
"""

from __future__ import annotations

import copy
import itertools
import operator
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

# Conversations whose last replay a server keeps (least recently used dropped first).
KEPT_CONVERSATIONS = 2000
# Rasa's own, kept before install() replaces it.
RASA_APPLIED_EVENTS = DialogueStateTracker.applied_events


class LeastRecentlyUsed(OrderedDict):
    """What a server keeps per conversation (a replay, a cached session): at most ``size``
    entries, the least recently used dropped first."""

    def __init__(self, size: int = KEPT_CONVERSATIONS) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def clone(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """An independent tracker in the same state as ``tracker``, sharing its event objects."""
    twin = copy.copy(tracker)
    twin.events = tracker._create_events(list(tracker.events))
    slots = type(tracker.slots)()
    for name, slot in tracker.slots.items():
        slots[name] = copy.copy(slot)
    twin.slots = slots
    twin.active_loop = copy.copy(tracker.active_loop)
    twin.latest_action = copy.copy(tracker.latest_action)
    return twin


def _slot_signature(slots: Iterable[Any]) -> Tuple:
    """What a replay depends on of the slots: everything but their values."""
    return tuple(
        (type(slot), repr({key: value for key, value in vars(slot).items() if key not in ("_value", "_has_been_set")}))
        for slot in slots
    )


@dataclass
class Replay:
    signature: Tuple
    events: List[Event]
    tracker: DialogueStateTracker


def continues(done: Sequence[Event], events: Sequence[Event]) -> bool:
    """Whether ``events`` begins with the very objects of ``done`` (a pointer comparison per
    event: far cheaper than replaying them)."""
    return len(done) <= len(events) and all(map(operator.is_, done, itertools.islice(events, len(done))))


class Replays:
    def __init__(self, kept: int = KEPT_CONVERSATIONS) -> None:
        self._replays = LeastRecentlyUsed(kept)
        # Rasa runs its turns on one event loop; the console's or a test's threads may not.
        self._lock = threading.Lock()

    def tracker(
        self,
        sender_id: str,
        events: Sequence[Event],
        slots: Iterable[Any],
        max_event_history: Optional[int] = None,
        is_rule_tracker: bool = False,
    ) -> DialogueStateTracker:
        """What ``DialogueStateTracker.from_events(sender_id, events, slots, ...)`` returns."""
        slots = list(slots)
        signature = (_slot_signature(slots), max_event_history, is_rule_tracker)
        events = events if isinstance(events, list) else list(events)
        with self._lock:
            kept = self._replays.get(sender_id)
            if kept is None or kept.signature != signature or not continues(kept.events, events):
                fresh = DialogueStateTracker(sender_id, slots, max_event_history, is_rule_tracker=is_rule_tracker)
                kept = Replay(signature, [], fresh)
            for event in events[len(kept.events) :]:
                kept.tracker.update(event)
            # a copy: the caller may append to its list (the tracker store does)
            kept.events = list(events)
            if events:
                self._replays.keep(sender_id, kept)
            return clone(kept.tracker)

    def copy_of(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """What ``tracker.copy()`` (Rasa's: a replay of all its events) returns."""
        return self.tracker(
            tracker.sender_id,
            tracker.events,
            tracker.slots.values(),
            tracker._max_event_history,
            tracker.is_rule_tracker,
        )


REPLAYS = Replays()

# Below this many events Rasa's own computation is as quick: the policies' windows, whose first
# events are new objects each time, would only crowd out the conversations that need it.
APPLIED_FROM = 200


@dataclass
class Applied:
    events: List[Event]
    loop_names: FrozenSet[str]
    applied: List[Event]


def apply_step(
    tracker: DialogueStateTracker, applied: List[Event], event: Event, loop_names: FrozenSet[str]
) -> List[Event]:
    """One step of ``DialogueStateTracker.applied_events`` (rasa/shared/core/trackers.py,
    Rasa 3.6.21), the same tests in the same order; returns the list to go on with."""
    if isinstance(event, (Restarted, SessionStarted)):
        return []
    if isinstance(event, ActionReverted):
        tracker._undo_till_previous(ActionExecuted, applied)
    elif isinstance(event, UserUtteranceReverted):
        tracker._undo_till_previous(UserUttered, applied)
        tracker._undo_till_previous(ActionExecuted, applied)
    elif (
        isinstance(event, ActionExecuted)
        and event.action_name in loop_names
        and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
    ):
        tracker._undo_till_previous_loop_execution(event.action_name, applied)
    else:
        applied.append(event)
    return applied


class AppliedEvents:
    def __init__(self, original: Callable, kept: int = KEPT_CONVERSATIONS) -> None:
        self._original = original
        self._kept = LeastRecentlyUsed(kept)
        self._lock = threading.Lock()

    def of(self, tracker: DialogueStateTracker) -> List[Event]:
        if len(tracker.events) < APPLIED_FROM:
            return self._original(tracker)
        events = list(tracker.events)
        with self._lock:
            kept = self._kept.get(tracker.sender_id)
            if kept is None or not continues(kept.events, events):
                kept = Applied([], frozenset(), [])
            new = events[len(kept.events) :]
            names = kept.loop_names | {e.name for e in new if isinstance(e, ActiveLoop) and e.name}
            if kept.events and names != kept.loop_names:
                kept, new = Applied([], names, []), events
            applied = kept.applied
            for event in new:
                applied = apply_step(tracker, applied, event, names)
            kept.events, kept.loop_names, kept.applied = events, names, applied
            self._kept.keep(tracker.sender_id, kept)
            return list(applied)


# Set on what install() patched, so that a second call leaves it alone.
_INSTALLED = "_nettrouble_replays"


def install() -> None:
    """``DialogueStateTracker.copy`` through ``REPLAYS`` and ``applied_events`` through an
    ``AppliedEvents``."""
    if getattr(DialogueStateTracker.copy, _INSTALLED, False):
        return
    applied = AppliedEvents(RASA_APPLIED_EVENTS)

    def copy_(self: DialogueStateTracker) -> DialogueStateTracker:
        return REPLAYS.copy_of(self)

    def applied_events(self: DialogueStateTracker) -> List[Event]:
        return applied.of(self)

    setattr(copy_, _INSTALLED, True)
    DialogueStateTracker.copy = copy_
    DialogueStateTracker.applied_events = applied_events
