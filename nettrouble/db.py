"""The service database: cases, the free-consultation ledger and the notification outbox.

SQLAlchemy 1.4 Core (the version Rasa 3.6 pins), SQLite by default and PostgreSQL by
``DATABASE_URL``. Modules that own tables define them on ``metadata``; ``prepare()`` creates
missing tables and applies registered upgrades once per database, recording each in
``schema_migrations`` so that start-up on an existing database upgrades it in place.
"""
from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, event, select, text
from sqlalchemy.engine import Connection, Engine

from nettrouble.settings import settings

logger = logging.getLogger(__name__)
metadata = MetaData()

# Every module that defines tables on ``metadata``; prepare() imports them so that the schema
# is complete whichever process (action server, console, scripts) starts first.
TABLE_MODULES = ["nettrouble.ledger", "nettrouble.cases", "nettrouble.outbox", "nettrouble.limits",
                 "nettrouble.number_proof", "nettrouble.deliveries"]

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

# Any fixed number; it names the lock that serialises schema creation across processes.
_SCHEMA_LOCK_KEY = 72_213_360

Migration = Callable[[Connection], None]
_MIGRATIONS: List[Tuple[str, Migration]] = []
_engines: Dict[str, Engine] = {}
_prepared: set = set()
_lock = threading.Lock()


def register_migration(migration_id: str, upgrade: Migration) -> None:
    """Adds a schema upgrade for databases created by an earlier version. Ids are applied in
    the order registered, once per database."""
    if all(existing != migration_id for existing, _ in _MIGRATIONS):
        _MIGRATIONS.append((migration_id, upgrade))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the console read while the action server writes; the busy timeout makes
    # concurrent writers wait for each other instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def engine(url: Optional[str] = None) -> Engine:
    """The engine for ``url`` (default: DATABASE_URL), created once per process."""
    url = url or settings().database_url
    with _lock:
        if url not in _engines:
            if url.startswith("sqlite"):
                path = url.split("sqlite:///", 1)[-1]
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                created = create_engine(
                    url, future=True, connect_args={"check_same_thread": False, "timeout": 30}
                )
                event.listen(created, "connect", _sqlite_pragmas)
            else:
                created = create_engine(url, future=True, pool_pre_ping=True, pool_timeout=10)
            _engines[url] = created
        return _engines[url]


def prepare(url: Optional[str] = None) -> Engine:
    """The engine for ``url`` with its schema created and upgraded (once per process)."""
    from nettrouble.clock import now

    for module in TABLE_MODULES:
        importlib.import_module(module)
    current = engine(url)
    key = str(current.url)
    with _lock:
        if key in _prepared:
            return current
        with current.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Servers starting together take turns: the second finds the tables made.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            metadata.create_all(connection)
            applied = {row.id for row in connection.execute(select(schema_migrations.c.id))}
            for migration_id, upgrade in _MIGRATIONS:
                if migration_id not in applied:
                    upgrade(connection)
                    connection.execute(
                        schema_migrations.insert().values(id=migration_id, applied_at=now())
                    )
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
