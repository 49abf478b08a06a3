"""Databases made before Alembic, by ``metadata.create_all`` and the ``schema_migrations``
registry of earlier versions.

Such a database has tables of revision ``0001`` and no ``alembic_version``. Depending on the
version that made it, it may lack tables that later versions added and the claim columns that the
registry's two upgrades added (2026-12: free-consultation claims got states).
``bring_to_baseline`` makes it exactly what ``0001`` creates, so that it can be stamped there;
its rows stay.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Dict, Tuple

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, DateTime, String, inspect, text
from sqlalchemy.engine import Connection

from nettrouble.eligibility import ledger, rules

ALEMBIC = "alembic_version"


def claim_columns() -> Dict[str, Tuple[Column[Any], ...]]:
    """The columns the registry added to tables of earlier versions. A reservation made before
    claims had states was final: confirmed."""
    return {
        "free_consultations": (
            Column("state", String(16), nullable=False, server_default=ledger.CONFIRMED),
            Column("expires_at", DateTime(timezone=True), nullable=True),
            Column("confirmed_via", String(16), nullable=True),
        ),
        "cases": (Column("claim_state", String(16), nullable=True),),
    }


def made_before_alembic(connection: Connection, baseline: ModuleType) -> bool:
    """Whether the database has tables of ``baseline`` (the revision module) but no revision."""
    tables = set(inspect(connection).get_table_names())
    return ALEMBIC not in tables and bool(tables & set(baseline.TABLES))


def bring_to_baseline(connection: Connection, baseline: ModuleType) -> None:
    """Creates the tables of ``baseline`` (the revision module) that are missing, with the
    revision's own definitions, and adds the claim columns to the tables that lack them."""
    present = set(inspect(connection).get_table_names())
    added = set()
    with Operations.context(MigrationContext.configure(connection)) as operations:
        for name, create in baseline.TABLES.items():
            if name not in present:
                create()
        for name, columns in claim_columns().items():
            if name not in present:
                continue
            have = {column["name"] for column in inspect(connection).get_columns(name)}
            for column in columns:
                if column.name not in have:
                    operations.add_column(name, column)
                    added.add((name, column.name))
    if ("cases", "claim_state") in added:
        # An eligible case of that time held its free consultation for good.
        connection.execute(
            text("UPDATE cases SET claim_state = :confirmed WHERE eligibility = :eligible"),
            {"confirmed": ledger.CONFIRMED, "eligible": rules.ELIGIBLE},
        )
