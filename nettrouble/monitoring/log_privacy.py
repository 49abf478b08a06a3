"""Logs without personal data or secrets, one line per record, for every library in the process.

``install()`` (called by the launchers before Rasa, rasa_sdk or the console take over) puts a
log record factory in place: every record that any logger makes (Rasa and its structlog
events, rasa_sdk, Sanic, aiohttp, the project) has its message masked (``masking.mask_text``),
secrets redacted (``token=…`` query values, ``Authorization`` and ``X-Action-Token`` header
values, and the values of the secrets in the settings) and line breaks shown as "⏎", so that a
user's text can never start a line that reads as a record of its own. A traceback keeps its
lines, but is masked, and the message of each exception in it is one line too. Python warnings
go through logging as well (Rasa reports a message beginning with "/" as one).

The factory is the one hook that Rasa and rasa_sdk do not replace when they set logging up
(they replace handlers and formatters during start-up, several times). The same hook keeps
LOG_FORMAT=json in force: every handler a record is about to reach gets the JSON formatter
(one object per line: time, level, logger, message, conversation_id when the record has one,
channel, exception), whoever created the handler and whenever.

A record made while a user's turn is handled (``turn``, entered by the Rasa server where a
message starts: addons/turn_timing.py) carries that turn's conversation id, as
``masking.conversation_key`` stores it (a phone number or e-mail address as its keyed hash),
and its channel, whichever library logged it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import traceback
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Optional, Set, Tuple

from nettrouble.core import masking
from nettrouble.core.settings import SettingsError, settings

LINE_BREAK = "⏎"
REDACTED = "***"

# Everything str.splitlines() splits on, and ESC, with which text can rewrite a terminal.
_NEUTRAL = {ord(c): LINE_BREAK for c in "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"}
_NEUTRAL[0x1B] = "␛"
_CRLF = re.compile(r"\r\n")
# A secret's name, then its value: ?token=…, auth_token: …, Authorization: Bearer …,
# 'X-Action-Token': '…', password=…; and a bearer credential on its own.
_NAMED_SECRET = re.compile(
    r"(?i)((?:token|authorization|password|secret)[\"']?\s{0,3}[=:]\s{0,3}[\"']?(?:(?:bearer|basic)\s+)?)"
    r"[^\s&'\",;}\]]+"
)
_BEARER = re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*")
# structlog's JSON lines escape non-ASCII text (\uff10 for ０): read back before masking.
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# Attributes through which a record may name its conversation (logger.info(..., extra=...)).
_CONVERSATION_ATTRIBUTES = ("conversation_id", "sender_id")
# Sanic's access log puts the request into these (extra=), not into the message.
_ACCESS_ATTRIBUTES = ("host", "request", "status", "byte")
CHANNEL = "channel"
_TURN_ATTRIBUTE = "nettrouble_turn"
# (conversation id as stored, channel) of the turn this code runs in; a context variable, so
# that concurrent turns never lend each other their ids.
_turn: ContextVar[Optional[Tuple[str, str]]] = ContextVar("nettrouble_log_turn", default=None)


class _State:
    json = False
    known_secrets: Optional["re.Pattern[str]"] = None


def _known_secrets() -> Optional["re.Pattern[str]"]:
    try:
        current = settings()
    except SettingsError:
        return None
    values = {
        str(value)
        for name, value in vars(current).items()
        if name.endswith(("token", "secret", "password", "key")) and value and len(str(value)) >= 8
    }
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def _unescape(match: "re.Match[str]") -> str:
    code = int(match.group(1), 16)
    return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)


def _redact(text: str) -> str:
    if "\\u" in text:
        text = _UNICODE_ESCAPE.sub(_unescape, text)
    if _State.known_secrets is not None:
        text = _State.known_secrets.sub(REDACTED, text)
    text = _NAMED_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return masking.mask_text(text)


def clean(text: str) -> str:
    """``text`` as it may be logged: masked, secrets redacted, on one line."""
    return _CRLF.sub("\n", _redact(text)).translate(_NEUTRAL)


def _traceback(exc_info: Any) -> str:
    """The traceback, masked, with each exception's own message on one line."""
    exc = traceback.TracebackException(*exc_info)
    messages: Set[str] = set()
    link: Optional[traceback.TracebackException] = exc
    while link is not None:
        messages.update(link.format_exception_only())
        link = (
            link.__cause__ if link.__cause__ is not None else (None if link.__suppress_context__ else link.__context__)
        )
    chunks = [clean(chunk.rstrip("\n")) + "\n" if chunk in messages else chunk for chunk in exc.format()]
    return _redact("".join(chunks).rstrip("\n"))


def _conversation(value: Any) -> str:
    try:
        return masking.conversation_key(str(value))
    except SettingsError:  # no PERSON_KEY_SECRET in this process: the masked id
        return clean(str(value))


@contextlib.contextmanager
def turn(sender_id: str, channel: str) -> Iterator[None]:
    """Every record made inside carries this conversation (as stored) and channel."""
    token = _turn.set((_conversation(sender_id), clean(channel or "")))
    try:
        yield
    finally:
        _turn.reset(token)


class _Attributes(dict[str, Any]):
    """A record's attributes. Logger.makeRecord writes ``extra`` values into the record after
    the factory has run (Sanic's access log puts the request line there), so they are cleaned
    as they arrive."""

    def __setitem__(self, key: str, value: Any) -> None:
        if key in _CONVERSATION_ATTRIBUTES and value:
            value = _conversation(value)
        elif isinstance(value, str):
            value = clean(value)
        super().__setitem__(key, value)


def _clean_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the message: logged as they are, cleaned
        message = f"{record.msg!s} {record.args!r}"
    record.msg, record.args = clean(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters use exc_text when it is set; without exc_info none can render the
        # exception again from the raw objects.
        record.exc_text, record.exc_info = _traceback(record.exc_info), None
    if record.stack_info:
        record.stack_info = _redact(record.stack_info)
    record.__dict__ = _Attributes(record.__dict__)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, conversation_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        cleaned = isinstance(record.__dict__, _Attributes)
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage() if cleaned else clean(record.getMessage()),
        }
        for name in _CONVERSATION_ATTRIBUTES:
            if getattr(record, name, None):
                entry["conversation_id"] = getattr(record, name) if cleaned else _conversation(getattr(record, name))
                break
        turn_of_record = getattr(record, _TURN_ATTRIBUTE, None)
        if turn_of_record is not None:
            entry.setdefault("conversation_id", turn_of_record[0])
            entry[CHANNEL] = turn_of_record[1]
        for name in _ACCESS_ATTRIBUTES:
            if name in record.__dict__:
                value = record.__dict__[name]
                entry[name] = value if cleaned or not isinstance(value, str) else clean(value)
        if record.exc_info and record.exc_info[0] is not None:  # a record made before install()
            entry["exception"] = _traceback(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text if cleaned else _redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = record.stack_info if cleaned else _redact(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


_JSON_FORMATTER = JsonFormatter()


def _use_json_formatter(name: str) -> None:
    """Gives every handler that a record of logger ``name`` reaches the JSON formatter."""
    logger = logging.root if name == "root" else logging.Logger.manager.loggerDict.get(name)
    reached = False
    while isinstance(logger, logging.Logger):
        for handler in logger.handlers:
            reached = True
            if handler.formatter is not _JSON_FORMATTER:
                handler.setFormatter(_JSON_FORMATTER)
        logger = logger.parent if logger.propagate else None
    if not reached and logging.lastResort is not None:
        logging.lastResort.setFormatter(_JSON_FORMATTER)


class _Factory:
    """The record factory: the one it wraps makes the record, this one cleans it."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        _clean_record(record)
        current = _turn.get()
        if current is not None:
            # Under a name of its own: Logger.makeRecord refuses an ``extra`` that would
            # overwrite an attribute the record already has (conversation_id, channel).
            dict.__setitem__(record.__dict__, _TURN_ATTRIBUTE, current)
        if _State.json:
            _use_json_formatter(record.name)
        return record


def install() -> None:
    """Masks every log record of the process from now on, and in JSON mode (LOG_FORMAT=json)
    writes each as one JSON object per line. Calling it again only re-reads the settings."""
    try:
        _State.json = settings().log_format == "json"
    except SettingsError:
        _State.json = False
    _State.known_secrets = _known_secrets()
    logging.captureWarnings(True)
    if not isinstance(logging.getLogRecordFactory(), _Factory):
        logging.setLogRecordFactory(_Factory(logging.getLogRecordFactory()))
