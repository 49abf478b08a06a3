"""make purge: old conversations and cases go, recent ones and the ledger stay."""

import asyncio
import sqlite3
from datetime import datetime, timedelta

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from addons.tracker_store import MaskingSQLTrackerStore
from nettrouble.cases import retention, schema, store
from nettrouble.channels import sms_usage
from nettrouble.core import db
from nettrouble.core.clock import JST
from nettrouble.eligibility import ledger
from nettrouble.staff import review

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=JST)


@pytest.fixture
def engine(tmp_path, migrated_sqlite):
    engine = db.prepare(migrated_sqlite(tmp_path / "store.db"))
    yield engine
    db.dispose_all()


def test_cases_untouched_for_the_period_are_deleted_with_their_history(engine):
    old, _ = store.open_case(
        engine, schema.CaseDraft("old-user", trouble_type="phishing"), at=NOW - timedelta(days=100), notify=True
    )
    recent, _ = store.open_case(
        engine, schema.CaseDraft("new-user", trouble_type="phishing"), at=NOW - timedelta(days=5), notify=True
    )
    key = "a" * 64
    with engine.begin() as connection:
        ledger.reserve(
            connection,
            "sns-defamation-2020",
            key,
            old.reference,
            at=NOW - timedelta(days=100),
            proved_by=ledger.VIA_STAFF,
        )

    assert retention.purge_cases(engine, retention.cutoff(NOW, 90)) == 1

    assert store.get_case(engine, old.reference) is None
    assert store.get_case(engine, recent.reference) is not None
    with engine.connect() as connection:
        assert connection.execute(select(schema.case_status_events.c.case_id)).scalars().all() == [recent.id]
    assert ledger.holder(engine, "sns-defamation-2020", key).case_reference == old.reference


def test_conversations_whose_last_event_is_old_are_deleted(tmp_path):
    path = tmp_path / "tracker.db"
    trackers = MaskingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))

    def at(days):
        return (NOW - timedelta(days=days)).timestamp()

    conversations = {
        "gone": [UserUttered("こんにちは", timestamp=at(100))],
        "kept": [UserUttered("こんにちは", timestamp=at(100)), UserUttered("まだ続いています", timestamp=at(2))],
        "fresh": [UserUttered("こんにちは", timestamp=at(1))],
    }
    for sender, events in conversations.items():
        asyncio.run(trackers.save(DialogueStateTracker.from_events(sender, events)))
    trackers.engine.dispose()

    conversations, events = retention.purge_conversations(f"sqlite:///{path}", retention.cutoff(NOW, 30))

    assert conversations == 1 and events >= 1
    senders = {row[0] for row in sqlite3.connect(path).execute("select distinct sender_id from events")}
    assert senders == {"kept", "fresh"}


def test_a_missing_tracker_database_purges_nothing(tmp_path):
    assert retention.purge_conversations(f"sqlite:///{tmp_path / 'none.db'}", NOW) == (0, 0)


def test_at_least_one_day_is_kept():
    with pytest.raises(ValueError):
        retention.cutoff(NOW, 0)


def test_staff_notes_go_with_their_case(engine):
    old, _ = store.open_case(
        engine, schema.CaseDraft("old-user", trouble_type="phishing"), at=NOW - timedelta(days=100)
    )
    store.add_note(engine, old.reference, "agent-1", "折り返し 090-1234-5678", NOW - timedelta(days=100))
    assert retention.purge_cases(engine, retention.cutoff(NOW, 90)) == 1
    with engine.connect() as connection:
        assert connection.execute(select(schema.case_notes)).first() is None


def test_review_labels_go_when_they_are_as_old_as_the_cases(engine):
    review.assign(engine, ["すくしょはまだです"], "inform", "lead", at=NOW - timedelta(days=100))
    review.assign(engine, ["まだつづいてます"], "inform", "lead", at=NOW - timedelta(days=10))
    retention.purge_cases(engine, retention.cutoff(NOW, 90))
    assert [label.text for label in review.assignments(engine)] == ["まだつづいてます"]


def test_sms_costs_go_with_old_cases_but_a_stop_stays(engine):
    sms_usage.add(engine, "sms-old", 12, None, at=NOW - timedelta(days=100))
    sms_usage.add(engine, "sms-new", 3, None, at=NOW - timedelta(days=10))
    sms_usage.opt_out(engine, "sms-old", at=NOW - timedelta(days=100))
    retention.purge_cases(engine, retention.cutoff(NOW, 90))
    assert sms_usage.current(engine, "sms-old", None, at=NOW).segments == 0
    assert sms_usage.current(engine, "sms-new", None, at=NOW).segments == 3
    assert sms_usage.is_opted_out(engine, "sms-old")
