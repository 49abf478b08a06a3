"""Free-consultation campaigns, from business/campaigns.yml.

A campaign makes the paid phone consultation free for some trouble types between two days,
both inclusive, in Japan time: it starts at midnight JST of ``first_day`` and ends at midnight
JST after ``last_day``, whatever the server's own time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

from nettrouble.core import datafiles
from nettrouble.core.clock import in_japan, start_of_day
from nettrouble.eligibility.ledger import MAX_CAMPAIGN_ID

FIELDS = ("id", "name", "first_day", "last_day", "topics")
_ID = re.compile(f"[a-z0-9][a-z0-9-]{{0,{MAX_CAMPAIGN_ID - 1}}}")


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    first_day: date
    last_day: date
    topics: Tuple[str, ...]

    @property
    def starts_at(self) -> datetime:
        return start_of_day(self.first_day)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the campaign (exclusive end)."""
        return start_of_day(self.last_day + timedelta(days=1))

    def covers(self, topic: Optional[str]) -> bool:
        return topic in self.topics

    def running(self, moment: datetime) -> bool:
        return self.starts_at <= in_japan(moment) < self.ends_at

    def upcoming(self, moment: datetime) -> bool:
        return in_japan(moment) < self.starts_at


def _day(path: Path, item: Mapping[str, Any], index: int, field: str) -> date:
    return datafiles.day(item[field], f"{path}: {datafiles.entry_name(item, index)} field '{field}'")


def _campaign(path: Path, item: Mapping[str, Any], index: int) -> Campaign:
    values = datafiles.require_fields(path, item, index, FIELDS)
    where = f"{path}: {datafiles.entry_name(item, index)}"
    if not isinstance(values["id"], str) or not _ID.fullmatch(values["id"]):
        raise datafiles.DataFileError(
            f"{where} field 'id' must be lower-case letters, digits and hyphens (at most {MAX_CAMPAIGN_ID} characters)"
        )
    first_day = _day(path, item, index, "first_day")
    last_day = _day(path, item, index, "last_day")
    if last_day < first_day:
        raise datafiles.DataFileError(f"{where} field 'last_day' is before its first_day")
    topics = values["topics"]
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise datafiles.DataFileError(f"{where} field 'topics' must be a list of trouble types")
    unknown = sorted(set(topics) - set(datafiles.TROUBLE_TYPES))
    if unknown:
        raise datafiles.DataFileError(f"{where} field 'topics' has unknown trouble type(s) {', '.join(unknown)}")
    return Campaign(
        id=values["id"],
        name=str(values["name"]),
        first_day=first_day,
        last_day=last_day,
        topics=tuple(dict.fromkeys(topics)),
    )


def _pending_window(path: Path, document: Any) -> timedelta:
    hours = document.get("claim_pending_hours") if isinstance(document, Mapping) else None
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 24 * 90:
        raise datafiles.DataFileError(f"{path}: 'claim_pending_hours' must be whole hours from 1 to 2160")
    return timedelta(hours=hours)


@lru_cache(maxsize=1)
def claim_pending_window(path: Optional[Path] = None) -> timedelta:
    """How long an unproved claim holds a number (``claim_pending_hours`` in campaigns.yml)."""
    path = path or datafiles.business_file("campaigns.yml")
    return _pending_window(path, datafiles.read_yaml(path))


def load(path: Optional[Path] = None) -> Tuple[Campaign, ...]:
    """Every campaign of the file, validated; raises ``DataFileError`` naming file, id and field."""
    path = path or datafiles.business_file("campaigns.yml")
    items = datafiles.entries(path, datafiles.read_yaml(path), "campaigns")
    datafiles.unique_ids(path, items)
    return tuple(_campaign(path, item, index) for index, item in enumerate(items))


@lru_cache(maxsize=1)
def catalogue() -> Tuple[Campaign, ...]:
    """The campaigns of business/campaigns.yml, read once per process."""
    return load()
