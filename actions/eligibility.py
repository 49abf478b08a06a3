"""The free SNS-defamation consultation in the conversation: the form and the decision.

``validate_eligibility_form`` asks only what ``nettrouble.eligibility.rules`` still needs (docomo line?
already a member? the docomo number) and reads free Japanese answers. The number is turned into
its keyed hash inside ``extract_person_key``: the slot only ever holds the hash. Where an SMS
provider is configured and the number is not the SMS sender's own, a one-time code is sent to
it and asked for (``number_code``). Number checks are limited per conversation and per client.
``action_check_eligibility`` runs the engine and words the decision for the user; the ledger
(another person's case) is consulted only for a user whose number is proved.

Everything read from files, the secret and the database is set up in ``__init__``, which
rasa_sdk runs when the action server starts: a malformed file or a missing secret stops it there.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import conversation
from actions import number_proof as proof
from nettrouble.content import service
from nettrouble.core import datafiles, db
from nettrouble.core.clock import now
from nettrouble.core.settings import settings
from nettrouble.eligibility import campaigns, identity, ledger, number_proof
from nettrouble.eligibility import messages as messages
from nettrouble.eligibility.rules import (
    NEEDS_DOCOMO_LINE,
    NEEDS_IS_MEMBER,
    NEEDS_PERSON_KEY,
    NOT_DOCOMO,
    Applicant,
    decide,
)
from nettrouble.triage import answers, referrals

logger = logging.getLogger(__name__)

FORM_SLOTS = (NEEDS_DOCOMO_LINE, NEEDS_IS_MEMBER, NEEDS_PERSON_KEY, proof.SLOT)
FORM = "eligibility_form"
YES_NO_QUESTIONS = (NEEDS_DOCOMO_LINE, NEEDS_IS_MEMBER)

# Intents with which a user answers a question of the form. Any other intent (hours, a
# question about the service, a request for staff, and above all the safety intents) is left
# to the rules: the form rejects, keeping what the message also answered, the rule answers,
# and the form asks again afterwards. A question-like intent is still an answer when the words
# answer the question asked and ask nothing (「はい、ドコモです」 heard as a question about docomo).
ANSWER_INTENTS = {"affirm", "deny", "inform", "nlu_fallback", "ask_free_consultation", None}


def _intent(tracker: Tracker) -> Optional[str]:
    # nlu_fallback is an intent of its own here (ANSWER_INTENTS), not a reason to read the runner-up.
    return tracker.get_intent_of_latest_message(skip_fallback_intent=False)


def _answers_anyway(tracker: Tracker) -> bool:
    """A question-like intent whose words answer the question asked and ask nothing."""
    if _intent(tracker) not in conversation.QUESTIONS:
        return False
    text = tracker.latest_message.get("text") or ""
    requested = tracker.get_slot(REQUESTED_SLOT)
    if answers.asks_question(text):
        return False
    if requested == NEEDS_PERSON_KEY:
        return sum(c.isdigit() for c in text) >= 10
    if requested == proof.SLOT:
        return number_proof.read_code(text) is not None
    return requested in answers.read(text, YES_NO_QUESTIONS, None)


def _is_answer(tracker: Tracker) -> bool:
    return _intent(tracker) in ANSWER_INTENTS or _answers_anyway(tracker)


def _answer_text(tracker: Tracker, slot: str) -> Optional[str]:
    """The user's answer to the question for ``slot``, or None when the latest message is not one."""
    if tracker.get_slot(REQUESTED_SLOT) != slot or not conversation.fresh_reply(tracker, FORM):
        return None
    if not _is_answer(tracker):
        return None
    return tracker.latest_message.get("text") or ""


def _bool(value: Any) -> Optional[bool]:
    return {answers.YES: True, answers.NO: False}.get(value)


def applicant_from(tracker: Tracker, adviser_requested: bool = False) -> Applicant:
    """The engine's view of the conversation; a slot value the form would not have set (a forged
    or stale one) counts as unknown."""
    topic = tracker.get_slot("trouble_type")
    person_key = tracker.get_slot("person_key")
    case_reference = tracker.get_slot("case_reference")
    return Applicant(
        topic=topic if topic in datafiles.TROUBLE_TYPES else None,
        docomo_line=_bool(tracker.get_slot(NEEDS_DOCOMO_LINE)),
        is_member=_bool(tracker.get_slot(NEEDS_IS_MEMBER)),
        person_key=person_key if ledger.is_person_key(person_key) else None,
        case_reference=case_reference
        if isinstance(case_reference, str) and 0 < len(case_reference) <= ledger.MAX_CASE_REFERENCE
        else None,
        adviser_requested=adviser_requested,
    )


class ValidateEligibilityForm(FormValidationAction):
    def __init__(self) -> None:
        self._campaigns = campaigns.catalogue()
        self._referrals = referrals.catalogue()
        self._secret = settings().require("person_key_secret")
        self._database = db.LazyEngine()

    def name(self) -> Text:
        return "validate_eligibility_form"

    def _needs(self, tracker: Tracker) -> tuple:
        # The ledger is left to action_check_eligibility: whether a number was used before
        # never changes which questions are worth asking. A request for an adviser does: it
        # is refused whatever the number.
        decision = decide(
            applicant_from(tracker, adviser_requested(tracker)),
            now(),
            self._campaigns,
            lambda *_: None,
            self._referrals,
        )
        return decision.needs

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        # Slots already holding a value stay in the list so that rasa_sdk validates the answer
        # that has just decided the outcome (e.g. "no docomo line") instead of dropping it.
        needs = set(self._needs(tracker))
        if self._code_needed(tracker):
            needs.add(proof.SLOT)
        return [s for s in FORM_SLOTS if tracker.get_slot(s) is not None or s in needs]

    @staticmethod
    def _code_needed(tracker: Tracker) -> bool:
        """A number was given that is not the SMS sender's, and codes can be sent."""
        person_key = tracker.get_slot(NEEDS_PERSON_KEY)
        return (
            ledger.is_person_key(person_key)
            and not proof.sender_proves(tracker, person_key)
            and proof.codes_available()
        )

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[EventType]:
        # Always explicit (rasa_sdk leaves the choice to Rasa when the list happens to equal the
        # domain's): the next question is the first needed slot still empty, none ends the form.
        # A question the user chose not to answer ends the form too: without that answer the
        # decision cannot be made, and action_check_eligibility says what is missing.
        requested = tracker.get_slot(REQUESTED_SLOT)
        if requested in FORM_SLOTS and tracker.get_slot(requested) is None:
            text = _answer_text(tracker, requested)
            if text is not None and answers.is_skip(text) and not any(c.isdigit() for c in text):
                return SlotSet(REQUESTED_SLOT, None)
        if tracker.get_slot(proof.SLOT) == proof.UNPROVED and tracker.get_slot(NEEDS_PERSON_KEY) is None:
            return SlotSet(REQUESTED_SLOT, None)  # number checks used up: staff confirm on the phone
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet(REQUESTED_SLOT, next((s for s in required if tracker.get_slot(s) is None), None))

    def _yes_no_answers(self, tracker: Tracker) -> Dict[Text, Any]:
        """The docomo-line and membership answers in the latest message: the one asked, and
        the other when the user gives it ahead (「ドコモです、会員ではないです」)."""
        if not conversation.fresh_reply(tracker, FORM):
            return {}
        requested = tracker.get_slot(REQUESTED_SLOT)
        asked = requested if requested in YES_NO_QUESTIONS and _is_answer(tracker) else None
        message = tracker.latest_message
        return answers.read(
            message.get("text") or "",
            YES_NO_QUESTIONS,
            asked,
            intent=_intent(tracker),
            entities=message.get("entities") or [],
        )

    def _extract_yes_no(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        found = self._yes_no_answers(tracker)
        value = found.get(slot)
        if value == answers.UNKNOWN:
            return {slot: None}  # skipped: next_requested_slot ends the form
        if value in (answers.YES, answers.NO):
            return {slot: value}
        if _answer_text(tracker, slot) is not None and not found and self._number_ahead(tracker) is None:
            dispatcher.utter_message(response=messages.YES_NO_REASK[slot])
            return {slot: None}
        return {}

    def extract_docomo_line(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract_yes_no(NEEDS_DOCOMO_LINE, dispatcher, tracker)

    def extract_is_member(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract_yes_no(NEEDS_IS_MEMBER, dispatcher, tracker)

    async def extract_person_key(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Only the hash leaves this method; the number is neither stored, logged nor returned."""
        text = _answer_text(tracker, NEEDS_PERSON_KEY)
        if text is None:
            ahead = self._number_ahead(tracker)
            return {} if ahead is None else await self._checked(dispatcher, tracker, *ahead)
        if answers.is_skip(text) and not any(c.isdigit() for c in text):
            return {NEEDS_PERSON_KEY: None}
        try:
            key = identity.person_key(text, self._secret)
        except identity.InvalidNumber as invalid:
            if invalid.reason == identity.NO_NUMBER and _intent(tracker) not in ANSWER_INTENTS:
                return {}
            dispatcher.utter_message(response=messages.NUMBER_REASKS[invalid.reason])
            return {NEEDS_PERSON_KEY: None}
        return await self._checked(dispatcher, tracker, text, key)

    async def _checked(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str, key: str
    ) -> Dict[Text, Any]:
        """A number read from the user's reply, within the limits on number checks, and with a
        code on its way to it when the form will ask for one."""
        engine = self._database.get()
        if not await proof.within_check_limits(tracker, engine):
            dispatcher.utter_message(response="utter_number_check_limit")
            return {NEEDS_PERSON_KEY: None, proof.SLOT: proof.UNPROVED}
        values: Dict[Text, Any] = {NEEDS_PERSON_KEY: key, proof.SLOT: None}
        if proof.sender_proves(tracker, key) or not proof.codes_available():
            return values
        if not await proof.send_code(tracker, engine, text, key):
            dispatcher.utter_message(response="utter_code_not_sent")
            values[proof.SLOT] = proof.UNPROVED
        return values

    def _number_ahead(self, tracker: Tracker) -> Optional[tuple]:
        """A mobile number typed before its question (the user answers ahead), as (text, key):
        its hash is kept and the question not asked. Anything not clearly a number is None."""
        if not conversation.fresh_reply(tracker, FORM) or tracker.get_slot(REQUESTED_SLOT) not in YES_NO_QUESTIONS:
            return None
        text = tracker.latest_message.get("text") or ""
        if sum(c.isdigit() for c in text) < 10:
            return None
        try:
            return text, identity.person_key(text, self._secret)
        except identity.InvalidNumber:
            return None

    async def extract_number_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The one-time code: verified, asked again (wrong or unreadable), or given up on (skipped,
        too many wrong tries): then staff confirm the number on the phone."""
        text = _answer_text(tracker, proof.SLOT)
        if text is None:
            return {}
        if answers.is_skip(text) and number_proof.read_code(text) is None:
            dispatcher.utter_message(response="utter_code_skipped")
            return {proof.SLOT: proof.UNPROVED}
        typed = number_proof.read_code(text)
        if typed is None:
            dispatcher.utter_message(response="utter_code_unreadable")
            return {proof.SLOT: None}
        checked = await proof.blocking(
            number_proof.check, self._database.get(), tracker.sender_id, tracker.get_slot(NEEDS_PERSON_KEY), typed
        )
        if checked.result == number_proof.VERIFIED:
            dispatcher.utter_message(response="utter_code_verified")
            return {proof.SLOT: proof.VERIFIED}
        if checked.result == number_proof.WRONG:
            dispatcher.utter_message(response="utter_code_wrong", tries_left=checked.tries_left)
            return {proof.SLOT: None}
        if checked.result == number_proof.EXPIRED:
            dispatcher.utter_message(response="utter_code_expired")
            return {proof.SLOT: None, NEEDS_PERSON_KEY: None}
        dispatcher.utter_message(response="utter_code_locked")
        return {proof.SLOT: proof.UNPROVED}

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if conversation.fresh_reply(tracker, FORM) and not _is_answer(tracker):
            # Not an answer: its rule runs; an answer it also carried (「ドコモですけど電話したい」)
            # is kept, and the form asks what is still open afterwards.
            found = {
                slot: value
                for slot, value in self._yes_no_answers(tracker).items()
                if value in (answers.YES, answers.NO)
            }
            return [SlotSet(slot, value) for slot, value in found.items()] + [ActionExecutionRejected(FORM)]
        return await super().run(dispatcher, tracker, domain)

    def validate_docomo_line(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {NEEDS_DOCOMO_LINE: value if value in (answers.YES, answers.NO) else None}

    def validate_is_member(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {NEEDS_IS_MEMBER: value if value in (answers.YES, answers.NO) else None}

    def validate_person_key(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        # Whatever reaches this slot by another road (a forged payload, a raw number) is dropped.
        return {NEEDS_PERSON_KEY: value if ledger.is_person_key(value) else None}

    def validate_number_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {proof.SLOT: value if value in (proof.VERIFIED, proof.UNPROVED) else None}


def adviser_requested(tracker: Tracker) -> bool:
    """Whether the user asked for a consumer-affairs adviser in the messages of this enquiry
    (since the previous eligibility check): the request usually precedes the form's questions."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == ActionCheckEligibility.NAME:
            return False
        if event.get("event") == "user" and answers.asks_for_adviser(event.get("text") or ""):
            return True
    return False


class ActionCheckEligibility(Action):
    NAME = "action_check_eligibility"

    def __init__(self) -> None:
        self._campaigns = campaigns.catalogue()
        self._referrals = {r.id: r for r in referrals.catalogue()}
        self._service = service.facts()
        self._database = db.LazyEngine()
        self._database.warm_up()

    def name(self) -> Text:
        return self.NAME

    def _used_for(self, campaign_id: str, person_key: str) -> Optional[str]:
        """The case holding the number for a user who proved it is theirs. A pending claim does
        not count: the proved claim will take the number from it at the handoff."""
        held = ledger.holder(self._database.get(), campaign_id, person_key)
        return held.case_reference if held and held.state == ledger.CONFIRMED else None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        applicant = applicant_from(tracker, adviser_requested(tracker))
        try:
            proved = applicant.person_key is not None and await proof.proof(tracker, self._database.get()) is not None
            # Never computed from another person's case while the number may not be the user's.
            used_for = self._used_for if proved else (lambda *_: None)
            decision = decide(applicant, now(), self._campaigns, used_for, self._referrals.values())
        except (SQLAlchemyError, db.Unavailable):
            logger.exception("eligibility: the free-consultation ledger could not be read")
            dispatcher.utter_message(response=messages.UNAVAILABLE, **messages.centre_values(self._service))
            return [
                SlotSet("eligibility", None),
                SlotSet("eligibility_campaign", None),
                SlotSet("next_step", next_step(None, tracker.get_slot("handoff_requested"))),
            ]
        logger.info(
            "eligibility: reason=%s campaign=%s needs=%s",
            decision.reason,
            decision.campaign.id if decision.campaign else None,
            ",".join(decision.needs),
        )
        response, values = messages.decision_response(decision, applicant, self._service, self._referrals, proved)
        dispatcher.utter_message(response=response, **values)
        return [
            SlotSet("eligibility", decision.reason),
            SlotSet("eligibility_campaign", decision.campaign.id if decision.campaign else None),
            SlotSet("next_step", next_step(decision.reason, tracker.get_slot("handoff_requested"))),
        ]


def next_step(reason: Optional[str], handoff_requested: Optional[bool]) -> str:
    """After the decision: nothing to offer without a docomo line (the service needs one); the
    reference at once for a user who asked for staff; otherwise the offer of staff."""
    if reason == NOT_DOCOMO:
        return "nothing"
    return "handoff" if handoff_requested else "offer_staff"
