"""Whether the phone centre is open right now, or when it next opens."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from nettrouble.content import hours
from nettrouble.core.clock import now


class ActionTellHours(Action):
    """Follows the static hours response with the live state of the centre (holidays and the
    closure days of business/hours.yml included)."""

    def name(self) -> Text:
        return "action_tell_hours"

    def __init__(self) -> None:
        hours.calendar()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=hours.availability_sentence(hours.status_at(now())))
        return []
