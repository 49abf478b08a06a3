"""Drafts the next schema revision (nettrouble/migrations/__init__.py says when and how).

    python scripts/migration.py new "add case notes"

Applies every revision to a scratch SQLite database, compares it with the tables the code defines
(``tables.metadata``) and writes what differs as ``nettrouble/migrations/versions/<next>_<message>.py``
for you to read and finish. Exit status: 0 written, 1 nothing differs, 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command  # noqa: E402

from nettrouble import migrations
from nettrouble.core import db  # noqa: E402

NOTHING_TO_DO = 1


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="migration", description=__doc__.split("\n\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="write a draft of the next revision")
    new.add_argument("message", help='what the revision changes, e.g. "add case notes"')
    return main


def _skip_when_empty(_context, _revision, directives) -> None:
    if directives[0].upgrade_ops.is_empty():
        directives[:] = []


def new(message: str) -> Optional[Path]:
    """Writes the draft and returns its path; None when the revisions already make tables.metadata."""
    following = f"{int(migrations.scripts().get_current_head()) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = db.create(f"sqlite:///{Path(scratch) / 'head.db'}")
        try:
            db.upgrade_schema(engine)
            with engine.connect() as connection:
                script = command.revision(
                    migrations.config(connection),
                    message=message,
                    autogenerate=True,
                    rev_id=following,
                    process_revision_directives=_skip_when_empty,
                )
        finally:
            engine.dispose()
    # Alembic returns the script, or an empty list when the hook above dropped it.
    return Path(script.path) if script else None


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    written = new(args.message)
    if written is None:
        print("migration: the revisions already make every table of tables.metadata; nothing to write")
        return NOTHING_TO_DO
    print(f"migration: draft written to {written}; read and finish it before it is applied anywhere")
    return 0


if __name__ == "__main__":
    sys.exit(main())
