"""The 30-minute callback slots of the centre's calendar (business/hours.yml) and the next open
ones. A slot is named by its start, an aware datetime in Japan time; the first slot of a working
day starts at the opening time and the last one ends by the closing time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterator, List, Optional

from nettrouble.content.hours import Calendar
from nettrouble.core.clock import JST, in_japan

SLOT = timedelta(minutes=30)
# How far ahead slots are offered and read: two weeks covers the longest closure of the
# calendar (year-end) with working days to choose from after it.
HORIZON = timedelta(days=14)


def starts_on(day: date, cal: Calendar) -> List[datetime]:
    """Every slot start of ``day``; none on a closed day."""
    if cal.closed_because(day) is not None:
        return []
    start = datetime.combine(day, cal.opening, tzinfo=JST)
    closing = datetime.combine(day, cal.closing, tzinfo=JST)
    starts = []
    while start + SLOT <= closing:
        starts.append(start)
        start += SLOT
    return starts


def upcoming(after: datetime, cal: Calendar, horizon: timedelta = HORIZON) -> Iterator[datetime]:
    """The slot starts later than ``after`` and within ``horizon`` of it, in order."""
    after = in_japan(after)
    day, last = after.date(), (after + horizon).date()
    while day <= last:
        for start in starts_on(day, cal):
            if after < start <= after + horizon:
                yield start
        day += timedelta(days=1)


def is_slot(start: datetime, cal: Calendar) -> bool:
    """Whether ``start`` begins a slot of the calendar."""
    start = in_japan(start)
    return start in starts_on(start.date(), cal)


def parse_start(value: object) -> Optional[datetime]:
    """A slot start from its ISO 8601 form (slots, button payloads); None for anything that is
    not an aware time."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return in_japan(moment) if moment.tzinfo is not None else None


def iso(start: datetime) -> str:
    """The form of the ``callback_slot`` slot: ISO 8601 with +09:00, to the second."""
    return in_japan(start).replace(microsecond=0).isoformat()
