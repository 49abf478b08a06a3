"""The free-consultation ledger: one free consultation per person and campaign.

A row says that ``person_key`` (the keyed hash of a docomo number, never the number) used the
campaign's free consultation for the case ``case_reference``. The UNIQUE constraint on
(campaign_id, person_key) is what enforces "one person, one case": ``reserve`` inserts first and
lets the constraint decide, so two concurrent hand-offs can never both win, whatever the process.

``reserve`` and ``holder`` take an Engine (own transaction) or a Connection (the caller's
transaction: the handoff writes the case, its outbox row and the reservation atomically).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Union

from sqlalchemy import Column, DateTime, String, Table, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from nettrouble.clock import in_japan, now
from nettrouble.db import metadata

RESERVED = "reserved"
SAME_CASE = "same_case"
ALREADY_USED = "already_used"

# A hex HMAC-SHA256 is 64 characters; the column is exact so nothing else fits by accident.
PERSON_KEY_LENGTH = 64
MAX_CAMPAIGN_ID = 64
MAX_CASE_REFERENCE = 64

free_consultations = Table(
    "free_consultations",
    metadata,
    Column("campaign_id", String(MAX_CAMPAIGN_ID), nullable=False),
    Column("person_key", String(PERSON_KEY_LENGTH), nullable=False),
    Column("case_reference", String(MAX_CASE_REFERENCE), nullable=False),
    Column("reserved_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("campaign_id", "person_key", name="uq_free_consultations_campaign_person"),
)

Bind = Union[Engine, Connection]
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class LedgerInputError(ValueError):
    """An argument that must never reach the table (empty, too long, not a person key)."""


@dataclass(frozen=True)
class Holder:
    """The case that holds a campaign's free consultation for one person."""

    case_reference: str
    reserved_at: datetime


@dataclass(frozen=True)
class Reservation:
    """The outcome of ``reserve``: ``RESERVED``, ``SAME_CASE`` or ``ALREADY_USED``; ``case_reference``
    is the case that holds the free consultation (the other one for ``ALREADY_USED``)."""

    result: str
    case_reference: str


def is_person_key(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == PERSON_KEY_LENGTH
        and all(c in "0123456789abcdef" for c in value)
    )


def _check(campaign_id: str, person_key: str) -> None:
    if not isinstance(campaign_id, str) or not 0 < len(campaign_id) <= MAX_CAMPAIGN_ID:
        raise LedgerInputError(f"campaign_id must be 1..{MAX_CAMPAIGN_ID} characters")
    # Refusing anything but a hex digest keeps a raw phone number from ever being stored
    # here by a caller that forgot to hash it.
    if not is_person_key(person_key):
        raise LedgerInputError("person_key must be a lower-case hex HMAC-SHA256 digest")


def _read(connection: Connection, campaign_id: str, person_key: str) -> Optional[Holder]:
    query = select(free_consultations.c.case_reference, free_consultations.c.reserved_at).where(
        free_consultations.c.campaign_id == campaign_id,
        free_consultations.c.person_key == person_key,
    )
    row = connection.execute(query).first()
    return Holder(row.case_reference, in_japan(row.reserved_at)) if row else None


def holder(bind: Bind, campaign_id: str, person_key: str) -> Optional[Holder]:
    """The case that used ``campaign_id``'s free consultation for ``person_key``, if any."""
    _check(campaign_id, person_key)
    if isinstance(bind, Connection):
        return _read(bind, campaign_id, person_key)
    with bind.connect() as connection:
        return _read(connection, campaign_id, person_key)


def _reserve(connection: Connection, row: dict) -> Reservation:
    dialect = connection.dialect.name
    if dialect not in _INSERTS:
        raise LedgerInputError(f"the ledger supports SQLite and PostgreSQL, not {dialect}")
    # ON CONFLICT DO NOTHING instead of catching IntegrityError: a failed INSERT would abort the
    # caller's whole transaction on PostgreSQL, and pysqlite's SAVEPOINT handling cannot be
    # trusted to isolate it. The constraint still decides; nothing is read before the write.
    statement = (
        _INSERTS[dialect](free_consultations)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["campaign_id", "person_key"])
    )
    if connection.execute(statement).rowcount == 1:
        return Reservation(RESERVED, row["case_reference"])
    # The winning row is committed (a conflict waits for it) and never deleted.
    existing = _read(connection, row["campaign_id"], row["person_key"])
    if existing.case_reference == row["case_reference"]:
        return Reservation(SAME_CASE, existing.case_reference)
    return Reservation(ALREADY_USED, existing.case_reference)


def reserve(
    bind: Bind,
    campaign_id: str,
    person_key: str,
    case_reference: str,
    at: Optional[datetime] = None,
) -> Reservation:
    """Reserves the free consultation of ``campaign_id`` for ``person_key`` and this case.

    Asking again for the same case is harmless (``SAME_CASE``); another case gets
    ``ALREADY_USED`` with the reference of the one that holds it."""
    _check(campaign_id, person_key)
    if not isinstance(case_reference, str) or not 0 < len(case_reference) <= MAX_CASE_REFERENCE:
        raise LedgerInputError(f"case_reference must be 1..{MAX_CASE_REFERENCE} characters")
    row = dict(
        campaign_id=campaign_id,
        person_key=person_key,
        case_reference=case_reference,
        reserved_at=in_japan(at) if at else now(),
    )
    if isinstance(bind, Connection):
        return _reserve(bind, row)
    with bind.begin() as connection:
        return _reserve(connection, row)
