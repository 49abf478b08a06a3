"""rasa_sdk's dispatcher for actions run in tests, whose messages also carry what the user
reads: a message sent as a response (``utter_message(response=…, **values)``) gets the text and
buttons of that response in domain.yml, filled with the values the action passed, the way the
Rasa server fills them (``RemoteAction._utter_responses``). ``run_action`` runs an action on a
saved tracker with it."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Dict, List, Optional, Tuple

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.project_files import domain as domain_dict
from tests.project_files import rasa_domain


def filled(message: Dict[str, Any]) -> Dict[str, Any]:
    """The message as the Rasa server sends it on: the response's text and buttons, then the
    buttons and non-empty values the action gave."""
    values = dict(message)
    name = values.pop("response", None)
    if not name:
        return message
    if name not in rasa_domain().responses:
        raise KeyError(f"the action sent the response {name!r}, which domain.yml does not define")
    slots = DialogueStateTracker("test", rasa_domain().slots).current_slot_values()
    nlg = TemplatedNaturalLanguageGenerator(rasa_domain().responses)
    draft = nlg.generate_from_slots(name, slots, "rest", **values) or {}
    buttons = values.pop("buttons", None) or []
    draft["buttons"] = list(draft.get("buttons") or []) + list(buttons)
    draft.update({key: value for key, value in values.items() if value})
    return {**message, "text": draft.get("text"), "buttons": draft["buttons"], "response": name}


class RenderingDispatcher(CollectingDispatcher):
    def utter_message(self, *args: Any, **kwargs: Any) -> None:
        super().utter_message(*args, **kwargs)
        self.messages[-1] = filled(self.messages[-1])


def run_action(
    action: Action, tracker: Tracker, domain: Optional[Dict[str, Any]] = None
) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The events ``action`` returns on ``tracker`` and the messages it sent, filled as above.
    ``domain`` is what Rasa sends with the call: domain.yml unless given (``{}`` for an action
    without ``send_domain``). Actions whose ``run`` is a coroutine are awaited."""
    dispatcher = RenderingDispatcher()
    events = action.run(dispatcher, tracker, domain_dict() if domain is None else domain)
    if inspect.isawaitable(events):
        events = asyncio.run(events)
    return events, dispatcher.messages
