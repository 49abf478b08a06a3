"""Removing old personal data: conversations and cases not touched for a number of days, and
the review list's labelled messages (users' words, masked) labelled as long ago.

The free-consultation ledger is kept: it holds only keyed hashes and case references, and it
is what keeps one free consultation per person for as long as a campaign's record matters. The
SMS opt-outs are kept too: a STOP holds until the sender sends START. A consent to new-article
notices is personal data like the rest (an SMS one holds the number, sealed): it goes when it
is as old, unless given again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Tuple

from sqlalchemy import bindparam, create_engine, delete, func, select, text
from sqlalchemy.engine import Engine

from nettrouble.callbacks.store import callbacks
from nettrouble.cases.schema import case_notes, case_status_events, cases
from nettrouble.channels.sms_usage import sms_conversations
from nettrouble.core.limits import rate_events
from nettrouble.eligibility.number_proof import number_codes
from nettrouble.notices import records as notice_records
from nettrouble.notices import subscriptions as notice_subscriptions
from nettrouble.notify.outbox import outbox
from nettrouble.staff.review import review_labels

_DELETE_CONVERSATIONS = text("DELETE FROM events WHERE sender_id IN :ids").bindparams(bindparam("ids", expanding=True))


def cutoff(now: datetime, days: int) -> datetime:
    if days < 1:
        raise ValueError("keep at least one day of data")
    return now - timedelta(days=days)


def purge_cases(engine: Engine, before: datetime) -> int:
    """Deletes cases last changed before ``before`` with their history, staff notes,
    callbacks and notifications, and the review labels given before then, in one transaction."""
    with engine.begin() as connection:
        old = select(cases.c.id).where(cases.c.updated_at < before)
        connection.execute(delete(outbox).where(outbox.c.case_id.in_(old)))
        connection.execute(delete(case_status_events).where(case_status_events.c.case_id.in_(old)))
        connection.execute(delete(case_notes).where(case_notes.c.case_id.in_(old)))
        # Callbacks go with their case, a number still sealed in one with them.
        connection.execute(delete(callbacks).where(callbacks.c.case_id.in_(old)))
        # One-time codes and the counts of the limits are of no use after their few minutes or
        # hours; they go with the cases of the same age.
        connection.execute(delete(number_codes).where(number_codes.c.expires_at < before))
        connection.execute(delete(rate_events).where(rate_events.c.at < before))
        # What users wrote, kept for the next training round: exported by then, or no longer wanted.
        connection.execute(delete(review_labels).where(review_labels.c.assigned_at < before))
        # What an SMS conversation cost; a STOP (sms_opt_outs) is kept: it holds until START.
        connection.execute(delete(sms_conversations).where(sms_conversations.c.last_at < before))
        # New-article notices: consents given before then, with the SMS number kept to send
        # (a new consent renews one), and the records of notices finished before then.
        notice_subscriptions.purge(connection, before)
        notice_records.purge(connection, before)
        return connection.execute(delete(cases).where(cases.c.updated_at < before)).rowcount


def purge_conversations(tracker_url: str, before: datetime) -> Tuple[int, int]:
    """Deletes whole conversations whose last event is older than ``before`` from Rasa's SQL
    tracker store; returns (conversations, events)."""
    engine = create_engine(tracker_url, future=True)
    try:
        with engine.begin() as connection:
            if not engine.dialect.has_table(connection, "events"):
                return 0, 0
            events = text("events")
            stale = [
                row[0]
                for row in connection.execute(
                    select(text("sender_id"))
                    .select_from(events)
                    .group_by(text("sender_id"))
                    .having(func.max(text("timestamp")) < before.timestamp())
                )
            ]
            removed = 0
            for start in range(0, len(stale), 500):
                batch = stale[start : start + 500]
                removed += connection.execute(_DELETE_CONVERSATIONS, {"ids": batch}).rowcount
            return len(stale), removed
    finally:
        engine.dispose()
