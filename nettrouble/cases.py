"""The handoff case store: one record per conversation and trouble type, for the phone staff.

Tables ``cases`` and ``case_status_events`` (the audit trail of status changes) live on
``nettrouble.db.metadata``. Times are stored in Japan time; SQLite keeps them naive, so every
value read back goes through ``in_japan``. Callers get plain dataclasses, never rows.

API: ``open_case`` (create or find, atomically with the outbox row and the free-consultation
claim), ``get_case``, ``lookup`` (ok / malformed / bad_check_digit / unknown),
``list_cases``, ``change_status``, ``status_history``, ``matches_person``, ``confirm_caller``
(staff prove the caller's number, which confirms the case's claim), ``export_csv``.

One case per (conversation, trouble type): asking again returns the same case with later triage
answers, urgency flags and articles added, but never a different eligibility, claim or summary:
those are decided once, on the server, when the case is made. A sender id that contains a phone number or
an e-mail address (an SMS sender) is stored as its keyed hash, never as the number.

Status rules: new → in_progress → closed; in_progress → new hands a case back to the queue;
closed is final unless reopened explicitly (closed → in_progress with ``reopen=True``).
"""
from __future__ import annotations

import csv
import hmac
import io
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    cast,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from nettrouble import identity, ledger, outbox
from nettrouble.clock import in_japan, now, start_of_day
from nettrouble.datafiles import TROUBLE_TYPES
from nettrouble.db import metadata, register_migration
from nettrouble.ledger import is_person_key
from nettrouble.masking import conversation_key, mask_text
from nettrouble.reference import BAD_CHECK_DIGIT, MALFORMED, OK, new_reference, parse_reference
from nettrouble.settings import settings

log = logging.getLogger(__name__)

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

URGENCY_FLAGS = ("danger", "self_harm", "minor", "sexual_image")
NONE = "none"
ELIGIBLE = "eligible"
ALREADY_USED = "already_used"
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
)


def _add_claim_state(connection: Connection) -> None:
    """Cases made before claims had states: an eligible one's reservation was final."""
    if "claim_state" not in {c["name"] for c in inspect(connection).get_columns("cases")}:
        connection.execute(text("ALTER TABLE cases ADD COLUMN claim_state VARCHAR(16) NULL"))
        connection.execute(text(f"UPDATE cases SET claim_state = '{ledger.CONFIRMED}' "
                                f"WHERE eligibility = '{ELIGIBLE}'"))


register_migration("2026-12-case-claim-state", _add_claim_state)


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

    def public(self) -> Dict[str, Any]:
        """The case as JSON-ready values for notifications and exports: without ``person_key``
        (a linkable identifier nobody outside the store needs) and without the row id."""
        values = asdict(self)
        del values["person_key"], values["id"]
        for name in ("created_at", "updated_at", "status_changed_at"):
            values[name] = values[name].isoformat()
        return values


@dataclass(frozen=True)
class StatusEvent:
    at: datetime
    by: str
    from_status: Optional[str]
    to_status: str


# --- cleaning what comes from a conversation -------------------------------------------------

def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _answer(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_answer(item) for item in list(value)[:MAX_LIST_ITEMS]]
    # Answers may be the user's own words: masked like the summary, before any cut, so that
    # no part of a number survives at the cut.
    return mask_text(str(value))[:MAX_ANSWER_CHARS]


def _flags(values: Any, allowed: Optional[Iterable[str]] = None, limit: int = MAX_LIST_ITEMS) -> List[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        return []
    result: List[str] = []
    for value in values:
        if isinstance(value, str) and value and len(value) <= MAX_ITEM_CHARS and value not in result:
            if allowed is None or value in allowed:
                result.append(value)
    return result[:limit]


def _conversation_key(sender_id: str) -> str:
    """The sender id, unless it holds a phone number or an e-mail address (an SMS channel's
    sender is the phone number): then its keyed hash, so the number is never stored."""
    return conversation_key(sender_id)


def clean_draft(draft: CaseDraft) -> Dict[str, Any]:
    """The column values of a draft; raises CaseError('invalid') only for a missing
    conversation id, everything else is trimmed, masked or dropped."""
    sender = draft.conversation_id if isinstance(draft.conversation_id, str) else ""
    if not sender.strip() or len(sender) > MAX_CONVERSATION_ID:
        raise CaseError("invalid", f"conversation_id must be 1..{MAX_CONVERSATION_ID} characters")
    trouble = draft.trouble_type if draft.trouble_type in TROUBLE_TYPES else UNKNOWN
    answers = {}
    if isinstance(draft.triage_answers, Mapping):
        for key, value in list(draft.triage_answers.items())[:MAX_ANSWERS]:
            if isinstance(key, str) and 0 < len(key) <= MAX_ITEM_CHARS and value is not None:
                answers[key] = _answer(value)
    eligibility = _text(draft.eligibility, MAX_ITEM_CHARS) or None
    campaign = _text(draft.eligibility_campaign, MAX_ITEM_CHARS) or None
    # Only a hex digest can be a person key: a number put into the slot by mistake is dropped.
    person = draft.person_key if is_person_key(draft.person_key) else None
    return dict(
        conversation_id=_conversation_key(sender),
        channel=_text(draft.channel, 40) or UNKNOWN,
        trouble_type=trouble,
        triage_answers=answers,
        urgency=_flags(draft.urgency, URGENCY_FLAGS),
        eligibility=eligibility,
        eligibility_campaign=campaign,
        person_key=person,
        articles_shown=_flags(draft.articles_shown, limit=MAX_ARTICLES),
        summary=mask_text(draft.summary.strip() if isinstance(draft.summary, str) else "")[:SUMMARY_CHARS],
    )


def summarise(messages: Iterable[str], limit: int = SUMMARY_CHARS) -> str:
    """The user's most recent messages, oldest first, joined and masked, at most ``limit``
    characters (the oldest one kept is cut at its start)."""
    kept: List[str] = []
    length = 0
    for message in reversed([m.strip() for m in messages if isinstance(m, str) and m.strip()]):
        # Masking happens before cutting, so a number cannot survive by being cut in half.
        masked = mask_text(message)
        kept.append(masked)
        length += len(masked) + len(SEPARATOR)
        if length >= limit:
            break
    text = SEPARATOR.join(reversed(kept))
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


# --- reading ---------------------------------------------------------------------------------

def _case(row: Any) -> Case:
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
    )


def _one(bind: Connection, *conditions: Any) -> Optional[Case]:
    row = bind.execute(select(cases).where(*conditions)).first()
    return _case(row) if row else None


def get_case(engine: Engine, reference: str) -> Optional[Case]:
    """The case with this exact canonical reference, or None."""
    if not isinstance(reference, str) or len(reference) > 20:
        return None
    with engine.connect() as connection:
        return _one(connection, cases.c.reference == reference)


def lookup(engine: Engine, text: str) -> Tuple[str, Optional[Case]]:
    """Finds a case from a reference as typed: (OK, case), (MALFORMED, None),
    (BAD_CHECK_DIGIT, None) for a mistyped reference, or (UNKNOWN, None) for a valid one
    that is not in the store."""
    parsed = parse_reference(text)
    if parsed.status != OK:
        return parsed.status, None
    case = get_case(engine, parsed.reference)
    return (OK, case) if case else (UNKNOWN, None)


def _filters(
    status: Optional[str] = None,
    trouble_type: Optional[str] = None,
    date_from: Optional[Union[date, datetime, str]] = None,
    date_to: Optional[Union[date, datetime, str]] = None,
    eligibility: Optional[str] = None,
    urgency: Optional[str] = None,
) -> List[Any]:
    conditions = []
    if status is not None:
        if status not in STATUSES:
            raise CaseError("invalid", f"status must be one of {', '.join(STATUSES)}")
        conditions.append(cases.c.status == status)
    if trouble_type is not None:
        conditions.append(cases.c.trouble_type == trouble_type)
    if date_from is not None:
        conditions.append(cases.c.created_at >= _day_start(date_from))
    if date_to is not None:
        conditions.append(cases.c.created_at < _day_end(date_to))
    if eligibility is not None:
        conditions.append(
            cases.c.eligibility.is_(None) if eligibility == NONE else cases.c.eligibility == eligibility
        )
    if urgency is not None:
        # The list is stored as JSON text on both databases ('["danger", "minor"]'), so a
        # quoted flag is found by LIKE; the flag is from a fixed list, never free text.
        as_text = cast(cases.c.urgency, Text)
        if urgency == NONE:
            conditions.append(as_text == "[]")
        elif urgency in URGENCY_FLAGS:
            conditions.append(as_text.like(f'%"{urgency}"%'))
        else:
            raise CaseError("invalid", f"urgency must be one of none, {', '.join(URGENCY_FLAGS)}")
    return conditions


def _bound(value: Union[date, datetime, str], field_name: str) -> Union[date, datetime]:
    """A date or datetime filter; text in ISO form ("2026-07-01") is read as a date."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise CaseError("invalid", f"{field_name} must be a date YYYY-MM-DD") from None
    if not isinstance(value, date):
        raise CaseError("invalid", f"{field_name} must be a date YYYY-MM-DD")
    return value


def _day_start(value: Union[date, datetime, str]) -> datetime:
    value = _bound(value, "date_from")
    return in_japan(value) if isinstance(value, datetime) else start_of_day(value)


def _day_end(value: Union[date, datetime, str]) -> datetime:
    """A date includes its whole day; a datetime is an exclusive bound."""
    value = _bound(value, "date_to")
    return in_japan(value) if isinstance(value, datetime) else start_of_day(value + timedelta(days=1))


def list_cases(
    engine: Engine,
    status: Optional[str] = None,
    trouble_type: Optional[str] = None,
    date_from: Optional[Union[date, datetime, str]] = None,
    date_to: Optional[Union[date, datetime, str]] = None,
    eligibility: Optional[str] = None,
    urgency: Optional[str] = None,
    limit: int = 50,
    offset: int = 0,
) -> List[Case]:
    """Cases matching every given filter, newest first. Dates (``date`` or "YYYY-MM-DD") are
    Japan dates, both ends included; a datetime is an exact bound, exclusive at the end.
    ``eligibility="none"`` finds cases without a decision, ``urgency="none"`` cases without an
    urgency flag. A bad filter raises CaseError with code 'invalid'."""
    conditions = _filters(status, trouble_type, date_from, date_to, eligibility, urgency)
    if not isinstance(limit, int) or not 0 < limit <= MAX_PAGE:
        raise CaseError("invalid", f"limit must be 1..{MAX_PAGE}")
    if not isinstance(offset, int) or offset < 0:
        raise CaseError("invalid", "offset must be 0 or more")
    query = (
        select(cases).where(*conditions)
        .order_by(cases.c.created_at.desc(), cases.c.id.desc()).limit(limit).offset(offset)
    )
    with engine.connect() as connection:
        return [_case(row) for row in connection.execute(query)]


def status_history(engine: Engine, reference: str) -> List[StatusEvent]:
    """Every status the case has had, oldest first (empty for an unknown reference)."""
    query = (
        select(case_status_events)
        .join(cases, cases.c.id == case_status_events.c.case_id)
        .where(cases.c.reference == reference)
        .order_by(case_status_events.c.at, case_status_events.c.id)
    )
    with engine.connect() as connection:
        return [
            StatusEvent(in_japan(row.at), row.by, row.from_status, row.to_status)
            for row in connection.execute(query)
        ]


def matches_person(engine: Engine, reference: str, phone_text: str) -> str:
    """Whether the number a caller phones from is the one the case was checked with:
    MATCH, NO_MATCH, NO_PERSON_KEY (the case has none), UNKNOWN (no such case) or
    INVALID_NUMBER (no docomo mobile number can be read from ``phone_text``)."""
    case = get_case(engine, reference)
    if case is None:
        return UNKNOWN
    if case.person_key is None:
        return NO_PERSON_KEY
    try:
        candidate = identity.person_key(phone_text)
    except identity.InvalidNumber:
        return INVALID_NUMBER
    return MATCH if hmac.compare_digest(candidate, case.person_key) else NO_MATCH


CSV_COLUMNS = (
    "reference", "created_at", "updated_at", "status", "status_changed_at", "status_changed_by",
    "channel", "conversation_id", "trouble_type", "urgency", "eligibility", "eligibility_campaign",
    "claim_state", "articles_shown", "triage_answers", "summary",
)


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to spreadsheet software; user text must not run.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(engine: Engine, **filters: Any) -> str:
    """Every case matching ``filters`` (as ``list_cases``, without paging), newest first, as
    CSV text with a header row. Without person keys; JSON fields as JSON text."""
    conditions = _filters(**filters)
    query = select(cases).where(*conditions).order_by(cases.c.created_at.desc(), cases.c.id.desc())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    with engine.connect() as connection:
        for row in connection.execute(query):
            public = _case(row).public()
            writer.writerow([_cell(public[column]) for column in CSV_COLUMNS])
    return out.getvalue()


# --- writing ---------------------------------------------------------------------------------

def _insert(connection: Connection, values: Dict[str, Any], reference: str, at: datetime) -> int:
    result = connection.execute(
        cases.insert().values(
            **values, reference=reference, created_at=at, updated_at=at,
            status=NEW, status_changed_at=at, status_changed_by=SYSTEM,
        )
    )
    case_id = result.inserted_primary_key[0]
    connection.execute(
        case_status_events.insert().values(case_id=case_id, at=at, by=SYSTEM, from_status=None, to_status=NEW)
    )
    return case_id


def _claim(connection: Connection, values: Dict[str, Any], reference: str, at: datetime,
           proved_by: Optional[str], pending_for: timedelta) -> Dict[str, Any]:
    """Claims the free consultation for an eligible case and returns the columns to record:
    ``eligibility`` ALREADY_USED when another case holds the number, None (undecided) when an
    "eligible" decision comes without the person key or campaign needed to enforce one case per
    person; ``claim_state`` the claim's. A claim this one ended is recorded on its case."""
    eligibility = values["eligibility"]
    if eligibility != ELIGIBLE:
        return dict(eligibility=eligibility, claim_state=None)
    if not values["person_key"] or not values["eligibility_campaign"]:
        log.warning("eligible decision without person key or campaign; recorded as undecided")
        return dict(eligibility=None, claim_state=None)
    outcome = ledger.reserve(
        connection, values["eligibility_campaign"], values["person_key"], reference, at=at,
        proved_by=proved_by if proved_by in ledger.PROOFS else None, pending_for=pending_for,
    )
    if outcome.displaced:
        connection.execute(cases.update().where(cases.c.reference == outcome.displaced)
                           .values(claim_state=outcome.displaced_state, updated_at=at))
    if outcome.result == ledger.ALREADY_USED:
        return dict(eligibility=ALREADY_USED, claim_state=None)
    return dict(eligibility=ELIGIBLE, claim_state=outcome.state)


# Decided once, when the case is made; a later handoff of the same trouble never changes them
# (a forged or replayed handoff could otherwise rewrite a case whose claim stays held).
_FIXED = ("eligibility", "eligibility_campaign", "person_key", "summary", "channel")


def _merge(existing: Case, values: Dict[str, Any]) -> Dict[str, Any]:
    """A repeated handoff keeps the case: later triage answers win, flags and articles
    accumulate; the decision, the claim and the summary stay as they were."""
    return dict(
        triage_answers={**existing.triage_answers, **values["triage_answers"]},
        urgency=existing.urgency + [f for f in values["urgency"] if f not in existing.urgency],
        articles_shown=existing.articles_shown
        + [a for a in values["articles_shown"] if a not in existing.articles_shown],
    )


def _refresh(engine: Engine, existing: Case, values: Dict[str, Any], at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            cases.update().where(cases.c.id == existing.id).values(**_merge(existing, values), updated_at=at)
        )


def open_case(
    engine: Engine,
    draft: CaseDraft,
    at: Optional[datetime] = None,
    notify: Optional[bool] = None,
    pending_for: timedelta = timedelta(hours=72),
    may_open: Optional[Callable[[], bool]] = None,
) -> Tuple[Case, bool]:
    """The case for this conversation and trouble type, created if new: ``(case, created)``.

    Creation, its first status event, the free-consultation claim (when the draft says
    eligible: confirmed when ``draft.proved_by`` names a proof, else pending for
    ``pending_for``) and the notification outbox row (when ``notify``, by default when
    HANDOFF_WEBHOOK_URL is set) are one transaction: after a crash there is all or nothing.
    Concurrent calls for the same conversation and trouble get the same case; a reference that
    happens to be taken already is replaced by a new random one. ``may_open`` is asked before a
    new case is made (not for an existing one); False raises CaseError('limited')."""
    values = clean_draft(draft)
    at = in_japan(at) if at else now()
    notify = bool(settings().handoff_webhook_url) if notify is None else notify
    existing = find_case(engine, draft.conversation_id, values["trouble_type"])
    if existing is None and may_open is not None and not may_open():
        raise CaseError("limited", "the client has opened as many cases as it may for now")
    for _attempt in range(MAX_ATTEMPTS):
        if existing is not None:
            _refresh(engine, existing, values, at)
            return get_case(engine, existing.reference), False
        reference = new_reference(at)
        try:
            with engine.begin() as connection:
                case_id = _insert(connection, values, reference, at)
                claimed = _claim(connection, values, reference, at, draft.proved_by, pending_for)
                connection.execute(cases.update().where(cases.c.id == case_id).values(**claimed))
                case = _one(connection, cases.c.id == case_id)
                if notify:
                    outbox.enqueue(connection, case_id, CASE_CREATED, case.public())
            return case, True
        except IntegrityError:
            # Either another handoff created this conversation's case first (found on the next
            # pass) or the reference was taken (a new one is drawn). Nothing was written.
            existing = find_case(engine, draft.conversation_id, values["trouble_type"])
    raise CaseError("busy", f"could not create a case after {MAX_ATTEMPTS} attempts")


def find_case(engine: Engine, conversation_id: str, trouble_type: str) -> Optional[Case]:
    """The case of this conversation and trouble type, if one was made."""
    if not isinstance(conversation_id, str) or not conversation_id.strip() or len(conversation_id) > MAX_CONVERSATION_ID:
        return None
    trouble = trouble_type if trouble_type in TROUBLE_TYPES else UNKNOWN
    with engine.connect() as connection:
        return _one(connection, cases.c.conversation_id == _conversation_key(conversation_id),
                    cases.c.trouble_type == trouble)


# confirm_caller() results beyond matches_person()'s
CONFIRMED = "confirmed"
HELD_ELSEWHERE = "held_elsewhere"
NO_CLAIM = "no_claim"


def confirm_caller(engine: Engine, reference: str, phone_text: str,
                   at: Optional[datetime] = None) -> Tuple[str, Optional[str]]:
    """Staff check the number the caller phones from against the number the case was checked
    with; a match proves the number, which confirms the case's free-consultation claim (taking
    it from another case's pending claim). Returns (result, holder reference): CONFIRMED,
    HELD_ELSEWHERE (another case's claim is confirmed; its reference is for staff only),
    NO_CLAIM (a match on a case the free consultation does not apply to), or a
    ``matches_person`` result other than MATCH."""
    match = matches_person(engine, reference, phone_text)
    if match != MATCH:
        return match, None
    case = get_case(engine, reference)
    if case.eligibility not in (ELIGIBLE, ALREADY_USED) or not case.eligibility_campaign:
        return NO_CLAIM, None
    at = in_japan(at) if at else now()
    with engine.begin() as connection:
        outcome = ledger.reserve(connection, case.eligibility_campaign, case.person_key, reference,
                                 at=at, proved_by=ledger.VIA_STAFF)
        if outcome.result == ledger.ALREADY_USED:
            connection.execute(cases.update().where(cases.c.id == case.id)
                               .values(eligibility=ALREADY_USED, claim_state=None, updated_at=at))
            return HELD_ELSEWHERE, outcome.case_reference
        if outcome.displaced:
            connection.execute(cases.update().where(cases.c.reference == outcome.displaced)
                               .values(claim_state=outcome.displaced_state, updated_at=at))
        connection.execute(cases.update().where(cases.c.id == case.id)
                           .values(eligibility=ELIGIBLE, claim_state=ledger.CONFIRMED, updated_at=at))
    return CONFIRMED, None


def release_claim(engine: Engine, reference: str, at: Optional[datetime] = None) -> bool:
    """Staff free the number of a case's pending claim (the caller was not the number's owner,
    or the user asks to drop it); True when a pending claim was released."""
    case = get_case(engine, reference)
    if case is None or case.claim_state != ledger.PENDING or not case.eligibility_campaign or not case.person_key:
        return False
    at = in_japan(at) if at else now()
    with engine.begin() as connection:
        if not ledger.release(connection, case.eligibility_campaign, case.person_key, reference):
            return False
        connection.execute(cases.update().where(cases.c.id == case.id)
                           .values(claim_state=ledger.RELEASED, updated_at=at))
    return True


def claim_state_at(engine: Engine, case: Case, at: Optional[datetime] = None) -> Optional[str]:
    """The claim's state as staff should read it: a pending claim past its time is expired
    even before anyone else claims the number."""
    if case.claim_state != ledger.PENDING or not case.eligibility_campaign or not case.person_key:
        return case.claim_state
    held = ledger.holder(engine, case.eligibility_campaign, case.person_key, at=at)
    return ledger.PENDING if held is not None and held.case_reference == case.reference else ledger.EXPIRED


def change_status(engine: Engine, reference: str, new_status: str, who: str, reopen: bool = False) -> Case:
    """Moves a case along new → in_progress → closed, recording who and when.

    Also allowed: in_progress → new (an agent hands the case back to the queue). A closed case
    is final unless ``reopen`` is passed explicitly; it then goes back to in_progress.
    Raises CaseError with code 'unknown', 'invalid', 'not_allowed' or 'conflict' (another agent
    changed it first)."""
    if new_status not in STATUSES:
        raise CaseError("invalid", f"status must be one of {', '.join(STATUSES)}")
    if not isinstance(who, str) or not who.strip() or len(who.strip()) > MAX_WHO:
        raise CaseError("invalid", f"who must be 1..{MAX_WHO} characters")
    who = who.strip()
    case = get_case(engine, reference)
    if case is None:
        raise CaseError("unknown", f"no case {reference}")
    allowed = TRANSITIONS.get(case.status, ())
    if case.status == CLOSED and reopen:
        allowed = (IN_PROGRESS,)
    if new_status not in allowed:
        raise CaseError("not_allowed", f"a {case.status} case cannot become {new_status}")
    at = now()
    with engine.begin() as connection:
        # Conditional on the status read above: of two agents acting at once, one wins.
        changed = connection.execute(
            cases.update()
            .where(cases.c.id == case.id, cases.c.status == case.status)
            .values(status=new_status, status_changed_at=at, status_changed_by=who, updated_at=at)
        ).rowcount
        if changed != 1:
            raise CaseError("conflict", f"case {reference} was changed by someone else")
        connection.execute(
            case_status_events.insert().values(
                case_id=case.id, at=at, by=who, from_status=case.status, to_status=new_status
            )
        )
    return get_case(engine, reference)
