"""What SMS conversations cost and who opted out (nettrouble/channels/sms_usage.py), on the test's
service database (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set)."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from nettrouble.channels import sms_usage
from nettrouble.channels.sms_usage import Usage
from nettrouble.core import db

SENDER = "sms-" + "0" * 32
OTHER = "sms-" + "1" * 32
START = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
HOUR = timedelta(minutes=60)


def utc(moment):
    # SQLite gives back naive datetimes (written in UTC), PostgreSQL aware ones
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def row(database, sender=SENDER):
    with database.connect() as connection:
        return connection.execute(
            select(sms_usage.sms_conversations).where(sms_usage.sms_conversations.c.conversation_id == sender)
        ).one()


def test_turns_add_up_per_conversation(service_database):
    assert sms_usage.current(service_database, SENDER, HOUR, at=START) == Usage()
    assert sms_usage.add(service_database, SENDER, 2, HOUR, at=START) == Usage(2, 1)
    assert sms_usage.add(service_database, SENDER, 3, HOUR, at=START + timedelta(minutes=5)) == Usage(5, 2)
    assert sms_usage.add(service_database, OTHER, 1, HOUR, at=START) == Usage(1, 1)
    assert sms_usage.current(service_database, SENDER, HOUR, at=START + timedelta(minutes=6)) == Usage(5, 2)
    stored = row(service_database)
    assert utc(stored.started_at) == START
    assert utc(stored.last_at) == START + timedelta(minutes=5)


def test_a_conversation_starts_again_after_the_expiry_without_messages(service_database):
    sms_usage.add(service_database, SENDER, 4, HOUR, at=START)
    # each turn moves the end: 59 minutes after the last one, still the same conversation
    sms_usage.add(service_database, SENDER, 1, HOUR, at=START + timedelta(minutes=59))
    assert sms_usage.current(service_database, SENDER, HOUR, at=START + timedelta(minutes=118)) == Usage(5, 2)
    later = START + timedelta(minutes=59) + HOUR
    assert sms_usage.current(service_database, SENDER, HOUR, at=later) == Usage()
    assert sms_usage.add(service_database, SENDER, 2, HOUR, at=later) == Usage(2, 1)
    assert utc(row(service_database).started_at) == later


def test_without_an_expiry_a_conversation_never_starts_again(service_database):
    sms_usage.add(service_database, SENDER, 4, None, at=START)
    assert sms_usage.add(service_database, SENDER, 1, None, at=START + timedelta(days=30)) == Usage(5, 2)


def test_two_servers_counting_at_once_lose_nothing(database_url):
    engines = [db.prepare(database_url), db.create(database_url)]
    together = threading.Barrier(2)

    def count(engine):
        together.wait()
        for _ in range(10):
            sms_usage.add(engine, SENDER, 1, HOUR)

    servers = [threading.Thread(target=count, args=(engine,)) for engine in engines]
    for server in servers:
        server.start()
    for server in servers:
        server.join()
    engines[1].dispose()
    assert sms_usage.current(engines[0], SENDER, HOUR) == Usage(20, 20)


def test_opting_out_and_in(service_database):
    assert not sms_usage.is_opted_out(service_database, SENDER)
    sms_usage.opt_out(service_database, SENDER, at=START)
    sms_usage.opt_out(service_database, SENDER, at=START + HOUR)  # the first time is kept
    assert sms_usage.is_opted_out(service_database, SENDER)
    assert not sms_usage.is_opted_out(service_database, OTHER)
    with service_database.connect() as connection:
        rows = connection.execute(select(sms_usage.sms_opt_outs)).all()
    assert [(r.conversation_id, utc(r.opted_out_at)) for r in rows] == [(SENDER, START)]
    sms_usage.opt_in(service_database, SENDER)
    sms_usage.opt_in(service_database, SENDER)  # nothing to remove: no error
    assert not sms_usage.is_opted_out(service_database, SENDER)


@pytest.mark.parametrize("sender", ["", "x" * 65, None])
def test_a_bad_conversation_id_is_refused(service_database, sender):
    with pytest.raises(ValueError):
        sms_usage.add(service_database, sender, 1, HOUR)
    with pytest.raises(ValueError):
        sms_usage.opt_out(service_database, sender)


def test_negative_segments_are_refused(service_database):
    with pytest.raises(ValueError):
        sms_usage.add(service_database, SENDER, -1, HOUR)
