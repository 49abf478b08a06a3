"""The service database's SQLite connection settings (nettrouble/core/db.py) and the registry of
its tables (nettrouble/core/tables.py)."""

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest

from nettrouble.core import db, tables

ROOT = Path(__file__).resolve().parent.parent


def test_a_new_file_locked_by_another_process_still_gets_the_write_ahead_log(tmp_path):
    # Switching to WAL needs the file's exclusive lock, and SQLite answers "locked" at once
    # rather than waiting: the second process to open a new database must try again.
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    opened = sqlite3.connect(path, timeout=0, check_same_thread=False)
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    release.start()
    try:
        db.write_ahead_log(opened)
        assert opened.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        release.join()
        opened.close()
        holder.close()


def test_a_file_that_stays_locked_is_reported_not_waited_for_forever(tmp_path):
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    opened = sqlite3.connect(path, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            db.write_ahead_log(opened, wait_s=0.2)
    finally:
        opened.close()
        holder.close()


def test_every_module_that_defines_tables_is_imported_by_the_registry():
    # A module left out would be missing from the schema the migrations compare with, unless
    # some other import happened to bring it in.
    owners = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "nettrouble").rglob("*.py")
        if "from nettrouble.core.sql_metadata import metadata" in path.read_text(encoding="utf-8")
    }
    owners.discard(tables.__name__)
    assert {"nettrouble.cases.schema", "nettrouble.eligibility.ledger"} <= owners
    registered = {module.__name__ for module in vars(tables).values() if isinstance(module, ModuleType)}
    assert sorted(owners - registered) == []


def test_a_fresh_process_imports_the_database_module_first_without_a_cycle():
    # As a server starts: db first (it imports the migrations, which import table modules);
    # a cycle would stop the import half-way.
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from nettrouble.core import db, tables; print(' '.join(sorted(tables.metadata.tables)))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert {"cases", "case_notes", "free_consultations", "outbox", "agents", "sms_opt_outs"} <= set(found)
