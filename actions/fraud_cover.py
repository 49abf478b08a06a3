"""The fraud-cover pre-check (不正決済補償) in the conversation: the offer, the form and the answer.

- After the triage of a payment-fraud or phishing case where money was lost, the offer of staff
  (``utter_offer_handoff``) also offers the pre-check: ``action_first_steps`` sets
  ``fraud_cover_offer`` (``offer_events``) and the response has a variant for it, with a third
  button. A yes to the offer still gets the reference, whatever the user typed before.
- ``action_start_fraud_cover`` (「補償してもらえますか」, or the offer's button) says what the cover
  needs, and takes what is known already: the triage's amount and whether the provider was
  contacted, membership from the free-consultation check, membership and the provider's decision
  as earlier messages stated them, and what the message itself says.
- ``validate_fraud_cover_form`` asks only what ``nettrouble.cover.rules`` still needs, reading
  every reply for all four inputs (``nettrouble.cover.answers``). A question left unanswered
  (「スキップ」「わからない」) ends the form: the answer then says what is missing. Not knowing
  the provider's decision is an answer: the decision comes first.
- ``action_check_fraud_cover`` runs the engine and answers; every answer says that the insurer
  decides and other conditions apply, and lists what to prepare. It sets ``fraud_cover`` (the
  outcome code) and ``fraud_cover_estimate`` (yen), puts the result on the case when the
  reference was given already, and sets ``next_step`` for the rules.

Nothing in the tracker is taken as a decision: the handoff works the pre-check out again from
the answers (``case_fields``).
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
from nettrouble.cases import schema, store
from nettrouble.content import service
from nettrouble.core import db
from nettrouble.core.clock import now
from nettrouble.cover import answers as cover_answers
from nettrouble.cover import messages, rules, terms
from nettrouble.cover.codes import (
    AMOUNT_LOST,
    DECISIONS,
    INPUTS,
    IS_MEMBER,
    NOT_ASKED,
    PROVIDER_DECISION,
    PROVIDER_PAYS,
)
from nettrouble.triage import answers

log = logging.getLogger(__name__)

FORM = "fraud_cover_form"
# The trouble types whose money the cover may concern (a payment made without the user).
FRAUD_TYPES = ("payment_fraud", "phishing")
# Intents with which a user answers the form's questions; any other is an answer only when its
# words answer (「3万円使われました」 heard as a payment-fraud report), else the rules take it.
ANSWER_INTENTS = {"affirm", "deny", "inform", "nlu_fallback", "ask_fraud_cover", None}
REASK = {
    IS_MEMBER: "utter_fraud_cover_reask_is_member",
    PROVIDER_DECISION: "utter_fraud_cover_reask_provider_decision",
    AMOUNT_LOST: "utter_fraud_cover_reask_amount",
    PROVIDER_PAYS: "utter_fraud_cover_reask_amount",
}
# The largest amount the money reader gives; anything else in an amount slot was not read by it.
MAX_YEN = 10_000_000_000


def _yen(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_YEN:
        return None
    return value


def valid(slot: str, value: Any) -> bool:
    """Whether ``value`` is one the readers give for the input ``slot`` (a forged one is not)."""
    if slot == IS_MEMBER:
        return value in (answers.YES, answers.NO)
    if slot == PROVIDER_DECISION:
        return value in DECISIONS
    return _yen(value) is not None


def claim_from(tracker: Tracker) -> rules.Claim:
    """The engine's view of the conversation; a value the readers would not give is unknown."""
    decision = tracker.get_slot(PROVIDER_DECISION)
    member = tracker.get_slot(IS_MEMBER)
    return rules.Claim(
        is_member=True if member == answers.YES else False if member == answers.NO else None,
        provider_decision=decision if decision in DECISIONS else None,
        amount_lost=_yen(tracker.get_slot(AMOUNT_LOST)),
        provider_pays=_yen(tracker.get_slot(PROVIDER_PAYS)),
    )


def money_lost(tracker: Tracker) -> bool:
    """Whether the triage says money went: phishing asks it; an unknown payment is a loss unless
    its amount is nothing."""
    trouble_type = tracker.get_slot("trouble_type")
    amount = tracker.get_slot("money_amount")
    if trouble_type == "phishing":
        return tracker.get_slot("money_lost") == answers.YES or (_yen(amount) or 0) > 0
    return trouble_type == "payment_fraud" and amount != 0


def offer_events(tracker: Tracker) -> List[EventType]:
    """After the triage: whether the offer of staff also offers the pre-check."""
    offered = (
        tracker.get_slot("trouble_type") in FRAUD_TYPES
        and money_lost(tracker)
        and tracker.get_slot("fraud_cover") is None
        and terms.catalogue().in_force(now())
    )
    return [SlotSet("fraud_cover_offer", offered)]


def known_from_triage(tracker: Tracker) -> Dict[str, Any]:
    """Inputs the triage answered already: the amount lost, and a provider not contacted yet."""
    known: Dict[str, Any] = {}
    amount = _yen(tracker.get_slot("money_amount"))
    if amount:
        known[AMOUNT_LOST] = amount
    if tracker.get_slot("provider_contacted") == answers.NO:
        known[PROVIDER_DECISION] = NOT_ASKED
    return known


def said_before(tracker: Tracker) -> Dict[str, Any]:
    """Membership and the provider's decision as the user stated them earlier in this session
    (「PayPayに連絡して認めてもらいました」 during the triage), the latest statement winning. Not
    the amounts: a sum said in passing may be anything."""
    said: Dict[str, Any] = {}
    events = list(tracker.events)
    starts = [index for index, event in enumerate(events) if event.get("event") == "session_started"]
    users = [event for event in events[starts[-1] + 1 if starts else 0 :] if event.get("event") == "user"]
    for event in users[:-1]:  # the latest message is read on its own
        text = event.get("text") or ""
        if text.lstrip().startswith("/"):
            continue
        found = cover_answers.read(text)
        said.update({slot: found[slot] for slot in (IS_MEMBER, PROVIDER_DECISION) if valid(slot, found.get(slot))})
    return said


def read_message(tracker: Tracker, asked: Optional[str]) -> Dict[str, Any]:
    """What the latest message answers among the four inputs, valid values only."""
    message = tracker.latest_message or {}
    found = cover_answers.read(
        message.get("text") or "",
        asked,
        intent=tracker.get_intent_of_latest_message(skip_fallback_intent=False),
        entities=message.get("entities") or [],
        known={AMOUNT_LOST: tracker.get_slot(AMOUNT_LOST)},
    )
    return {slot: value for slot, value in found.items() if valid(slot, value)}


def case_fields(tracker: Tracker) -> Dict[str, Any]:
    """The pre-check for the case, worked out again from the answers (never from the slot
    ``fraud_cover``); empty when the user never started it."""
    if all(tracker.get_slot(slot) is None for slot in (PROVIDER_DECISION, AMOUNT_LOST, PROVIDER_PAYS)):
        return {}
    claim = claim_from(tracker)
    assessment = rules.assess(claim, terms.catalogue(), now())
    return dict(
        fraud_cover=assessment.outcome,
        fraud_cover_estimate=assessment.estimate,
        fraud_cover_amount_lost=claim.amount_lost,
        fraud_cover_provider_pays=claim.provider_pays,
        fraud_cover_provider_decision=claim.provider_decision,
    )


class ActionStartFraudCover(Action):
    """The pre-check asked for: what it checks, and every answer known already."""

    def name(self) -> Text:
        return "action_start_fraud_cover"

    def __init__(self) -> None:
        # Read the operator files at action-server start-up, so that a broken file stops it.
        self._terms = terms.catalogue()
        self._service = service.facts()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events: List[EventType] = [SlotSet("fraud_cover_offer", False)]
        if any(tracker.get_slot(slot) is not None for slot in (PROVIDER_DECISION, PROVIDER_PAYS)):
            # Asked again: the provider's decision and what it pays may have come since.
            events += [SlotSet(PROVIDER_DECISION, None), SlotSet(PROVIDER_PAYS, None)]
        else:
            known = {**known_from_triage(tracker), **said_before(tracker)}
            events += [SlotSet(slot, value) for slot, value in known.items()]
        events += [SlotSet(slot, value) for slot, value in read_message(tracker, None).items()]
        if self._terms.in_force(now()):
            dispatcher.utter_message(
                response="utter_fraud_cover_intro",
                fraud_cover_name=self._terms.name,
                fraud_cover_conditions=messages.condition_lines(self._terms, self._service),
            )
        return events


class ValidateFraudCoverForm(FormValidationAction):
    """Reads every reply for all four inputs and asks only what the engine still needs."""

    def name(self) -> Text:
        return "validate_fraud_cover_form"

    def __init__(self) -> None:
        self._terms = terms.catalogue()

    def _needs(self, tracker: Tracker) -> List[str]:
        return list(rules.assess(claim_from(tracker), self._terms, now()).needs)

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        needs = self._needs(tracker)
        return [slot for slot in INPUTS if slot in needs]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[EventType]:
        # Always explicit: the first input the engine still needs, none ends the form.
        return SlotSet(REQUESTED_SLOT, next(iter(self._needs(tracker)), None))

    @staticmethod
    def _interrupts(tracker: Tracker, found: Dict[str, Any]) -> bool:
        """Not an answer: a safety message, a request for staff, a cancel; or a question, a
        trouble or small talk whose words answer nothing."""
        intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
        if intent in conversation.INTERRUPTIONS:
            return True
        if intent in ANSWER_INTENTS:
            return False
        text = tracker.latest_message.get("text") or ""
        return not (found or answers.is_skip(text)) or answers.asks_question(text)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events: List[EventType] = []
        if conversation.fresh_reply(tracker, FORM):
            requested = tracker.get_slot(REQUESTED_SLOT)
            asked = requested if requested in INPUTS else None
            text = tracker.latest_message.get("text") or ""
            found = read_message(tracker, asked)
            if self._interrupts(tracker, found):
                # Its rule runs and the form asks again afterwards; what the message also
                # answered is kept, unless it asked (「認めてもらえないと補償されないの？」).
                kept = {} if answers.asks_question(text) else found
                return [SlotSet(slot, value) for slot, value in kept.items()] + [ActionExecutionRejected(FORM)]
            events = [SlotSet(slot, value) for slot, value in found.items()]
            if asked is not None and asked not in found:
                if answers.is_skip(text):
                    # Not answered: the decision cannot be made; the answer says what is missing.
                    return events + [SlotSet(asked, None), SlotSet(REQUESTED_SLOT, None)]
                if not found:
                    dispatcher.utter_message(response=REASK[asked])
                events.append(SlotSet(asked, None))
            tracker.add_slots(events)
        return events + await self._extract_validation_events(dispatcher, tracker, domain)


def _keep(slot: Text) -> Any:
    """Values reach the inputs only from this form's reading or the start action's; one a
    reader would not give (a forged payload) is dropped."""

    def validate(
        self: ValidateFraudCoverForm, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {slot: value if valid(slot, value) else None}

    validate.__name__ = f"validate_{slot}"
    return validate


for _slot in INPUTS:
    setattr(ValidateFraudCoverForm, f"validate_{_slot}", _keep(_slot))


class ActionCheckFraudCover(Action):
    """The pre-check's answer, the slots other tools read, and the result on the case."""

    NAME = "action_check_fraud_cover"

    def __init__(self) -> None:
        self._terms = terms.catalogue()
        self._service = service.facts()
        self._database = db.LazyEngine()

    def name(self) -> Text:
        return self.NAME

    def _common(self) -> Dict[str, Any]:
        """What every answer says besides the outcome: the benefit, the insurer, what to prepare."""
        return {
            "fraud_cover_name": self._terms.name,
            "fraud_cover_insurer": self._service.fraud_cover_insurer,
            "fraud_cover_prepare": messages.prepare_lines(self._terms, self._service),
        }

    def _answer(self, dispatcher: CollectingDispatcher, claim: rules.Claim, assessment: rules.Assessment) -> None:
        if not assessment.in_force:
            dispatcher.utter_message(
                response="utter_fraud_cover_unavailable",
                centre_name=self._service.centre,
                centre_phone=self._service.phone,
                **self._common(),
            )
        elif assessment.decided:
            dispatcher.utter_message(
                response="utter_fraud_cover_result",
                fraud_cover_outcome=messages.outcome_text(assessment, claim, self._terms, self._service),
                **self._common(),
            )
        else:
            dispatcher.utter_message(
                response="utter_fraud_cover_undecided",
                fraud_cover_missing=messages.missing_lines(assessment.needs, self._service),
                **self._common(),
            )

    def _record(self, tracker: Tracker) -> Optional[schema.Case]:
        """The case the result went on, when the reference was given before the pre-check."""
        draft = schema.CaseDraft(
            conversation_id=tracker.sender_id,
            trouble_type=tracker.get_slot("trouble_type") or schema.UNKNOWN,
            **case_fields(tracker),
        )
        return store.record_fraud_cover(self._database.get(), draft)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        claim = claim_from(tracker)
        assessment = rules.assess(claim, self._terms, now())
        log.info("fraud cover: outcome=%s needs=%s", assessment.outcome, ",".join(assessment.needs))
        self._answer(dispatcher, claim, assessment)
        recorded = None
        if tracker.get_slot("case_reference") and assessment.in_force:
            try:
                recorded = await proof.blocking(self._record, tracker)
            except (SQLAlchemyError, db.Unavailable):
                # The user has the answer; staff hear the figures on the phone.
                log.exception("fraud cover: the result could not be put on the case")
        if recorded is not None:
            dispatcher.utter_message(response="utter_fraud_cover_recorded", case_reference=recorded.reference)
            step = "nothing"
        else:
            step = "handoff" if tracker.get_slot("handoff_requested") else "offer_staff"
        return [
            SlotSet("fraud_cover", assessment.outcome),
            SlotSet("fraud_cover_estimate", assessment.estimate),
            SlotSet("fraud_cover_offer", False),
            SlotSet("next_step", step),
        ]
