"""Why staff closed a case, from business/closing_reasons.yml: stable codes and the labels the
console shows. ``nettrouble.cases.store.close`` accepts only a code listed here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Tuple

from nettrouble.core import datafiles

# Codes are stored in cases.closing_reason (64 characters) and read by scripts over the export.
MAX_CODE = 64
_CODE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class ClosingReason:
    code: str
    label: str


def load(path: Optional[Path] = None) -> Tuple[ClosingReason, ...]:
    path = path or datafiles.business_file("closing_reasons.yml")
    items = datafiles.entries(path, datafiles.read_yaml(path), "closing_reasons")
    if not items:
        raise datafiles.DataFileError(f"{path}: 'closing_reasons' needs at least one entry")
    datafiles.unique_ids(path, items)
    result = []
    for index, item in enumerate(items):
        values = datafiles.require_fields(path, item, index, ("id", "label"))
        code = values["id"]
        if not isinstance(code, str) or len(code) > MAX_CODE or not _CODE.fullmatch(code):
            raise datafiles.DataFileError(
                f"{path}: {datafiles.entry_name(item, index)} field 'id' must be lowercase letters, "
                f"digits and '_', starting with a letter, at most {MAX_CODE} characters"
            )
        if not isinstance(values["label"], str):
            raise datafiles.DataFileError(f"{path}: entry '{code}' field 'label' must be text")
        result.append(ClosingReason(code=code, label=values["label"].strip()))
    return tuple(result)


@lru_cache(maxsize=1)
def catalogue() -> Tuple[ClosingReason, ...]:
    """The reasons of business/closing_reasons.yml in file order (the console's choice order),
    read once per process."""
    return load()


def label(code: Optional[str]) -> Optional[str]:
    """The label of ``code``; the code itself for one no longer in the file (an old case's), so
    that its reason still shows; None for a case without a reason."""
    if code is None:
        return None
    return next((reason.label for reason in catalogue() if reason.code == code), code)
