"""What a case is: its status codes and limits, the tables ``cases``, ``case_status_events``
(the audit trail of status changes, assignments and closing reasons) and ``case_notes`` (staff
notes) on ``nettrouble.core.sql_metadata.metadata``, and the dataclasses callers get instead of
rows. Times are stored in Japan time; SQLite keeps them naive, so every value read back goes
through ``in_japan`` here.

Status rules: new → in_progress → closed; in_progress → new hands a case back to the queue;
closed is final unless reopened explicitly (closed → in_progress with ``reopen=True``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from nettrouble.cases.reference import BAD_CHECK_DIGIT, MALFORMED, OK
from nettrouble.core.clock import in_japan
from nettrouble.core.sql_metadata import metadata

NEW = "new"
IN_PROGRESS = "in_progress"
CLOSED = "closed"
STATUSES = (NEW, IN_PROGRESS, CLOSED)
TRANSITIONS = {NEW: (IN_PROGRESS,), IN_PROGRESS: (CLOSED, NEW), CLOSED: ()}

# lookup() statuses beyond those of parse_reference(); matches_person() results.
UNKNOWN = "unknown"
LOOKUP_STATUSES = (OK, MALFORMED, BAD_CHECK_DIGIT, UNKNOWN)
MATCH = "match"
NO_MATCH = "no_match"
NO_PERSON_KEY = "no_person_key"
INVALID_NUMBER = "invalid_number"

# The filter value for "no eligibility decision" and "no urgency flag".
NONE = "none"
SYSTEM = "assistant"
CASE_CREATED = "case_created"
SUMMARY_CHARS = 400
SEPARATOR = " / "
MAX_CONVERSATION_ID = 255
MAX_ANSWERS = 40
MAX_ANSWER_CHARS = 200
MAX_LIST_ITEMS = 20
MAX_ARTICLES = 50
MAX_ITEM_CHARS = 64
MAX_WHO = 100
MAX_PAGE = 500
MAX_ATTEMPTS = 8
MAX_NOTE_CHARS = 2000
OPEN_STATUSES = (NEW, IN_PROGRESS)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("conversation_id", String(255), nullable=False),
    Column("trouble_type", String(40), nullable=False),
    Column("triage_answers", JSON, nullable=False),
    Column("urgency", JSON, nullable=False),
    Column("eligibility", String(64), nullable=True),
    Column("eligibility_campaign", String(64), nullable=True),
    Column("person_key", String(64), nullable=True),
    # The free-consultation claim of an eligible case: pending, confirmed, expired, released.
    Column("claim_state", String(16), nullable=True),
    Column("articles_shown", JSON, nullable=False),
    Column("summary", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_changed_at", DateTime(timezone=True), nullable=False),
    Column("status_changed_by", String(100), nullable=False),
    # The agent who holds the case (took it or was assigned it); NULL while it waits in the queue.
    Column("assigned_to", String(100), nullable=True),
    Column("assigned_at", DateTime(timezone=True), nullable=True),
    # A code of business/closing_reasons.yml while the case is closed by ``close``.
    Column("closing_reason", String(64), nullable=True),
    # The fraud-cover pre-check (nettrouble.cover), when the user did it: its outcome, the
    # estimate and the figures it was worked out from (yen; BigInteger: a loss may pass 2^31).
    Column("fraud_cover", String(32), nullable=True),
    Column("fraud_cover_estimate", BigInteger, nullable=True),
    Column("fraud_cover_amount_lost", BigInteger, nullable=True),
    Column("fraud_cover_provider_pays", BigInteger, nullable=True),
    Column("fraud_cover_provider_decision", String(16), nullable=True),
    UniqueConstraint("reference", name="uq_cases_reference"),
    # A repeated or concurrent handoff for the same trouble must find the existing case.
    UniqueConstraint("conversation_id", "trouble_type", name="uq_cases_conversation_trouble"),
    Index("ix_cases_created_at", "created_at"),
    Index("ix_cases_status", "status"),
)

case_status_events = Table(
    "case_status_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(100), nullable=False),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=False),
    # Who holds the case after this event, on events that take or (re)assign it.
    Column("assigned_to", String(100), nullable=True),
    Column("closing_reason", String(64), nullable=True),
)

case_notes = Table(
    "case_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("author", String(100), nullable=False),
    Column("text", Text, nullable=False),
)


class CaseError(ValueError):
    """A request the store refuses; ``code`` says why (for the console to translate)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CaseDraft:
    """What the assistant knows when the user asks for staff. ``open_case`` cleans every field,
    so a draft may come straight from conversation slots."""

    conversation_id: str
    channel: str = UNKNOWN
    trouble_type: str = UNKNOWN
    triage_answers: Mapping[str, Any] = field(default_factory=dict)
    urgency: Sequence[str] = ()
    eligibility: Optional[str] = None
    eligibility_campaign: Optional[str] = None
    person_key: Optional[str] = None
    articles_shown: Sequence[str] = ()
    summary: str = ""
    # How the conversation proved the number to be the user's (ledger.PROOFS), if it did;
    # without a proof an eligible case's claim is pending.
    proved_by: Optional[str] = None
    # The fraud-cover pre-check: an outcome of nettrouble.cover.codes, the estimate and the
    # figures in yen, the provider's decision as the user reported it.
    fraud_cover: Optional[str] = None
    fraud_cover_estimate: Optional[int] = None
    fraud_cover_amount_lost: Optional[int] = None
    fraud_cover_provider_pays: Optional[int] = None
    fraud_cover_provider_decision: Optional[str] = None


@dataclass(frozen=True)
class Case:
    id: int
    reference: str
    created_at: datetime
    updated_at: datetime
    channel: str
    conversation_id: str
    trouble_type: str
    triage_answers: Dict[str, Any]
    urgency: List[str]
    eligibility: Optional[str]
    eligibility_campaign: Optional[str]
    person_key: Optional[str]
    articles_shown: List[str]
    summary: str
    status: str
    status_changed_at: datetime
    status_changed_by: str
    claim_state: Optional[str] = None
    assigned_to: Optional[str] = None
    assigned_at: Optional[datetime] = None
    closing_reason: Optional[str] = None
    fraud_cover: Optional[str] = None
    fraud_cover_estimate: Optional[int] = None
    fraud_cover_amount_lost: Optional[int] = None
    fraud_cover_provider_pays: Optional[int] = None
    fraud_cover_provider_decision: Optional[str] = None

    def public(self) -> Dict[str, Any]:
        """The case as JSON-ready values for notifications and exports: without ``person_key``
        (a linkable identifier nobody outside the store needs) and without the row id."""
        values = asdict(self)
        del values["person_key"], values["id"]
        for name in ("created_at", "updated_at", "status_changed_at", "assigned_at"):
            values[name] = values[name].isoformat() if values[name] is not None else None
        return values


@dataclass(frozen=True)
class StatusEvent:
    at: datetime
    by: str
    from_status: Optional[str]
    to_status: str
    # Set on events that take or (re)assign the case: who holds it afterwards.
    assigned_to: Optional[str] = None
    closing_reason: Optional[str] = None


@dataclass(frozen=True)
class Note:
    at: datetime
    author: str
    text: str


def case_from_row(row: Any) -> Case:
    return Case(
        id=row.id,
        reference=row.reference,
        created_at=in_japan(row.created_at),
        updated_at=in_japan(row.updated_at),
        channel=row.channel,
        conversation_id=row.conversation_id,
        trouble_type=row.trouble_type,
        triage_answers=dict(row.triage_answers or {}),
        urgency=list(row.urgency or []),
        eligibility=row.eligibility,
        eligibility_campaign=row.eligibility_campaign,
        person_key=row.person_key,
        articles_shown=list(row.articles_shown or []),
        summary=row.summary,
        status=row.status,
        status_changed_at=in_japan(row.status_changed_at),
        status_changed_by=row.status_changed_by,
        claim_state=row.claim_state,
        assigned_to=row.assigned_to,
        assigned_at=in_japan(row.assigned_at) if row.assigned_at is not None else None,
        closing_reason=row.closing_reason,
        fraud_cover=row.fraud_cover,
        fraud_cover_estimate=row.fraud_cover_estimate,
        fraud_cover_amount_lost=row.fraud_cover_amount_lost,
        fraud_cover_provider_pays=row.fraud_cover_provider_pays,
        fraud_cover_provider_decision=row.fraud_cover_provider_decision,
    )


def event_from_row(row: Any) -> StatusEvent:
    return StatusEvent(in_japan(row.at), row.by, row.from_status, row.to_status, row.assigned_to, row.closing_reason)
