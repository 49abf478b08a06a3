"""The free-consultation ledger: one person, one case per campaign, decided by the database;
claims pending until the number is proved, confirmed, expired or released."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from nettrouble.core import db
from nettrouble.core.clock import JST
from nettrouble.eligibility import ledger

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
    assert columns == {
        "campaign_id",
        "person_key",
        "case_reference",
        "reserved_at",
        "state",
        "expires_at",
        "confirmed_via",
    }
    uniques = [set(u["column_names"]) for u in inspector.get_unique_constraints("free_consultations")]
    assert {"campaign_id", "person_key"} in uniques


def test_the_constraint_holds_at_the_database_level(engine):
    row = (
        "INSERT INTO free_consultations (campaign_id, person_key, case_reference, reserved_at) "
        "VALUES ('c', :key, :ref, '2020-07-01 10:00:00')"
    )
    with engine.begin() as connection:
        connection.execute(text(row), {"key": KEY, "ref": "NT-1"})
    with pytest.raises(Exception, match="UNIQUE"):
        with engine.begin() as connection:
            connection.execute(text(row), {"key": KEY, "ref": "NT-2"})


def test_first_reservation_then_same_case_then_another_case(engine):
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-2007-00001-1") == ledger.Reservation(
        ledger.RESERVED, "NT-2007-00001-1", ledger.PENDING
    )
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-2007-00001-1") == ledger.Reservation(
        ledger.SAME_CASE, "NT-2007-00001-1", ledger.PENDING
    )
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-2007-00002-2") == ledger.Reservation(
        ledger.ALREADY_USED, "NT-2007-00001-1", ledger.PENDING
    )


AT = datetime(2020, 7, 15, 11, 0, tzinfo=JST)


def test_a_pending_claim_holds_the_number_until_it_expires_then_frees_it(engine):
    first = ledger.reserve(engine, CAMPAIGN, KEY, "NT-1", at=AT, pending_for=timedelta(hours=2))
    assert (first.result, first.state) == (ledger.RESERVED, ledger.PENDING)
    held = ledger.holder(engine, CAMPAIGN, KEY, at=AT + timedelta(hours=1))
    assert (held.case_reference, held.state, held.expires_at) == ("NT-1", ledger.PENDING, AT + timedelta(hours=2))
    assert ledger.holder(engine, CAMPAIGN, KEY, at=AT + timedelta(hours=2)) is None
    later = ledger.reserve(engine, CAMPAIGN, KEY, "NT-2", at=AT + timedelta(hours=3))
    assert later == ledger.Reservation(ledger.RESERVED, "NT-2", ledger.PENDING, "NT-1", ledger.EXPIRED)


def test_a_proved_claim_takes_the_number_from_another_cases_pending_claim(engine):
    ledger.reserve(engine, CAMPAIGN, KEY, "NT-attacker", at=AT)
    owner = ledger.reserve(engine, CAMPAIGN, KEY, "NT-owner", at=AT, proved_by=ledger.VIA_CODE)
    assert owner == ledger.Reservation(ledger.RESERVED, "NT-owner", ledger.CONFIRMED, "NT-attacker", ledger.RELEASED)
    held = ledger.holder(engine, CAMPAIGN, KEY, at=AT)
    assert (held.case_reference, held.state, held.expires_at) == ("NT-owner", ledger.CONFIRMED, None)
    # nothing takes a confirmed claim: neither a pending claim nor another proof
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-3", at=AT).result == ledger.ALREADY_USED
    again = ledger.reserve(engine, CAMPAIGN, KEY, "NT-4", at=AT, proved_by=ledger.VIA_STAFF)
    assert (again.result, again.case_reference, again.state) == (ledger.ALREADY_USED, "NT-owner", ledger.CONFIRMED)


def test_a_proof_confirms_the_cases_own_pending_claim(engine):
    ledger.reserve(engine, CAMPAIGN, KEY, "NT-1", at=AT)
    confirmed = ledger.reserve(engine, CAMPAIGN, KEY, "NT-1", at=AT, proved_by=ledger.VIA_SMS_SENDER)
    assert confirmed == ledger.Reservation(ledger.SAME_CASE, "NT-1", ledger.CONFIRMED)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT state, expires_at, confirmed_via FROM free_consultations")).one()
    assert tuple(row) == (ledger.CONFIRMED, None, ledger.VIA_SMS_SENDER)


def test_release_frees_only_the_claim_of_that_case(engine):
    ledger.reserve(engine, CAMPAIGN, KEY, "NT-1", at=AT)
    assert not ledger.release(engine, CAMPAIGN, KEY, "NT-2")
    assert ledger.holder(engine, CAMPAIGN, KEY, at=AT).case_reference == "NT-1"
    assert ledger.release(engine, CAMPAIGN, KEY, "NT-1")
    assert ledger.holder(engine, CAMPAIGN, KEY, at=AT) is None


def test_an_unknown_proof_is_refused(engine):
    with pytest.raises(ledger.LedgerInputError):
        ledger.reserve(engine, CAMPAIGN, KEY, "NT-1", proved_by="the_user_said_so")


def test_a_database_of_the_previous_version_is_upgraded_with_its_claims_confirmed(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = db.engine(url)
    with old.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE free_consultations (campaign_id VARCHAR(64) NOT NULL, person_key VARCHAR(64) "
                "NOT NULL, case_reference VARCHAR(64) NOT NULL, reserved_at DATETIME NOT NULL, "
                "CONSTRAINT uq_free_consultations_campaign_person UNIQUE (campaign_id, person_key))"
            )
        )
        connection.execute(
            text("INSERT INTO free_consultations VALUES (:c, :k, 'NT-old', '2020-07-02 10:00:00')"),
            {"c": CAMPAIGN, "k": KEY},
        )
    upgraded = db.prepare(url)
    held = ledger.holder(upgraded, CAMPAIGN, KEY)
    assert (held.case_reference, held.state) == ("NT-old", ledger.CONFIRMED)
    assert ledger.reserve(upgraded, CAMPAIGN, KEY, "NT-new", proved_by=ledger.VIA_CODE).result == ledger.ALREADY_USED
    db.dispose_all()


def test_persons_and_campaigns_are_counted_separately(engine):
    assert ledger.reserve(engine, CAMPAIGN, KEY, "NT-1").result == ledger.RESERVED
    assert ledger.reserve(engine, CAMPAIGN, OTHER_KEY, "NT-2").result == ledger.RESERVED
    assert ledger.reserve(engine, "sns-defamation-2021", KEY, "NT-3").result == ledger.RESERVED


def test_holder_reads_the_case_and_the_time_in_japan(engine):
    assert ledger.holder(engine, CAMPAIGN, KEY) is None
    at = datetime(2020, 7, 1, 1, 30, tzinfo=timezone.utc)
    ledger.reserve(engine, CAMPAIGN, KEY, "NT-1", at=at)
    held = ledger.holder(engine, CAMPAIGN, KEY, at=at)
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
