"""The ``callbacks`` table and every change to a booking.

A booking belongs to a case (``case_id``) and names its slot by the slot's start. Two columns
let the database, not a read-then-write check, keep the rules under concurrent requests:

- ``seat``: 1..``callback_capacity`` while the booking holds a place in its slot, NULL once it
  is cancelled. ``UNIQUE (slot_start, seat)``: booking tries the seats in turn, each insert in
  its own transaction, and a seat another booking holds fails with an IntegrityError; when
  every seat failed, the slot is full. However many requests race for one slot, at most
  ``callback_capacity`` inserts can succeed (tests/test_callbacks_store.py, 20 at once).
- ``live_case_id``: the case's id while the callback is still to be made (booked, no answer,
  retried), NULL once done or cancelled. ``UNIQUE (live_case_id)``: a case has one live callback.

States (staff mark the outcome of each call on the console):
  booked     → done (the user was reached), no_answer (the call was not answered)
  no_answer  → retried (staff called again), done
  retried    → done, no_answer
  any live   → cancelled (by the user in the chat)
The sealed number (``number_sealed``) is removed when the callback is done or cancelled; it is
kept after a call nobody answered, for the next try. Times are stored in Japan time (naive on
SQLite, like the cases); values read back go through ``in_japan``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from nettrouble.callbacks import sealing, slots
from nettrouble.callbacks.numbers import CallbackNumber
from nettrouble.cases.schema import cases
from nettrouble.content.hours import Calendar
from nettrouble.core.clock import in_japan, start_of_day
from nettrouble.core.sql_metadata import metadata

BOOKED = "booked"
NO_ANSWER = "no_answer"
RETRIED = "retried"
DONE = "done"
CANCELLED = "cancelled"
LIVE = (BOOKED, NO_ANSWER, RETRIED)
# Staff's marks: the states each may follow.
MARKS = {DONE: LIVE, NO_ANSWER: (BOOKED, RETRIED), RETRIED: (NO_ANSWER,)}
# Who changed a booking from the chat (staff are named by their console account).
CHAT = "chat"
MAX_WHO = 100

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("slot_start", DateTime(timezone=True), nullable=False),
    # 1..callback_capacity while the booking holds a place in its slot; NULL once cancelled.
    Column("seat", Integer, nullable=True),
    # The case's id while the call is still to be made; NULL once done or cancelled.
    Column("live_case_id", Integer, nullable=True),
    Column("state", String(16), nullable=False),
    # Calls made that nobody answered.
    Column("attempts", Integer, nullable=False),
    # The number to call, sealed (nettrouble.callbacks.sealing); NULL once done or cancelled.
    Column("number_sealed", Text, nullable=True),
    Column("booked_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(MAX_WHO), nullable=False),
    UniqueConstraint("slot_start", "seat", name="uq_callbacks_slot_seat"),
    UniqueConstraint("live_case_id", name="uq_callbacks_live_case"),
    Index("ix_callbacks_slot_start", "slot_start"),
)


class CallbackError(ValueError):
    """A change the store refuses; ``code`` says why: off, not_a_slot, slot_full,
    already_booked, not_found or not_allowed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Callback:
    """A booking as callers see it: never the number, only whether one is kept."""

    id: int
    case_id: int
    reference: str
    slot_start: datetime
    state: str
    attempts: int
    has_number: bool
    booked_at: datetime
    updated_at: datetime
    updated_by: str

    @property
    def live(self) -> bool:
        return self.state in LIVE

    @property
    def marks(self) -> List[str]:
        """The outcomes staff may mark now."""
        return [mark for mark, after in MARKS.items() if self.state in after]


def _columns() -> List[Any]:
    return [callbacks, cases.c.reference]


def _callback(row: Any) -> Callback:
    return Callback(
        id=row.id,
        case_id=row.case_id,
        reference=row.reference,
        slot_start=in_japan(row.slot_start),
        state=row.state,
        attempts=row.attempts,
        has_number=row.number_sealed is not None,
        booked_at=in_japan(row.booked_at),
        updated_at=in_japan(row.updated_at),
        updated_by=row.updated_by,
    )


def _joined(*conditions: Any) -> Any:
    return select(*_columns()).select_from(callbacks.join(cases, cases.c.id == callbacks.c.case_id)).where(*conditions)


def _get(bind: Connection, callback_id: int) -> Callback:
    return _callback(bind.execute(_joined(callbacks.c.id == callback_id)).one())


def live_for_case(engine: Engine, case_id: int) -> Optional[Callback]:
    """The case's callback still to be made, if it has one."""
    with engine.connect() as connection:
        row = connection.execute(_joined(callbacks.c.live_case_id == case_id)).first()
    return _callback(row) if row else None


def latest_for_case(engine: Engine, case_id: int) -> Optional[Callback]:
    """The case's live callback, else its last one (done or cancelled), for the case page."""
    with engine.connect() as connection:
        row = connection.execute(
            _joined(callbacks.c.case_id == case_id).order_by(
                callbacks.c.live_case_id.is_(None), callbacks.c.updated_at.desc(), callbacks.c.id.desc()
            )
        ).first()
    return _callback(row) if row else None


def on_day(engine: Engine, day: date) -> List[Callback]:
    """The callbacks booked in a slot of ``day`` (cancelled ones left out), in slot order."""
    with engine.connect() as connection:
        rows = connection.execute(
            _joined(
                callbacks.c.slot_start >= start_of_day(day),
                callbacks.c.slot_start < start_of_day(day + timedelta(days=1)),
                callbacks.c.state != CANCELLED,
            ).order_by(callbacks.c.slot_start, callbacks.c.seat, callbacks.c.id)
        ).all()
    return [_callback(row) for row in rows]


def taken(engine: Engine, starts: Sequence[datetime]) -> Dict[datetime, int]:
    """How many seats are held in each of the slots ``starts``."""
    if not starts:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(callbacks.c.slot_start, func.count())
            .where(callbacks.c.slot_start.in_([in_japan(s) for s in starts]), callbacks.c.seat.is_not(None))
            .group_by(callbacks.c.slot_start)
        ).all()
    return {in_japan(start): count for start, count in rows}


def open_slots(engine: Engine, after: datetime, cal: Calendar, count: Optional[int] = None) -> List[datetime]:
    """The next ``count`` slots after ``after`` with a free seat (all of them within the
    horizon when ``count`` is None; none when callbacks are off)."""
    if cal.callback_capacity < 1:
        return []
    ahead = list(slots.upcoming(after, cal))
    held = taken(engine, ahead)
    found = [start for start in ahead if held.get(start, 0) < cal.callback_capacity]
    return found if count is None else found[:count]


def _bookable(start: datetime, at: datetime, cal: Calendar) -> datetime:
    if cal.callback_capacity < 1:
        raise CallbackError("off", "callbacks are off (callback_capacity is 0)")
    start = in_japan(start)
    if not slots.is_slot(start, cal) or not in_japan(at) < start <= in_japan(at) + slots.HORIZON:
        raise CallbackError("not_a_slot", "not a callback slot that can be booked now")
    return start


def _who(by: str) -> str:
    if not isinstance(by, str) or not by.strip() or len(by) > MAX_WHO:
        raise CallbackError("not_allowed", "a change needs who made it")
    return by


def book(
    engine: Engine,
    case_id: int,
    start: datetime,
    number: CallbackNumber,
    at: datetime,
    cal: Calendar,
    secret: Optional[str] = None,
) -> Callback:
    """Books the slot ``start`` for the case: a free seat, or CallbackError slot_full. A case
    with a live callback gets already_booked (it can move it instead)."""
    start = _bookable(start, at, cal)
    at = in_japan(at)
    if live_for_case(engine, case_id) is not None:
        raise CallbackError("already_booked", "the case already has a callback")
    values = {
        "case_id": case_id,
        "slot_start": start,
        "live_case_id": case_id,
        "state": BOOKED,
        "attempts": 0,
        "number_sealed": sealing.seal(number.e164, case_id, secret),
        "booked_at": at,
        "updated_at": at,
        "updated_by": CHAT,
    }
    for seat in range(1, cal.callback_capacity + 1):
        try:
            # One insert per transaction, its first statement: SQLite takes the write lock at
            # once (no read lock to upgrade), and a failed seat leaves nothing behind.
            with engine.begin() as connection:
                inserted = connection.execute(callbacks.insert().values(**values, seat=seat))
                return _get(connection, inserted.inserted_primary_key[0])
        except IntegrityError:
            if live_for_case(engine, case_id) is not None:
                raise CallbackError("already_booked", "the case already has a callback") from None
    raise CallbackError("slot_full", "every seat of the slot is taken")


def move(engine: Engine, case_id: int, start: datetime, at: datetime, cal: Calendar, by: str = CHAT) -> Callback:
    """Moves the case's live callback to the slot ``start`` (a free seat there), keeping its number."""
    start = _bookable(start, at, cal)
    current = live_for_case(engine, case_id)
    if current is None:
        raise CallbackError("not_found", "the case has no callback to move")
    if current.slot_start == start:
        return current
    for seat in range(1, cal.callback_capacity + 1):
        try:
            with engine.begin() as connection:
                moved = connection.execute(
                    callbacks.update()
                    .where(callbacks.c.id == current.id, callbacks.c.live_case_id.is_not(None))
                    .values(slot_start=start, seat=seat, updated_at=in_japan(at), updated_by=_who(by))
                )
                if moved.rowcount == 0:
                    raise CallbackError("not_found", "the callback was done or cancelled meanwhile")
                return _get(connection, current.id)
        except IntegrityError:
            continue
    raise CallbackError("slot_full", "every seat of the slot is taken")


def cancel(engine: Engine, case_id: int, at: datetime, by: str = CHAT) -> Callback:
    """Cancels the case's live callback: its seat is freed and its number removed."""
    current = live_for_case(engine, case_id)
    if current is None:
        raise CallbackError("not_found", "the case has no callback to cancel")
    with engine.begin() as connection:
        cancelled = connection.execute(
            callbacks.update()
            .where(callbacks.c.id == current.id, callbacks.c.live_case_id.is_not(None))
            .values(
                state=CANCELLED,
                seat=None,
                live_case_id=None,
                number_sealed=None,
                updated_at=in_japan(at),
                updated_by=_who(by),
            )
        )
        if cancelled.rowcount == 0:
            raise CallbackError("not_found", "the callback was done or cancelled meanwhile")
        return _get(connection, current.id)


def mark(engine: Engine, callback_id: int, outcome: str, at: datetime, by: str) -> Callback:
    """Staff's mark of a call: done (the number is removed), no_answer or retried. A mark the
    state does not allow (or one another agent made first) is CallbackError not_allowed."""
    if outcome not in MARKS:
        raise CallbackError("not_allowed", f"unknown outcome {outcome!r}")
    values: Dict[str, Any] = {"state": outcome, "updated_at": in_japan(at), "updated_by": _who(by)}
    if outcome == DONE:
        values.update(live_case_id=None, number_sealed=None)
    elif outcome == NO_ANSWER:
        values["attempts"] = callbacks.c.attempts + 1
    with engine.begin() as connection:
        changed = connection.execute(
            callbacks.update()
            .where(callbacks.c.id == callback_id, callbacks.c.state.in_(MARKS[outcome]))
            .values(**values)
        )
        if changed.rowcount == 0:
            raise CallbackError("not_allowed", f"the callback cannot be marked {outcome} now")
        return _get(connection, callback_id)


def number_for_staff(engine: Engine, callback: Callback, secret: Optional[str] = None) -> Optional[str]:
    """The number to call as staff read it (090-1234-5678), None once removed. Raises
    ``sealing.Unreadable`` or ``sealing.NoKey`` when the key cannot open it."""
    with engine.connect() as connection:
        sealed = connection.execute(
            select(callbacks.c.number_sealed).where(callbacks.c.id == callback.id)
        ).scalar_one_or_none()
    if sealed is None:
        return None
    return CallbackNumber(sealing.unseal(sealed, callback.case_id, secret)).national
