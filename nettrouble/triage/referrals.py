"""Public bodies the assistant refers users to, from business/referrals.yml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from nettrouble.core import datafiles
from nettrouble.triage.urgency import DANGER, MINOR, SELF_HARM

# Topics beyond the trouble types: the bodies for these urgency flags.
SAFETY_TOPICS = (DANGER, SELF_HARM, MINOR)
FIELDS = ("id", "name", "purpose", "phone?", "hours", "url", "for")


@dataclass(frozen=True)
class Referral:
    id: str
    name: str
    purpose: str
    phone: str
    hours: str
    url: str
    topics: Tuple[str, ...]

    def line(self) -> str:
        """One line for a chat message: name, number or web address, hours."""
        contact = self.phone if self.phone else self.url
        return f"・{self.name} {contact}（{self.hours}）"


def load(path: Optional[Path] = None) -> List[Referral]:
    path = path or datafiles.business_file("referrals.yml")
    items = datafiles.entries(path, datafiles.read_yaml(path), "referrals")
    datafiles.unique_ids(path, items)
    known_topics = set(datafiles.TROUBLE_TYPES) | set(SAFETY_TOPICS)
    result = []
    for index, item in enumerate(items):
        values = datafiles.require_fields(path, item, index, FIELDS)
        topics = values["for"]
        if not isinstance(topics, list):
            raise datafiles.DataFileError(f"{path}: entry '{values['id']}' field 'for' must be a list")
        unknown = sorted(set(topics) - known_topics)
        if unknown:
            raise datafiles.DataFileError(
                f"{path}: entry '{values['id']}' field 'for' has unknown topic(s) {', '.join(unknown)}"
            )
        if not str(values["url"]).startswith("https://"):
            raise datafiles.DataFileError(f"{path}: entry '{values['id']}' field 'url' must start with https://")
        result.append(
            Referral(
                id=str(values["id"]),
                name=str(values["name"]),
                purpose=str(values["purpose"]),
                phone=str(values["phone"]),
                hours=str(values["hours"]),
                url=str(values["url"]),
                topics=tuple(topics),
            )
        )
    return result


@lru_cache(maxsize=1)
def catalogue() -> Tuple[Referral, ...]:
    """The referrals of business/referrals.yml, read once per process."""
    return tuple(load())


def for_topic(topic: str, referrals: Optional[Iterable[Referral]] = None) -> List[Referral]:
    return [r for r in (referrals if referrals is not None else catalogue()) if topic in r.topics]
