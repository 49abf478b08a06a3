"""Triage actions: start, the form's reading of every reply, the summary, switching and first
steps. What the words mean is ``nettrouble.triage.answers``; which questions a type needs is
``nettrouble.triage.plans``."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict

from actions import conversation, fraud_cover, service_questions
from nettrouble.eligibility import campaigns
from nettrouble.triage import answers, guidance, plans, referrals, safety
from nettrouble.triage.intents import ALSO_ASKED
from nettrouble.triage.urgency import DANGER, MINOR, SELF_HARM, SEXUAL_IMAGE

TRIAGE_FORM = "triage_form"
CONFIRMED = "triage_confirmed"
# A type named in the middle of the form switches the triage only when the classifier is this
# sure; below it the message is read as an answer to the questions.
SWITCH_CONFIDENCE = 0.6
# Small talk mid-way is acknowledged and the question asked again.
SMALL_TALK = {"greet": "utter_greet", "thank": "utter_thank"}


# The free-consultation answers a user may give during the triage (「ドコモで、サポートには
# 入ってないです」), kept so that the check does not ask them again.
CHECK_AHEAD = ("docomo_line", "is_member")
# A switch between these types is the same story seen from the other side (the user turns out
# to be the one who posted): the answers both ask for are kept.
SAME_STORY = {("defamation", "own_post"), ("own_post", "defamation")}


def covered(trouble_type: Optional[str]) -> bool:
    return any(campaign.covers(trouble_type) for campaign in campaigns.catalogue())


def type_events(trouble_type: Optional[str]) -> List[EventType]:
    """Sets the type, and whether a free-consultation campaign covers it (the check follows
    the triage only then)."""
    return [SlotSet("trouble_type", trouble_type), SlotSet("free_consultation_topic", covered(trouble_type))]


def readable_slots(trouble_type: str) -> List[str]:
    """What a message during the triage of ``trouble_type`` may answer."""
    return list(plans.PLANS[trouble_type]) + (list(CHECK_AHEAD) if covered(trouble_type) else [])


def answers_of(tracker: Tracker) -> Dict[str, Any]:
    return {slot: tracker.get_slot(slot) for slot in plans.TRIAGE_SLOTS}


def cleared_answers() -> List[EventType]:
    return [SlotSet(slot, None) for slot in plans.TRIAGE_SLOTS] + [
        SlotSet("triage_failures", 0),
        SlotSet(CONFIRMED, None),
        SlotSet("short_question", False),
    ]


@lru_cache(maxsize=256)
def _read(
    text: str,
    slots: Tuple[str, ...],
    asked: Optional[str],
    intent: Optional[str],
    entities: str,
    trouble_type: Optional[str],
    known: str,
) -> Dict[str, Any]:
    return answers.read(
        text,
        slots,
        asked,
        intent=intent,
        entities=json.loads(entities),
        trouble_type=trouble_type,
        known=json.loads(known),
    )


def read_reply(
    tracker: Tracker, slots: Sequence[str], asked: Optional[str], trouble_type: Optional[str]
) -> Dict[str, Any]:
    """What the latest message answers among ``slots`` (one reading per message, cached: every
    ``extract_<slot>`` of a run asks for it)."""
    message = tracker.latest_message or {}
    entities = [{"entity": e.get("entity"), "value": e.get("value")} for e in message.get("entities") or []]
    known = {slot: tracker.get_slot(slot) for slot in ("money_lost",)}
    intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
    return dict(
        _read(
            message.get("text") or "",
            tuple(slots),
            asked,
            intent,
            json.dumps(entities, ensure_ascii=False, sort_keys=True),
            trouble_type,
            json.dumps(known, sort_keys=True),
        )
    )


def opening_answers(trouble_type: str, tracker: Tracker) -> Dict[str, Any]:
    """The answers in the message that reported the trouble: 「インスタで住所を晒された」
    answers the platform and what was exposed."""
    return read_reply(tracker, readable_slots(trouble_type), None, trouble_type)


def _minor_flags(urgency: List[Text], tracker: Tracker, found: Mapping[str, Any]) -> List[Text]:
    text = tracker.latest_message.get("text") or ""
    if (
        found.get("user_role") in ("parent", "student", "teacher")
        or found.get("child_grade")
        or answers.mentions_minor(text)
    ):
        return conversation.with_flag(urgency, MINOR)
    return urgency


def switch_to_own_post(dispatcher: CollectingDispatcher, tracker: Tracker, found: Dict[str, Any]) -> List[EventType]:
    """The user turns out to be the one who posted: the poster's questions apply, and the
    message is read again for them (「書いたのは私です。訴えるって言われてます」)."""
    dispatcher.utter_message(response="utter_switch_to_own_post")
    found.pop("user_role", None)
    found.update(read_reply(tracker, readable_slots("own_post"), None, "own_post"))
    return type_events("own_post")


class ActionStartTriage(Action):
    """Sets ``trouble_type`` from the reported trouble, takes every answer the message already
    gives, and answers a question asked in the same message (the price, the free consultation,
    a wish to call) before the form's first question."""

    def name(self) -> Text:
        return "action_start_triage"

    def __init__(self) -> None:
        # Read the operator files at action-server start-up, so that a broken file stops it.
        referrals.catalogue()
        guidance.steps_catalogue()
        campaigns.catalogue()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # The fallback intent is not skipped: its runner-up is exactly the guess not to act on.
        trouble_type = conversation.trouble_type_of(tracker.get_intent_of_latest_message(skip_fallback_intent=False))
        if trouble_type is None:
            return []
        events: List[EventType] = type_events(trouble_type)
        if tracker.get_slot("trouble_type") != trouble_type or tracker.get_slot("triage_done"):
            events += cleared_answers() + [SlotSet("case_reference", None), SlotSet("eligibility", None)]
        events.append(SlotSet("triage_done", False))
        found = opening_answers(trouble_type, tracker)
        if trouble_type == "defamation" and found.get("user_role") == "poster":
            events += switch_to_own_post(dispatcher, tracker, found)
            trouble_type = "own_post"
        events += [SlotSet(slot, value) for slot, value in found.items()]
        urgency = conversation.urgency_of(tracker)
        if trouble_type == "sexual_image":
            urgency = conversation.with_flag(urgency, SEXUAL_IMAGE)
            conversation.utter_sexual_image_notice(dispatcher)
        events.append(SlotSet("urgency", _minor_flags(urgency, tracker, found)))
        events += service_questions.answer_also_asked(dispatcher, tracker, trouble_type)
        return events


class ValidateTriageForm(FormValidationAction):
    """Reads every reply for all the open questions of the trouble type, asks only what is
    still open, and ends with the summary, which the user confirms or corrects."""

    def name(self) -> Text:
        return "validate_triage_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        trouble_type = tracker.get_slot("trouble_type")
        if trouble_type not in plans.PLANS:
            return []
        known = answers_of(tracker)
        if tracker.get_slot("handoff_requested"):
            essential = plans.essential_question(trouble_type, known)
            return [essential] if essential else []
        return plans.plan(trouble_type, known) + [CONFIRMED]

    def _reading(self, tracker: Tracker, asked: Optional[str]) -> Dict[str, Any]:
        """The answers in the latest message to the open questions of the type."""
        trouble_type = tracker.get_slot("trouble_type")
        if trouble_type not in plans.PLANS:
            return {}
        if tracker.get_slot(REQUESTED_SLOT) == CONFIRMED:
            found = read_reply(tracker, plans.plan(trouble_type, answers_of(tracker)), None, trouble_type)
            # At the summary only a change counts: 「はい、合っています」 repeats nothing.
            return {slot: value for slot, value in found.items() if value != tracker.get_slot(slot)}
        found = read_reply(tracker, readable_slots(trouble_type), asked, trouble_type)
        if answers.asks_question(tracker.latest_message.get("text") or ""):
            # 「ドコモ回線じゃなくても使えますか？」 asks; it does not answer the check.
            found = {slot: value for slot, value in found.items() if slot not in CHECK_AHEAD}
        return found

    @staticmethod
    def _switches_type(tracker: Tracker) -> bool:
        """A clearly different trouble named mid-way: the rules switch the triage."""
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        new_type = conversation.trouble_type_of(intent)
        confidence = (tracker.latest_message.get("intent") or {}).get("confidence", 0.0)
        return bool(new_type) and new_type != tracker.get_slot("trouble_type") and confidence >= SWITCH_CONFIDENCE

    def _interrupts(self, tracker: Tracker, cues: Mapping[str, Any]) -> bool:
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        requested = tracker.get_slot(REQUESTED_SLOT)
        if intent in conversation.INTERRUPTIONS:
            return True
        if self._switches_type(tracker):
            # A reply that answers the question asked in so many words is an answer, whatever
            # trouble the classifier heard in it: 「うん、知らない利用があって1万2千円引かれてました」
            # to "was money lost?".
            return requested not in cues
        text = tracker.latest_message.get("text") or ""
        answered = requested in cues or answers.is_skip(text)
        return intent in conversation.QUESTIONS and not (answered and not answers.asks_question(text))

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        events: List[EventType] = []
        if conversation.fresh_reply(tracker, TRIAGE_FORM):
            cues = self._reading(tracker, None)
            if self._interrupts(tracker, cues):
                # Not an answer: the rule for it runs; what the message also answered is kept
                # (not for another trouble, whose questions differ).
                kept = {} if self._switches_type(tracker) else cues
                return (
                    [SlotSet(slot, value) for slot, value in kept.items()]
                    + self._urgency_events(tracker, kept)
                    + [ActionExecutionRejected(TRIAGE_FORM)]
                )
            requested = tracker.get_slot(REQUESTED_SLOT)
            found = self._reading(tracker, requested if requested in plans.TRIAGE_SLOTS else None)
            events = self._also_asked(dispatcher, tracker, found)
            tracker.add_slots(events)
            events += self._answer_events(dispatcher, tracker, found, intent, bool(events))
            tracker.add_slots(events)
        validation = await self._extract_validation_events(dispatcher, tracker, domain)
        return events + validation

    def _urgency_events(self, tracker: Tracker, found: Mapping[str, Any]) -> List[EventType]:
        urgency = _minor_flags(conversation.urgency_of(tracker), tracker, found)
        return [SlotSet("urgency", urgency)] if urgency != conversation.urgency_of(tracker) else []

    @staticmethod
    def _also_asked(dispatcher: CollectingDispatcher, tracker: Tracker, found: Mapping[str, Any]) -> List[EventType]:
        """A question asked in the same message as an answer or a trouble (「補償っていくらまで
        出るんですか」 heard as the trouble itself) is answered here, before the next question;
        a wish to call makes the rest of the triage short."""
        if not tracker.latest_message.get(ALSO_ASKED):
            return []
        events = service_questions.answer_also_asked(dispatcher, tracker, tracker.get_slot("trouble_type"))
        # Something was said: the open question is asked again without "I could not read that".
        return events + [SlotSet("triage_failures", 0)]

    def _answer_events(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        found: Dict[str, Any],
        intent: Optional[Text],
        replied: bool = False,
    ) -> List[EventType]:
        requested = tracker.get_slot(REQUESTED_SLOT)
        trouble_type = tracker.get_slot("trouble_type")
        if requested == CONFIRMED:
            return self._summary_reply(dispatcher, tracker, found, intent)
        events: List[EventType] = []
        understood = bool(found)
        answered = requested in found or requested not in plans.TRIAGE_SLOTS
        if trouble_type == "defamation" and found.get("user_role") == "poster":
            events += switch_to_own_post(dispatcher, tracker, found)
        events += [SlotSet(slot, value) for slot, value in found.items()]
        events.append(SlotSet("short_question", understood and not answered))
        if found.get("offline_contact") == answers.YES and intent != safety.DANGER:
            dispatcher.utter_message(response="utter_urgent_danger")
            events.append(
                SlotSet(
                    "urgency",
                    conversation.with_flag(_minor_flags(conversation.urgency_of(tracker), tracker, found), DANGER),
                )
            )
        else:
            events += self._urgency_events(tracker, found)
        if understood or replied:
            return events + [SlotSet("triage_failures", 0)]
        if intent in SMALL_TALK:
            dispatcher.utter_message(response=SMALL_TALK[intent])
            return events + [SlotSet("triage_failures", tracker.get_slot("triage_failures") or 0)]
        failures = int(tracker.get_slot("triage_failures") or 0) + 1
        if failures >= 2 and requested in plans.HINTS:
            dispatcher.utter_message(response="utter_triage_explanation", **plans.explanation_values(requested))
        else:
            dispatcher.utter_message(response="utter_triage_not_understood")
        return events + [SlotSet("triage_failures", failures)]

    def _summary_reply(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, found: Dict[str, Any], intent: Optional[Text]
    ) -> List[EventType]:
        """At the summary: a change of answer is taken and the summary shown again; a yes
        confirms; 「回答を直したい」 asks what to change."""
        if found:
            events: List[EventType] = []
            if tracker.get_slot("trouble_type") == "defamation" and found.get("user_role") == "poster":
                events += switch_to_own_post(dispatcher, tracker, found)
            dispatcher.utter_message(response="utter_summary_corrected")
            return events + [SlotSet(slot, value) for slot, value in found.items()] + [SlotSet(CONFIRMED, None)]
        said = answers.bare_yes_no(CONFIRMED, answers.Message(tracker.latest_message.get("text") or "").clauses, intent)
        trouble_type = tracker.get_slot("trouble_type")
        restated = read_reply(tracker, plans.plan(trouble_type, answers_of(tracker)), None, trouble_type)
        if intent == "affirm" or said == answers.YES or (restated and intent != "deny"):
            # 「お店だと思う」 repeating an answer of the summary agrees with it.
            urgency = conversation.urgency_of(tracker) or ["none"]
            return [SlotSet(CONFIRMED, True), SlotSet("triage_done", True), SlotSet("urgency", urgency)]
        if intent == "deny" or said == answers.NO:
            # Nothing is thrown away: the user says what to change, the summary waits for it.
            dispatcher.utter_message(response="utter_summary_what_to_correct")
            return [SlotSet(CONFIRMED, None), SlotSet("triage_failures", 0)]
        dispatcher.utter_message(response="utter_summary_unclear")
        return [SlotSet(CONFIRMED, None), SlotSet("triage_failures", 0)]


def _keep(slot: Text):
    """Values reach validation only from this action's own reading, or from an earlier turn;
    one a reader would not give (a forged payload) is dropped."""

    def validate(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {slot: slot_value if answers.valid(slot, slot_value) else None}

    validate.__name__ = f"validate_{slot}"
    return validate


for _slot in plans.TRIAGE_SLOTS:
    setattr(ValidateTriageForm, f"validate_{_slot}", _keep(_slot))


class ActionAskTriageConfirmed(Action):
    """The form's last question: reads back what was understood, to confirm or correct."""

    def name(self) -> Text:
        return "action_ask_triage_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        trouble_type = tracker.get_slot("trouble_type")
        dispatcher.utter_message(
            response="utter_ask_summary_confirmed", **summary_values(trouble_type, answers_of(tracker))
        )
        return []


def summary_values(trouble_type: Optional[Text], known: Mapping[str, Any]) -> Dict[str, Any]:
    """The values of the summary responses: the type's label and one line per answer (texts;
    typed as utter_message takes them, ``**kwargs: Any``)."""
    return {
        "trouble_label": plans.type_label(trouble_type),
        "summary_lines": "\n".join(plans.summary_lines(trouble_type, known)),
    }


class ActionTroubleMidForm(Action):
    """A clearly different trouble reported while the triage form asks: the triage switches
    to it, keeping the answers the message gives for the new type."""

    def name(self) -> Text:
        return "action_trouble_mid_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        new_type = conversation.trouble_type_of(tracker.get_intent_of_latest_message(skip_fallback_intent=False))
        current = tracker.get_slot("trouble_type")
        if new_type is None or new_type == current:
            return []
        kept: Dict[str, Any] = {}
        if (current, new_type) in SAME_STORY:
            dispatcher.utter_message(
                response="utter_switch_to_own_post" if new_type == "own_post" else f"utter_ack_{new_type}"
            )
            kept = {
                slot: tracker.get_slot(slot)
                for slot in plans.PLANS[new_type]
                if slot in plans.PLANS.get(current or "", []) and tracker.get_slot(slot) is not None
            }
        else:
            dispatcher.utter_message(response=f"utter_ack_{new_type}")
            dispatcher.utter_message(response="utter_triage_restarting")
        events = type_events(new_type) + [SlotSet(REQUESTED_SLOT, None)] + cleared_answers()
        found = {**kept, **opening_answers(new_type, tracker)}
        found.pop("user_role", None) if new_type == "own_post" else None
        events += [SlotSet(slot, value) for slot, value in found.items()]
        if new_type == "sexual_image":
            conversation.utter_sexual_image_notice(dispatcher)
            events.append(SlotSet("urgency", conversation.with_flag(conversation.urgency_of(tracker), SEXUAL_IMAGE)))
        return events


class ActionResetTriage(Action):
    """Forgets the trouble type and the answers (the user cancelled or said the type is wrong)."""

    def name(self) -> Text:
        return "action_reset_triage"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return (
            type_events(None)
            + [SlotSet("triage_done", False), SlotSet("handoff_requested", False), SlotSet(REQUESTED_SLOT, None)]
            + cleared_answers()
        )


class ActionFirstSteps(Action):
    """Concrete first steps for the type and the public bodies to contact, from business/. It
    runs once the triage is complete, so it also says whether the offer of staff that follows
    offers the fraud-cover pre-check (money lost to payment fraud or phishing)."""

    def name(self) -> Text:
        return "action_first_steps"

    def __init__(self) -> None:
        referrals.catalogue()
        guidance.steps_catalogue()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        trouble_type = tracker.get_slot("trouble_type")
        if trouble_type not in plans.TYPE_LABELS:
            return []
        conversation.utter_guidance(dispatcher, trouble_type, answers_of(tracker), conversation.urgency_of(tracker))
        return fraud_cover.offer_events(tracker)


class ActionRecordUrgency(Action):
    """Records a danger or self-harm signal for the handoff, and adds the children's lines
    after a danger message when a child is involved (the self-harm message has them already)."""

    def name(self) -> Text:
        return "action_record_urgency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        urgency = conversation.urgency_of(tracker)
        signals = list(message.get("safety_signals") or []) + [intent]
        for signal, flag in ((safety.SELF_HARM, SELF_HARM), (safety.DANGER, DANGER)):
            if signal in signals:
                urgency = conversation.with_flag(urgency, flag)
        if answers.mentions_minor(message.get("text") or ""):
            urgency = conversation.with_flag(urgency, MINOR)
        if MINOR in urgency and intent == safety.DANGER:
            dispatcher.utter_message(response="utter_child_lines", referral_lines=conversation.referral_lines(MINOR))
        return [SlotSet("urgency", urgency)]
