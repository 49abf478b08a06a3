"""Rasa's SQL tracker store, with phone numbers and e-mail addresses masked before they are
written.

The Rasa server and the action server see the user's words as typed during the turn (the
eligibility check turns a number into its keyed hash then); what reaches the database, and so
every later turn and anyone reading the conversations, carries placeholders instead. The bot's
own messages keep the public numbers they quote (the centre, the helplines), so that a
conversation read back still shows them.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import FrozenSet, Iterator

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import BotUttered, Event, SlotSet, UserUttered
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


class MaskingSQLTrackerStore(SQLTrackerStore):
    def _additional_events(self, session, tracker: DialogueStateTracker) -> Iterator[Event]:
        return (masked(event) for event in super()._additional_events(session, tracker))
