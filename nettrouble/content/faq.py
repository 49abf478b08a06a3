"""Answers to questions about the service (business/faq.yml), worded for the current time.

Plain Python, no Rasa. The classifier picks a FAQ key; ``answer`` picks the variant of that
key's answer whose conditions hold now (before, during or after a free-consultation campaign;
while some articles are free to read; once the user has a case reference) and fills in the
figures from the other business files, so each fact lives in one place.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import AbstractSet, Dict, List, Mapping, Optional, Sequence, Tuple

from nettrouble.content import articles, hours, service
from nettrouble.core import datafiles
from nettrouble.core.clock import in_japan
from nettrouble.eligibility import campaigns
from nettrouble.triage import referrals
from nettrouble.triage.plans import TYPE_LABELS

CONDITIONS = {
    "campaign": ("before", "during", "after", "none"),
    "free_reading": (True, False),
    "reference": (True, False),
    "topic_covered": (True, False),
}
# The facts of business/service.yml that answers may quote, by their field names.
SERVICE_FACTS = (
    "name",
    "centre",
    "phone",
    "hours_text",
    "monthly_fee_text",
    "eligibility_text",
    "site_url",
    "articles_url",
    "fraud_cover_name",
    "fraud_cover_cap_text",
    "fraud_cover_payments_text",
    "fraud_cover_insurer",
)
PLACEHOLDERS = {
    *SERVICE_FACTS,
    "open_now",
    "campaign_name",
    "campaign_period",
    "campaign_first_day",
    "campaign_last_day",
    "campaign_topics",
    "free_reading_until",
    "trouble_types",
    "reference",
}
REFERRAL_PREFIX = "referral_"
_KEY = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Variant:
    when: Tuple[Tuple[str, object], ...]
    text: str


def _unwrap(text: str) -> str:
    """Line breaks wrap the file only, except around the lines of a list (「・」)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    result = lines[:1]
    for previous, line in zip(lines, lines[1:]):
        listed = [text.startswith(("・", "{" + REFERRAL_PREFIX)) for text in (previous, line)]
        joint = "\n" if any(listed) else ""
        result.append(joint + line)
    return "".join(result)


def _fields(text: str) -> List[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def _variant(path: Path, key: str, index: int, item: object, known_referrals: AbstractSet[str]) -> Variant:
    where = f"{path}: answer '{key}', variant {index + 1}"
    if not isinstance(item, Mapping) or not isinstance(item.get("text"), str) or not item["text"].strip():
        raise datafiles.DataFileError(f"{where}: needs a non-empty 'text'")
    unknown_fields = set(item) - {"text", "when"}
    if unknown_fields:
        raise datafiles.DataFileError(f"{where}: unknown field(s) {sorted(unknown_fields)}")
    when = item.get("when") or {}
    if not isinstance(when, Mapping):
        raise datafiles.DataFileError(f"{where}: 'when' must be a mapping")
    for condition, value in when.items():
        if condition not in CONDITIONS or value not in CONDITIONS[condition]:
            raise datafiles.DataFileError(f"{where}: unknown condition {condition}: {value}")
    text = _unwrap(item["text"])
    try:
        names = _fields(text)
    except ValueError as error:
        raise datafiles.DataFileError(f"{where}: malformed placeholder ({error})") from None
    for name in names:
        if name.startswith(REFERRAL_PREFIX):
            if name[len(REFERRAL_PREFIX) :] not in known_referrals:
                raise datafiles.DataFileError(f"{where}: no public body '{name}' in referrals.yml")
        elif name not in PLACEHOLDERS:
            raise datafiles.DataFileError(f"{where}: unknown placeholder {{{name}}}")
    return Variant(tuple(when.items()), text)


def load(path: Optional[Path] = None) -> Dict[str, Tuple[Variant, ...]]:
    path = path or datafiles.business_file("faq.yml")
    document = datafiles.read_yaml(path)
    answers = document.get("answers") if isinstance(document, Mapping) else None
    if not isinstance(answers, Mapping) or not answers:
        raise datafiles.DataFileError(f"{path}: expected 'answers:' with one entry per FAQ key")
    known_referrals = {referral.id for referral in referrals.catalogue()}
    catalogue: Dict[str, Tuple[Variant, ...]] = {}
    for key, variants in answers.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise datafiles.DataFileError(f"{path}: '{key}' is not a FAQ key (lower-case letters, digits, _)")
        if not isinstance(variants, list) or not variants:
            raise datafiles.DataFileError(f"{path}: answer '{key}' needs a list of variants")
        parsed = tuple(_variant(path, key, i, item, known_referrals) for i, item in enumerate(variants))
        if all(variant.when for variant in parsed):
            raise datafiles.DataFileError(f"{path}: answer '{key}' needs a variant without 'when'")
        catalogue[key] = parsed
    return catalogue


@lru_cache(maxsize=1)
def catalogue() -> Dict[str, Tuple[Variant, ...]]:
    """business/faq.yml, read once per process (the action server's start)."""
    return load()


def keys() -> Sequence[str]:
    return tuple(catalogue())


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def campaign_phase(moment: datetime) -> Tuple[str, Optional[campaigns.Campaign]]:
    """The campaign to speak of at ``moment``: the running one, else the next, else the last."""
    known = campaigns.catalogue()
    running = [c for c in known if c.running(moment)]
    if running:
        return "during", running[0]
    upcoming = sorted((c for c in known if c.upcoming(moment)), key=lambda c: c.first_day)
    if upcoming:
        return "before", upcoming[0]
    if known:
        return "after", max(known, key=lambda c: c.last_day)
    return "none", None


def free_reading_until(moment: datetime) -> Optional[date]:
    """The last day of the free reading of articles open at ``moment``, if any is."""
    index = articles.index()
    until = (articles.free_until(article, moment) for article in index.articles)
    days = [day for day in until if day is not None]
    return max(days) if days else None


def _facts(moment: datetime, reference: Optional[str]) -> Dict[str, str]:
    facts = service.facts()
    phase, campaign = campaign_phase(moment)
    values = {name: getattr(facts, name) for name in SERVICE_FACTS}
    values["hours_text"] = hours.hours_text()
    values["open_now"] = hours.availability_sentence(hours.status_at(moment))
    values["trouble_types"] = "、".join(TYPE_LABELS.values())
    values["reference"] = reference or ""
    until = free_reading_until(moment)
    values["free_reading_until"] = f"{until.month}月{until.day}日" if until else ""
    if campaign is not None:
        values.update(
            campaign_name=campaign.name,
            campaign_period=f"{_day(campaign.first_day)}〜{_day(campaign.last_day)}",
            campaign_first_day=_day(campaign.first_day),
            campaign_last_day=_day(campaign.last_day),
            campaign_topics="、".join(TYPE_LABELS[t] for t in campaign.topics),
        )
    return values


def _conditions(moment: datetime, reference: Optional[str], topic: Optional[str]) -> Dict[str, object]:
    phase, campaign = campaign_phase(moment)
    return {
        "campaign": phase,
        "free_reading": free_reading_until(moment) is not None,
        "reference": bool(reference),
        "topic_covered": bool(campaign and topic and campaign.covers(topic)),
    }


class _Values(dict[str, str]):
    def __missing__(self, name: str) -> str:
        if name.startswith(REFERRAL_PREFIX):
            wanted = name[len(REFERRAL_PREFIX) :]
            return next((r.line() for r in referrals.catalogue() if r.id == wanted), "")
        return ""


def answer(key: str, moment: datetime, reference: Optional[str] = None, topic: Optional[str] = None) -> Optional[str]:
    """The answer to FAQ ``key`` at ``moment`` for a user with this case reference and trouble
    type; None for a key without an answer."""
    variants = catalogue().get(key)
    if not variants:
        return None
    moment = in_japan(moment)
    state = _conditions(moment, reference, topic)
    chosen = next(v for v in variants if all(state[name] == value for name, value in v.when))
    return chosen.text.format_map(_Values(_facts(moment, reference)))
