"""The fraud cover's terms and wording, from business/fraud_cover.yml (its header says what each
field means), validated so that a mistake stops the action server at start-up.

The file must agree with business/service.yml, whose FAQ answers quote the same benefit: the same
name, and the same cap in words (``fraud_cover_cap_text``). Two files that disagreed would tell a
user two different caps.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

from nettrouble.content import service
from nettrouble.core import datafiles
from nettrouble.core.clock import in_japan, start_of_day
from nettrouble.core.money import yen_text
from nettrouble.cover.codes import CHECKS, OUTCOMES, WITH_FIGURES

FIELDS = ("name", "applies_from", "cap_yen", "conditions", "outcomes", "prepare")
# Placeholders any text may use, and those only the answers worked out from the amounts may.
PLAIN_VALUES = frozenset({"name", "service", "cap"})
FIGURES = frozenset({"lost", "provider_pays", "remaining", "estimate"})
# A cap past this is a typo (an extra zero or two), not a term of an insurance benefit.
MAX_CAP_YEN = 100_000_000


@dataclass(frozen=True)
class Condition:
    text: str
    check: Optional[str] = None


@dataclass(frozen=True)
class PrepareItem:
    id: str
    text: str


@dataclass(frozen=True)
class Terms:
    name: str
    applies_from: date
    cap: int
    conditions: Tuple[Condition, ...]
    outcomes: Mapping[str, str]
    prepare: Tuple[PrepareItem, ...]

    @property
    def checks(self) -> FrozenSet[str]:
        """The conditions the engine applies."""
        return frozenset(condition.check for condition in self.conditions if condition.check)

    def in_force(self, moment: datetime) -> bool:
        """Whether the terms apply at ``moment`` (from midnight, Japan time, of applies_from)."""
        return in_japan(moment) >= start_of_day(self.applies_from)


def _placeholders(text: str, where: str) -> FrozenSet[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:
        raise datafiles.DataFileError(f"{where} has a broken {{placeholder}} ({error})") from None
    return frozenset(names)


def _text(value: Any, where: str, allowed: FrozenSet[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise datafiles.DataFileError(f"{where} must be non-empty text")
    unknown = sorted(_placeholders(value, where) - allowed)
    if unknown:
        raise datafiles.DataFileError(f"{where} uses unknown placeholder(s) {', '.join(unknown)}")
    return value.strip()


def _cap(path: Path, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_CAP_YEN:
        raise datafiles.DataFileError(f"{path}: 'cap_yen' must be a whole number of yen from 1 to {MAX_CAP_YEN}")
    return value


def _items(path: Path, document: Mapping[str, Any], key: str) -> List[Mapping[str, Any]]:
    items = datafiles.entries(path, document, key)
    if not items:
        raise datafiles.DataFileError(f"{path}: '{key}' is empty")
    return items


def _conditions(path: Path, document: Mapping[str, Any]) -> Tuple[Condition, ...]:
    conditions: List[Condition] = []
    for index, item in enumerate(_items(path, document, "conditions")):
        where = f"{path}: condition {index + 1}"
        check = item.get("check")
        if check is not None and check not in CHECKS:
            raise datafiles.DataFileError(f"{where} has the unknown check {check!r} (known: {', '.join(CHECKS)})")
        if check is not None and any(c.check == check for c in conditions):
            raise datafiles.DataFileError(f"{where} repeats the check {check!r}")
        conditions.append(Condition(_text(item.get("text"), f"{where} field 'text'", PLAIN_VALUES), check))
    return tuple(conditions)


def _outcomes(path: Path, document: Mapping[str, Any]) -> Dict[str, str]:
    texts = document["outcomes"]
    if not isinstance(texts, Mapping):
        raise datafiles.DataFileError(f"{path}: 'outcomes' must map each outcome to its text")
    unknown = sorted(set(texts) - set(OUTCOMES))
    missing = [code for code in OUTCOMES if code not in texts]
    if unknown or missing:
        raise datafiles.DataFileError(
            f"{path}: 'outcomes' must have exactly {', '.join(OUTCOMES)}"
            + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    return {
        code: _text(
            texts[code],
            f"{path}: outcome '{code}'",
            PLAIN_VALUES | FIGURES if code in WITH_FIGURES else PLAIN_VALUES,
        )
        for code in OUTCOMES
    }


def _prepare(path: Path, document: Mapping[str, Any]) -> Tuple[PrepareItem, ...]:
    items = _items(path, document, "prepare")
    datafiles.unique_ids(path, items)
    return tuple(
        PrepareItem(
            str(item["id"]),
            _text(item.get("text"), f"{path}: {datafiles.entry_name(item, index)} field 'text'", PLAIN_VALUES),
        )
        for index, item in enumerate(items)
    )


def _agrees_with_service(path: Path, terms: Terms, facts: service.Service) -> None:
    where = datafiles.business_file("service.yml")
    if facts.fraud_cover_name != terms.name:
        raise datafiles.DataFileError(
            f"{path}: 'name' {terms.name!r} is not {where}'s fraud_cover_name {facts.fraud_cover_name!r}"
        )
    if facts.fraud_cover_cap_text != yen_text(terms.cap):
        raise datafiles.DataFileError(
            f"{path}: 'cap_yen' {terms.cap} is {yen_text(terms.cap)}, "
            f"but {where}'s fraud_cover_cap_text says {facts.fraud_cover_cap_text!r}"
        )


def load(path: Optional[Path] = None, facts: Optional[service.Service] = None) -> Terms:
    """The terms of the file, validated; raises ``DataFileError`` naming the file and the field.
    ``facts`` (business/service.yml by default) must name the same benefit and cap."""
    path = path or datafiles.business_file("fraud_cover.yml")
    document = datafiles.read_yaml(path)
    if not isinstance(document, Mapping):
        raise datafiles.DataFileError(f"{path}: expected a mapping with {', '.join(FIELDS)}")
    for field in FIELDS:
        if document.get(field) is None:
            raise datafiles.DataFileError(f"{path}: no '{field}'")
    unknown = sorted(str(key) for key in document if key not in FIELDS)
    if unknown:
        raise datafiles.DataFileError(f"{path}: unknown field(s) {', '.join(unknown)}")
    name = document["name"]
    if not isinstance(name, str) or not name.strip() or "{" in name:
        raise datafiles.DataFileError(f"{path}: 'name' must be non-empty text")
    terms = Terms(
        name=name.strip(),
        applies_from=datafiles.day(document["applies_from"], f"{path}: 'applies_from'"),
        cap=_cap(path, document["cap_yen"]),
        conditions=_conditions(path, document),
        outcomes=_outcomes(path, document),
        prepare=_prepare(path, document),
    )
    _agrees_with_service(path, terms, facts or service.facts())
    return terms


@lru_cache(maxsize=1)
def catalogue() -> Terms:
    """business/fraud_cover.yml, read once per process."""
    return load()
