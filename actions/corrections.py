"""Replies outside the questions: a change to an answer of the triage after its summary, a
reply to an open offer that could not be read, and a first message too unclear to place."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation
from actions.handoff import draft_from
from actions.triage import answers_of, read_reply, summary_values
from nettrouble.cases import store
from nettrouble.core import db
from nettrouble.triage import plans

log = logging.getLogger(__name__)

# Offers that wait for a yes or a no; an unreadable reply to one asks it again.
OPEN_OFFERS = ("utter_offer_handoff", "utter_offer_continue_triage", "utter_offer_continue_eligibility")


def open_offer(tracker: Tracker) -> Optional[Text]:
    """The offer the bot made just before the latest user message, if any."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") if event.get("name") in OPEN_OFFERS else None
    return None


class ActionReadAnswer(Action):
    def __init__(self) -> None:
        self._database = db.LazyEngine()

    def name(self) -> Text:
        return "action_read_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        changes = self._changes(tracker)
        if changes:
            return await self._correct(dispatcher, tracker, changes)
        offer = open_offer(tracker)
        if offer:
            return [FollowupAction(offer)]
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        if intent in ("affirm", "deny"):
            dispatcher.utter_message(response="utter_anything_else")
            return []
        return self._clarify(dispatcher, tracker)

    @staticmethod
    def _changes(tracker: Tracker) -> Dict[str, Any]:
        """Answers the message changes, once the triage has been confirmed."""
        trouble_type = tracker.get_slot("trouble_type")
        if not tracker.get_slot("triage_done") or trouble_type not in plans.PLANS:
            return {}
        found = read_reply(tracker, plans.plan(trouble_type, answers_of(tracker)), None, trouble_type)
        return {slot: value for slot, value in found.items() if value != tracker.get_slot(slot)}

    async def _correct(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, changes: Dict[str, Any]
    ) -> List[EventType]:
        events: List[EventType] = [SlotSet(slot, value) for slot, value in changes.items()]
        tracker.add_slots(events)
        dispatcher.utter_message(response="utter_summary_corrected")
        dispatcher.utter_message(
            response="utter_summary", **summary_values(tracker.get_slot("trouble_type"), answers_of(tracker))
        )
        reference = tracker.get_slot("case_reference")
        if reference:
            try:
                # The case holds the answers the agent reads: bring it up to date.
                await asyncio.to_thread(store.open_case, self._database.get(), draft_from(tracker))
                dispatcher.utter_message(response="utter_case_updated", case_reference=reference)
            except Exception as error:  # noqa: BLE001 — the correction stands in the chat
                log.error("correction not written to the case", exc_info=error)
        # A correction typed while an offer waited for its answer: the offer again, so that the
        # user's next 「はい」 has a question to answer.
        offer = open_offer(tracker)
        return events + [FollowupAction(offer)] if offer else events

    @staticmethod
    def _clarify(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """Offers the two or three likeliest trouble types as buttons instead of guessing, or
        the whole menu when no trouble type is among them."""
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates: List[Text] = []
        for entry in ranking[:4]:
            trouble_type = conversation.trouble_type_of(entry.get("name"))
            if trouble_type and trouble_type not in candidates:
                candidates.append(trouble_type)
        if not candidates:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons = [{"title": plans.TYPE_LABELS[t], "payload": f"/trouble_{t}"} for t in candidates[:3]]
        buttons.append({"title": plans.NONE_OF_THESE, "payload": "/correct_trouble_type"})
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []
