"""The service database: cases, the free-consultation ledger and the notification outbox.

SQLAlchemy 1.4 Core (the version Rasa 3.6 pins), SQLite by default and PostgreSQL by
``DATABASE_URL``. Modules that own tables define them on ``nettrouble.core.sql_metadata.metadata``
(``nettrouble.core.tables`` imports them all); the schema itself is made and changed by the Alembic
revisions under ``nettrouble/migrations/`` (its docstring says how to add one). ``prepare()``
upgrades the database to the newest revision at start-up, one process at a time, so that every
server finds the schema its code expects.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Set, cast

from sqlalchemy import create_engine, event, text

# Every engine here is made with future=True (SQLAlchemy 2.0 behaviour: explicit commit).
from sqlalchemy.future import Connection, Engine

from nettrouble import migrations
from nettrouble.core.settings import settings

logger = logging.getLogger(__name__)

# Any fixed number; it names the lock that serialises schema changes across processes.
_SCHEMA_LOCK_KEY = 72_213_360

_engines: Dict[str, Engine] = {}
_prepared: Set[str] = set()
_lock = threading.Lock()


def write_ahead_log(dbapi_connection: Any, wait_s: float = 30.0) -> None:
    """Puts a SQLite database in write-ahead-log mode. Switching a new file needs its exclusive
    lock, and SQLite answers "database is locked" at once instead of waiting for it: processes
    opening the same new file together (make run's action server and console) try again."""
    deadline = time.monotonic() + wait_s
    while True:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        finally:
            cursor.close()
        time.sleep(0.05)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # WAL lets the console read while the action server writes; the busy timeout makes
    # concurrent writers wait for each other instead of failing.
    write_ahead_log(dbapi_connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create(url: str) -> Engine:
    """A new engine for ``url`` with this project's connection settings; engine() keeps one per
    process and URL."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        created = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(created, "connect", _sqlite_pragmas)
        return created
    return create_engine(url, future=True, pool_pre_ping=True, pool_timeout=10)


def engine(url: Optional[str] = None) -> Engine:
    """The engine for ``url`` (default: DATABASE_URL), created once per process."""
    url = url or settings().database_url
    with _lock:
        if url not in _engines:
            _engines[url] = create(url)
        return _engines[url]


@contextmanager
def _schema_transaction(current: Engine) -> Iterator[Connection]:
    """One transaction that a single process at a time holds, for changing the schema: servers
    starting together take turns, and the second finds the database upgraded."""
    with current.connect() as connection:
        if connection.dialect.name != "sqlite":
            with connection.begin():
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                yield connection
            return
        # pysqlite opens transactions only before data changes, so DDL would run outside one and
        # two processes would both see an empty database. With its implicit transactions off,
        # BEGIN IMMEDIATE takes the write lock first (the other process waits, busy_timeout).
        # Foreign keys are off for the transaction, as SQLite's procedure for schema changes
        # asks: a batch revision copies a referenced table, drops it and renames the copy.
        # This branch is SQLite only, and its driver is always the standard library's pysqlite.
        raw = cast(sqlite3.Connection, connection.connection.dbapi_connection)
        implicit = raw.isolation_level
        raw.isolation_level = None
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the schema change leaves rows without their parent: {broken[:5]}")
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            raw.isolation_level = implicit


def upgrade_schema(current: Engine) -> None:
    """Brings the database of ``current`` to the newest revision (nothing when it is there)."""
    with _schema_transaction(current) as connection:
        migrations.upgrade(connection)


def prepare(url: Optional[str] = None) -> Engine:
    """The engine for ``url`` with its schema upgraded to the newest revision (once per process)."""
    current = engine(url)
    key = str(current.url)
    with _lock:
        if key not in _prepared:
            upgrade_schema(current)
            _prepared.add(key)
    return current


class Unavailable(RuntimeError):
    """The database could not be reached or prepared (the cause is chained)."""


class LazyEngine:
    """The prepared database for a long-running process: prepared on first use and again after
    an outage, so that a database that is down does not stop the process from starting."""

    def __init__(self, url: Optional[str] = None) -> None:
        self._url = url
        self._engine: Optional[Engine] = None

    def get(self) -> Engine:
        if self._engine is None:
            try:
                self._engine = prepare(self._url)
            except Exception as error:  # noqa: BLE001 - any driver error means "not reachable"
                raise Unavailable("the database could not be prepared") from error
        return self._engine

    def warm_up(self) -> None:
        """Prepares the database at start-up when it is reachable; an outage is only logged,
        since every later use tries again."""
        try:
            self.get()
        except Unavailable:
            logger.exception("database unavailable at start-up; it will be tried again on use")


def dispose_all() -> None:
    """Closes every pooled connection (tests use a fresh database each)."""
    with _lock:
        for created in _engines.values():
            created.dispose()
        _engines.clear()
        _prepared.clear()
