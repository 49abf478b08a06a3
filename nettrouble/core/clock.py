"""The one clock of every time-dependent rule: the current time in Japan.

``CLOCK_OVERRIDE`` (ISO 8601 with offset) pins it for demos and tests. Japan keeps no daylight
saving time, so a fixed +09:00 offset is exact and needs no time-zone database.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from nettrouble.core.settings import settings

JST = timezone(timedelta(hours=9), "JST")


def now() -> datetime:
    """The current moment as an aware datetime in Japan time (the override when set)."""
    pinned = settings().clock_override
    return (pinned or datetime.now(timezone.utc)).astimezone(JST)


def in_japan(moment: datetime) -> datetime:
    """``moment`` in Japan time; a naive datetime is taken to be Japan time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=JST)
    return moment.astimezone(JST)


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in Japan."""
    return datetime.combine(day, time(0, 0), tzinfo=JST)
