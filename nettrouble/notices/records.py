"""What ``make notify-new-articles`` has done, in the service database:

- ``article_notice_runs``: each run and the last day of publication it covered, so that the next
  run looks only at articles published since (that day included, for an article added to the
  catalogue later the same day; ``article_notice_items`` keeps it from going out twice).
- ``article_notices``: one record per recipient and message. It is created ``pending`` with the
  articles it will carry (new ones join it while it waits: several articles go in one message),
  becomes ``sending`` in its own committed transaction just before the send, and ``sent`` (or
  ``failed``) right after. ``cancelled``: the subscription ended, or STOP came, before it went;
  ``unknown``: a run died while sending it by SMS, which may or may not have reached the phone
  (``runner`` explains why such a record is never sent again).
- ``article_notice_items``: which article went, or is to go, to which conversation: at most once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from nettrouble.core.clock import start_of_day
from nettrouble.core.sql_metadata import metadata
from nettrouble.notices import schedule
from nettrouble.notices.subscriptions import MAX_CONVERSATION_ID

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNKNOWN = "unknown"
CANCELLED = "cancelled"
# What counts as the day's one message: what went, and what may have gone.
REACHED_OR_MAYBE = (SENDING, SENT, UNKNOWN)

article_notice_runs = Table(
    "article_notice_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("through_day", Date, nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

article_notices = Table(
    "article_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(MAX_CONVERSATION_ID), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    # LINE's X-Line-Retry-Key for this message, the same for every attempt of every run.
    Column("retry_key", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sending_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_article_notices_conversation_id", "conversation_id"),
    Index("ix_article_notices_status", "status"),
)

article_notice_items = Table(
    "article_notice_items",
    metadata,
    Column("conversation_id", String(MAX_CONVERSATION_ID), primary_key=True),
    Column("article_id", String(80), primary_key=True),
    Column("notice_id", Integer, ForeignKey("article_notices.id"), nullable=False),
    Index("ix_article_notice_items_notice_id", "notice_id"),
)


@dataclass(frozen=True)
class Notice:
    id: int
    conversation_id: str
    channel: str
    status: str
    retry_key: str
    article_ids: Tuple[str, ...]
    sending_at: Optional[datetime]


# ---- runs ---------------------------------------------------------------------------------


def last_through_day(connection: Connection) -> Optional[date]:
    """The last publication day the latest run covered; None before the first run."""
    query = select(article_notice_runs.c.through_day).order_by(article_notice_runs.c.id.desc()).limit(1)
    day = connection.execute(query).scalar()
    return day if isinstance(day, date) else None


def start_run(connection: Connection, at: datetime, through_day: date) -> int:
    statement = insert(article_notice_runs).values(started_at=schedule.stored(at), through_day=through_day)
    return int(connection.execute(statement).inserted_primary_key[0])


def finish_run(connection: Connection, run_id: int, at: datetime) -> None:
    connection.execute(
        update(article_notice_runs).where(article_notice_runs.c.id == run_id).values(finished_at=schedule.stored(at))
    )


# ---- notices ------------------------------------------------------------------------------


def notified(connection: Connection, conversation_ids: Iterable[str]) -> Set[Tuple[str, str]]:
    """(conversation, article) of every article already given to a notice of those conversations."""
    wanted = sorted(set(conversation_ids))
    found: Set[Tuple[str, str]] = set()
    for start in range(0, len(wanted), 500):
        query = select(article_notice_items.c.conversation_id, article_notice_items.c.article_id).where(
            article_notice_items.c.conversation_id.in_(wanted[start : start + 500])
        )
        found.update((str(row.conversation_id), str(row.article_id)) for row in connection.execute(query))
    return found


def _notices(connection: Connection, condition: object) -> List[Notice]:
    rows = connection.execute(select(article_notices).where(condition).order_by(article_notices.c.id)).all()
    items: Dict[int, List[str]] = {}
    ids = [int(row.id) for row in rows]
    for start in range(0, len(ids), 500):
        query = (
            select(article_notice_items.c.notice_id, article_notice_items.c.article_id)
            .where(article_notice_items.c.notice_id.in_(ids[start : start + 500]))
            .order_by(article_notice_items.c.article_id)
        )
        for item in connection.execute(query):
            items.setdefault(int(item.notice_id), []).append(str(item.article_id))
    return [_notice(row, items.get(int(row.id), [])) for row in rows]


def _notice(row: Row, article_ids: Sequence[str]) -> Notice:
    return Notice(
        id=int(row.id),
        conversation_id=str(row.conversation_id),
        channel=str(row.channel),
        status=str(row.status),
        retry_key=str(row.retry_key),
        article_ids=tuple(article_ids),
        sending_at=schedule.read(row.sending_at) if row.sending_at is not None else None,
    )


def waiting(connection: Connection) -> List[Notice]:
    """The notices still to send (pending) or whose run died while sending them, oldest first."""
    return _notices(connection, article_notices.c.status.in_((PENDING, SENDING)))


def add_articles(
    connection: Connection, conversation_id: str, channel: str, article_ids: Sequence[str], at: datetime
) -> int:
    """Puts the articles into the conversation's pending notice (a new one when it has none);
    the notice's id."""
    query = select(article_notices.c.id).where(
        article_notices.c.conversation_id == conversation_id, article_notices.c.status == PENDING
    )
    notice_id = connection.execute(query.order_by(article_notices.c.id).limit(1)).scalar()
    if notice_id is None:
        statement = insert(article_notices).values(
            conversation_id=conversation_id,
            channel=channel,
            status=PENDING,
            retry_key=str(uuid.uuid4()),
            created_at=schedule.stored(at),
        )
        notice_id = connection.execute(statement).inserted_primary_key[0]
    for article_id in article_ids:
        connection.execute(
            insert(article_notice_items).values(
                conversation_id=conversation_id, article_id=article_id, notice_id=notice_id
            )
        )
    return int(notice_id)


def claim(connection: Connection, notice_id: int, at: datetime) -> bool:
    """pending -> sending; False when it was not pending any more (another run took it)."""
    statement = (
        update(article_notices)
        .where(article_notices.c.id == notice_id, article_notices.c.status == PENDING)
        .values(status=SENDING, sending_at=schedule.stored(at))
    )
    return int(connection.execute(statement).rowcount) == 1


def mark(connection: Connection, notice_id: int, status: str, at: datetime) -> None:
    connection.execute(
        update(article_notices)
        .where(article_notices.c.id == notice_id)
        .values(status=status, finished_at=schedule.stored(at))
    )


def reached_on(connection: Connection, conversation_id: str, day: date, other_than: int) -> bool:
    """Whether another notice went, or may have gone, to the conversation on that Japan day."""
    start, end = schedule.stored(start_of_day(day)), schedule.stored(start_of_day(day + timedelta(days=1)))
    query = select(func.count()).where(
        article_notices.c.conversation_id == conversation_id,
        article_notices.c.id != other_than,
        article_notices.c.status.in_(REACHED_OR_MAYBE),
        and_(article_notices.c.sending_at >= start, article_notices.c.sending_at < end),
    )
    return int(connection.execute(query).scalar_one()) > 0


def cancel_for(connection: Connection, conversation_id: str, at: datetime) -> int:
    """Cancels what is still pending for the conversation (its subscription ended)."""
    statement = (
        update(article_notices)
        .where(article_notices.c.conversation_id == conversation_id, article_notices.c.status == PENDING)
        .values(status=CANCELLED, finished_at=schedule.stored(at))
    )
    return int(connection.execute(statement).rowcount)


def purge(connection: Connection, before: datetime) -> int:
    """Deletes the notices finished before ``before`` with their items, and the runs started
    before then except the latest (the next run starts from it); the notices deleted."""
    cutoff = schedule.stored(before)
    old = select(article_notices.c.id).where(
        article_notices.c.status.notin_((PENDING, SENDING)), article_notices.c.finished_at < cutoff
    )
    old_ids = [int(notice_id) for notice_id in connection.execute(old).scalars()]
    for start in range(0, len(old_ids), 500):
        batch = old_ids[start : start + 500]
        connection.execute(delete(article_notice_items).where(article_notice_items.c.notice_id.in_(batch)))
        connection.execute(delete(article_notices).where(article_notices.c.id.in_(batch)))
    latest = select(func.max(article_notice_runs.c.id)).scalar_subquery()
    connection.execute(
        delete(article_notice_runs).where(article_notice_runs.c.started_at < cutoff, article_notice_runs.c.id != latest)
    )
    return len(old_ids)
