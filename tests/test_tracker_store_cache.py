"""The tracker store reads only what it has not seen, and stays right when two servers share a
database, a conversation is deleted or a new session starts."""

import asyncio
import sqlite3
from pathlib import Path

import sqlalchemy
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from addons.tracker_store import MaskingSQLTrackerStore
from nettrouble.cases import retention
from tests.project_files import rasa_domain


def store(path: Path) -> MaskingSQLTrackerStore:
    return MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path))


def turn(store_: MaskingSQLTrackerStore, sender: str, text: str, reply: str):
    tracker = asyncio.run(store_.get_or_create_tracker(sender))
    tracker.update(
        UserUttered(text, parse_data={"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []})
    )
    tracker.update(ActionExecuted("utter_reply"))
    tracker.update(BotUttered(reply))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store_.save(tracker))
    return tracker


def stored_rows(path: Path, sender: str):
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "select type_name, data from events where sender_id = ? order by id", (sender,)
        ).fetchall()


def texts(tracker):
    return [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))]


def test_two_servers_alternating_store_every_event_once_in_order(tmp_path):
    path = tmp_path / "tracker.db"
    first, second = store(path), store(path)
    for number in range(6):
        turn((first, second)[number % 2], "eve", f"message {number}", f"reply {number}")
    expected = [t for n in range(6) for t in (f"message {n}", f"reply {n}")]
    for server in (first, second, store(path)):
        assert texts(asyncio.run(server.retrieve("eve"))) == expected
    # the new conversation's first action_listen, then four events a turn
    assert len(stored_rows(path, "eve")) == 1 + 6 * 4


def test_a_cached_conversation_equals_one_read_from_the_database(tmp_path):
    path = tmp_path / "tracker.db"
    served = store(path)
    for number in range(4):
        turn(served, "frank", f"090-1234-567{number} です", "承りました")
    tracker = asyncio.run(served.get_or_create_tracker("frank"))
    tracker.update(SlotSet("platform", "X"))
    asyncio.run(served.save(tracker))
    cached = asyncio.run(served.retrieve("frank"))
    fresh = asyncio.run(store(path).retrieve("frank"))
    assert [e.as_dict() for e in cached.events] == [e.as_dict() for e in fresh.events]
    assert cached.current_state() == fresh.current_state()
    # the cache holds masked events only
    assert not any("1234" in (e.text or "") for e in cached.events if isinstance(e, UserUttered))
    assert cached.get_slot("platform") == "X"


def test_the_cache_never_hands_out_its_own_list(tmp_path):
    served = store(tmp_path / "tracker.db")
    turn(served, "gina", "hello", "hi")
    tracker = asyncio.run(served.retrieve("gina"))
    tracker.update(UserUttered("not saved"))
    assert "not saved" not in texts(asyncio.run(served.retrieve("gina")))


def test_a_deleted_conversation_is_not_served_from_the_cache(tmp_path):
    path = tmp_path / "tracker.db"
    served = store(path)
    turn(served, "hana", "old words", "old reply")
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(retention._DELETE_CONVERSATIONS, {"ids": ["hana"]})
    assert asyncio.run(served.retrieve("hana")) is None
    turn(served, "hana", "new words", "new reply")
    assert texts(asyncio.run(served.retrieve("hana"))) == ["new words", "new reply"]


def test_a_new_session_written_by_another_server_is_read_as_rasa_reads_it(tmp_path):
    path = tmp_path / "tracker.db"
    first, second = store(path), store(path)
    turn(first, "ivan", "before", "reply")
    tracker = asyncio.run(second.retrieve("ivan"))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(second.save(tracker))
    turn(second, "ivan", "after", "reply 2")
    seen_by_first = asyncio.run(first.retrieve("ivan"))
    assert texts(seen_by_first) == ["after", "reply 2"]
    assert texts(seen_by_first) == texts(asyncio.run(store(path).retrieve("ivan")))


def test_a_known_conversation_reads_no_rows_when_nothing_changed(tmp_path):
    path = tmp_path / "tracker.db"
    served = store(path)
    for number in range(5):
        turn(served, "jun", f"m{number}", f"r{number}")
    returned = []
    sqlalchemy.event.listen(
        served.engine, "after_cursor_execute", lambda conn, cursor, statement, *rest: returned.append(statement)
    )
    asyncio.run(served.retrieve("jun"))
    assert len(returned) == 1
    # the one query asks for rows after the last one seen and for the first row only
    assert "events.id >" in returned[0]


def test_sqlite_runs_in_write_ahead_log_mode(tmp_path):
    served = store(tmp_path / "tracker.db")
    with served.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_rows_are_indexed_by_conversation_and_id(tmp_path):
    path = tmp_path / "tracker.db"
    store(path)
    store(path)  # a second server finds the index there
    with sqlite3.connect(path) as connection:
        columns = [row[2] for row in connection.execute("PRAGMA index_info('ix_events_sender_id_id')")]
    assert columns == ["sender_id", "id"]


def test_a_flood_of_conversations_keeps_the_cache_bounded(tmp_path):
    served = store(tmp_path / "tracker.db")
    served._seen.size = 3
    for number in range(10):
        turn(served, f"flood-{number}", "hello", "hi")
        asyncio.run(served.retrieve(f"flood-{number}"))
    assert list(served._seen) == [f"flood-{number}" for number in (7, 8, 9)]
    # a conversation dropped from the cache is read whole, and right
    assert texts(asyncio.run(served.retrieve("flood-0"))) == ["hello", "hi"]


def test_stores_made_one_after_another_in_a_process_create_their_tables_without_errors(tmp_path, caplog):
    # Each store's create_all sees the one definition of the (sender_id, id) index: a second
    # definition made Rasa log "Could not create tables" at ERROR for every later store.
    with caplog.at_level("ERROR"):
        for name in ("first.db", "second.db", "third.db", "first.db"):
            store(tmp_path / name)
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == []
    for name in ("first.db", "second.db", "third.db"):
        with sqlite3.connect(tmp_path / name) as connection:
            indexes = {row[0] for row in connection.execute("select name from sqlite_master where type='index'")}
        assert "ix_events_sender_id_id" in indexes
