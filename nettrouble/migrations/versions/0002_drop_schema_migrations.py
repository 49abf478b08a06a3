"""Drops schema_migrations, the upgrade registry of the code before Alembic.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

Its two rows recorded the claim-state upgrades, which every database at 0001 has.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.drop_table("schema_migrations")


def downgrade() -> None:
    op.create_table(
        "schema_migrations",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
