"""Deployment settings, read in one place.

Values come from the process environment first, then from ``.env`` at the repository root
(python-dotenv); ``.env.example`` documents every one. Nothing is read at import time: call
``settings()``. Tests that change the environment call ``settings.cache_clear()``.

Every process that starts a server calls ``check_production()`` (with APP_ENV=production it
refuses placeholder, empty or short secrets and a pinned clock) and ``protect_files()`` (files
it creates are its owner's only).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
BUSINESS_DIR = ROOT / "business"
VAR_DIR = ROOT / "var"

# What scripts/ensure_env.py replaces with a random secret in .env.example.
PLACEHOLDER = "<generated>"
# Generated secrets are longer (43 characters); production refuses anything shorter.
MIN_SECRET_CHARS = 32
# The secrets production cannot run without (HANDOFF_WEBHOOK_SECRET too when the webhook is on,
# and CALLBACK_NUMBER_KEY when it is set).
PRODUCTION_SECRETS = (
    "rasa_api_token",
    "action_server_token",
    "person_key_secret",
    "console_password",
    "console_api_token",
    "web_chat_secret",
)


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    app_env: str
    rasa_port: int
    actions_port: int
    console_port: int
    rasa_api_token: str
    action_server_url: str
    tracker_db: str
    database_url: str
    clock_override: Optional[datetime]
    person_key_secret: str
    console_user: str
    console_password: str
    console_api_token: str
    handoff_webhook_url: str
    web_chat_secret: str
    line_channel_secret: str
    line_channel_access_token: str
    line_api_base: str
    twilio_account_sid: str
    twilio_auth_token: str
    sms_public_url: str
    sms_api_base: str
    sms_from_number: str
    # Security (issue 13): shared secret of the action server, where the servers listen, log
    # line format, the handoff webhook's signing key, and the limits one client can reach.
    action_server_token: str
    bind_host: str
    log_format: str
    handoff_webhook_secret: str
    max_message_chars: int
    messages_per_minute: int
    cases_per_hour: int
    number_checks_per_conversation: int
    number_checks_per_hour: int
    line_event_max_age_s: int
    trusted_proxies: Tuple[str, ...]
    # Speed (issue 14): a file that receives one JSON line per request with its timings
    # (nettrouble/monitoring/timing.py); make bench sets it for the servers it starts.
    turn_timings_file: str
    # The user turns the policies see (addons/prediction_window.py), and whether each
    # prediction is checked against the whole session (the system checks of make test).
    prediction_window_turns: int
    prediction_window_check: bool
    # Outlets of new cases besides the webhook (nettrouble/notify/outlets.py): a Slack incoming webhook
    # for urgent cases, with links into the console at its public address, and a
    # Zendesk-compatible helpdesk that gets a ticket per case.
    slack_webhook_url: str
    console_public_url: str
    tickets_api_url: str
    tickets_api_email: str
    tickets_api_token: str
    # Channels that feel native (issue 16): LINE's data API host (rich menu images), the SMS
    # segments one conversation may cost, the web chat's public address for users sent there,
    # and the site origins that may frame the web chat.
    line_data_api_base: str
    sms_segment_budget: int
    web_chat_public_url: str
    web_chat_allowed_origins: Tuple[str, ...]
    # Callbacks when the centre is closed (issue 18): the secret from which the key that seals
    # the numbers to call is derived (nettrouble/callbacks/sealing.py).
    callback_number_key: str

    @property
    def tracker_db_url(self) -> str:
        """The tracker store's database as a URL (TRACKER_DB_URL, else the SQLite file)."""
        return os.environ.get("TRACKER_DB_URL", "").strip() or f"sqlite:///{self.tracker_db}"

    @property
    def is_development(self) -> bool:
        return self.app_env == "development"

    def require(self, name: str) -> str:
        """The value of a secret that the caller cannot work without.

        Outside development an empty value is a start-up error naming the variable; in
        development it is an error too, because setup writes every secret into .env."""
        value: str = getattr(self, name)  # a secret: every one is a text field
        if not value:
            raise SettingsError(
                f"{name.upper()} is not set: put it in .env (make setup writes a random one in "
                f"development) or in the environment"
            )
        return value


# The names each .env sets, by file and time of change. The settings are read again whenever
# the environment changes (the tests pin the clock that way); reading .env again, a hundredth
# of a second each time, can only add something when one of its names is missing.
_env_file_names: Dict[Tuple[Path, int], FrozenSet[str]] = {}


def load_env_file(path: Optional[Path] = None) -> None:
    """Puts the values of ``.env`` into ``os.environ`` without overriding what is already set."""
    from dotenv import dotenv_values, load_dotenv

    path = path or ROOT / ".env"
    try:
        stamp = (path, path.stat().st_mtime_ns)
    except OSError:
        return
    known = _env_file_names.get(stamp)
    if known is not None and known <= os.environ.keys():
        return
    load_dotenv(path, override=False)
    _env_file_names[stamp] = frozenset(name for name, value in dotenv_values(path).items() if value is not None)


def _text(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _port(name: str, default: int) -> int:
    raw = _text(name)
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"{name} must be a port number between 1 and 65535, not {raw!r}")
    return int(raw)


def _count(name: str, default: int) -> int:
    raw = _text(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of 1 or more, not {raw!r}")
    return int(raw)


# A site origin: scheme, host name or IPv4 address, optional port; nothing else (no path,
# wildcard, quote, semicolon or space), so an entry cannot add to the policy it is written into.
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
# Plain http only for a site on this machine (make run and the tests).
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def allowed_origins(entries: Iterable[str]) -> Tuple[str, ...]:
    """The site origins of WEB_CHAT_ALLOWED_ORIGINS, lower-cased and without repeats; a
    ``SettingsError`` naming every entry that is not an https origin (http: only on this machine)."""
    origins: List[str] = []
    problems: List[str] = []
    for entry in entries:
        match = _ORIGIN.fullmatch(entry.lower())
        if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
            problems.append(
                f"{entry!r} is not an origin (scheme://host[:port], e.g. https://www.example.jp, "
                f"without path, wildcard, quote, semicolon or space)"
            )
        elif match["scheme"] == "http" and match["host"] not in LOCAL_HOSTS:
            problems.append(f"{entry!r} must be https (http only for {' and '.join(LOCAL_HOSTS)})")
        elif match.group(0) not in origins:
            origins.append(match.group(0))
    if problems:
        raise SettingsError("WEB_CHAT_ALLOWED_ORIGINS: " + "; ".join(problems))
    return tuple(origins)


def _under_root(path: str) -> str:
    """Relative file paths in .env are relative to the repository, whatever the cwd."""
    return str(ROOT / path) if path and not Path(path).is_absolute() else path


def _database_url(raw: str) -> str:
    prefix = "sqlite:///"
    if raw.startswith(prefix) and not raw.startswith(prefix + "/"):
        return prefix + _under_root(raw[len(prefix) :])
    return raw


def _choice(name: str, allowed: Tuple[str, ...]) -> str:
    raw = _text(name, allowed[0]).lower()
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


def _moment(name: str) -> Optional[datetime]:
    raw = _text(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise SettingsError(
            f"{name} must be an ISO 8601 time with its offset, e.g. 2020-07-15T11:00:00+09:00, not {raw!r}"
        )
    return moment


@lru_cache(maxsize=1)
def settings() -> Settings:
    load_env_file()
    actions_port = _port("ACTIONS_PORT", 5055)
    return Settings(
        app_env=_text("APP_ENV", "development"),
        rasa_port=_port("RASA_PORT", 5005),
        actions_port=actions_port,
        console_port=_port("CONSOLE_PORT", 5080),
        rasa_api_token=_text("RASA_API_TOKEN"),
        action_server_url=_text("ACTION_SERVER_URL", f"http://localhost:{actions_port}/webhook"),
        tracker_db=_under_root(_text("TRACKER_DB", str(VAR_DIR / "tracker.db"))),
        database_url=_database_url(_text("DATABASE_URL", f"sqlite:///{VAR_DIR / 'nettrouble.core.db'}")),
        clock_override=_moment("CLOCK_OVERRIDE"),
        person_key_secret=_text("PERSON_KEY_SECRET"),
        console_user=_text("CONSOLE_USER"),
        console_password=_text("CONSOLE_PASSWORD"),
        console_api_token=_text("CONSOLE_API_TOKEN"),
        handoff_webhook_url=_text("HANDOFF_WEBHOOK_URL"),
        web_chat_secret=_text("WEB_CHAT_SECRET"),
        line_channel_secret=_text("LINE_CHANNEL_SECRET"),
        line_channel_access_token=_text("LINE_CHANNEL_ACCESS_TOKEN"),
        line_api_base=_text("LINE_API_BASE", "https://api.line.me").rstrip("/"),
        twilio_account_sid=_text("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=_text("TWILIO_AUTH_TOKEN"),
        sms_public_url=_text("SMS_PUBLIC_URL"),
        sms_api_base=_text("SMS_API_BASE", "https://api.twilio.com").rstrip("/"),
        sms_from_number=_text("SMS_FROM_NUMBER"),
        action_server_token=_text("ACTION_SERVER_TOKEN"),
        bind_host=_text("BIND_HOST", "127.0.0.1"),
        log_format=_choice("LOG_FORMAT", ("text", "json")),
        handoff_webhook_secret=_text("HANDOFF_WEBHOOK_SECRET"),
        max_message_chars=_count("MAX_MESSAGE_CHARS", 2000),
        messages_per_minute=_count("MESSAGES_PER_MINUTE", 20),
        cases_per_hour=_count("CASES_PER_HOUR", 3),
        number_checks_per_conversation=_count("NUMBER_CHECKS_PER_CONVERSATION", 3),
        number_checks_per_hour=_count("NUMBER_CHECKS_PER_HOUR", 10),
        line_event_max_age_s=_count("LINE_EVENT_MAX_AGE_S", 3600),
        trusted_proxies=tuple(p.strip() for p in _text("TRUSTED_PROXIES").split(",") if p.strip()),
        turn_timings_file=_text("TURN_TIMINGS_FILE"),
        # Above the longest rule of data/rules (tests/test_prediction_window.py).
        prediction_window_turns=_count("PREDICTION_WINDOW_TURNS", 4),
        prediction_window_check=_choice("PREDICTION_WINDOW_CHECK", ("0", "1")) == "1",
        slack_webhook_url=_text("SLACK_WEBHOOK_URL"),
        console_public_url=_text("CONSOLE_PUBLIC_URL").rstrip("/"),
        tickets_api_url=_text("TICKETS_API_URL").rstrip("/"),
        tickets_api_email=_text("TICKETS_API_EMAIL"),
        tickets_api_token=_text("TICKETS_API_TOKEN"),
        line_data_api_base=_text("LINE_DATA_API_BASE", "https://api-data.line.me").rstrip("/"),
        sms_segment_budget=_count("SMS_SEGMENT_BUDGET", 80),
        web_chat_public_url=_text("WEB_CHAT_PUBLIC_URL"),
        web_chat_allowed_origins=allowed_origins(
            o.strip() for o in _text("WEB_CHAT_ALLOWED_ORIGINS").split(",") if o.strip()
        ),
        callback_number_key=_text("CALLBACK_NUMBER_KEY"),
    )


def setting_names() -> List[str]:
    """The environment variable of every setting, for documentation checks."""
    return [field.name.upper() for field in fields(Settings)]


def check_production(current: Optional[Settings] = None) -> None:
    """With APP_ENV=production, a SettingsError naming every secret that is empty, still the
    placeholder of .env.example or shorter than MIN_SECRET_CHARS, and CLOCK_OVERRIDE when set.
    Nothing is checked in other environments (development, the test runs)."""
    current = current or settings()
    if current.app_env != "production":
        return
    names = list(PRODUCTION_SECRETS) + (["handoff_webhook_secret"] if current.handoff_webhook_url else [])
    # Callbacks are off without their key; a key that is set must be a real one.
    names += ["callback_number_key"] if current.callback_number_key else []
    problems = []
    for name in names:
        value = getattr(current, name)
        if not value:
            problems.append(f"{name.upper()} is empty")
        elif value == PLACEHOLDER:
            problems.append(f"{name.upper()} is still {PLACEHOLDER}")
        elif len(value) < MIN_SECRET_CHARS:
            problems.append(f"{name.upper()} is shorter than {MIN_SECRET_CHARS} characters")
    if current.clock_override is not None:
        problems.append("CLOCK_OVERRIDE is set (it pins the time for demos and tests only)")
    if problems:
        raise SettingsError(
            "APP_ENV=production refuses to start: "
            + "; ".join(problems)
            + ". Put random secrets in .env (scripts/ensure_env.py writes them) or the environment."
        )


def protect_files() -> None:
    """Files this process creates from now on (databases, logs) are readable by their owner
    only, and so are those already in var/: they hold conversations and cases."""
    os.umask(0o077)
    if not VAR_DIR.is_dir():
        return
    VAR_DIR.chmod(0o700)
    for pattern in ("*.db", "*.db-journal", "*.db-wal", "*.db-shm", "*.log"):
        for path in VAR_DIR.glob(pattern):
            if path.is_file() and not path.is_symlink():
                path.chmod(0o600)
