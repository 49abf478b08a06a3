"""Rasa's SQL tracker store, with phone numbers and e-mail addresses masked before they are
written.

The Rasa server and the action server see the user's words as typed during the turn (the
eligibility check turns a number into its keyed hash then); what reaches the database, and so
every later turn and anyone reading the conversations, carries placeholders instead.
"""
from __future__ import annotations

from typing import Iterator

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from nettrouble import masking

_WITH_FREE_TEXT = (UserUttered, BotUttered, SlotSet)


def masked(event: Event) -> Event:
    """The event as it may be stored: the same event when it holds no free text."""
    if not isinstance(event, _WITH_FREE_TEXT):
        return event
    return Event.from_parameters(masking.mask_data(event.as_dict()))


class MaskingSQLTrackerStore(SQLTrackerStore):
    def _additional_events(self, session, tracker: DialogueStateTracker) -> Iterator[Event]:
        return (masked(event) for event in super()._additional_events(session, tracker))
