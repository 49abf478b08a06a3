"""The callbacks table: booking within a slot's capacity (also when 20 requests race for one
slot), moving, cancelling, staff's marks, and the number sealed in the database and removed
once the call is done. On SQLite, and again on PostgreSQL with TEST_POSTGRES_URL (conftest.py,
scripts/postgres_tests.sh)."""

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nettrouble.callbacks import numbers, sealing
from nettrouble.callbacks import store as callbacks
from nettrouble.callbacks.store import CallbackError
from nettrouble.cases import retention
from nettrouble.cases import store as cases
from nettrouble.cases.schema import CaseDraft
from nettrouble.content import hours
from nettrouble.core.clock import JST

KEY = "test-callback-number-key-0123456789abcdef"
NUMBER = numbers.read_number("090-1234-5678")
SATURDAY_NIGHT = datetime(2026, 12, 12, 21, 30, tzinfo=JST)
MONDAY_10 = datetime(2026, 12, 14, 10, 0, tzinfo=JST)
MONDAY_1030 = MONDAY_10 + timedelta(minutes=30)
CAPACITY = 3
HOURS = (
    'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon, tue, wed, thu, fri]\n'
    f"public_holidays_closed: true\nqueue_wait_alert_minutes: 30\ncallback_capacity: {CAPACITY}\nclosures: []\n"
)


@pytest.fixture
def cal(tmp_path):
    path = tmp_path / "hours.yml"
    path.write_text(HOURS, encoding="utf-8")
    return hours.load(path)


@pytest.fixture
def engine(service_database, env):
    env(CALLBACK_NUMBER_KEY=KEY, CLOCK_OVERRIDE="", HANDOFF_WEBHOOK_URL="")
    return service_database


def new_case(engine, n=1):
    draft = CaseDraft(conversation_id=f"conv-{n}", channel="web", trouble_type="phishing", summary="偽SMS")
    case, _ = cases.open_case(engine, draft, at=SATURDAY_NIGHT - timedelta(minutes=5), notify=False)
    return case


def book(engine, cal, case, start=MONDAY_10):
    return callbacks.book(engine, case.id, start, NUMBER, SATURDAY_NIGHT, cal)


def held(engine, start):
    with engine.connect() as connection:
        return connection.execute(
            select(func.count())
            .select_from(callbacks.callbacks)
            .where(callbacks.callbacks.c.slot_start == start, callbacks.callbacks.c.seat.is_not(None))
        ).scalar()


def test_a_booking_holds_a_seat_and_the_sealed_number(engine, cal):
    case = new_case(engine)
    booked = book(engine, cal, case)
    assert (booked.reference, booked.slot_start, booked.state, booked.attempts) == (
        case.reference,
        MONDAY_10,
        callbacks.BOOKED,
        0,
    )
    assert booked.has_number and booked.live and booked.marks == [callbacks.DONE, callbacks.NO_ANSWER]
    assert callbacks.live_for_case(engine, case.id) == booked
    assert callbacks.number_for_staff(engine, booked) == "090-1234-5678"
    assert held(engine, MONDAY_10) == 1


def test_open_slots_leave_out_full_ones(engine, cal):
    for n in range(1, CAPACITY + 1):
        book(engine, cal, new_case(engine, n))
    assert callbacks.open_slots(engine, SATURDAY_NIGHT, cal, 2) == [MONDAY_1030, MONDAY_10 + timedelta(hours=1)]
    assert callbacks.taken(engine, [MONDAY_10, MONDAY_1030]) == {MONDAY_10: CAPACITY}


def test_a_full_slot_refuses_one_more(engine, cal):
    for n in range(1, CAPACITY + 1):
        book(engine, cal, new_case(engine, n))
    with pytest.raises(CallbackError) as refused:
        book(engine, cal, new_case(engine, CAPACITY + 1))
    assert refused.value.code == "slot_full"
    assert held(engine, MONDAY_10) == CAPACITY


@pytest.mark.system  # threads racing on the database
def test_twenty_bookings_at_once_never_exceed_the_capacity(engine, cal):
    case_ids = [new_case(engine, n).id for n in range(20)]
    barrier = threading.Barrier(len(case_ids))
    results, errors = [], []

    def attempt(case_id):
        barrier.wait()
        try:
            results.append(callbacks.book(engine, case_id, MONDAY_10, NUMBER, SATURDAY_NIGHT, cal).case_id)
        except CallbackError as refused:
            results.append(refused.code)
        except Exception as error:  # noqa: BLE001 - reported below, with the thread's exception
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(case_id,)) for case_id in case_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    booked = [r for r in results if r != "slot_full"]
    assert len(booked) == CAPACITY and results.count("slot_full") == len(case_ids) - CAPACITY
    assert held(engine, MONDAY_10) == CAPACITY
    assert sorted(c.case_id for c in callbacks.on_day(engine, MONDAY_10.date())) == sorted(booked)


def test_a_case_has_one_live_callback(engine, cal):
    case = new_case(engine)
    book(engine, cal, case)
    with pytest.raises(CallbackError) as refused:
        book(engine, cal, case, MONDAY_1030)
    assert refused.value.code == "already_booked"


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 12, 12, 10, 0, tzinfo=JST),  # a Saturday, and past
        datetime(2026, 12, 14, 10, 15, tzinfo=JST),  # not a slot's start
        datetime(2026, 12, 14, 18, 0, tzinfo=JST),  # after closing
        datetime(2027, 1, 11, 10, 0, tzinfo=JST),  # beyond the two weeks offered
    ],
)
def test_only_an_offered_slot_can_be_booked(engine, cal, start):
    with pytest.raises(CallbackError) as refused:
        book(engine, cal, new_case(engine), start)
    assert refused.value.code == "not_a_slot"


def test_no_callbacks_without_capacity(engine, tmp_path):
    path = tmp_path / "closed.yml"
    path.write_text(HOURS.replace(f"callback_capacity: {CAPACITY}", "callback_capacity: 0"), encoding="utf-8")
    cal = hours.load(path)
    assert callbacks.open_slots(engine, SATURDAY_NIGHT, cal, 5) == []
    with pytest.raises(CallbackError) as refused:
        book(engine, cal, new_case(engine))
    assert refused.value.code == "off"


def test_moving_takes_a_seat_in_the_new_slot_and_frees_the_old_one(engine, cal):
    case = new_case(engine)
    book(engine, cal, case)
    moved = callbacks.move(engine, case.id, MONDAY_1030, SATURDAY_NIGHT, cal)
    assert moved.slot_start == MONDAY_1030 and moved.has_number
    assert (held(engine, MONDAY_10), held(engine, MONDAY_1030)) == (0, 1)
    for n in range(2, CAPACITY + 2):
        book(engine, cal, new_case(engine, n), MONDAY_10)
    with pytest.raises(CallbackError) as refused:
        callbacks.move(engine, case.id, MONDAY_10, SATURDAY_NIGHT, cal)
    assert refused.value.code == "slot_full"
    assert callbacks.live_for_case(engine, case.id).slot_start == MONDAY_1030


def test_cancelling_frees_the_seat_and_removes_the_number(engine, cal):
    case = new_case(engine)
    booked = book(engine, cal, case)
    cancelled = callbacks.cancel(engine, case.id, SATURDAY_NIGHT)
    assert (cancelled.state, cancelled.has_number, cancelled.live) == (callbacks.CANCELLED, False, False)
    assert held(engine, MONDAY_10) == 0 and callbacks.live_for_case(engine, case.id) is None
    assert callbacks.number_for_staff(engine, booked) is None
    assert callbacks.on_day(engine, MONDAY_10.date()) == []
    with pytest.raises(CallbackError) as refused:
        callbacks.cancel(engine, case.id, SATURDAY_NIGHT)
    assert refused.value.code == "not_found"
    assert book(engine, cal, case).live  # booked again afterwards


def test_staff_mark_no_answer_retried_then_done_which_removes_the_number(engine, cal):
    booked = book(engine, cal, new_case(engine))
    at = MONDAY_10 + timedelta(minutes=5)
    with pytest.raises(CallbackError):
        callbacks.mark(engine, booked.id, callbacks.RETRIED, at, "sato")  # nothing to retry yet
    no_answer = callbacks.mark(engine, booked.id, callbacks.NO_ANSWER, at, "sato")
    assert (no_answer.state, no_answer.attempts, no_answer.has_number) == (callbacks.NO_ANSWER, 1, True)
    assert no_answer.marks == [callbacks.DONE, callbacks.RETRIED]
    retried = callbacks.mark(engine, booked.id, callbacks.RETRIED, at + timedelta(minutes=20), "sato")
    assert (retried.state, retried.updated_by) == (callbacks.RETRIED, "sato")
    done = callbacks.mark(engine, booked.id, callbacks.DONE, at + timedelta(minutes=21), "suzuki")
    assert (done.state, done.has_number, done.live, done.marks) == (callbacks.DONE, False, False, [])
    assert callbacks.number_for_staff(engine, done) is None
    assert callbacks.latest_for_case(engine, booked.case_id) == done
    with pytest.raises(CallbackError) as refused:
        callbacks.mark(engine, booked.id, callbacks.DONE, at, "sato")
    assert refused.value.code == "not_allowed"


def test_the_days_callbacks_in_slot_order(engine, cal):
    later = book(engine, cal, new_case(engine, 1), MONDAY_1030)
    earlier = book(engine, cal, new_case(engine, 2), MONDAY_10)
    book(engine, cal, new_case(engine, 3), MONDAY_10 + timedelta(days=1))
    assert [c.id for c in callbacks.on_day(engine, MONDAY_10.date())] == [earlier.id, later.id]


def test_the_database_holds_no_digit_of_the_number(engine, cal, database_url):
    booked = book(engine, cal, new_case(engine))
    with engine.connect() as connection:
        stored = connection.execute(select(callbacks.callbacks.c.number_sealed)).scalar_one()
    assert stored.startswith(sealing.VERSION) and "5678" not in stored
    if database_url.startswith("sqlite"):
        engine.dispose()  # the write-ahead log is folded back into the file
        path = Path(database_url.split("sqlite:///", 1)[1])
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for form in ("09012345678", "090-1234-5678", "+819012345678", "819012345678"):
            assert form.encode() not in raw and form.encode("utf-16-le") not in raw
        assert stored.encode() in raw  # the check reads what the database wrote
    assert callbacks.number_for_staff(engine, booked) == "090-1234-5678"


def test_another_key_cannot_read_the_number(engine, cal):
    booked = book(engine, cal, new_case(engine))
    with pytest.raises(sealing.Unreadable):
        callbacks.number_for_staff(engine, booked, secret="another-key-of-at-least-32-characters")


def test_purging_an_old_case_removes_its_callback(engine, cal):
    book(engine, cal, new_case(engine))
    assert retention.purge_cases(engine, SATURDAY_NIGHT + timedelta(days=1)) == 1
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(callbacks.callbacks)).scalar() == 0
