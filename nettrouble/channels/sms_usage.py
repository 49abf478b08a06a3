"""What each SMS conversation has cost, and who asked us to stop: two tables in the service
database, keyed by the SMS conversation id (``sms-`` + a keyed hash, never the phone number).

- ``sms_conversations``: segments and turns so far, when the conversation started and when its
  last turn was. A conversation starts again, from zero, after ``expiry`` without a turn (the
  channel passes Rasa's session expiry, so a conversation here is a Rasa session); the row is
  reused. ``add`` changes it in one transaction, the row locked on PostgreSQL and the database
  on SQLite, so two servers answering the same sender never lose a count.
- ``sms_opt_outs``: the senders who sent 「停止」/STOP, with the time. Nothing may be sent to them
  on our own initiative (``is_opted_out``); their own messages are still answered.

Real time (UTC), not the demo clock: this is transport bookkeeping, compared with the times of
Rasa's own events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional, TypeVar, Union

from sqlalchemy import Column, DateTime, Integer, String, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Row

from nettrouble.core.sql_metadata import metadata

MAX_CONVERSATION_ID = 64

sms_conversations = Table(
    "sms_conversations",
    metadata,
    Column("conversation_id", String(MAX_CONVERSATION_ID), primary_key=True),
    Column("segments", Integer, nullable=False),
    Column("turns", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
)

sms_opt_outs = Table(
    "sms_opt_outs",
    metadata,
    Column("conversation_id", String(MAX_CONVERSATION_ID), primary_key=True),
    Column("opted_out_at", DateTime(timezone=True), nullable=False),
)

Bind = Union[Engine, Connection]
_T = TypeVar("_T")
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class Usage:
    """One conversation so far; zero for a new one or one that expired."""

    segments: int = 0
    turns: int = 0


def _checked(conversation_id: str) -> str:
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= MAX_CONVERSATION_ID:
        raise ValueError(f"conversation_id must be 1..{MAX_CONVERSATION_ID} characters")
    return conversation_id


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; they were written in UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _live(row: Row, at: datetime, expiry: Optional[timedelta]) -> bool:
    """Whether the stored conversation still runs at ``at`` (expiry None: it never ends)."""
    return expiry is None or at - _utc(row.last_at) < expiry


def _in_transaction(bind: Bind, work: Callable[[Connection], _T]) -> _T:
    if isinstance(bind, Connection):
        return work(bind)
    with bind.begin() as connection:
        return work(connection)


def current(bind: Bind, conversation_id: str, expiry: Optional[timedelta], at: Optional[datetime] = None) -> Usage:
    """What the conversation has cost so far at ``at`` (now by default)."""
    at = at or datetime.now(timezone.utc)
    query = select(sms_conversations).where(sms_conversations.c.conversation_id == _checked(conversation_id))

    def read(connection: Connection) -> Usage:
        row = connection.execute(query).first()
        return Usage(row.segments, row.turns) if row is not None and _live(row, at, expiry) else Usage()

    return _in_transaction(bind, read)


def add(
    bind: Bind, conversation_id: str, segments: int, expiry: Optional[timedelta], at: Optional[datetime] = None
) -> Usage:
    """Counts one turn of ``segments`` for the conversation (a new one when it had expired) and
    returns its usage with that turn."""
    if segments < 0:
        raise ValueError("segments must not be negative")
    at = at or datetime.now(timezone.utc)
    key = sms_conversations.c.conversation_id == _checked(conversation_id)

    def count(connection: Connection) -> Usage:
        # The insert takes SQLite's write lock before the read; on PostgreSQL the row lock does.
        connection.execute(
            _INSERTS[connection.dialect.name](sms_conversations)
            .values(conversation_id=conversation_id, segments=0, turns=0, started_at=at, last_at=at)
            .on_conflict_do_nothing(index_elements=["conversation_id"])
        )
        row = connection.execute(select(sms_conversations).where(key).with_for_update()).one()
        before = Usage(row.segments, row.turns) if _live(row, at, expiry) else Usage()
        after = Usage(before.segments + segments, before.turns + 1)
        values = {"segments": after.segments, "turns": after.turns, "last_at": at}
        if before == Usage():
            values["started_at"] = at
        connection.execute(update(sms_conversations).where(key).values(**values))
        return after

    return _in_transaction(bind, count)


def opt_out(bind: Bind, conversation_id: str, at: Optional[datetime] = None) -> None:
    """Records that the sender asked for nothing to be sent on our initiative (the first time
    is kept)."""
    at = at or datetime.now(timezone.utc)

    def record(connection: Connection) -> None:
        connection.execute(
            _INSERTS[connection.dialect.name](sms_opt_outs)
            .values(conversation_id=_checked(conversation_id), opted_out_at=at)
            .on_conflict_do_nothing(index_elements=["conversation_id"])
        )

    _in_transaction(bind, record)


def opt_in(bind: Bind, conversation_id: str) -> None:
    """Removes the sender's opt-out (「開始」/START)."""
    statement = delete(sms_opt_outs).where(sms_opt_outs.c.conversation_id == _checked(conversation_id))
    _in_transaction(bind, lambda connection: connection.execute(statement))


def is_opted_out(bind: Bind, conversation_id: str) -> bool:
    """Whether anything sent on our own initiative (a notice of new articles, say) must not go
    to this conversation. Every such sender must ask this first."""
    query = select(sms_opt_outs.c.conversation_id).where(sms_opt_outs.c.conversation_id == _checked(conversation_id))
    return _in_transaction(bind, lambda connection: connection.execute(query).first() is not None)
