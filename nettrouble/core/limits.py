"""Limits that keep one client from hurting others: how many cases, and how many phone-number
checks, a client or a conversation may make in a window.

A *client* is who sends the messages as far as the channel can tell: the address of a web or
REST client, the LINE user, the SMS sender. Channels pass it to the assistant as the keyed hash
``client_key`` (in the message metadata, ``CLIENT``), so no address or number is stored.

Counts live in the service database (table ``rate_events``), so that they hold across restarts
and across the servers of the scale-out profile. ``take`` counts and records in one transaction;
two servers racing at the very limit may both pass once, which is harmless for a limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional, Union

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, delete, func, select
from sqlalchemy.engine import Connection, Engine

from nettrouble.core.clock import in_japan, now
from nettrouble.core.sql_metadata import metadata
from nettrouble.eligibility.identity import keyed

# Metadata keys the channels set on every user message.
CLIENT = "client"
SENDER_PERSON_KEY = "sender_person_key"

# Kinds of counted events.
CASE = "case"
NUMBER_CHECK = "number_check"

MAX_SUBJECT = 80

rate_events = Table(
    "rate_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(MAX_SUBJECT), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_rate_events_kind_subject_at", "kind", "subject", "at"),
)

Bind = Union[Engine, Connection]


def client_key(channel: str, value: str, secret: Optional[str] = None) -> str:
    """The keyed hash that stands for a client (an address, a LINE user id, a phone number)."""
    return f"{channel}:{keyed(f'client:{channel}:{value}', secret)[:40]}"


def _count(connection: Connection, kind: str, subject: str, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(rate_events)
        .where(
            rate_events.c.kind == kind,
            rate_events.c.subject == subject,
            rate_events.c.at >= since,
        )
    )
    return int(connection.execute(query).scalar() or 0)


def _take(connection: Connection, kind: str, subject: str, limit: int, window: timedelta, at: datetime) -> bool:
    # Old events of this subject go first: the table holds at most one window per subject.
    connection.execute(
        delete(rate_events).where(
            rate_events.c.kind == kind,
            rate_events.c.subject == subject,
            rate_events.c.at < at - window,
        )
    )
    if _count(connection, kind, subject, at - window) >= limit:
        return False
    connection.execute(rate_events.insert().values(kind=kind, subject=subject, at=at))
    return True


def take(
    bind: Bind, kind: str, subject: Optional[str], limit: int, window: timedelta, at: Optional[datetime] = None
) -> bool:
    """Records one ``kind`` event for ``subject`` and returns True, unless ``limit`` events
    happened within ``window`` already (then False and nothing is recorded). A missing subject
    (a message without a client) is counted under one shared name, so it is limited too."""
    subject = (subject or "unknown")[:MAX_SUBJECT]
    at = in_japan(at) if at else now()
    if isinstance(bind, Connection):
        return _take(bind, kind, subject, limit, window, at)
    with bind.begin() as connection:
        return _take(connection, kind, subject, limit, window, at)
