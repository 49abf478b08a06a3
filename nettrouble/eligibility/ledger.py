"""The free-consultation ledger: one free consultation per person and campaign.

A row says that ``person_key`` (the keyed hash of a docomo number, never the number) holds the
campaign's free consultation for the case ``case_reference``. The UNIQUE constraint on
(campaign_id, person_key) is what enforces "one person, one case": ``reserve`` inserts first and
lets the constraint decide, so two concurrent hand-offs can never both win, whatever the process.

A number typed into a chat is not shown to be the typist's own, so a claim is first
``pending`` and holds the number only until ``expires_at``. It becomes ``confirmed`` when the
number is proved to be the user's (the SMS sender's own number, a one-time code sent to it, or
staff checking the caller's number on the phone)::

    pending ──proved──▶ confirmed
       │ └─expires_at passes──▶ expired   (the number is free again)
       └──a proved claim of another case, or staff──▶ released

A proved claim takes the number from a pending one: typing someone else's number first cannot
use up their free consultation. Nothing displaces a confirmed claim.

``reserve`` and ``holder`` take an Engine (own transaction) or a Connection (the caller's
transaction: the handoff writes the case, its outbox row and the reservation atomically).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, Optional, Tuple, TypeGuard, Union

from sqlalchemy import Column, DateTime, String, Table, UniqueConstraint, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Boolean

from nettrouble.core.clock import in_japan, now
from nettrouble.core.sql_metadata import metadata

# reserve() results, not eligibility outcomes: ALREADY_USED says another case holds the number
# (the case store then records nettrouble.eligibility.rules's outcome of that name).
RESERVED = "reserved"
SAME_CASE = "same_case"
ALREADY_USED = "already_used"

# Claim states (a row is pending or confirmed; expired and released claims have no row).
PENDING = "pending"
CONFIRMED = "confirmed"
EXPIRED = "expired"
RELEASED = "released"
CLAIM_STATES = (PENDING, CONFIRMED, EXPIRED, RELEASED)
# How a number was proved to be the user's.
VIA_SMS_SENDER = "sms_sender"
VIA_CODE = "code"
VIA_STAFF = "staff"
PROOFS = (VIA_SMS_SENDER, VIA_CODE, VIA_STAFF)

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
    Column("state", String(16), nullable=False, server_default=CONFIRMED),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("confirmed_via", String(16), nullable=True),
    UniqueConstraint("campaign_id", "person_key", name="uq_free_consultations_campaign_person"),
)


Bind = Union[Engine, Connection]
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class LedgerInputError(ValueError):
    """An argument that must never reach the table (empty, too long, not a person key)."""


@dataclass(frozen=True)
class Holder:
    """The case that holds a campaign's free consultation for one person, and how firmly."""

    case_reference: str
    reserved_at: datetime
    state: str = CONFIRMED
    expires_at: Optional[datetime] = None


@dataclass(frozen=True)
class Reservation:
    """The outcome of ``reserve``: ``RESERVED``, ``SAME_CASE`` or ``ALREADY_USED``; ``case_reference``
    is the case that holds the free consultation (the other one for ``ALREADY_USED``) and
    ``state`` its claim's. ``displaced`` names a case whose claim this call ended, with
    ``displaced_state`` EXPIRED or RELEASED, so that the case can record it."""

    result: str
    case_reference: str
    state: str = CONFIRMED
    displaced: Optional[str] = None
    displaced_state: Optional[str] = None


def is_person_key(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == PERSON_KEY_LENGTH and all(c in "0123456789abcdef" for c in value)


def _check(campaign_id: str, person_key: str) -> None:
    if not isinstance(campaign_id, str) or not 0 < len(campaign_id) <= MAX_CAMPAIGN_ID:
        raise LedgerInputError(f"campaign_id must be 1..{MAX_CAMPAIGN_ID} characters")
    # Refusing anything but a hex digest keeps a raw phone number from ever being stored
    # here by a caller that forgot to hash it.
    if not is_person_key(person_key):
        raise LedgerInputError("person_key must be a lower-case hex HMAC-SHA256 digest")


def _key(campaign_id: str, person_key: str) -> Tuple[ColumnElement[Boolean], ColumnElement[Boolean]]:
    return (free_consultations.c.campaign_id == campaign_id, free_consultations.c.person_key == person_key)


def _read(connection: Connection, campaign_id: str, person_key: str, at: Optional[datetime] = None) -> Optional[Holder]:
    row = connection.execute(select(free_consultations).where(*_key(campaign_id, person_key))).first()
    if row is None:
        return None
    expires_at = in_japan(row.expires_at) if row.expires_at else None
    if row.state == PENDING and expires_at is not None and at is not None and expires_at <= at:
        return None  # an expired claim holds nothing, even before it is cleared
    return Holder(row.case_reference, in_japan(row.reserved_at), row.state, expires_at)


def holder(bind: Bind, campaign_id: str, person_key: str, at: Optional[datetime] = None) -> Optional[Holder]:
    """The case whose claim holds ``campaign_id``'s free consultation for ``person_key`` at
    ``at`` (default now), if any; an expired pending claim holds nothing."""
    _check(campaign_id, person_key)
    at = in_japan(at) if at else now()
    if isinstance(bind, Connection):
        return _read(bind, campaign_id, person_key, at)
    with bind.connect() as connection:
        return _read(connection, campaign_id, person_key, at)


def _clear_expired(connection: Connection, campaign_id: str, person_key: str, at: datetime) -> Optional[str]:
    """Deletes an expired pending claim of this person; returns its case."""
    expired = _read(connection, campaign_id, person_key)
    if expired is None or expired.state != PENDING or expired.expires_at is None or expired.expires_at > at:
        return None
    connection.execute(
        delete(free_consultations).where(
            *_key(campaign_id, person_key),
            free_consultations.c.case_reference == expired.case_reference,
            free_consultations.c.state == PENDING,
        )
    )
    return expired.case_reference


def _confirm(connection: Connection, row: Dict[str, Any], existing: Holder) -> bool:
    """Makes this case's proved claim the holder, in place of ``existing`` (this case's own
    pending claim, or another case's); False when the row changed meanwhile."""
    changed = connection.execute(
        free_consultations.update()
        .where(
            *_key(row["campaign_id"], row["person_key"]),
            free_consultations.c.case_reference == existing.case_reference,
            free_consultations.c.state == existing.state,
        )
        .values(
            case_reference=row["case_reference"],
            state=CONFIRMED,
            expires_at=None,
            confirmed_via=row["confirmed_via"],
            reserved_at=row["reserved_at"],
        )
    )
    return changed.rowcount == 1


def _reserve(connection: Connection, row: Dict[str, Any]) -> Reservation:
    dialect = connection.dialect.name
    if dialect not in _INSERTS:
        raise LedgerInputError(f"the ledger supports SQLite and PostgreSQL, not {dialect}")
    at = row["reserved_at"]
    expired = _clear_expired(connection, row["campaign_id"], row["person_key"], at)
    # ON CONFLICT DO NOTHING instead of catching IntegrityError: a failed INSERT would abort the
    # caller's whole transaction on PostgreSQL, and pysqlite's SAVEPOINT handling cannot be
    # trusted to isolate it. The constraint still decides; nothing is read before the write.
    statement = (
        _INSERTS[dialect](free_consultations)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["campaign_id", "person_key"])
    )
    if connection.execute(statement).rowcount == 1:
        return Reservation(RESERVED, row["case_reference"], row["state"], expired, EXPIRED if expired else None)
    # The winning row is committed (a conflict waits for it). A proved claim replaces a
    # pending one; anything else keeps the holder. A lost race is read again once.
    for _attempt in range(2):
        existing = _read(connection, row["campaign_id"], row["person_key"])
        if existing is None:
            break
        same = existing.case_reference == row["case_reference"]
        if row["state"] == CONFIRMED and existing.state == PENDING:
            if _confirm(connection, row, existing):
                if same:
                    return Reservation(SAME_CASE, row["case_reference"], CONFIRMED)
                return Reservation(RESERVED, row["case_reference"], CONFIRMED, existing.case_reference, RELEASED)
            continue
        if same:
            return Reservation(SAME_CASE, existing.case_reference, existing.state)
        return Reservation(ALREADY_USED, existing.case_reference, existing.state)
    raise LedgerInputError("the claim changed twice while it was being reserved; try again")


def reserve(
    bind: Bind,
    campaign_id: str,
    person_key: str,
    case_reference: str,
    at: Optional[datetime] = None,
    proved_by: Optional[str] = None,
    pending_for: timedelta = timedelta(hours=72),
) -> Reservation:
    """Claims the free consultation of ``campaign_id`` for ``person_key`` and this case.

    Without ``proved_by`` (one of PROOFS) the claim is pending for ``pending_for``; with it,
    confirmed, and it takes the number from another case's pending claim. Asking again for the
    same case is harmless (``SAME_CASE``, and a proof confirms it); a case that finds the number
    held gets ``ALREADY_USED`` with the holder's reference and state."""
    _check(campaign_id, person_key)
    if not isinstance(case_reference, str) or not 0 < len(case_reference) <= MAX_CASE_REFERENCE:
        raise LedgerInputError(f"case_reference must be 1..{MAX_CASE_REFERENCE} characters")
    if proved_by is not None and proved_by not in PROOFS:
        raise LedgerInputError(f"proved_by must be one of {', '.join(PROOFS)}")
    at = in_japan(at) if at else now()
    row = dict(
        campaign_id=campaign_id,
        person_key=person_key,
        case_reference=case_reference,
        reserved_at=at,
        state=CONFIRMED if proved_by else PENDING,
        expires_at=None if proved_by else at + pending_for,
        confirmed_via=proved_by,
    )
    if isinstance(bind, Connection):
        return _reserve(bind, row)
    with bind.begin() as connection:
        return _reserve(connection, row)


def release(bind: Bind, campaign_id: str, person_key: str, case_reference: str) -> bool:
    """Frees the number when ``case_reference`` holds it (staff found the caller was not the
    number's owner); True when a claim was released."""
    _check(campaign_id, person_key)
    statement = delete(free_consultations).where(
        *_key(campaign_id, person_key), free_consultations.c.case_reference == case_reference
    )
    if isinstance(bind, Connection):
        return bind.execute(statement).rowcount == 1
    with bind.begin() as connection:
        return connection.execute(statement).rowcount == 1
