"""SMS: the segments and turns each conversation has cost (its budget, issue 16), and the
senders who sent 「停止」/STOP. Both keyed by the SMS conversation id, never the phone number.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

New tables only: nothing to fill in existing rows.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('sms_conversations',
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('turns', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id')
    )
    op.create_table('sms_opt_outs',
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id')
    )


def downgrade() -> None:
    op.drop_table('sms_opt_outs')
    op.drop_table('sms_conversations')
