"""Callbacks when the centre is closed (issue 18): the slot a user booked for a call from staff,
its state, and the number to call, sealed. A booking holds a numbered seat of its slot under a
UNIQUE constraint, so the database keeps the slot's capacity (nettrouble/callbacks/store.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

A new table only: nothing to fill in existing rows.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('callbacks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('slot_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seat', sa.Integer(), nullable=True),
    sa.Column('live_case_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('number_sealed', sa.Text(), nullable=True),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('live_case_id', name='uq_callbacks_live_case'),
    sa.UniqueConstraint('slot_start', 'seat', name='uq_callbacks_slot_seat')
    )
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callbacks_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_callbacks_slot_start', ['slot_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.drop_index('ix_callbacks_slot_start')
        batch_op.drop_index(batch_op.f('ix_callbacks_case_id'))

    op.drop_table('callbacks')
