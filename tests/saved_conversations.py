"""Conversations written as the Rasa server records them, for the tests that read them back
(the transcript, the console's case page and its browser test): ``Conversation`` appends the
events Rasa's processor would append to a tracker of the project's store
(``addons.tracker_store.MaskingSQLTrackerStore``), with the bot's messages made by Rasa from
domain.yml and by the real custom actions; ``buttons_of`` reads a response's buttons."""

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

from rasa.core.actions.action import ActionBotResponse, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from nettrouble.core.clock import JST
from nettrouble.triage import plans
from tests.fakes.dispatcher import RenderingDispatcher, filled
from tests.project_files import domain as domain_dict
from tests.project_files import rasa_domain

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2020, 7, 15, 11, 0, tzinfo=JST)


def nlg():
    """Rasa's generator of bot messages from the responses of domain.yml."""
    return TemplatedNaturalLanguageGenerator(rasa_domain().responses)


class Conversation:
    """Events appended as Rasa's processor appends them: the action, then what it sent. Each
    step is 30 seconds after the one before, from ``start``; ``channel`` is the input channel
    Rasa records on each user message (none by default)."""

    def __init__(self, tracker, start: datetime = START, channel: Optional[str] = None):
        self.tracker = tracker
        self.moment = start
        self.channel = channel

    def _tick(self) -> float:
        self.moment += timedelta(seconds=30)
        return self.moment.timestamp()

    def user(self, text, intent):
        self.tracker.update(
            UserUttered(
                text,
                intent={"name": intent, "confidence": 0.95},
                parse_data={"text": text, "intent": {"name": intent, "confidence": 0.95}},
                input_channel=self.channel,
                timestamp=self._tick(),
            )
        )

    def response(self, name, sent_by=None):
        """A domain response, predicted (sent_by None) or asked for by a form or action."""
        at = self._tick()
        self.tracker.update(ActionExecuted(sent_by or name, timestamp=at))
        for event in asyncio.run(
            ActionBotResponse(name).run(CollectingOutputChannel(), nlg(), self.tracker, rasa_domain())
        ):
            event.timestamp = at
            self.tracker.update(event)

    def custom(self, action, state):
        """A custom action of actions/ run on ``state``; its messages become events as Rasa's
        RemoteAction makes them."""
        at = self._tick()
        dispatcher = RenderingDispatcher()
        result = action.run(dispatcher, state, domain_dict())
        if asyncio.iscoroutine(result):
            asyncio.run(result)
        self.tracker.update(ActionExecuted(action.name(), timestamp=at))
        sent = asyncio.run(
            RemoteAction._utter_responses(dispatcher.messages, CollectingOutputChannel(), nlg(), self.tracker)
        )
        for event in sent:
            event.timestamp = at
            self.tracker.update(event)
        return sent

    def slot(self, name, value):
        """A slot set by an action, at its own moment (analytics time what follows from it)."""
        self.tracker.update(SlotSet(name, value, timestamp=self._tick()))

    def explain(self, slot):
        """What validate_triage_form sends after two unreadable replies (actions/plans.py)."""
        at = self._tick()
        self.tracker.update(ActionExecuted("triage_form", timestamp=at))
        said = filled({"response": "utter_triage_explanation", **plans.explanation_values(slot)})
        self.tracker.update(BotUttered(said["text"], data={"buttons": said["buttons"]}, timestamp=at))

    def listen(self):
        self.tracker.update(ActionExecuted("action_listen", timestamp=self._tick()))


def buttons_of(response):
    """(title, payload) of the first variation of a response in domain.yml without condition."""
    raw = domain_dict()["responses"][response]
    variation = next(v for v in raw if "condition" not in v)
    return [(b["title"], b["payload"].replace("{{", "{").replace("}}", "}")) for b in variation["buttons"]]
