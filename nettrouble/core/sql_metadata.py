"""The one SQLAlchemy ``MetaData`` every table of the service database is defined on.

A module of its own, imported by the modules that own tables: ``nettrouble.core.tables`` imports
all of those, so ``metadata`` cannot live there (nor in ``db``, which imports the migrations).
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
