"""The schema as the code before Alembic made it (metadata.create_all, commit 4502e9c).

Revision ID: 0001
Revises:
Create Date: 2026-12-07

One function per table, each creating the table and its indexes; ``TABLES`` lists them in an
order that respects the foreign keys. ``upgrade()`` runs them all; a database made before Alembic
that lacks some of these tables gets them from the same functions before it is stamped at
this revision (nettrouble/migrations/legacy.py).
"""
from typing import Callable, Dict, Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _schema_migrations() -> None:
    op.create_table(
        "schema_migrations",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def _free_consultations() -> None:
    op.create_table(
        "free_consultations",
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("case_reference", sa.String(length=64), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="confirmed", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_via", sa.String(length=16), nullable=True),
        sa.UniqueConstraint("campaign_id", "person_key", name="uq_free_consultations_campaign_person"),
    )


def _cases() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("trouble_type", sa.String(length=40), nullable=False),
        sa.Column("triage_answers", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.JSON(), nullable=False),
        sa.Column("eligibility", sa.String(length=64), nullable=True),
        sa.Column("eligibility_campaign", sa.String(length=64), nullable=True),
        sa.Column("person_key", sa.String(length=64), nullable=True),
        sa.Column("claim_state", sa.String(length=16), nullable=True),
        sa.Column("articles_shown", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference", name="uq_cases_reference"),
        sa.UniqueConstraint("conversation_id", "trouble_type", name="uq_cases_conversation_trouble"),
    )
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_status", "cases", ["status"])


def _case_status_events() -> None:
    op.create_table(
        "case_status_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_status_events_case_id", "case_status_events", ["case_id"])


def _outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_case_id", "outbox", ["case_id"])
    op.create_index("ix_outbox_pending", "outbox", ["delivered_at", "next_attempt_at"])


def _rate_events() -> None:
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rate_events_kind_subject_at", "rate_events", ["kind", "subject", "at"])


def _number_codes() -> None:
    op.create_table(
        "number_codes",
        sa.Column("conversation", sa.String(length=64), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries_left", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("conversation"),
    )


def _deliveries() -> None:
    op.create_table(
        "deliveries",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("delivery_key", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "delivery_key", name="uq_deliveries_channel_key"),
    )
    op.create_index("ix_deliveries_received_at", "deliveries", ["received_at"])


TABLES: Dict[str, Callable[[], None]] = {
    "schema_migrations": _schema_migrations,
    "free_consultations": _free_consultations,
    "cases": _cases,
    "case_status_events": _case_status_events,
    "outbox": _outbox,
    "rate_events": _rate_events,
    "number_codes": _number_codes,
    "deliveries": _deliveries,
}


def upgrade() -> None:
    for create in TABLES.values():
        create()


def downgrade() -> None:
    # Indexes go with their tables.
    for name in reversed(TABLES):
        op.drop_table(name)
