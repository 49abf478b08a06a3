"""When notices may go out: not between 21:00 and 08:00 Japan time, and to one person at most
once a Japan day. Times come from ``nettrouble.core.clock`` (so a pinned clock pins these rules
too) and are stored in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from nettrouble.core.clock import JST, in_japan

QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)


def is_quiet(at: datetime) -> bool:
    """Whether ``at`` is in the quiet hours (21:00 included, 08:00 not)."""
    moment = in_japan(at).time()
    return moment >= QUIET_FROM or moment < QUIET_UNTIL


def quiet_ends(at: datetime) -> datetime:
    """The next 08:00 in Japan at or after ``at``."""
    local = in_japan(at)
    opening = datetime.combine(local.date(), QUIET_UNTIL, tzinfo=JST)
    return opening if local <= opening else opening + timedelta(days=1)


def japan_day(at: datetime) -> date:
    return in_japan(at).date()


def stored(at: datetime) -> datetime:
    """``at`` as the database keeps it: aware, in UTC (SQLite drops the offset)."""
    if at.tzinfo is None:
        raise ValueError("expected an aware datetime")
    return at.astimezone(timezone.utc)


def read(value: datetime) -> datetime:
    """A stored time back as an aware datetime (SQLite gives naive UTC)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
