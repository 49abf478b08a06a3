"""Alembic's environment: the revisions run on the connection handed in through
``config.attributes["connection"]`` (by ``nettrouble.migrations.upgrade`` or
scripts/migration.py), inside the transaction the caller holds."""

from alembic import context

from nettrouble.core.tables import metadata

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError(
        "the revisions run on a connection from nettrouble.core.db.prepare() or "
        "scripts/migration.py, not from the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot alter most of a column in place: batch operations rebuild the table.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
