"""Who asked for new-article notices: ``article_subscriptions``, one row per conversation and
trouble type, with the time and channel of the consent and the address to send to
(``addresses``).

A LINE subscription has its address at once (the user id). An SMS one is written by the action
server, which never sees the number, with no address; the SMS channel adds the sealed number
right after that turn (``add_sms_address``), and the sending skips a row without one.

Kept no longer than needed: 「配信停止」 deletes the conversation's rows at once (``end``), and
``make purge DAYS=N`` deletes consents older than N days (``purge``); a new consent renews one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, List, Optional, TypeVar, Union

from sqlalchemy import Column, DateTime, String, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Row

from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.core.sql_metadata import metadata
from nettrouble.notices import addresses, schedule

MAX_CONVERSATION_ID = 64
# A LINE user id is 33 characters; a sealed number about 140.
MAX_ADDRESS = 512

article_subscriptions = Table(
    "article_subscriptions",
    metadata,
    Column("conversation_id", String(MAX_CONVERSATION_ID), primary_key=True),
    Column("topic", String(32), primary_key=True),
    Column("channel", String(8), nullable=False),
    Column("address", String(MAX_ADDRESS), nullable=True),
    Column("consented_at", DateTime(timezone=True), nullable=False),
)

Bind = Union[Engine, Connection]
T = TypeVar("T")
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class Subscription:
    conversation_id: str
    topic: str
    channel: str
    address: Optional[str]
    consented_at: datetime


def in_transaction(bind: Bind, work: Callable[[Connection], T]) -> T:
    if isinstance(bind, Connection):
        return work(bind)
    with bind.begin() as connection:
        return work(connection)


def _checked(conversation_id: str, topic: Optional[str] = None) -> str:
    channel = addresses.channel_of(conversation_id) if len(conversation_id) <= MAX_CONVERSATION_ID else None
    if channel is None:
        raise ValueError("only one-to-one LINE conversations and SMS conversations can subscribe")
    if topic is not None and topic not in TROUBLE_TYPES:
        raise ValueError(f"unknown trouble type {topic!r}")
    return channel


def subscribe(bind: Bind, conversation_id: str, topic: str, at: datetime) -> Subscription:
    """Records (or renews) the consent of ``conversation_id`` to notices of ``topic`` at ``at``.
    A renewal keeps an SMS address already known."""
    channel = _checked(conversation_id, topic)
    address = addresses.line_user_id(conversation_id) if channel == addresses.LINE else None
    values = {"channel": channel, "consented_at": schedule.stored(at)}

    def record(connection: Connection) -> Subscription:
        insert = _INSERTS[connection.dialect.name](article_subscriptions).values(
            conversation_id=conversation_id, topic=topic, address=address, **values
        )
        connection.execute(insert.on_conflict_do_update(index_elements=["conversation_id", "topic"], set_=values))
        found = select(article_subscriptions.c.address).where(
            article_subscriptions.c.conversation_id == conversation_id, article_subscriptions.c.topic == topic
        )
        return Subscription(conversation_id, topic, channel, connection.execute(found).scalar_one(), at)

    return in_transaction(bind, record)


def add_sms_address(bind: Bind, conversation_id: str, number: str) -> int:
    """Keeps the sealed ``number`` on the SMS conversation's subscriptions that have no address
    yet; the number of rows given one. Reads first, so that the usual turn without a new
    subscription takes no write lock."""
    if addresses.channel_of(conversation_id) != addresses.SMS:
        raise ValueError("not an SMS conversation")
    waiting = (
        select(article_subscriptions.c.topic)
        .where(article_subscriptions.c.conversation_id == conversation_id)
        .where(article_subscriptions.c.address.is_(None))
        .limit(1)
    )

    def fill(connection: Connection) -> int:
        if connection.execute(waiting).first() is None:
            return 0
        statement = (
            update(article_subscriptions)
            .where(article_subscriptions.c.conversation_id == conversation_id)
            .where(article_subscriptions.c.address.is_(None))
            .values(address=addresses.seal(number))
        )
        return int(connection.execute(statement).rowcount)

    return in_transaction(bind, fill)


def end(bind: Bind, conversation_id: str) -> int:
    """Deletes every subscription of the conversation (「配信停止」); how many there were."""
    statement = delete(article_subscriptions).where(article_subscriptions.c.conversation_id == conversation_id)
    return in_transaction(bind, lambda connection: int(connection.execute(statement).rowcount))


def topics_of(bind: Bind, conversation_id: str) -> List[str]:
    query = (
        select(article_subscriptions.c.topic)
        .where(article_subscriptions.c.conversation_id == conversation_id)
        .order_by(article_subscriptions.c.topic)
    )
    return in_transaction(bind, lambda connection: [str(topic) for topic in connection.execute(query).scalars()])


def _subscription(row: Row) -> Subscription:
    return Subscription(row.conversation_id, row.topic, row.channel, row.address, schedule.read(row.consented_at))


def every(bind: Bind) -> List[Subscription]:
    """Every subscription, in a stable order."""
    query = select(article_subscriptions).order_by(
        article_subscriptions.c.conversation_id, article_subscriptions.c.topic
    )
    return in_transaction(bind, lambda connection: [_subscription(row) for row in connection.execute(query)])


def purge(connection: Connection, before: datetime) -> int:
    """Deletes the consents given before ``before`` (``make purge``)."""
    statement = delete(article_subscriptions).where(article_subscriptions.c.consented_at < schedule.stored(before))
    return int(connection.execute(statement).rowcount)
