"""Callbacks when the centre is closed, in the conversation (the rules are in nettrouble/callbacks/).

- ``offer``: run by action_handoff once the reference is given. Outside the opening hours it
  offers the next open slots (buttons; 「2番」「月曜の10時半」 typed work too) and sets
  ``callback_offered``, on which the rules start ``callback_form`` with the user's reply.
- ``validate_callback_form`` reads the slot chosen (a button's ``callback_start``, or typed),
  then the number to call: it is read, sealed and booked right there, and the slot
  ``callback_number`` only ever says "stored" (never a digit). A slot taken meanwhile is asked
  again. ``action_ask_callback_choice`` / ``action_ask_callback_number`` ask the questions.
- ``action_callback_booked`` confirms what the database holds and sets ``callback_slot`` (the
  slot's start, ISO 8601 with +09:00); ``action_callback_declined`` answers a no.
- ``action_cancel_callback`` and ``action_change_callback`` (「折り返しをキャンセルしたい NT-…」,
  「折り返しの時間を変えたい」) find the case by the reference in the message, else the one of this
  session, and change it only from the conversation that opened the case.

Every sentence is a response of domain.yml; slot labels come from nettrouble/callbacks/labels.py.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from actions import conversation
from actions import number_proof as proof
from nettrouble.callbacks import labels, numbers, reading, sealing, slots
from nettrouble.callbacks import store as callbacks
from nettrouble.cases import schema
from nettrouble.cases import store as cases
from nettrouble.cases.reference import BAD_CHECK_DIGIT
from nettrouble.content import hours, service
from nettrouble.core import db
from nettrouble.core.clock import now
from nettrouble.core.masking import conversation_key

log = logging.getLogger(__name__)

FORM = "callback_form"
CHOICE = "callback_choice"
NUMBER = "callback_number"
OFFERED = "callback_offered"
MOVING = "callback_moving"
OPTIONS = "callback_options"
BOOKED_SLOT = "callback_slot"
ENTITY = "callback_start"
CHOOSE_INTENT = "choose_callback"
# callback_number never holds a number: stored (sealed in the database), kept (a move keeps the
# booked number) or failed (the booking could not be written; the user was told).
STORED, KEPT, FAILED = "stored", "kept", "failed"
# Slots offered as buttons: a LINE quick reply holds 13, an SMS menu should stay short.
OFFERED_SLOTS = 5
# Replies that are not a choice or a number: the form steps aside and the rules answer them.
NOT_ANSWERS = conversation.INTERRUPTIONS | conversation.QUESTIONS | {"deny", "cancel_callback", "change_callback"}
DATABASE_ERRORS = (SQLAlchemyError, db.Unavailable, sealing.NoKey)


def centre_values() -> Dict[str, Any]:
    """The centre's name, phone and hours, as a response's variables (utter_message's ``**kwargs``)."""
    facts = service.facts()
    return {"centre_name": facts.centre, "centre_phone": facts.phone, "centre_hours": hours.hours_text()}


def slot_buttons(starts: Sequence[Any], decline: str = labels.DECLINE) -> List[Dict[str, str]]:
    """A button per slot (its start in the payload, so that an older button still books the
    slot it names), then the one that declines (no callback, or no move)."""
    buttons = [
        {
            "title": labels.button_label(start),
            "payload": f"/{CHOOSE_INTENT}" + json.dumps({ENTITY: slots.iso(start)}, separators=(",", ":")),
        }
        for start in starts
    ]
    return buttons + [{"title": decline, "payload": "/deny"}]


def callback_time(start: Any) -> str:
    return labels.slot_text(start, now().date())


def cleared() -> List[EventType]:
    """The form's slots emptied: the next offer starts afresh."""
    return [SlotSet(CHOICE, None), SlotSet(NUMBER, None), SlotSet(MOVING, False), SlotSet(OPTIONS, [])]


def offer(dispatcher: CollectingDispatcher, engine: Engine, case: schema.Case, offered_before: bool) -> List[EventType]:
    """After the reference: the next open slots when the centre is closed, the booked one when
    the case has a callback already, nothing otherwise. ``callback_offered`` is set when an offer
    is made and cleared when an earlier one stands (``offered_before``), so that the rules never
    follow an earlier offer."""
    cal = hours.calendar()
    moment = now()
    not_offered: List[EventType] = [SlotSet(OFFERED, False)] if offered_before else []
    if cal.callback_capacity < 1 or not sealing.available() or case.status == schema.CLOSED:
        return not_offered
    if hours.status_at(moment, cal).open_now:
        return not_offered
    try:
        live = callbacks.live_for_case(engine, case.id)
        starts = [] if live else callbacks.open_slots(engine, moment, cal, OFFERED_SLOTS)
    except DATABASE_ERRORS:
        log.exception("callbacks: the open slots could not be read; no callback offered")
        return not_offered
    if live is not None:
        dispatcher.utter_message(response="utter_callback_still_booked", callback_time=callback_time(live.slot_start))
        return not_offered + [SlotSet(BOOKED_SLOT, slots.iso(live.slot_start))]
    if not starts:
        return not_offered
    dispatcher.utter_message(response="utter_callback_offer", buttons=slot_buttons(starts))
    return cleared() + [SlotSet(OFFERED, True), SlotSet(OPTIONS, [slots.iso(s) for s in starts])]


def _case(engine: Engine, tracker: Tracker) -> Optional[schema.Case]:
    reference = tracker.get_slot("case_reference")
    return cases.get_case(engine, reference) if isinstance(reference, str) else None


def _intent(tracker: Tracker) -> Optional[str]:
    return tracker.get_intent_of_latest_message(skip_fallback_intent=False)


def _offered(tracker: Tracker) -> List[Any]:
    found = [slots.parse_start(value) for value in tracker.get_slot(OPTIONS) or []]
    return [start for start in found if start is not None]


class ValidateCallbackForm(FormValidationAction):
    def __init__(self) -> None:
        # A broken calendar stops the action server at start, not a user's booking later.
        hours.calendar()
        self._database = db.LazyEngine()

    def name(self) -> Text:
        return "validate_callback_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        return [CHOICE, NUMBER]

    def _answers(self, tracker: Tracker) -> bool:
        """Whether the latest message answers the open question in so many words (a slot, a
        number), whatever the classifier made of it."""
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot(REQUESTED_SLOT) == NUMBER:
            try:
                numbers.read_number(text)
            except numbers.InvalidNumber:
                return False
            return True
        return self._choice(tracker).status != reading.UNREADABLE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if (
            conversation.fresh_reply(tracker, FORM)
            and _intent(tracker) in NOT_ANSWERS
            and (_intent(tracker) in conversation.INTERRUPTIONS or not self._answers(tracker))
        ):
            return [ActionExecutionRejected(FORM)]
        return await super().run(dispatcher, tracker, domain)

    def _choice(self, tracker: Tracker) -> reading.Choice:
        """The slot the latest message chooses: a button's start, else what was typed."""
        open_starts = callbacks.open_slots(self._database.get(), now(), hours.calendar())
        entity = conversation.entity_value(tracker.latest_message.get("entities") or [], ENTITY)
        if entity is not None:
            start = slots.parse_start(entity)
            return reading.Choice(reading.CHOSEN if start in open_starts else reading.UNAVAILABLE, start)
        text = tracker.latest_message.get("text") or ""
        return reading.choose(text, _offered(tracker) or open_starts[:OFFERED_SLOTS], open_starts, now())

    async def extract_callback_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        requested = tracker.get_slot(REQUESTED_SLOT)
        if not conversation.fresh_reply(tracker, FORM) or requested not in (CHOICE, None):
            return {}
        if requested is None and tracker.get_slot(CHOICE) is not None:
            return {}
        try:
            choice = await proof.blocking(self._choice, tracker)
        except DATABASE_ERRORS:
            log.exception("callbacks: the open slots could not be read")
            dispatcher.utter_message(response="utter_callback_not_recorded", **centre_values())
            return {CHOICE: None, NUMBER: FAILED}
        if choice.status == reading.UNREADABLE:
            if requested is None:
                return {}  # 「はい」 to the offer: the question comes next, with the slots
            dispatcher.utter_message(response="utter_callback_choice_unclear")
            return {CHOICE: None}
        if choice.status == reading.UNAVAILABLE or choice.start is None:
            dispatcher.utter_message(response="utter_callback_choice_unavailable")
            return {CHOICE: None}
        if tracker.get_slot(MOVING):
            return await self._move(dispatcher, tracker, choice.start)
        return {CHOICE: slots.iso(choice.start)}

    async def _move(self, dispatcher: CollectingDispatcher, tracker: Tracker, start: Any) -> Dict[Text, Any]:
        """A move is made as soon as the new slot is chosen: the booked number stays."""
        engine = self._database.get()
        case = await proof.blocking(_case, engine, tracker)
        if case is None:
            return {CHOICE: slots.iso(start), NUMBER: FAILED}
        try:
            await proof.blocking(callbacks.move, engine, case.id, start, now(), hours.calendar())
        except callbacks.CallbackError as refused:
            if refused.code == "slot_full":
                dispatcher.utter_message(response="utter_callback_slot_taken", callback_time=callback_time(start))
                return {CHOICE: None}
            log.warning("callbacks: move of %s refused: %s", case.reference, refused.code)
            return {CHOICE: slots.iso(start), NUMBER: FAILED}
        except DATABASE_ERRORS:
            log.exception("callbacks: the move of %s was not recorded", case.reference)
            dispatcher.utter_message(response="utter_callback_not_recorded", **centre_values())
            return {CHOICE: slots.iso(start), NUMBER: FAILED}
        log.info("callbacks: %s moved to %s", case.reference, slots.iso(start))
        return {CHOICE: slots.iso(start), NUMBER: KEPT}

    async def extract_callback_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The number is read, sealed and booked here; only a marker leaves this method."""
        if tracker.get_slot(REQUESTED_SLOT) != NUMBER or not conversation.fresh_reply(tracker, FORM):
            return {}
        start = slots.parse_start(tracker.get_slot(CHOICE))
        try:
            number = numbers.read_number(tracker.latest_message.get("text") or "")
        except numbers.InvalidNumber as invalid:
            reply = "utter_callback_number_not_callable" if invalid.reason == numbers.NOT_CALLABLE else None
            dispatcher.utter_message(response=reply or "utter_callback_number_unreadable")
            return {NUMBER: None}
        if start is None:
            return {CHOICE: None, NUMBER: None}
        return await self._book(dispatcher, tracker, start, number)

    async def _book(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, start: Any, number: numbers.CallbackNumber
    ) -> Dict[Text, Any]:
        engine = self._database.get()
        try:
            case = await proof.blocking(_case, engine, tracker)
            if case is None:
                raise callbacks.CallbackError("not_found", "no case in this conversation")
            await proof.blocking(callbacks.book, engine, case.id, start, number, now(), hours.calendar())
        except callbacks.CallbackError as refused:
            if refused.code in ("slot_full", "not_a_slot"):
                dispatcher.utter_message(response="utter_callback_slot_taken", callback_time=callback_time(start))
                return {CHOICE: None, NUMBER: None}
            if refused.code == "already_booked":
                return {NUMBER: STORED}  # booked from this conversation already: confirmed as it is
            log.warning("callbacks: booking refused: %s", refused.code)
            dispatcher.utter_message(response="utter_callback_not_recorded", **centre_values())
            return {NUMBER: FAILED}
        except DATABASE_ERRORS:
            log.exception("callbacks: the booking was not recorded")
            dispatcher.utter_message(response="utter_callback_not_recorded", **centre_values())
            return {NUMBER: FAILED}
        log.info("callbacks: %s booked at %s", case.reference, slots.iso(start))
        return {NUMBER: STORED}

    def validate_callback_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        start = slots.parse_start(value)
        return {CHOICE: slots.iso(start) if start is not None else None}

    def validate_callback_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        # Whatever reaches this slot by another road (a forged payload, a raw number) is dropped.
        return {NUMBER: value if value in (STORED, KEPT, FAILED) else None}


class ActionAskCallbackChoice(Action):
    """The open slots as buttons, again after an unclear or unavailable choice."""

    def __init__(self) -> None:
        self._database = db.LazyEngine()

    def name(self) -> Text:
        return "action_ask_callback_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        try:
            starts = await proof.blocking(
                callbacks.open_slots, self._database.get(), now(), hours.calendar(), OFFERED_SLOTS
            )
        except DATABASE_ERRORS:
            log.exception("callbacks: the open slots could not be read")
            starts = []
        if not starts:
            dispatcher.utter_message(response="utter_callback_no_slots", **centre_values())
            return [SlotSet(OPTIONS, [])]
        current = slots.parse_start(tracker.get_slot(BOOKED_SLOT))
        if tracker.get_slot(MOVING) and current is not None:
            dispatcher.utter_message(
                response="utter_callback_choose_new_time",
                buttons=slot_buttons(starts, labels.KEEP),
                case_reference=tracker.get_slot("case_reference"),
                callback_time=callback_time(current),
            )
        else:
            dispatcher.utter_message(response="utter_callback_choose", buttons=slot_buttons(starts))
        return [SlotSet(OPTIONS, [slots.iso(s) for s in starts])]


class ActionAskCallbackNumber(Action):
    def name(self) -> Text:
        return "action_ask_callback_number"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        start = slots.parse_start(tracker.get_slot(CHOICE))
        dispatcher.utter_message(
            response="utter_ask_callback_number", callback_time=callback_time(start) if start else ""
        )
        return []


class ActionCallbackBooked(Action):
    """Confirms the callback the database holds for the case (booked or moved), and sets
    ``callback_slot``; after a failure (already told) it only clears the form's slots."""

    def __init__(self) -> None:
        self._database = db.LazyEngine()

    def name(self) -> Text:
        return "action_callback_booked"

    def _live(self, tracker: Tracker) -> Optional[callbacks.Callback]:
        engine = self._database.get()
        case = _case(engine, tracker)
        return callbacks.live_for_case(engine, case.id) if case else None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events = cleared() + [SlotSet(OFFERED, False)]
        if tracker.get_slot(NUMBER) not in (STORED, KEPT):
            return events
        try:
            live = await proof.blocking(self._live, tracker)
        except DATABASE_ERRORS:
            log.exception("callbacks: the booking could not be read back")
            live = None
        if live is None:
            dispatcher.utter_message(response="utter_callback_not_recorded", **centre_values())
            return events
        dispatcher.utter_message(
            response="utter_callback_moved" if tracker.get_slot(MOVING) else "utter_callback_booked",
            callback_time=callback_time(live.slot_start),
            case_reference=live.reference,
        )
        return events + [SlotSet(BOOKED_SLOT, slots.iso(live.slot_start))]


class ActionCallbackDeclined(Action):
    def name(self) -> Text:
        return "action_callback_declined"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        current = slots.parse_start(tracker.get_slot(BOOKED_SLOT))
        if tracker.get_slot(MOVING) and current is not None:
            dispatcher.utter_message(response="utter_callback_not_moved", callback_time=callback_time(current))
        else:
            dispatcher.utter_message(response="utter_callback_not_booked")
        return cleared() + [SlotSet(OFFERED, False)]


def requested_case(dispatcher: CollectingDispatcher, tracker: Tracker, engine: Engine) -> Optional[schema.Case]:
    """The case a request to cancel or move names (the reference in the message, else the one of
    this session), when this conversation opened it; otherwise the user is told why not."""
    typed = reading.reference_in(tracker.latest_message.get("text") or "")
    if typed is not None and typed.status == BAD_CHECK_DIGIT:
        dispatcher.utter_message(response="utter_callback_reference_mistyped", typed_reference=typed.reference)
        return None
    reference = typed.reference if typed is not None else tracker.get_slot("case_reference")
    if not isinstance(reference, str):
        dispatcher.utter_message(response="utter_callback_need_reference")
        return None
    case = cases.get_case(engine, reference)
    if case is None:
        dispatcher.utter_message(response="utter_callback_reference_unknown", typed_reference=reference)
        return None
    # The reference alone is no proof of whose callback it is: it is read out on the phone.
    if case.conversation_id != conversation_key(tracker.sender_id):
        dispatcher.utter_message(response="utter_callback_not_yours", case_reference=case.reference, **centre_values())
        return None
    return case


class ActionCancelCallback(Action):
    def __init__(self) -> None:
        self._database = db.LazyEngine()

    def name(self) -> Text:
        return "action_cancel_callback"

    def _cancel(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        engine = self._database.get()
        case = requested_case(dispatcher, tracker, engine)
        if case is None:
            return []
        try:
            cancelled = callbacks.cancel(engine, case.id, now())
        except callbacks.CallbackError:
            dispatcher.utter_message(response="utter_callback_none", case_reference=case.reference)
            return []
        log.info("callbacks: %s cancelled from the chat", case.reference)
        dispatcher.utter_message(
            response="utter_callback_cancelled",
            case_reference=case.reference,
            callback_time=callback_time(cancelled.slot_start),
        )
        return [SlotSet(BOOKED_SLOT, None)]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        try:
            return await proof.blocking(self._cancel, dispatcher, tracker)
        except DATABASE_ERRORS:
            log.exception("callbacks: the cancellation was not recorded")
            dispatcher.utter_message(response="utter_callback_not_recorded", **centre_values())
            return []


class ActionChangeCallback(Action):
    """Finds the callback to move; ``callback_moving`` tells the rules whether callback_form
    follows (asking only for the new slot) or nothing does."""

    def __init__(self) -> None:
        self._database = db.LazyEngine()

    def name(self) -> Text:
        return "action_change_callback"

    def _prepare(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        engine = self._database.get()
        case = requested_case(dispatcher, tracker, engine)
        if case is None:
            return [SlotSet(MOVING, False)]
        live = callbacks.live_for_case(engine, case.id)
        if live is None:
            dispatcher.utter_message(response="utter_callback_none", case_reference=case.reference)
            return [SlotSet(MOVING, False)]
        if not callbacks.open_slots(engine, now(), hours.calendar(), 1):
            dispatcher.utter_message(response="utter_callback_no_slots", **centre_values())
            return [SlotSet(MOVING, False)]
        return [
            SlotSet(CHOICE, None),
            SlotSet(NUMBER, KEPT),
            SlotSet(MOVING, True),
            SlotSet("case_reference", case.reference),
            SlotSet(BOOKED_SLOT, slots.iso(live.slot_start)),
        ]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        try:
            return await proof.blocking(self._prepare, dispatcher, tracker)
        except DATABASE_ERRORS:
            log.exception("callbacks: the callback to move could not be read")
            dispatcher.utter_message(response="utter_callback_not_recorded", **centre_values())
            return [SlotSet(MOVING, False)]
