"""Where a turn's time goes, timed in the code paths of each server.

A *record* covers one HTTP request to a server (on the Rasa server, one user message through a
channel; on the action server, one action call). Code on the request's path adds to the record
of the request it runs in (a context variable, so concurrent requests never mix):

    with timing.span("nlu"):          # time added to the span "nlu", its count increased
        ...
    timing.add("tracker_events", 42)  # a count
    timing.action_call({...})         # one call to the action server, with its sizes

SQL statements of every SQLAlchemy engine in the process are counted and timed by
``install_sql_timers`` (statements by kind, rows written, milliseconds).

A finished record goes to the histogram ``nettrouble_span_seconds`` of ``nettrouble.monitoring.metrics``
(served at each server's ``/metrics``) and, when it covers a user message and
TURN_TIMINGS_FILE is set, as one JSON line to that file (``make bench`` reads it). A record of the Rasa server looks like:

    {"process": "rasa", "conversation": "<id, a phone number or e-mail as its keyed hash>",
     "path": "/webhooks/rest/webhook", "t": 1765000000.1,
     "spans_ms": {"request": 48.1, "turn": 45.0, "channel": 3.1, "nlu": 9.2, "policy": 6.0,
                  "tracker_load": 3.1, "tracker_save": 4.2, "actions": 20.3},
     "counts": {"turn": 1, "nlu": 1, "policy": 4, "actions": 2, "tracker_load": 1,
                "tracker_save": 1, "tracker_events": 120},
     "actions": [{"name": "validate_triage_form", "ms": 10.1, "request_bytes": 21000,
                  "response_bytes": 300, "server_ms": 6.0, "server_cpu_ms": 5.5,
                  "server_db_ms": 1.0, "server_db_statements": 3, "server_db_rows": 1}],
     "db": {"statements": 5, "ms": 3.2, "rows_written": 7, "select": 2, "insert": 3},
     "cpu_ms": 40.2}

"channel" is the request's time outside the message handling (``request`` − ``turn``):
reading, checking and answering the HTTP request. ``cpu_ms`` is the process's CPU time during
the request, which under concurrent load includes other requests' work. The action server
reports its own figures to Rasa in the ``Server-Timing`` header of each action response
(``server_timing_header`` / ``parse_server_timing``).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional

from nettrouble.core.masking import conversation_key
from nettrouble.core.settings import settings
from nettrouble.monitoring.metrics import SPAN_SECONDS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

WRITE_KINDS = ("insert", "update", "delete")


@dataclass
class Record:
    process: str
    path: str = ""
    conversation: str = ""
    started: float = field(default_factory=time.perf_counter)
    cpu_started: float = field(default_factory=time.process_time)
    spans_ms: Dict[str, float] = field(default_factory=dict)
    counts: Dict[str, int] = field(default_factory=dict)
    actions: List[Dict[str, Any]] = field(default_factory=list)
    db: Dict[str, float] = field(default_factory=lambda: {"statements": 0, "ms": 0.0, "rows_written": 0})
    finished: bool = False

    def as_dict(self) -> Dict[str, Any]:
        return {
            "process": self.process,
            "conversation": self.conversation,
            "path": self.path,
            "t": round(time.time(), 3),
            "spans_ms": {name: round(ms, 3) for name, ms in self.spans_ms.items()},
            "counts": dict(self.counts),
            "actions": self.actions,
            "db": {key: round(value, 3) if isinstance(value, float) else value for key, value in self.db.items()},
            "cpu_ms": round((time.process_time() - self.cpu_started) * 1000, 3),
        }


_current: ContextVar[Optional[Record]] = ContextVar("nettrouble_timing_record", default=None)


def current() -> Optional[Record]:
    """The open record of the request this code runs in, if any."""
    record = _current.get()
    return record if record is not None and not record.finished else None


def begin(process: str, path: str = "") -> Record:
    record = Record(process=process, path=path)
    _current.set(record)
    return record


def set_conversation(sender_id: str) -> None:
    record = current()
    if record is not None and not record.conversation:
        record.conversation = conversation_key(sender_id)


def add_ms(name: str, ms: float, count: int = 1) -> None:
    record = current()
    if record is not None:
        record.spans_ms[name] = record.spans_ms.get(name, 0.0) + ms
        record.counts[name] = record.counts.get(name, 0) + count


def add(name: str, count: int) -> None:
    record = current()
    if record is not None:
        record.counts[name] = record.counts.get(name, 0) + count


@contextlib.contextmanager
def span(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        add_ms(name, (time.perf_counter() - started) * 1000)


def action_call(call: Dict[str, Any]) -> None:
    record = current()
    if record is not None:
        record.actions.append(call)
        add_ms("actions", call.get("ms", 0.0))


def finish(record: Record) -> Dict[str, Any]:
    """Closes ``record``: its request time, the channel share, histograms and the file."""
    record.spans_ms["request"] = (time.perf_counter() - record.started) * 1000
    if "turn" in record.spans_ms:
        record.spans_ms["channel"] = max(record.spans_ms["request"] - record.spans_ms["turn"], 0.0)
    record.finished = True
    data = record.as_dict()
    for name, ms in data["spans_ms"].items():
        SPAN_SECONDS.labels(record.process, name).observe(ms / 1000)
    if "turn" in data["spans_ms"]:
        _write(data)
    return data


# --- SQL ---------------------------------------------------------------------------------

_SQL_STARTED = "_nettrouble_timing_started"
_sql_installed = False


def _before_cursor_execute(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    conn.info.setdefault(_SQL_STARTED, []).append(time.perf_counter())


def _after_cursor_execute(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    started = conn.info.get(_SQL_STARTED) or [time.perf_counter()]
    ms = (time.perf_counter() - started.pop()) * 1000
    record = current()
    if record is None:
        return
    kind = (statement.lstrip().split(None, 1) or ["other"])[0].lower()
    db = record.db
    db["statements"] += 1
    db["ms"] += ms
    db[kind] = db.get(kind, 0) + 1
    if kind in WRITE_KINDS and cursor.rowcount and cursor.rowcount > 0:
        db["rows_written"] += cursor.rowcount


def install_sql_timers() -> None:
    """Times every statement of every SQLAlchemy engine of this process (once)."""
    global _sql_installed
    if _sql_installed:
        return
    import sqlalchemy
    from sqlalchemy.engine import Engine

    sqlalchemy.event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
    sqlalchemy.event.listen(Engine, "after_cursor_execute", _after_cursor_execute)
    _sql_installed = True


# --- the action server's figures, carried to Rasa ------------------------------------------


def server_timing_header(data: Dict[str, Any]) -> str:
    """A ``Server-Timing`` value with the action server's figures of one call."""
    db = data.get("db") or {}
    return (
        f"app;dur={data['spans_ms'].get('request', 0.0):.3f}, cpu;dur={data.get('cpu_ms', 0.0):.3f}, "
        f"db;dur={db.get('ms', 0.0):.3f}, sql;desc={int(db.get('statements', 0))}, "
        f"rows;desc={int(db.get('rows_written', 0))}"
    )


def parse_server_timing(value: Optional[str]) -> Dict[str, float]:
    """The figures of ``server_timing_header`` as server_ms, server_cpu_ms, server_db_ms,
    server_db_statements and server_db_rows (missing or malformed parts are left out)."""
    names = {
        "app": "server_ms",
        "cpu": "server_cpu_ms",
        "db": "server_db_ms",
        "sql": "server_db_statements",
        "rows": "server_db_rows",
    }
    found: Dict[str, float] = {}
    for part in (value or "").split(","):
        name, _, rest = part.strip().partition(";")
        key = names.get(name)
        if key is None:
            continue
        _, _, number = rest.partition("=")
        try:
            found[key] = float(number.strip('"'))
        except ValueError:
            continue
    return found


# --- the file ---------------------------------------------------------------------------

_file_lock = threading.Lock()


def _write(data: Dict[str, Any]) -> None:
    path = settings().turn_timings_file
    if not path:
        return
    line = json.dumps(data, ensure_ascii=False) + "\n"
    with _file_lock, open(path, "a", encoding="utf-8") as out:
        out.write(line)
