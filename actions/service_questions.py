"""Questions about the service, answered for the current Japan time and where the
conversation stands: the FAQ, the free consultation's introduction, 「どうすればいい？」, and a
question asked in the same message as a trouble (「Xで中傷されてて、無料で相談できますか」)."""

from __future__ import annotations

from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation
from nettrouble.content import faq, hours
from nettrouble.core.clock import now
from nettrouble.triage import plans
from nettrouble.triage.intents import ALSO_ASKED

INTRO_KEY = "free_consultation_intro"
AFTER_TRIAGE_KEY = "free_consultation_after_triage"


def faq_text(key: Optional[Text], tracker: Tracker, topic: Optional[Text] = None) -> Optional[Text]:
    if not key:
        return None
    return faq.answer(key, now(), tracker.get_slot("case_reference"), topic or tracker.get_slot("trouble_type"))


class ActionAnswerFaq(Action):
    """Answers the FAQ key the response selector chose, from business/faq.yml."""

    def name(self) -> Text:
        return "action_answer_faq"

    def __init__(self) -> None:
        faq.catalogue()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        text = faq_text(conversation.faq_key(tracker.latest_message), tracker)
        if text:
            dispatcher.utter_message(text=text)
        else:
            dispatcher.utter_message(response="utter_service_info")
        return []


class ActionFreeConsultationIntro(Action):
    """What the free consultation is, said before its questions while a campaign runs. Outside
    a campaign, and for a trouble the campaign does not cover, it says nothing: the check's
    decision says that it has ended or not begun, or that the trouble is not covered, at once."""

    def name(self) -> Text:
        return "action_free_consultation_intro"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        phase, campaign = faq.campaign_phase(now())
        if phase != "during" or campaign is None:  # "during" comes with its campaign
            return []
        if tracker.active_loop.get("name") == "triage_form":
            dispatcher.utter_message(text=faq_text(AFTER_TRIAGE_KEY, tracker))
            return []
        trouble_type = tracker.get_slot("trouble_type")
        if not trouble_type or campaign.covers(trouble_type):
            dispatcher.utter_message(text=faq_text(INTRO_KEY, tracker))
        return []


class ActionNextStepAdvice(Action):
    """「どうすればいい？」: with a reference, call and give it; after the triage, the first steps
    again and the offer of staff; before it, what to tell the assistant."""

    def name(self) -> Text:
        return "action_next_step_advice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        trouble_type = tracker.get_slot("trouble_type")
        if tracker.get_slot("case_reference"):
            dispatcher.utter_message(response="utter_next_step_after_reference")
            dispatcher.utter_message(text=hours.availability_sentence(hours.status_at(now())))
            return []
        if tracker.get_slot("triage_done") and trouble_type in plans.PLANS:
            known = {slot: tracker.get_slot(slot) for slot in plans.TRIAGE_SLOTS}
            conversation.utter_guidance(dispatcher, trouble_type, known, conversation.urgency_of(tracker))
            return [FollowupAction("utter_offer_handoff")]
        if tracker.active_loop.get("name"):
            dispatcher.utter_message(response="utter_questions_lead_to_guidance")
            return []
        dispatcher.utter_message(response="utter_next_step_before_triage")
        return []


def answer_also_asked(
    dispatcher: CollectingDispatcher, tracker: Tracker, trouble_type: Optional[Text]
) -> List[EventType]:
    """Answers a question asked in the same message as the trouble, before the triage's first
    question; a wish to call makes the triage short (the essential question, the check, the
    reference)."""
    message = tracker.latest_message or {}
    events: List[EventType] = []
    for intent in message.get(ALSO_ASKED) or []:
        if intent == "request_human":
            events.append(SlotSet("handoff_requested", True))
            known = {slot: tracker.get_slot(slot) for slot in plans.TRIAGE_SLOTS}
            if plans.essential_question(trouble_type, known):
                dispatcher.utter_message(response="utter_staff_one_question")
        elif intent == "faq":
            text = faq_text(conversation.faq_key(message), tracker, trouble_type)
            if text:
                dispatcher.utter_message(text=text)
        elif intent == "ask_free_consultation":
            dispatcher.utter_message(text=faq_text(AFTER_TRIAGE_KEY, tracker, trouble_type))
        elif intent == "ask_hours":
            dispatcher.utter_message(response="utter_ask_hours")
            dispatcher.utter_message(text=hours.availability_sentence(hours.status_at(now())))
        elif intent == "ask_service_info":
            dispatcher.utter_message(response="utter_service_info")
    return events
