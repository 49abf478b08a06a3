"""The service itself as the assistant quotes it to users, from business/service.yml."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Optional

from nettrouble.core import datafiles

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Service:
    name: str
    centre: str
    phone: str
    hours_text: str
    monthly_fee_text: str
    eligibility_text: str
    site_url: str
    articles_url: str
    fraud_cover_name: str
    fraud_cover_cap_text: str
    fraud_cover_payments_text: str
    fraud_cover_insurer: str


def load(path: Optional[Path] = None) -> Service:
    path = path or datafiles.business_file("service.yml")
    document = datafiles.read_yaml(path)
    if not isinstance(document, Mapping):
        raise datafiles.DataFileError(f"{path}: expected a mapping of service facts")
    values = {}
    for field in fields(Service):
        value = document.get(field.name)
        if not isinstance(value, str) or not value.strip():
            raise datafiles.DataFileError(f"{path}: field '{field.name}' must be non-empty text")
        if field.name.endswith("_url") and not value.startswith("https://"):
            raise datafiles.DataFileError(f"{path}: field '{field.name}' must start with https://")
        values[field.name] = value.strip()
    return Service(**values)


@lru_cache(maxsize=1)
def facts() -> Service:
    """business/service.yml, read once per process."""
    return load()


def centre_line() -> str:
    """「ネットトラブルあんしんサポートセンター 0120-221-360（受付 …）」 for a chat message."""
    current = facts()
    return f"{current.centre} {current.phone}（受付 {current.hours_text}）"


# The last resort when business/service.yml cannot be read: the user must still get a number.
CENTRE_FALLBACK = "ネットトラブルあんしんサポートセンター 0120-221-360"


def reachable_centre_line() -> str:
    """``centre_line``, or the built-in number when business/service.yml cannot be read: for
    the replies that exist because something else failed or ran out."""
    try:
        return centre_line()
    except datafiles.DataFileError:
        logger.exception("business/service.yml unreadable: the reply uses the built-in number")
        return CENTRE_FALLBACK
