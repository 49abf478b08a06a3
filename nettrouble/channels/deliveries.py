"""Which platform deliveries were already handled: LINE webhook events and Twilio SMS.

A platform redelivers what it thinks failed, and anyone who captured a signed request can send
it again (Twilio's signature carries no time). ``first_time`` records a delivery and says
whether it is new; the UNIQUE constraint on (channel, delivery_key) decides, with an
insert-on-conflict as in ``ledger.py``, so two servers receiving the same delivery never both
handle it. The table is in the service database, so the memory survives a restart and is shared
by every server of the scale-out profile.

Only a SHA-256 of each delivery id is stored: a LINE event without an id is known by its user,
time and text, which must not sit in the table. Rows older than ``KEEP`` are pruned as new ones
arrive; LINE events that old are refused by their timestamp anyway.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Optional, Union

from sqlalchemy import Column, DateTime, Index, String, Table, UniqueConstraint, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from nettrouble.core.sql_metadata import metadata

KEEP = timedelta(days=30)
MAX_CHANNEL = 16
KEY_LENGTH = 64  # hex SHA-256

deliveries = Table(
    "deliveries",
    metadata,
    Column("channel", String(MAX_CHANNEL), nullable=False),
    Column("delivery_key", String(KEY_LENGTH), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "delivery_key", name="uq_deliveries_channel_key"),
    Index("ix_deliveries_received_at", "received_at"),
)

Bind = Union[Engine, Connection]
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def delivery_key(delivery_id: str) -> str:
    return hashlib.sha256(delivery_id.encode("utf-8")).hexdigest()


def _record(connection: Connection, channel: str, key: str, at: datetime) -> bool:
    connection.execute(delete(deliveries).where(deliveries.c.received_at < at - KEEP))
    statement = (
        _INSERTS[connection.dialect.name](deliveries)
        .values(channel=channel, delivery_key=key, received_at=at)
        .on_conflict_do_nothing(index_elements=["channel", "delivery_key"])
    )
    return connection.execute(statement).rowcount == 1


def first_time(bind: Bind, channel: str, delivery_id: str, at: Optional[datetime] = None) -> bool:
    """True the first time ``channel`` receives ``delivery_id`` (and remembers it); False for
    a delivery already recorded. Real time, not the demo clock: this is transport bookkeeping."""
    if not isinstance(channel, str) or not 0 < len(channel) <= MAX_CHANNEL:
        raise ValueError(f"channel must be 1..{MAX_CHANNEL} characters")
    if not isinstance(delivery_id, str) or not delivery_id:
        raise ValueError("delivery_id must be a non-empty string")
    key = delivery_key(delivery_id)
    at = at or datetime.now(timezone.utc)
    if isinstance(bind, Connection):
        return _record(bind, channel, key, at)
    with bind.begin() as connection:
        return _record(connection, channel, key, at)
