"""Business hours of the phone centre: open right now, exactly when it next opens, and how
many open minutes lie between two moments (the staff queue's waiting time).

The rules come from business/hours.yml (opening and closing time, working weekdays, closure
days, the queue's waiting-time alert) plus Japanese public holidays from ``jpholiday``.
Everything here is a pure function of the moment passed in; callers take it from
``nettrouble.core.clock.now()`` so that demos and tests pinned with ``CLOCK_OVERRIDE`` see the same
time as the eligibility rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, FrozenSet, Mapping, Optional, Tuple

import jpholiday

from nettrouble.content import messages
from nettrouble.core import datafiles
from nettrouble.core.clock import JST, in_japan

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_JA = "月火水木金土日"

# A year and a little: the longest stretch a closure list can sensibly cover. Beyond it the
# operator has closed the centre for good and there is no next opening to announce.
_SEARCH_DAYS = 400
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


@dataclass(frozen=True)
class Closure:
    """Closed days beyond weekends and holidays: a one-off range of dates (``first``..``last``)
    or a yearly range of (month, day) pairs that may span the New Year."""

    id: str
    name: str
    first: Optional[date] = None
    last: Optional[date] = None
    yearly_from: Optional[Tuple[int, int]] = None
    yearly_to: Optional[Tuple[int, int]] = None

    @property
    def yearly(self) -> bool:
        return self.yearly_from is not None

    def covers(self, day: date) -> bool:
        if self.yearly_from is not None and self.yearly_to is not None:
            month_day = (day.month, day.day)
            if self.yearly_from <= self.yearly_to:
                return self.yearly_from <= month_day <= self.yearly_to
            return month_day >= self.yearly_from or month_day <= self.yearly_to
        if self.first is None or self.last is None:
            raise ValueError(f"closure {self.id!r} has neither its dates nor its yearly range")
        return self.first <= day <= self.last


@dataclass(frozen=True)
class Calendar:
    opening: time
    closing: time
    weekdays: FrozenSet[int]
    public_holidays_closed: bool
    closures: Tuple[Closure, ...]
    # Business minutes a case may wait in the staff queue before it is shown as overdue.
    queue_wait_alert_minutes: int
    # Users who may book the same 30-minute callback slot (nettrouble/callbacks/); 0: no callbacks.
    callback_capacity: int = 0

    def closed_because(self, day: date) -> Optional[str]:
        """Why ``day`` is a closed day: the closure's or holiday's name, or "weekday" for a
        day of the week the centre does not work; None on a working day."""
        for closure in self.closures:
            if closure.covers(day):
                return closure.name
        if self.public_holidays_closed:
            holiday = jpholiday.is_holiday_name(day)
            if holiday:
                return holiday
        if day.weekday() not in self.weekdays:
            return "weekday"
        return None


@dataclass(frozen=True)
class HoursStatus:
    """The centre as seen at ``moment`` (Japan time). When open, ``closes_at`` is today's
    closing time and ``next_opening`` is None; when closed, ``next_opening`` is the exact next
    opening (None only if the calendar has no working day within a year) and
    ``closed_today`` names today's holiday or closure, if that is why it is closed."""

    moment: datetime
    open_now: bool
    closes_at: Optional[datetime]
    next_opening: Optional[datetime]
    closed_today: Optional[str]


def _clock(path: Path, value: Any, field: str) -> time:
    match = _CLOCK.fullmatch(str(value)) if isinstance(value, str) else None
    if not match:
        raise datafiles.DataFileError(f"{path}: '{field}' must be a time \"HH:MM\", not {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _month_day(path: Path, where: str, value: Any) -> Tuple[int, int]:
    match = _MONTH_DAY.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise datafiles.DataFileError(f'{path}: {where} must be "MM-DD", not {value!r}')
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2000, month, day)  # a leap year, so that 02-29 is allowed
    except ValueError:
        raise datafiles.DataFileError(f"{path}: {where} is not a day of the year: {value!r}") from None
    return month, day


def _closure(path: Path, item: Mapping[str, Any], index: int) -> Closure:
    values = datafiles.require_fields(path, item, index, ("id", "name"))
    where = datafiles.entry_name(item, index)
    kinds = [key for key in ("yearly", "date", "from") if key in item]
    if len(kinds) != 1 or ("to" in item) != (kinds == ["from"]):
        raise datafiles.DataFileError(
            f"{path}: {where} needs exactly one of 'yearly: {{from, to}}', 'date', or 'from' with 'to'"
        )
    closure_id, name = str(values["id"]), str(values["name"])
    if kinds == ["yearly"]:
        yearly = item["yearly"]
        if not isinstance(yearly, Mapping) or set(yearly) != {"from", "to"}:
            raise datafiles.DataFileError(f"{path}: {where} field 'yearly' must have 'from' and 'to'")
        return Closure(
            closure_id,
            name,
            yearly_from=_month_day(path, f"{where} field 'yearly.from'", yearly["from"]),
            yearly_to=_month_day(path, f"{where} field 'yearly.to'", yearly["to"]),
        )
    if kinds == ["date"]:
        day = datafiles.day(item["date"], f"{path}: {where} field 'date'")
        return Closure(closure_id, name, first=day, last=day)
    first = datafiles.day(item["from"], f"{path}: {where} field 'from'")
    last = datafiles.day(item["to"], f"{path}: {where} field 'to'")
    if last < first:
        raise datafiles.DataFileError(f"{path}: {where} ends ('to') before it starts ('from')")
    return Closure(closure_id, name, first=first, last=last)


def load(path: Optional[Path] = None) -> Calendar:
    path = path or datafiles.business_file("hours.yml")
    document = datafiles.read_yaml(path)
    if not isinstance(document, Mapping):
        raise datafiles.DataFileError(f"{path}: expected a mapping with opening_time, closing_time, …")
    for field in ("opening_time", "closing_time", "weekdays", "public_holidays_closed"):
        if document.get(field) is None:
            raise datafiles.DataFileError(f"{path}: '{field}' is missing")
    opening = _clock(path, document["opening_time"], "opening_time")
    closing = _clock(path, document["closing_time"], "closing_time")
    if closing <= opening:
        raise datafiles.DataFileError(f"{path}: 'closing_time' must be later than 'opening_time'")
    weekdays = document["weekdays"]
    if not isinstance(weekdays, list) or not weekdays or any(d not in WEEKDAY_KEYS for d in weekdays):
        raise datafiles.DataFileError(f"{path}: 'weekdays' must be a non-empty list of {', '.join(WEEKDAY_KEYS)}")
    if not isinstance(document["public_holidays_closed"], bool):
        raise datafiles.DataFileError(f"{path}: 'public_holidays_closed' must be true or false")
    items = document.get("closures") or []
    if not isinstance(items, list) or any(not isinstance(item, Mapping) for item in items):
        raise datafiles.DataFileError(f"{path}: 'closures' must be a list of entries")
    datafiles.unique_ids(path, items)
    closures = tuple(_closure(path, item, index) for index, item in enumerate(items))
    # Checked last, so that a file with an older mistake is told about that one first.
    alert = document.get("queue_wait_alert_minutes")
    if isinstance(alert, bool) or not isinstance(alert, int) or alert < 1:
        raise datafiles.DataFileError(
            f"{path}: 'queue_wait_alert_minutes' must be a whole number of minutes, 1 or more, not {alert!r}"
        )
    capacity = document.get("callback_capacity", 0)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        raise datafiles.DataFileError(
            f"{path}: 'callback_capacity' must be a whole number of callbacks per slot, 0 or more, not {capacity!r}"
        )
    return Calendar(
        opening=opening,
        closing=closing,
        weekdays=frozenset(WEEKDAY_KEYS.index(d) for d in weekdays),
        public_holidays_closed=document["public_holidays_closed"],
        closures=closures,
        queue_wait_alert_minutes=alert,
        callback_capacity=capacity,
    )


@lru_cache(maxsize=1)
def calendar() -> Calendar:
    """The calendar of business/hours.yml, read once per process."""
    return load()


def status_at(moment: datetime, cal: Optional[Calendar] = None) -> HoursStatus:
    """Whether the centre is open at ``moment`` and, if not, when it next opens."""
    cal = cal or calendar()
    moment = in_japan(moment)
    today = moment.date()
    closed_today = cal.closed_because(today)
    if closed_today is None and cal.opening <= moment.time() < cal.closing:
        closes_at = datetime.combine(today, cal.closing, tzinfo=JST)
        return HoursStatus(moment, True, closes_at, None, None)
    next_opening = None
    for offset in range(_SEARCH_DAYS):
        day = today + timedelta(days=offset)
        opening = datetime.combine(day, cal.opening, tzinfo=JST)
        if opening > moment and cal.closed_because(day) is None:
            next_opening = opening
            break
    named = closed_today if closed_today not in (None, "weekday") else None
    return HoursStatus(moment, False, None, next_opening, named)


def business_minutes_between(start: datetime, end: datetime, cal: Optional[Calendar] = None) -> int:
    """Whole minutes from ``start`` to ``end`` during which the centre is open: the part of each
    working day between opening and closing time, nothing on weekends, holidays and closures.
    0 when ``end`` is not after ``start``. A case handed off on Friday night has waited 0 minutes
    on Monday at 10:00: nobody could have called back in between."""
    cal = cal or calendar()
    start, end = in_japan(start), in_japan(end)
    total = timedelta()
    day = start.date()
    while day <= end.date():
        if cal.closed_because(day) is None:
            opens = max(start, datetime.combine(day, cal.opening, tzinfo=JST))
            closes = min(end, datetime.combine(day, cal.closing, tzinfo=JST))
            if closes > opens:
                total += closes - opens
        day += timedelta(days=1)
    return total // timedelta(minutes=1)


def format_day(day: date, today: Optional[date] = None) -> str:
    """「5月6日(木)」, with the year when it is not ``today``'s year."""
    text = f"{day.month}月{day.day}日({WEEKDAY_JA[day.weekday()]})"
    if today is not None and day.year != today.year:
        text = f"{day.year}年{text}"
    return text


def hours_text(cal: Optional[Calendar] = None) -> str:
    """The opening hours as quoted to users, e.g. 「10:00〜18:00（土日・祝日・年末年始を除く）」."""
    cal = cal or calendar()
    closed_days = [d for d in range(7) if d not in cal.weekdays]
    excluded = []
    if closed_days == [5, 6]:
        excluded.append("土日")
    elif closed_days:
        excluded.append("・".join(f"{WEEKDAY_JA[d]}曜" for d in closed_days))
    if cal.public_holidays_closed:
        excluded.append("祝日")
    excluded.extend(closure.name for closure in cal.closures if closure.yearly)
    span = f"{cal.opening:%H:%M}〜{cal.closing:%H:%M}"
    return f"{span}（{'・'.join(excluded)}を除く）" if excluded else span


def availability_sentence(status: HoursStatus) -> str:
    """One polite sentence: open now (until when), or closed and the exact next opening."""
    if status.open_now:
        return messages.OPEN_NOW.format(closes_at=f"{status.closes_at:%H:%M}")
    today = status.moment.date()
    closed_today = messages.CLOSED_TODAY.format(closure=status.closed_today) if status.closed_today else ""
    if status.next_opening is None:
        return messages.CLOSED_NO_OPENING_KNOWN.format(closed_today=closed_today)
    day = status.next_opening.date()
    relative = {0: messages.TODAY, 1: messages.TOMORROW}.get((day - today).days, "")
    return messages.CLOSED_NEXT_OPENING.format(
        closed_today=closed_today,
        relative=relative,
        day=format_day(day, today),
        time=f"{status.next_opening:%H:%M}",
    )
