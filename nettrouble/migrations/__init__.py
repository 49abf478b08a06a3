"""The service database's schema history: Alembic revisions, applied by ``db.prepare()``.

Every server upgrades the database to the newest revision when it starts (``make run`` included),
one process at a time; nothing else creates or changes tables. ``versions/`` holds the
revisions, numbered ``0001``, ``0002``, …: ``0001`` is the schema as the code before Alembic made
it, ``0002`` drops that code's unused ``schema_migrations`` table. A database made before Alembic
(tables of ``0001`` and no ``alembic_version``) is first brought to exactly what ``0001``
creates and stamped there (``legacy.py``), then upgraded like any other.

Adding a revision, whenever a table, column or index on ``tables.metadata`` changes:

1. Change the table definition in its module (and import a new module in ``nettrouble/core/tables.py``).
2. ``.venv/bin/python scripts/migration.py new "add case notes"`` writes a draft,
   ``versions/<next number>_add_case_notes.py``, from the difference between the newest revision
   (applied to a scratch SQLite database) and ``tables.metadata``.
3. Read the draft and finish it: name constraints as the table definitions do, fill new NOT
   NULL columns of existing rows (a ``server_default`` or an ``op.execute`` UPDATE), and write
   ``downgrade()``. Drafts use ``op.batch_alter_table`` so that column changes work on SQLite
   too; on PostgreSQL the same code runs plain ALTER TABLE statements.
4. ``tests/test_migrations.py`` fails until the revisions make exactly ``tables.metadata``; run it,
   on PostgreSQL too when one is at hand (``TEST_POSTGRES_URL``, see scripts/postgres_tests.sh).

A revision, once released, is never edited: later changes are later revisions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from nettrouble.migrations import legacy

HERE = Path(__file__).resolve().parent
# The revision that is the schema of the code before Alembic.
BASELINE = "0001"


def config(connection: Optional[Connection] = None) -> Config:
    """Alembic's configuration, without an alembic.ini: the scripts are here and env.py runs on
    ``connection`` (in its transaction)."""
    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(HERE))
    alembic_config.attributes["connection"] = connection
    return alembic_config


def scripts() -> ScriptDirectory:
    """The revisions under versions/."""
    return ScriptDirectory.from_config(config())


@lru_cache(maxsize=1)
def newest() -> Optional[str]:
    """The newest revision, read once per process: loading the revision scripts is most of the
    cost of an upgrade that finds nothing to do."""
    return scripts().get_current_head()


def upgrade(connection: Connection) -> None:
    """Brings the database on ``connection`` to the newest revision, in the connection's
    transaction; the caller makes sure that only one process does it at a time."""
    if MigrationContext.configure(connection).get_current_revision() == newest():
        return
    alembic_config = config(connection)
    baseline = scripts().get_revision(BASELINE).module
    if legacy.made_before_alembic(connection, baseline):
        legacy.bring_to_baseline(connection, baseline)
        command.stamp(alembic_config, BASELINE)
    command.upgrade(alembic_config, "head")
