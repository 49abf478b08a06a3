"""What Rasa sends the action server with each call: the tracker, lighter as it grows.

Rasa sends the whole session with every call (``tracker.current_state(EventVerbosity.ALL)``):
every bot message with its buttons, every slot event, every intent ranking. At 1,065 events that
was 772 KB per call, serialised by Rasa, parsed by the action server, once or twice a turn.

The actions read the tracker's slots, latest message and active loop (sent whole, as Rasa
sends them) and scan its events in two ways only:
  - the latest turns, whole: the offer a reply answers (corrections.open_offer), whether the
    latest message is still unanswered (conversation.fresh_reply), the slots a form just
    extracted (rasa_sdk's ``slots_to_validate``);
  - the whole session, for what the user typed and which of our actions ran: the case summary
    (handoff.user_messages), whether an adviser was asked for (handoff._adviser_asked,
    eligibility.adviser_requested back to the last check), the session's start.
So the last ``WHOLE_TURNS`` user turns go whole, and before them only user messages (text,
intent name, channel, time), our own actions (neither ``utter_`` responses nor listens) and
session starts and restarts, in their order. tests/test_action_payload.py checks those readers
on both forms of the same conversations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List

import rasa.version
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, Restarted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from addons.prediction_window import first_index_of_last_turns

if TYPE_CHECKING:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain

# The user turns at the end of the session sent with every event (and the events after them).
WHOLE_TURNS = 5


def _light(event: Event) -> Dict[str, Any] | None:
    """The part of an older event the actions read, or None when they read nothing of it."""
    if isinstance(event, UserUttered):
        return {
            "event": UserUttered.type_name,
            "timestamp": event.timestamp,
            "text": event.text,
            "parse_data": {"intent": {"name": event.intent_name}},
            "input_channel": event.input_channel,
        }
    if isinstance(event, ActionExecuted):
        name = event.action_name
        if not name or name == ACTION_LISTEN_NAME or name.startswith("utter_"):
            return None
        return {"event": ActionExecuted.type_name, "timestamp": event.timestamp, "name": name}
    if isinstance(event, (SessionStarted, Restarted)):
        return {"event": event.type_name, "timestamp": event.timestamp}
    return None


def light_events(events: Iterable[Event], whole_turns: int = WHOLE_TURNS) -> List[Dict[str, Any]]:
    events = list(events)
    cut = first_index_of_last_turns(events, whole_turns)
    older = [light for light in map(_light, events[:cut]) if light is not None]
    return older + [event.as_dict() for event in events[cut:]]


def tracker_state(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """Rasa's ``current_state(EventVerbosity.ALL)`` with the older events lightened."""
    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = light_events(tracker.events)
    return state


# The domain as the action server reads it, kept for the model's domain object: rasa_sdk reads
# its forms and slots (forms.py, slots.py); the responses, two thirds of it, are Rasa's to render.
_for_actions: List[Any] = [None, None]


def domain_for_actions(domain: Any) -> Dict[str, Any]:
    if _for_actions[0] is not domain:
        whole = domain.as_dict()
        whole.pop("responses", None)
        _for_actions[:] = [domain, whole]
    return _for_actions[1]


def action_call(self: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> Dict[str, Any]:
    """The body of ``RemoteAction._action_call_format`` (rasa/core/actions/action.py) with
    ``tracker_state``: the domain, without its responses, only for actions that ask for it
    (send_domain in domain.yml) once selective domain is on (endpoints.yml)."""
    body = {
        "next_action": self.name(),
        "sender_id": tracker.sender_id,
        "tracker": tracker_state(tracker),
        "version": rasa.version.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        body["domain"] = domain_for_actions(domain)
    return body


def install() -> None:
    """Makes Rasa's RemoteAction send ``action_call`` instead of the whole session."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._action_call_format = action_call
