"""What ``GET /health`` of each server answers: every dependency checked, by name.

A server's health route gathers ``Check`` results and answers with ``answer``: 200 and
``{"status": "ok", "checks": {...}}`` when all pass, else 503 with ``"status": "fail"`` and the
failing checks listed under ``"failing"``. A check's detail is one fixed word ("ok",
"unreachable", ...), never an exception text, which could carry a database URL with its
password or a file path; the cause goes to the log at WARNING, by exception type only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Tuple

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

OK = "ok"
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = OK


def database(name: str, engine: Engine) -> Check:
    """Whether ``engine``'s database answers a query (blocking: run it off the event loop)."""
    # SQLite opens its file only when a statement needs it, and SELECT 1 does not.
    probe = "SELECT count(*) FROM sqlite_master" if engine.dialect.name == "sqlite" else "SELECT 1"
    try:
        with engine.connect() as connection:
            connection.execute(text(probe))
    except Exception as error:  # noqa: BLE001 — any driver error means "not reachable"
        log.warning("health: %s unreachable (%s)", name, type(error).__name__)
        return Check(name, False, UNREACHABLE)
    return Check(name, True)


def answer(checks: Iterable[Check]) -> Tuple[int, Dict[str, Any]]:
    """(HTTP status, body) for these checks."""
    checks = list(checks)
    failing = [check.name for check in checks if not check.ok]
    body: Dict[str, Any] = {
        "status": "fail" if failing else "ok",
        "checks": {check.name: check.detail for check in checks},
    }
    if failing:
        body["failing"] = failing
    return (503 if failing else 200), body


def answered_by_server(status: int, body: bytes) -> bool:
    """Whether a ``/health`` answer came from the server itself, all well (200) or with a
    dependency of its own down (503 with the checks): either way the process runs. A 503
    without them is a proxy's or the server's error page."""
    if status == 200:
        return True
    if status != 503:
        return False
    try:
        return isinstance(json.loads(body).get("checks"), dict)
    except (ValueError, AttributeError):
        return False
