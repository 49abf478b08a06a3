"""First steps and public bodies for a triaged trouble, from business/first_steps.yml and
business/referrals.yml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from nettrouble.core import datafiles
from nettrouble.triage import referrals
from nettrouble.triage.referrals import Referral
from nettrouble.triage.urgency import DANGER, MINOR

MAX_STEPS = 4
MAX_REFERRALS = 3


@dataclass(frozen=True)
class Step:
    text: str
    when: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()

    def applies(self, answers: Mapping[str, object]) -> bool:
        return all(str(answers.get(slot, "unknown")) in values for slot, values in self.when)


def load_steps(path: Optional[Path] = None) -> Dict[str, List[Step]]:
    path = path or datafiles.business_file("first_steps.yml")
    document = datafiles.read_yaml(path)
    if not isinstance(document, Mapping) or not isinstance(document.get("first_steps"), Mapping):
        raise datafiles.DataFileError(f"{path}: expected a top-level 'first_steps:' mapping")
    result = {}
    for trouble_type, items in document["first_steps"].items():
        if trouble_type not in datafiles.TROUBLE_TYPES:
            raise datafiles.DataFileError(f"{path}: unknown trouble type '{trouble_type}'")
        if not isinstance(items, list):
            raise datafiles.DataFileError(f"{path}: '{trouble_type}' must be a list of steps")
        steps = []
        for index, item in enumerate(items):
            where = f"{path}: {trouble_type} step {index + 1}"
            if not isinstance(item, Mapping) or not str(item.get("text") or "").strip():
                raise datafiles.DataFileError(f"{where} has no 'text'")
            when = item.get("when") or {}
            if not isinstance(when, Mapping) or not all(isinstance(v, list) for v in when.values()):
                raise datafiles.DataFileError(f"{where}: 'when' must map answers to lists of values")
            steps.append(
                Step(
                    text=str(item["text"]).strip(),
                    when=tuple((slot, tuple(str(v) for v in values)) for slot, values in when.items()),
                )
            )
        if sum(1 for step in steps if not step.when) < 2:
            raise datafiles.DataFileError(f"{path}: '{trouble_type}' needs at least two steps without 'when'")
        result[trouble_type] = steps
    missing = sorted(set(datafiles.TROUBLE_TYPES) - set(result))
    if missing:
        raise datafiles.DataFileError(f"{path}: no steps for {', '.join(missing)}")
    return result


@lru_cache(maxsize=1)
def steps_catalogue() -> Dict[str, List[Step]]:
    """business/first_steps.yml, read once per process."""
    return load_steps()


def first_steps(
    trouble_type: str, answers: Mapping[str, object], catalogue: Optional[Mapping[str, Sequence[Step]]] = None
) -> List[str]:
    steps = (catalogue or steps_catalogue()).get(trouble_type, [])
    return [step.text for step in steps if step.applies(answers)][:MAX_STEPS]


def bodies(trouble_type: str, urgency: Sequence[str], catalogue: Optional[Sequence[Referral]] = None) -> List[Referral]:
    """The public bodies for the type, then those for the urgency flags (children, danger)."""
    pool = catalogue if catalogue is not None else referrals.catalogue()
    chosen = referrals.for_topic(trouble_type, pool)[:MAX_REFERRALS]
    for flag in (DANGER, MINOR):
        if flag in urgency:
            chosen += [r for r in referrals.for_topic(flag, pool) if r not in chosen]
    return chosen


def guidance_card(trouble_type: str, answers: Mapping[str, object], urgency: Sequence[str]) -> Dict[str, object]:
    """The same first steps and bodies as ``guidance_response``, as data for channels that draw
    cards (LINE): each body with its number and address apart."""
    return {
        "kind": "guidance",
        "steps": first_steps(trouble_type, answers),
        "referrals": [
            {"name": r.name, "purpose": r.purpose, "phone": r.phone, "hours": r.hours, "url": r.url}
            for r in bodies(trouble_type, urgency)
        ],
    }


def guidance_response(
    trouble_type: str, answers: Mapping[str, object], urgency: Sequence[str]
) -> Tuple[str, Dict[str, Any]]:
    """The response that gives the first steps, numbered, and the public bodies when there are
    any (utter_first_steps, utter_first_steps_and_bodies), with its values (texts; typed as
    utter_message takes them, ``**kwargs: Any``)."""
    steps = "\n".join(f"{number}. {text}" for number, text in enumerate(first_steps(trouble_type, answers), 1))
    chosen = bodies(trouble_type, urgency)
    if not chosen:
        return "utter_first_steps", {"steps": steps}
    return "utter_first_steps_and_bodies", {"steps": steps, "referral_lines": "\n".join(r.line() for r in chosen)}
