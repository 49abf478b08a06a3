"""Reading the operator-editable data files under business/.

Every loader validates what it reads and raises ``DataFileError`` naming the file, the entry
and the field, so that a typo stops the server at start-up instead of surfacing as a wrong
answer to a user.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping

import yaml

from nettrouble.core.settings import BUSINESS_DIR

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


class _DaysAsText(yaml.SafeLoader):
    """PyYAML turns an unquoted 2020-07-01 into a date and fails on 2020-07-32 with a bare
    ValueError, before anyone knows the entry; days are read as text and checked by ``day``."""


_DaysAsText.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_DaysAsText)
    except FileNotFoundError:
        raise DataFileError(f"{path}: file not found") from None
    except yaml.YAMLError as error:
        raise DataFileError(f"{path}: not valid YAML ({error})") from None


def day(value: Any, where: str) -> date:
    """A day written YYYY-MM-DD (or a ``date`` given by code); a time of day would make "which
    day in Japan" ambiguous. ``where`` names file, entry and field for the error."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DataFileError(f"{where} must be a date YYYY-MM-DD, not {value!r}")


def entries(path: Path, document: Any, key: str) -> List[Mapping[str, Any]]:
    """The list under ``key`` of a YAML mapping, each item checked to be a mapping."""
    if not isinstance(document, Mapping) or not isinstance(document.get(key), list):
        raise DataFileError(f"{path}: expected a top-level '{key}:' list")
    items: List[Mapping[str, Any]] = document[key]  # checked item by item just below
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise DataFileError(f"{path}: entry {index + 1} of '{key}' is not a mapping")
    return items


def entry_name(item: Mapping[str, Any], index: int) -> str:
    return f"entry '{item['id']}'" if item.get("id") else f"entry {index + 1}"


def require_fields(path: Path, item: Mapping[str, Any], index: int, fields: Iterable[str]) -> Dict[str, Any]:
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
