"""Conversations read back from a tracker database written by the project's own store."""

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from addons.tracker_store import MaskingSQLTrackerStore
from nettrouble.cases import tracker_events
from nettrouble.cases.tracker_events import conversation_events, conversations_between, tracker_engine
from nettrouble.core import masking
from nettrouble.core.clock import JST
from tests.fakes.environment import environment_variables
from tests.project_files import rasa_domain

PHONE_SENDER = "+81 90-1234-5678"
DAY = datetime(2020, 7, 15, 9, 0, tzinfo=JST)


SECRET = "test-secret-for-tracker-events-0123456789"


@pytest.fixture
def person_key_secret(env):
    env(PERSON_KEY_SECRET=SECRET)


def write(path, sender, moments):
    """One conversation through MaskingSQLTrackerStore: at each moment a user message, the
    greeting and a listen."""
    store = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path))
    tracker = asyncio.run(store.get_or_create_tracker(sender, append_action_listen=False))
    for index, moment in enumerate(moments):
        at = moment.timestamp()
        tracker.update(UserUttered(f"メッセージ{index} 090-1234-5678", timestamp=at))
        tracker.update(ActionExecuted("utter_greet", timestamp=at))
        tracker.update(BotUttered("こんにちは", metadata={"utter_action": "utter_greet"}, timestamp=at))
        tracker.update(ActionExecuted("action_listen", timestamp=at))
    asyncio.run(store.save(tracker))
    store.engine.dispose()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The tracker database of the tests below, written once: they only read it."""
    path = tmp_path_factory.mktemp("tracker_events") / "tracker.db"
    with environment_variables(PERSON_KEY_SECRET=SECRET):
        write(path, "web-early", [DAY - timedelta(days=2), DAY - timedelta(days=1)])
        write(path, "web-spanning", [DAY - timedelta(days=3), DAY + timedelta(hours=1)])
        write(path, PHONE_SENDER, [DAY + timedelta(hours=2)])
        write(path, "web-late", [DAY + timedelta(days=1)])
    return path


@pytest.fixture
def database(written, person_key_secret):
    engine = tracker_engine(f"sqlite:///{written}")
    yield engine
    engine.dispose()


def test_one_conversation_in_order_with_its_fields(database):
    found = conversation_events(database, "web-spanning")
    assert [event.type_name for event in found] == ["user", "action", "bot", "action"] * 2
    assert [event.id for event in found] == sorted(event.id for event in found)
    user, greeting, bot = found[0], found[1], found[2]
    assert user.intent_name is None and user.action_name is None
    assert user.data["text"] == "メッセージ0 ［電話番号］"  # masked by the store, as stored
    assert greeting.action_name == "utter_greet"
    assert bot.data["text"] == "こんにちは" and bot.data["metadata"]["utter_action"] == "utter_greet"
    assert user.timestamp == DAY - timedelta(days=3) and user.timestamp.utcoffset() == timedelta(hours=9)
    assert found[4].timestamp == DAY + timedelta(hours=1)


def test_a_phone_number_sender_finds_its_hashed_rows(database):
    by_number = conversation_events(database, PHONE_SENDER)
    by_key = conversation_events(database, masking.conversation_key(PHONE_SENDER))
    assert len(by_number) == 4 and by_number == by_key
    with database.connect() as connection:
        stored = {row[0] for row in connection.execute(text("select sender_id from events"))}
    assert PHONE_SENDER not in stored and masking.conversation_key(PHONE_SENDER) in stored


def test_an_unknown_conversation_is_empty(database):
    assert conversation_events(database, "web-nobody") == []
    assert conversation_events(database, "") == []


def test_conversations_between_gives_each_touched_conversation_whole(database, monkeypatch):
    # A batch smaller than one conversation, so that conversations cross batch boundaries.
    monkeypatch.setattr(tracker_events, "BATCH_ROWS", 3)
    found = dict(conversations_between(database, DAY, DAY + timedelta(days=1)))
    assert set(found) == {"web-spanning", masking.conversation_key(PHONE_SENDER)}
    assert found["web-spanning"] == conversation_events(database, "web-spanning")
    assert found[masking.conversation_key(PHONE_SENDER)] == conversation_events(database, PHONE_SENDER)


def test_the_range_is_closed_at_its_start_and_open_at_its_end(database):
    late = DAY + timedelta(days=1)
    assert [sender for sender, _ in conversations_between(database, late, late + timedelta(seconds=1))] == ["web-late"]
    assert list(conversations_between(database, late - timedelta(hours=1), late)) == []
    # naive datetimes are Japan time
    naive = late.replace(tzinfo=None)
    assert [sender for sender, _ in conversations_between(database, naive, naive + timedelta(seconds=1))] == [
        "web-late"
    ]
    utc = late.astimezone(timezone.utc)
    assert [sender for sender, _ in conversations_between(database, utc, utc + timedelta(seconds=1))] == ["web-late"]


def test_conversations_come_one_at_a_time(database):
    stream = conversations_between(database, DAY - timedelta(days=10), DAY + timedelta(days=10))
    first = next(stream)
    assert first[0] == sorted([masking.conversation_key(PHONE_SENDER), "web-early", "web-late", "web-spanning"])[0]
    assert len(list(stream)) == 3


def test_the_engine_cannot_write(database):
    with pytest.raises(OperationalError, match="readonly"):
        with database.begin() as connection:
            connection.execute(text("delete from events"))
    assert len(conversation_events(database, "web-late")) == 4


def test_a_store_not_created_yet_has_no_conversations_and_stays_uncreated(tmp_path):
    path = tmp_path / "never.db"
    engine = tracker_engine(f"sqlite:///{path}")
    assert conversation_events(engine, "web-x") == []
    assert list(conversations_between(engine, DAY, DAY + timedelta(days=1))) == []
    engine.dispose()
    assert not path.exists()


def test_a_database_without_the_events_table_has_no_conversations(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).execute("create table other (id integer)").connection.close()
    engine = tracker_engine(f"sqlite:///{path}")
    assert conversation_events(engine, "web-x") == []
    assert list(conversations_between(engine, DAY, DAY + timedelta(days=1))) == []
    engine.dispose()


def test_the_default_is_the_configured_tracker_database(tmp_path, env, person_key_secret):
    path = tmp_path / "configured.db"
    write(path, "web-configured", [DAY])
    env(TRACKER_DB_URL=None, TRACKER_DB=str(path))
    engine = tracker_engine()
    assert len(conversation_events(engine, "web-configured")) == 4
    engine.dispose()
