"""The free-consultation ledger: one person, one case per campaign, decided by the database."""
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect, text

from nettrouble import db, ledger
from nettrouble.clock import JST

KEY = "a" * 64
OTHER_KEY = "b" * 64
CAMPAIGN = "sns-defamation-2020"


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    prepared = db.prepare(url)
    yield prepared
    db.dispose_all()


def test_the_table_is_created_with_its_unique_constraint(engine):
    inspector = inspect(engine)
    assert "free_consultations" in inspector.get_table_names()
    columns = {c["name"] for c in inspector.get_columns("free_consultations")}
    assert columns == {"campaign_id", "person_key", "case_reference", "reserved_at"}
    uniques = [set(u["column_names"]) for u in inspector.get_unique_constraints("free_consultations")]
    assert {"campaign_id", "person_key"} in uniques


def test_the_constraint_holds_at_the_database_level(engine):
    row = "INSERT INTO free_consultations VALUES ('c', :key, :ref, '2020-07-01 10:00:00')"
    with engine.begin() as connection:
        connection.execute(text(row), {"key": KEY, "ref": "NT-1"})
    with pytest.raises(Exception, match="UNIQUE"):
        with engine.begin() as connection:
            connection.execute(text(row), {"key": KEY, "ref": "NT-2"})


def test_first_reservation_then_same_case_then_another_case(engine):
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-2007-00001-1") == ledger.Reservation(
        ledger.RESERVED, "NT-2007-00001-1"
    )
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-2007-00001-1") == ledger.Reservation(
        ledger.SAME_CASE, "NT-2007-00001-1"
    )
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-2007-00002-2") == ledger.Reservation(
        ledger.ALREADY_USED, "NT-2007-00001-1"
    )


def test_persons_and_campaigns_are_counted_separately(engine):
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-1").result == ledger.RESERVED
    assert ledger.reserve(engine, CAMPAIGN, OTHER_KEY, "NT-2").result == ledger.RESERVED
    assert ledger.reserve(engine, "sns-defamation-2021", KEY, "NT-3").result == ledger.RESERVED


def test_holder_reads_the_case_and_the_time_in_japan(engine):
    assert ledger.holder(engine, CAMPAIGN, KEY) is None
    at = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)
    ledger.reserve(engine, CAMPAIGN, KEY, "NT-1", at=at)
    held = ledger.holder(engine, CAMPAIGN, KEY)
    assert held.case_reference == "NT-1"
    assert held.reserved_at == at
    assert held.reserved_at.utcoffset() == JST.utcoffset(None)


def test_a_reservation_in_the_callers_transaction_rolls_back_with_it(engine):
    with pytest.raises(RuntimeError):
        with engine.begin() as connection:
            assert ledger.reserve(connection, CAMPAIGN, KEY, "NT-1").result == ledger.RESERVED
            assert ledger.holder(connection, CAMPAIGN, KEY).case_reference == "NT-1"
            raise RuntimeError("the case could not be written")
    assert ledger.holder(engine, CAMPAIGN, KEY) is None


def test_a_conflict_leaves_the_callers_transaction_usable(engine):
    ledger.reserve(engine, CAMPAIGN, KEY, "NT-1")
    with engine.begin() as connection:
        assert ledger.reserve(connection, CAMPAIGN, KEY, "NT-2").result == ledger.ALREADY_USED
        assert ledger.reserve(connection, CAMPAIGN, OTHER_KEY, "NT-2").result == ledger.RESERVED
    assert ledger.holder(engine, CAMPAIGN, OTHER_KEY).case_reference == "NT-2"


@pytest.mark.parametrize(
    "campaign_id, person_key, reference",
    [
        ("", KEY, "NT-1"),
        ("x" * 65, KEY, "NT-1"),
        (CAMPAIGN, "09012345678", "NT-1"),
        (CAMPAIGN, "090-1234-5678", "NT-1"),
        (CAMPAIGN, "A" * 64, "NT-1"),
        (CAMPAIGN, "g" * 64, "NT-1"),
        (CAMPAIGN, None, "NT-1"),
        (CAMPAIGN, KEY, ""),
        (CAMPAIGN, KEY, "N" * 65),
        (CAMPAIGN, KEY, None),
    ],
)
def test_bad_arguments_never_reach_the_table(engine, campaign_id, person_key, reference):
    with pytest.raises(ledger.LedgerInputError):
        ledger.reserve(engine, campaign_id, person_key, reference)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM free_consultations")).scalar() == 0


def _race(engine, references):
    barrier = threading.Barrier(len(references))
    results, errors = [None] * len(references), []

    def attempt(index, reference):
        try:
            barrier.wait()
            results[index] = ledger.reserve(engine, CAMPAIGN, KEY, reference)
        except Exception as error:  # collected so the assertion names it
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(i, r)) for i, r in enumerate(references)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_fifty_concurrent_reservations_for_different_cases_let_exactly_one_win(engine):
    results = _race(engine, [f"NT-2007-{i:05d}-0" for i in range(50)])
    winners = [r for r in results if r.result == ledger.RESERVED]
    assert len(winners) == 1
    losers = [r for r in results if r.result == ledger.ALREADY_USED]
    assert len(losers) == 49
    assert {r.case_reference for r in losers} == {winners[0].case_reference}
    assert ledger.holder(engine, CAMPAIGN, KEY).case_reference == winners[0].case_reference
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM free_consultations")).scalar() == 1


def test_concurrent_handoffs_of_the_same_case_are_all_fine(engine):
    results = _race(engine, ["NT-2007-00001-1"] * 20)
    assert sorted(r.result for r in results) == [ledger.RESERVED] + [ledger.SAME_CASE] * 19
