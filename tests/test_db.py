"""The service database's SQLite connection settings (nettrouble/db.py)."""
import sqlite3
import threading

import pytest

from nettrouble import db


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
