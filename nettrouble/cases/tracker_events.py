"""Reading conversations back from Rasa's SQL tracker store, without Rasa.

The Rasa server writes every event of a conversation to the table ``events`` (id, sender_id,
type_name, timestamp, intent_name, action_name, data: the event as JSON text) through
``addons.tracker_store.MaskingSQLTrackerStore``: phone numbers and e-mail addresses in the
events are masked, and a sender id that holds one (an SMS sender) is stored as its keyed hash
(``masking.conversation_key``). The console and the operator analytics read the same table here
with plain SQLAlchemy Core, read-only.

Interface (other tools rely on it):

- ``tracker_engine(url=None) -> Engine``: the tracker store's database, TRACKER_DB_URL or else
  the SQLite file TRACKER_DB (``settings().tracker_db_url``). A SQLite file is opened read-only;
  on PostgreSQL every transaction is read-only. Make it once per process and keep it.
- ``conversation_events(engine, conversation_id) -> List[StoredEvent]``: every event of one
  conversation, all its sessions, in the order written. The id is keyed as the store keys it,
  so an SMS sender's phone number, its stored key and an ordinary sender id all find their rows.
  An unknown conversation, or a store that Rasa has not created yet, gives an empty list.
- ``conversations_between(engine, start, end) -> Iterator[Tuple[str, List[StoredEvent]]]``:
  every conversation with at least one event at or after ``start`` and before ``end``, as
  (stored sender id, all its events in order), one conversation at a time, ordered by stored
  sender id. The whole conversation comes, including its events outside the range; callers
  that count only the range filter on ``StoredEvent.timestamp``. Rows are fetched in batches
  over one query, so the table is never loaded at once; the query (and on SQLite its read
  transaction) stays open until the iterator is exhausted or closed.
- ``StoredEvent``: id (the row id; it orders the events), type_name (Rasa's event name:
  "user", "bot", "action", "slot", "session_started", ...), timestamp (aware, Japan time),
  intent_name, action_name (None unless the event has one), data (the event as Rasa serialised
  it: for "user" the masked ``text`` and ``parse_data``, for "bot" ``text``, ``data`` with the
  buttons and ``metadata`` with the response name ``utter_action``).

Naive datetimes given as ``start``/``end`` are taken to be Japan time, as everywhere in the
project (``clock.in_japan``).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, select
from sqlalchemy.engine import Connection, Engine, make_url

from nettrouble.core.clock import in_japan
from nettrouble.core.masking import conversation_key
from nettrouble.core.settings import settings

# Rasa's SQLTrackerStore.SQLEvent, declared rather than reflected: reflection costs a query
# per engine and would fail before Rasa has created the table.
events = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# Rows fetched per round trip while streaming conversations_between.
BATCH_ROWS = 500


@dataclass(frozen=True)
class StoredEvent:
    id: int
    type_name: str
    timestamp: datetime
    intent_name: Optional[str]
    action_name: Optional[str]
    data: Dict[str, Any] = field(default_factory=dict)


def tracker_engine(url: Optional[str] = None) -> Engine:
    """The tracker store's database for reading (default: ``settings().tracker_db_url``)."""
    parsed = make_url(url or settings().tracker_db_url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path and path != ":memory:" and not path.startswith("file:"):
            # SQLite's read-only mode: the console can never write a conversation, and a
            # missing file is not created empty under the Rasa server's feet.
            parsed = parsed.set(database=f"file:{path}", query={**parsed.query, "mode": "ro", "uri": "true"})
        return create_engine(parsed, future=True, connect_args={"check_same_thread": False})
    return create_engine(parsed, future=True, pool_pre_ping=True, execution_options={"postgresql_readonly": True})


def _store_missing(engine: Engine) -> bool:
    """Whether the engine names a SQLite file that does not exist yet (Rasa creates it on its
    first start; until then there is no conversation to read)."""
    if engine.dialect.name != "sqlite":
        return False
    path = engine.url.database or ""
    if not path.startswith("file:"):
        return False
    return not Path(path[len("file:") :]).exists()


def _has_events(connection: Connection) -> bool:
    return connection.dialect.has_table(connection, events.name)


def _stored_event(row: Any) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        type_name=row.type_name,
        timestamp=in_japan(datetime.fromtimestamp(row.timestamp, timezone.utc)),
        intent_name=row.intent_name,
        action_name=row.action_name,
        data=json.loads(row.data) if row.data else {},
    )


def conversation_events(engine: Engine, conversation_id: str) -> List[StoredEvent]:
    """Every event of the conversation, in the order written; empty when it is unknown."""
    if not isinstance(conversation_id, str) or not conversation_id.strip() or _store_missing(engine):
        return []
    query = select(events).where(events.c.sender_id == conversation_key(conversation_id)).order_by(events.c.id)
    with engine.connect() as connection:
        if not _has_events(connection):
            return []
        return [_stored_event(row) for row in connection.execute(query)]


def _epoch(moment: datetime) -> float:
    return in_japan(moment).timestamp()


def conversations_between(engine: Engine, start: datetime, end: datetime) -> Iterator[Tuple[str, List[StoredEvent]]]:
    """Every conversation with an event in [start, end), whole, one at a time."""
    if _store_missing(engine):
        return
    in_range = (
        select(events.c.sender_id)
        .where(events.c.timestamp >= _epoch(start), events.c.timestamp < _epoch(end))
        .distinct()
    )
    # (sender_id, id) is the order of the store's own index (ix_events_sender_id_id), so the
    # rows of one conversation come together and in order without sorting the table.
    query = select(events).where(events.c.sender_id.in_(in_range)).order_by(events.c.sender_id, events.c.id)
    with engine.connect() as connection:
        if not _has_events(connection):
            return
        rows = connection.execution_options(yield_per=BATCH_ROWS).execute(query)
        for sender_id, group in itertools.groupby(rows, key=lambda row: row.sender_id):
            yield sender_id, [_stored_event(row) for row in group]
