"""Reading the operator-editable data files under business/.

Every loader validates what it reads and raises ``DataFileError`` naming the file, the entry
and the field, so that a typo stops the server at start-up instead of surfacing as a wrong
answer to a user.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping

import yaml

from nettrouble.settings import BUSINESS_DIR

TROUBLE_TYPES = (
    "defamation",
    "privacy",
    "own_post",
    "account",
    "phishing",
    "payment_fraud",
    "billing_scam",
    "shopping",
    "sexual_image",
    "bullying",
)


class DataFileError(ValueError):
    """A business data file is malformed; the message says where."""


def business_file(name: str) -> Path:
    return BUSINESS_DIR / name


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except (yaml.YAMLError, ValueError) as error:
        # PyYAML raises ValueError for impossible dates such as 2020-07-32.
        raise DataFileError(f"{path}: not valid YAML ({error})") from None


def entries(path: Path, document: Any, key: str) -> List[Mapping[str, Any]]:
    """The list under ``key`` of a YAML mapping, each item checked to be a mapping."""
    if not isinstance(document, Mapping) or not isinstance(document.get(key), list):
        raise DataFileError(f"{path}: expected a top-level '{key}:' list")
    items = document[key]
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise DataFileError(f"{path}: entry {index + 1} of '{key}' is not a mapping")
    return items


def entry_name(item: Mapping[str, Any], index: int) -> str:
    return f"entry '{item['id']}'" if item.get("id") else f"entry {index + 1}"


def require_fields(
    path: Path, item: Mapping[str, Any], index: int, fields: Iterable[str]
) -> Dict[str, Any]:
    """Checks that every field is present and not empty (an empty string is allowed only
    where the caller passes it in ``fields`` with a trailing '?')."""
    values = {}
    for field in fields:
        optional_blank = field.endswith("?")
        name = field.rstrip("?")
        if name not in item or item[name] is None:
            raise DataFileError(f"{path}: {entry_name(item, index)} has no '{name}'")
        value = item[name]
        if not optional_blank and isinstance(value, (str, list)) and not value:
            raise DataFileError(f"{path}: {entry_name(item, index)} has an empty '{name}'")
        values[name] = value
    return values


def unique_ids(path: Path, items: List[Mapping[str, Any]]) -> None:
    seen = set()
    for index, item in enumerate(items):
        if not isinstance(item.get("id"), (str, int)):
            raise DataFileError(f"{path}: entry {index + 1} needs an 'id' that is a single word")
        if item["id"] in seen:
            raise DataFileError(f"{path}: duplicate id '{item['id']}'")
        seen.add(item["id"])
