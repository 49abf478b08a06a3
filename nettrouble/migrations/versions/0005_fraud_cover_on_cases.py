"""The fraud-cover pre-check (不正決済補償) on the case: its outcome, the estimate and the figures
it was worked out from, for the phone staff (issue 18).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Nullable columns only: a case made before, or without a pre-check, has none.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fraud_cover', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('fraud_cover_estimate', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('fraud_cover_amount_lost', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('fraud_cover_provider_pays', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('fraud_cover_provider_decision', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('fraud_cover_provider_decision')
        batch_op.drop_column('fraud_cover_provider_pays')
        batch_op.drop_column('fraud_cover_amount_lost')
        batch_op.drop_column('fraud_cover_estimate')
        batch_op.drop_column('fraud_cover')
