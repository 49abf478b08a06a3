"""Rasa's SQL tracker store, with phone numbers and e-mail addresses masked before they are
written, and a turn stopped by Rasa's circuit breaker closed so that the conversation goes on.

The Rasa server and the action server see the user's words as typed during the turn (the
eligibility check turns a number into its keyed hash then); what reaches the database, and so
every later turn and anyone reading the conversations, carries placeholders instead. The bot's
own messages keep the public numbers they quote (the centre, the helplines), so that a
conversation read back still shows them.

A sender id that is a phone number or an e-mail address (an SMS sender) is stored as its keyed
hash (``masking.conversation_key``): every query hashes the id it is given, and the rows Rasa
writes get the hashed id just before they are flushed, so the raw id still finds the
conversation and never reaches the database.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, FrozenSet, Iterator

import sqlalchemy
from rasa.core.processor import MAX_NUMBER_OF_PREDICTIONS
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from nettrouble import datafiles, ledger, masking, referrals, service

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def public_numbers() -> FrozenSet[str]:
    """The numbers of business/referrals.yml and service.yml; none (mask everything) when the
    files cannot be read."""
    try:
        return frozenset([r.phone for r in referrals.catalogue() if r.phone] + [service.facts().phone])
    except datafiles.DataFileError:
        logger.exception("business files unreadable: bot messages are stored with every number masked")
        return frozenset()


def masked(event: Event) -> Event:
    """The event as it may be stored: the same event when it holds no free text."""
    if isinstance(event, UserUttered):
        return Event.from_parameters(masking.mask_data(event.as_dict()))
    if isinstance(event, BotUttered):
        return Event.from_parameters(masking.mask_data(event.as_dict(), keep=public_numbers()))
    if isinstance(event, SlotSet):
        # A keyed hash is not a number, though its hex digits can look like one.
        if event.key == "person_key" and ledger.is_person_key(event.value):
            return event
        return Event.from_parameters(masking.mask_data(event.as_dict()))
    return event


def stopped_by_circuit_breaker(tracker: DialogueStateTracker) -> bool:
    """Whether the last turn ended at Rasa's limit of actions instead of with a listen.

    Rasa counts the actions since the last listen across later user messages, so such a
    conversation would trip the breaker again at once on every message it ever gets (seen when
    the action server died mid-turn and each custom action failed in turn)."""
    actions = 0
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted):
            if event.action_name in (ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME):
                break
            actions += 1
    return actions >= MAX_NUMBER_OF_PREDICTIONS


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rasa's save() builds each row from tracker.sender_id itself; this is the one place
        # where the id of every new row can be replaced without copying save().
        sqlalchemy.event.listen(self.sessionmaker, "before_flush", self._hash_new_sender_ids)

    def _hash_new_sender_ids(self, session, _flush_context, _instances) -> None:
        for row in session.new:
            if isinstance(row, self.SQLEvent):
                row.sender_id = masking.conversation_key(row.sender_id)

    def _event_query(self, session, sender_id: str, fetch_events_from_all_sessions: bool):
        return super()._event_query(session, masking.conversation_key(sender_id), fetch_events_from_all_sessions)

    async def save(self, tracker: DialogueStateTracker) -> None:
        if stopped_by_circuit_breaker(tracker):
            logger.warning("a turn stopped at the limit of actions: the conversation listens again")
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await super().save(tracker)

    def _additional_events(self, session, tracker: DialogueStateTracker) -> Iterator[Event]:
        return (masked(event) for event in super()._additional_events(session, tracker))
