"""New-article notices on LINE and SMS (issue 18): the subscriptions given in the chat, the runs
of make notify-new-articles, and one record per recipient and message with the articles it
carries (nettrouble/notices/).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

New tables only: nothing to fill in existing rows.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('article_subscriptions',
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=512), nullable=True),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id', 'topic')
    )
    op.create_table('article_notice_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('through_day', sa.Date(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('article_notices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('retry_key', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sending_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('article_notices', schema=None) as batch_op:
        batch_op.create_index('ix_article_notices_conversation_id', ['conversation_id'], unique=False)
        batch_op.create_index('ix_article_notices_status', ['status'], unique=False)
    op.create_table('article_notice_items',
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('article_id', sa.String(length=80), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['article_notices.id'], ),
    sa.PrimaryKeyConstraint('conversation_id', 'article_id')
    )
    with op.batch_alter_table('article_notice_items', schema=None) as batch_op:
        batch_op.create_index('ix_article_notice_items_notice_id', ['notice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('article_notice_items', schema=None) as batch_op:
        batch_op.drop_index('ix_article_notice_items_notice_id')
    op.drop_table('article_notice_items')
    with op.batch_alter_table('article_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_article_notices_status')
        batch_op.drop_index('ix_article_notices_conversation_id')
    op.drop_table('article_notices')
    op.drop_table('article_notice_runs')
    op.drop_table('article_subscriptions')
