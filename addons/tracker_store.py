"""Rasa's SQL tracker store, with phone numbers and e-mail addresses masked before they are
written, a turn stopped by Rasa's circuit breaker closed so that the conversation goes on, and
a conversation read from the database only as far as this server has not seen it.

The Rasa server and the action server see the user's words as typed during the turn (the
eligibility check turns a number into its keyed hash then); what reaches the database, and so
every later turn and anyone reading the conversations, carries placeholders instead. The bot's
own messages keep the public numbers they quote (the centre, the helplines), so that a
conversation read back still shows them.

A sender id that is a phone number or an e-mail address (an SMS sender) is stored as its keyed
hash (``masking.conversation_key``): every query hashes the id it is given, and the rows Rasa
writes get the hashed id just before they are flushed, so the raw id still finds the
conversation and never reaches the database.

Rasa's store reads and deserialises every event of the session on each turn and counts them
again before it writes: at 1,200 events, about 60 ms a turn of which 50 ms are
``Event.from_parameters``. This store keeps, per conversation it served recently, the events
as stored (masked, deserialised) and the ids of its first and last rows. A turn then asks the
database only for rows after the last one (and for the first row, which proves that the
conversation was not deleted or restarted in between): no rows, as a rule, when the same
server answers again; the other server's rows when a load balancer alternates. Events are only
ever appended, and the lock store lets one server at a time handle a conversation, so the
cached events plus the new rows are exactly what Rasa's query would return. A new session, a
deleted conversation or a failed check drops the entry and reads everything, as Rasa does.

On SQLite the store keeps its connections (SQLAlchemy 1.4 opens a new one per query for a
file database) and uses write-ahead logging, so that readers (the console, a second process)
never wait for a writer.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Optional

import sqlalchemy
from rasa.core.processor import MAX_NUMBER_OF_PREDICTIONS
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from addons.tracker_replay import REPLAYS, LeastRecentlyUsed
from nettrouble.content import service
from nettrouble.core import datafiles, db, masking
from nettrouble.eligibility import ledger
from nettrouble.triage import referrals

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
    """The event as it may be stored: the same event when masking changes nothing (most bot
    messages, whose public numbers stay; rebuilding an event costs more than masking it)."""
    if isinstance(event, UserUttered):
        keep: FrozenSet[str] = frozenset()
    elif isinstance(event, BotUttered):
        keep = public_numbers()
    elif isinstance(event, SlotSet):
        # A keyed hash is not a number, though its hex digits can look like one.
        if event.key == "person_key" and ledger.is_person_key(event.value):
            return event
        keep = frozenset()
    else:
        return event
    data = event.as_dict()
    hidden = masking.mask_data(data, keep=keep)
    if hidden == data:
        return event
    rebuilt = Event.from_parameters(hidden)
    if rebuilt is None:  # only for an unknown event name, and masking leaves names as they are
        raise ValueError(f"a masked {event.type_name} event could not be rebuilt")
    return rebuilt


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


SQLITE_POOL_SIZE = 5


@dataclass
class SeenConversation:
    """The latest session of a conversation as stored: its rows' first and last ids, and its
    events (masked) in order."""

    first_id: int
    last_id: int
    events: List[Event]
    # The tracker last handed out for it: saved under the same lock in the same turn, no
    # other server can have written in between, so the save needs no check.
    handed_out: Optional[DialogueStateTracker] = None


def sqlite_engine(url: Any) -> sqlalchemy.engine.Engine:
    """A file SQLite engine that keeps its connections, in write-ahead-log mode."""
    engine = sqlalchemy.create_engine(
        url,
        poolclass=sqlalchemy.pool.QueuePool,
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=10,
        # Rasa's store runs its queries on the event loop's thread; the pool may hand a
        # connection to another thread (the console's tests, a shutdown hook).
        connect_args={"check_same_thread": False},
    )

    @sqlalchemy.event.listens_for(engine, "connect")
    def _pragmas(connection, _record) -> None:
        db.write_ahead_log(connection)
        cursor = connection.cursor()
        # With WAL, NORMAL loses no committed transaction on a process crash, only on a
        # power cut; the events of the last turn are then the most that can be lost.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.engine.dispose()
            self.engine = sqlite_engine(self.engine.url)
            self.sessionmaker.configure(bind=self.engine)
        self._index_rows_by_conversation()
        # save() writes the hashed id itself; rows added through the ORM elsewhere in Rasa
        # (SQLEvent objects) get it here.
        sqlalchemy.event.listen(self.sessionmaker, "before_flush", self._hash_new_sender_ids)
        self._seen = LeastRecentlyUsed()

    def _index_rows_by_conversation(self) -> None:
        """An index on (sender_id, id), so that "the rows after the last one seen" reads only
        those: on PostgreSQL, Rasa's index on sender_id alone makes every turn scan all the
        rows of the conversation (232 a turn in the scale-out check)."""
        table = self.SQLEvent.__table__
        # Defined once per process: a second definition on Rasa's shared table would make the
        # next store's create_all build the index twice (Rasa logs that as an ERROR).
        index = next(
            (found for found in table.indexes if found.name == "ix_events_sender_id_id"), None
        ) or sqlalchemy.Index("ix_events_sender_id_id", table.c.sender_id, table.c.id)
        try:
            index.create(self.engine, checkfirst=True)
        except (
            sqlalchemy.exc.OperationalError,
            sqlalchemy.exc.ProgrammingError,
            sqlalchemy.exc.IntegrityError,
        ) as error:
            # Servers started together race to create it; one of them does.
            logger.debug("index on events not created here: %s", error)

    def _hash_new_sender_ids(self, session, _flush_context, _instances) -> None:
        for row in session.new:
            if isinstance(row, self.SQLEvent):
                # A row's attribute holds its value; sqlalchemy2-stubs type it as the Column
                # (the plugin that would tell them apart is not made for this mypy).
                row.sender_id = masking.conversation_key(row.sender_id)  # type: ignore[assignment,arg-type]

    def _event_query(self, session, sender_id: str, fetch_events_from_all_sessions: bool):
        return super()._event_query(session, masking.conversation_key(sender_id), fetch_events_from_all_sessions)

    # --- reading -----------------------------------------------------------------------

    def _caught_up(self, session, key: str) -> Optional[SeenConversation]:
        """The conversation's cached session brought up to date with the rows written since,
        or None when there is none or it no longer matches the database."""
        seen = self._seen.get(key)
        if seen is None:
            return None
        rows = (
            session.query(self.SQLEvent.id, self.SQLEvent.type_name, self.SQLEvent.data)
            .filter(
                self.SQLEvent.sender_id == key,
                sqlalchemy.or_(self.SQLEvent.id > seen.last_id, self.SQLEvent.id == seen.first_id),
            )
            .order_by(self.SQLEvent.id)
            .all()
        )
        newer = rows[1:]
        if not rows or rows[0].id != seen.first_id or any(r.type_name == SessionStarted.type_name for r in newer):
            self._seen.pop(key, None)
            return None
        if newer:
            seen.events.extend(deserialise_events([json.loads(row.data) for row in newer]))
            seen.last_id = newer[-1].id
        self._seen.move_to_end(key)
        return seen

    def _read_session(self, session, sender_id: str, key: str) -> Optional[SeenConversation]:
        rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not rows:
            self._seen.pop(key, None)
            return None
        seen = SeenConversation(rows[0].id, rows[-1].id, deserialise_events([json.loads(r.data) for r in rows]))
        self._seen.keep(key, seen)
        return seen

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The tracker of the latest session, as Rasa's store returns it."""
        key = masking.conversation_key(sender_id)
        with self.session_scope() as session:
            seen = self._caught_up(session, key) or self._read_session(session, sender_id, key)
        if seen is None or not self.domain:
            return None
        # A tracker of its own for Rasa, the cached list staying as stored; only the events
        # since the conversation's last replay are replayed (addons/tracker_replay.py).
        seen.handed_out = REPLAYS.tracker(sender_id, seen.events, self.domain.slots)
        return seen.handed_out

    # --- writing -----------------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        if stopped_by_circuit_breaker(tracker):
            logger.warning("a turn stopped at the limit of actions: the conversation listens again")
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await self.stream_events(tracker)
        key = masking.conversation_key(tracker.sender_id)
        with self.session_scope() as session:
            seen = self._seen.get(key)
            if seen is None or seen.handed_out is not tracker:
                seen = self._caught_up(session, key)
            stored = len(seen.events) if seen is not None else self._stored_count(session, tracker.sender_id)
            new_events = [masked(event) for event in itertools.islice(tracker.events, stored, None)]
            if not new_events:
                return
            # One statement for the turn's rows (the ORM inserts them one by one to learn
            # their ids), then the last id.
            session.execute(self.SQLEvent.__table__.insert(), [self._row(key, event) for event in new_events])
            last_id = (
                session.query(sqlalchemy.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == key).scalar()
            )
            session.commit()
        if seen is None or any(isinstance(event, SessionStarted) for event in new_events):
            # Read back whole on the next turn (a new session begins with this save).
            self._seen.pop(key, None)
            return
        seen.events.extend(new_events)
        seen.last_id = last_id
        seen.handed_out = None

    def _stored_count(self, session, sender_id: str) -> int:
        return self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()

    @staticmethod
    def _row(key: str, event: Event) -> Dict[str, Any]:
        """The columns of Rasa's row for ``event`` of the conversation stored as ``key``."""
        data = event.as_dict()
        return {
            "sender_id": key,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": ((data.get("parse_data") or {}).get("intent") or {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }
