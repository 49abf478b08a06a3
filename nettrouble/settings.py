"""Deployment settings, read in one place.

Values come from the process environment first, then from ``.env`` at the repository root
(python-dotenv); ``.env.example`` documents every one. Nothing is read at import time: call
``settings()``. Tests that change the environment call ``settings.cache_clear()``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
BUSINESS_DIR = ROOT / "business"
VAR_DIR = ROOT / "var"


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
        value = getattr(self, name)
        if not value:
            raise SettingsError(
                f"{name.upper()} is not set: put it in .env (make setup writes a random one in "
                f"development) or in the environment"
            )
        return value


def load_env_file(path: Optional[Path] = None) -> None:
    """Puts the values of ``.env`` into ``os.environ`` without overriding what is already set."""
    from dotenv import load_dotenv

    load_dotenv(path or ROOT / ".env", override=False)


def _text(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _port(name: str, default: int) -> int:
    raw = _text(name)
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"{name} must be a port number between 1 and 65535, not {raw!r}")
    return int(raw)


def _under_root(path: str) -> str:
    """Relative file paths in .env are relative to the repository, whatever the cwd."""
    return str(ROOT / path) if path and not Path(path).is_absolute() else path


def _database_url(raw: str) -> str:
    prefix = "sqlite:///"
    if raw.startswith(prefix) and not raw.startswith(prefix + "/"):
        return prefix + _under_root(raw[len(prefix):])
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
            f"{name} must be an ISO 8601 time with its offset, e.g. 2020-07-15T11:00:00+09:00, "
            f"not {raw!r}"
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
        database_url=_database_url(_text("DATABASE_URL", f"sqlite:///{VAR_DIR / 'nettrouble.db'}")),
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
    )


def setting_names() -> list:
    """The environment variable of every setting, for documentation checks."""
    return [field.name.upper() for field in fields(Settings)]
