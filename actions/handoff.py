"""action_handoff: the user wants to talk to staff, so the conversation becomes a case.

The case (with its notification and, for an eligible user, the free-consultation claim) is
written by ``nettrouble.cases.store.open_case`` in one transaction; the user gets the reference, the
centre's number and hours, and whether it is open now or when it next opens. If the case
database cannot be reached, the user still gets an apology with the number and the hours.

Nothing in the tracker is taken as a decision: the free-consultation decision is made again
here from the user's answers by the rule engine, and the claim is pending unless the number was
proved in this conversation (``actions.number_proof``). A client may open ``CASES_PER_HOUR``
new cases an hour; past that the user gets the phone number instead of a reference.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import callbacks, fraud_cover
from actions import number_proof as proof
from actions.eligibility import adviser_requested, applicant_from
from nettrouble.cases import schema, store, summary
from nettrouble.content import hours, service
from nettrouble.core import db, limits
from nettrouble.core.clock import now
from nettrouble.core.settings import settings
from nettrouble.eligibility import campaigns, ledger, number_proof
from nettrouble.eligibility import messages as messages
from nettrouble.eligibility.rules import ALREADY_USED, ELIGIBLE, decide
from nettrouble.monitoring import metrics
from nettrouble.triage import plans, referrals
from nettrouble.triage.answers import asks_for_adviser
from nettrouble.triage.plans import TRIAGE_SLOTS

log = logging.getLogger(__name__)


def _list_slot(value: Any) -> List[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _current_session(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    starts = [i for i, event in enumerate(events) if event.get("event") == "session_started"]
    return events[starts[-1] + 1 :] if starts else events


# Short replies of these intents (「はい」「こんにちは」) tell the agent nothing the structured
# answers do not; longer ones may carry detail and are kept.
_SMALL_TALK = {"affirm", "deny", "greet", "thank", "goodbye"}
_SMALL_TALK_CHARS = 10


def _is_small_talk(event: Dict[str, Any], text: str) -> bool:
    intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return intent in _SMALL_TALK and len(text.strip()) <= _SMALL_TALK_CHARS


def user_messages(tracker: Tracker) -> List[str]:
    """What the user typed in this session, without button payloads ("/intent"), short small
    talk and number-check codes."""
    texts = []
    for event in _current_session(tracker.events):
        text = event.get("text") if event.get("event") == "user" else None
        if (
            isinstance(text, str)
            and text.strip()
            and not text.lstrip().startswith("/")
            and not _is_small_talk(event, text)
            and not number_proof.is_bare_code(text)
        ):
            texts.append(text)
    return texts


def draft_from(tracker: Tracker, proved_by: Optional[str] = None) -> schema.CaseDraft:
    """The case as this conversation knows it. The free-consultation decision is the rule
    engine's on the user's answers, made here without the ledger (``open_case`` claims the
    number), never the ``eligibility`` slot; the fraud-cover pre-check likewise from its answers."""
    triage = {name: tracker.get_slot(name) for name in TRIAGE_SLOTS}
    applicant = applicant_from(tracker, adviser_requested(tracker))
    decision = decide(applicant, now(), campaigns.catalogue(), lambda *_: None, referrals.catalogue())
    return schema.CaseDraft(
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or schema.UNKNOWN,
        trouble_type=tracker.get_slot("trouble_type") or schema.UNKNOWN,
        triage_answers={name: value for name, value in triage.items() if value is not None},
        urgency=_list_slot(tracker.get_slot("urgency")),
        eligibility=decision.reason,
        eligibility_campaign=decision.campaign.id if decision.campaign else None,
        person_key=applicant.person_key,
        articles_shown=_list_slot(tracker.get_slot("articles_shown")),
        summary=summary.summarise(user_messages(tracker)),
        proved_by=proved_by,
        **fraud_cover.case_fields(tracker),
    )


def centre_values() -> Dict[str, Any]:
    """The centre, its number, its hours and whether it is open now (or when it next opens):
    the values of the contact lines in the handoff responses (texts; typed as utter_message
    takes them, ``**kwargs: Any``)."""
    facts = service.facts()
    return {
        "centre_name": facts.centre,
        "centre_phone": facts.phone,
        "centre_hours": hours.hours_text(),
        "centre_open": hours.availability_sentence(hours.status_at(now())),
    }


def _free_consultation_line(case: schema.Case, proved: bool) -> Optional[str]:
    """What the user is told about the free consultation. Until the number is proved, the
    same words whatever the ledger said (free, pending, used or claimed by someone else)."""
    if case.eligibility not in (ELIGIBLE, ALREADY_USED):
        return None
    if not proved or case.claim_state == ledger.PENDING:
        return messages.FREE_EXPECTED
    if case.eligibility == ALREADY_USED:
        return messages.ALREADY_USED_AT_HANDOFF
    return messages.FREE_ACCEPTED


def _adviser_asked(tracker: Tracker) -> bool:
    return any(event.get("event") == "user" and asks_for_adviser(event.get("text") or "") for event in tracker.events)


def utter_handoff(
    dispatcher: CollectingDispatcher, case: schema.Case, created: bool, proved: bool, adviser_asked: bool = False
) -> None:
    notes = [_free_consultation_line(case, proved)]
    if adviser_asked and case.eligibility != ELIGIBLE:
        # Asked for mid-triage, the handoff comes before any eligibility check could say so.
        notes.append(messages.ADVISER_NOT_COVERED)
    dispatcher.utter_message(
        response="utter_case_handed_off" if created else "utter_case_held_already",
        case_reference=case.reference,
        case_notes="".join("\n" + note for note in notes if note),
        **centre_values(),
    )


class ActionHandoff(Action):
    def __init__(self) -> None:
        super().__init__()
        # The data files are read now so that a mistake in them stops the action server at
        # start-up rather than failing a user's handoff later.
        hours.calendar()
        service.facts()
        self._database = db.LazyEngine()
        self._database.warm_up()

    def name(self) -> Text:
        return "action_handoff"

    def _record(self, tracker: Tracker, proved_by: Optional[str]):
        """(case, created), or None when the client has opened too many cases this hour."""
        engine = self._database.get()
        client = proof.metadata_value(tracker, limits.CLIENT)
        # Only a new case counts; without a client the message came through the
        # token-protected HTTP API or the shell.
        may_open = (
            None
            if client is None
            else (lambda: limits.take(engine, limits.CASE, client, settings().cases_per_hour, timedelta(hours=1)))
        )
        try:
            return store.open_case(
                engine, draft_from(tracker, proved_by), pending_for=campaigns.claim_pending_window(), may_open=may_open
            )
        except schema.CaseError as refused:
            if refused.code == "limited":
                return None
            raise

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        try:
            proved_by = await proof.proof(tracker, self._database.get())
            # SQLAlchemy is blocking; a thread keeps the action server answering meanwhile.
            recorded = await proof.blocking(self._record, tracker, proved_by)
        except Exception as error:  # noqa: BLE001 — whatever failed, the user gets the phone number
            log.error("handoff not recorded; the user was given the centre's number instead", exc_info=error)
            dispatcher.utter_message(response="utter_case_not_recorded", **centre_values())
            return []
        if recorded is None:
            log.warning("handoff refused: the client reached CASES_PER_HOUR")
            dispatcher.utter_message(response="utter_case_limit_reached", **centre_values())
            return [SlotSet("handoff_requested", False)]
        case, created = recorded
        if created:
            # Counted here, not in store.open_case: scripts (bench_cases, purge tests) open
            # cases too, and a correction refreshes an existing one.
            metrics.case_created(case.trouble_type)
        utter_handoff(dispatcher, case, created, proved_by is not None, _adviser_asked(tracker))
        events = [SlotSet("case_reference", case.reference), SlotSet("handoff_requested", False)]
        # Outside the opening hours, a call from staff at a time the user chooses.
        offered_before = bool(tracker.get_slot(callbacks.OFFERED))
        events += await proof.blocking(callbacks.offer, dispatcher, self._database.get(), case, offered_before)
        if proved_by and case.eligibility == ALREADY_USED:
            events.append(SlotSet("eligibility", ALREADY_USED))
        return events


def free_check_pending(tracker: Tracker) -> bool:
    """Whether a running free-consultation campaign covers the trouble and its check has not
    decided yet: a request for staff finishes the check first."""
    topic = tracker.get_slot("trouble_type")
    moment = now()
    running = any(c.covers(topic) and c.running(moment) for c in campaigns.catalogue())
    return running and tracker.get_slot("eligibility") is None


class ActionRequestStaff(Action):
    """The user wants to talk to staff. Before the reference, what the phone agent needs and
    the user would lose otherwise: the essential question of the trouble type when it is still
    open, then the free-consultation questions still needed while a campaign covers the trouble.
    Sets ``next_step`` (triage, eligibility or handoff) for the rules."""

    def name(self) -> Text:
        return "action_request_staff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        answers = {slot: tracker.get_slot(slot) for slot in TRIAGE_SLOTS}
        trouble_type = tracker.get_slot("trouble_type")
        # The question is a courtesy to the agent, not a gate: asked for staff again instead of
        # an answer, the user gets the reference.
        insists = bool(tracker.get_slot("handoff_requested"))
        if not tracker.get_slot("triage_done") and not insists and plans.essential_question(trouble_type, answers):
            step = "triage"
            dispatcher.utter_message(response="utter_staff_one_question")
        elif free_check_pending(tracker):
            step = "eligibility"
            dispatcher.utter_message(response="utter_staff_check_first")
        else:
            step = "handoff"
        return [SlotSet("handoff_requested", True), SlotSet("next_step", step)]
