"""The handoff case store: one record per conversation and trouble type, for the phone staff.

The tables and dataclasses are in ``nettrouble.cases.schema``, the cleaning of what comes from a
conversation in ``nettrouble.cases.summary``, the CSV export in ``nettrouble.cases.export``.
Callers get plain dataclasses, never rows.

API: ``open_case`` (create or find, atomically with the outbox rows and the free-consultation
claim), ``get_case``, ``lookup`` (ok / malformed / bad_check_digit / unknown),
``list_cases``, ``open_cases``, ``change_status``, ``take``, ``assign``, ``close``,
``status_history``, ``add_note``, ``notes``, ``matches_person``, ``confirm_caller`` (staff prove
the caller's number, which confirms the case's claim), ``record_fraud_cover`` (a fraud-cover
pre-check done after the case was made).

One case per (conversation, trouble type): asking again returns the same case with later triage
answers, urgency flags and articles added, but never a different eligibility, claim or summary:
those are decided once, on the server, when the case is made. A sender id that contains a phone number or
an e-mail address (an SMS sender) is stored as its keyed hash, never as the number.

Assignment: an agent ``take``s an unassigned open case (it becomes theirs and in_progress);
a supervisor ``assign``s it to someone else or releases it back to the queue (new, unassigned);
handing a case back with ``change_status(..., "new")`` also leaves it unassigned. ``close``
records why (a code of business/closing_reasons.yml); reopening clears the case's reason, the
audit trail keeps it.
"""

from __future__ import annotations

import hmac
import logging
from datetime import date, datetime, timedelta
from typing import Any, Callable, Collection, Dict, List, Optional, Tuple, Union

from sqlalchemy import Text, cast, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from nettrouble.cases import closing_reasons
from nettrouble.cases.document import case_document
from nettrouble.cases.reference import OK, new_reference, parse_reference
from nettrouble.cases.schema import (
    CASE_CREATED,
    CLOSED,
    IN_PROGRESS,
    INVALID_NUMBER,
    MATCH,
    MAX_ATTEMPTS,
    MAX_CONVERSATION_ID,
    MAX_PAGE,
    MAX_WHO,
    NEW,
    NO_MATCH,
    NO_PERSON_KEY,
    NONE,
    OPEN_STATUSES,
    STATUSES,
    SYSTEM,
    TRANSITIONS,
    UNKNOWN,
    Case,
    CaseDraft,
    CaseError,
    Note,
    StatusEvent,
    case_from_row,
    case_notes,
    case_status_events,
    cases,
    event_from_row,
)
from nettrouble.cases.summary import clean_draft, clean_note, fraud_cover_columns
from nettrouble.core.clock import in_japan, now, start_of_day
from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.core.masking import conversation_key
from nettrouble.eligibility import identity, ledger
from nettrouble.eligibility.rules import ALREADY_USED, ELIGIBLE
from nettrouble.notify import outlets
from nettrouble.triage.urgency import URGENCY_FLAGS

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


def _one(bind: Connection, *conditions: Any) -> Optional[Case]:
    row = bind.execute(select(cases).where(*conditions)).first()
    return case_from_row(row) if row else None


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
    if parsed.status != OK or parsed.reference is None:
        return parsed.status, None
    case = get_case(engine, parsed.reference)
    return (OK, case) if case else (UNKNOWN, None)


def case_filters(
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
        conditions.append(cases.c.eligibility.is_(None) if eligibility == NONE else cases.c.eligibility == eligibility)
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
    conditions = case_filters(status, trouble_type, date_from, date_to, eligibility, urgency)
    if not isinstance(limit, int) or not 0 < limit <= MAX_PAGE:
        raise CaseError("invalid", f"limit must be 1..{MAX_PAGE}")
    if not isinstance(offset, int) or offset < 0:
        raise CaseError("invalid", "offset must be 0 or more")
    query = (
        select(cases)
        .where(*conditions)
        .order_by(cases.c.created_at.desc(), cases.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as connection:
        return [case_from_row(row) for row in connection.execute(query)]


def status_history(engine: Engine, reference: str) -> List[StatusEvent]:
    """Every status the case has had, oldest first (empty for an unknown reference)."""
    query = (
        select(case_status_events)
        .join(cases, cases.c.id == case_status_events.c.case_id)
        .where(cases.c.reference == reference)
        .order_by(case_status_events.c.at, case_status_events.c.id)
    )
    with engine.connect() as connection:
        return [event_from_row(row) for row in connection.execute(query)]


def open_cases(engine: Engine, created_on: Optional[date] = None) -> List[Tuple[Case, List[StatusEvent]]]:
    """Every case still to be dealt with (new or in_progress), oldest first, each with its
    status history (oldest first), read in one go for the staff queue. ``created_on`` keeps
    the cases made on that Japan date."""
    conditions = [cases.c.status.in_(OPEN_STATUSES)]
    if created_on is not None:
        conditions += case_filters(date_from=created_on, date_to=created_on)
    case_query = select(cases).where(*conditions).order_by(cases.c.created_at, cases.c.id)
    event_query = (
        select(case_status_events)
        .join(cases, cases.c.id == case_status_events.c.case_id)
        .where(*conditions)
        .order_by(case_status_events.c.at, case_status_events.c.id)
    )
    with engine.connect() as connection:
        found = [case_from_row(row) for row in connection.execute(case_query)]
        history: Dict[int, List[StatusEvent]] = {case.id: [] for case in found}
        for row in connection.execute(event_query):
            # A case opened again between the two reads is not in this list; its events wait
            # for the next read.
            if row.case_id in history:
                history[row.case_id].append(event_from_row(row))
    return [(case, history[case.id]) for case in found]


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


def _insert(connection: Connection, values: Dict[str, Any], reference: str, at: datetime) -> int:
    result = connection.execute(
        cases.insert().values(
            **values,
            reference=reference,
            created_at=at,
            updated_at=at,
            status=NEW,
            status_changed_at=at,
            status_changed_by=SYSTEM,
        )
    )
    case_id: int = result.inserted_primary_key[0]
    connection.execute(
        case_status_events.insert().values(case_id=case_id, at=at, by=SYSTEM, from_status=None, to_status=NEW)
    )
    return case_id


def _claim(
    connection: Connection,
    values: Dict[str, Any],
    reference: str,
    at: datetime,
    proved_by: Optional[str],
    pending_for: timedelta,
) -> Dict[str, Any]:
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
        connection,
        values["eligibility_campaign"],
        values["person_key"],
        reference,
        at=at,
        proved_by=proved_by if proved_by in ledger.PROOFS else None,
        pending_for=pending_for,
    )
    if outcome.displaced:
        connection.execute(
            cases.update()
            .where(cases.c.reference == outcome.displaced)
            .values(claim_state=outcome.displaced_state, updated_at=at)
        )
    if outcome.result == ledger.ALREADY_USED:
        return dict(eligibility=ALREADY_USED, claim_state=None)
    return dict(eligibility=ELIGIBLE, claim_state=outcome.state)


# Decided once, when the case is made; a later handoff of the same trouble never changes them
# (a forged or replayed handoff could otherwise rewrite a case whose claim stays held).
_FIXED = ("eligibility", "eligibility_campaign", "person_key", "summary", "channel")
# The pre-check is the user's own statement, done again whenever they like: unlike the
# free-consultation decision it is not fixed when the case is made.
FRAUD_COVER_COLUMNS = (
    "fraud_cover",
    "fraud_cover_estimate",
    "fraud_cover_amount_lost",
    "fraud_cover_provider_pays",
    "fraud_cover_provider_decision",
)


def _merge(existing: Case, values: Dict[str, Any]) -> Dict[str, Any]:
    """A repeated handoff keeps the case: later triage answers win, flags and articles
    accumulate, a later fraud-cover pre-check replaces the earlier one as a whole; the decision,
    the claim and the summary stay as they were."""
    later_cover = {name: values[name] for name in FRAUD_COVER_COLUMNS}
    return dict(
        triage_answers={**existing.triage_answers, **values["triage_answers"]},
        urgency=existing.urgency + [f for f in values["urgency"] if f not in existing.urgency],
        articles_shown=existing.articles_shown
        + [a for a in values["articles_shown"] if a not in existing.articles_shown],
        **(later_cover if any(value is not None for value in later_cover.values()) else {}),
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
    notify: Union[None, bool, Collection[str]] = None,
    pending_for: timedelta = timedelta(hours=72),
    may_open: Optional[Callable[[], bool]] = None,
) -> Tuple[Case, bool]:
    """The case for this conversation and trouble type, created if new: ``(case, created)``.

    Creation, its first status event, the free-consultation claim (when the draft says
    eligible: confirmed when ``draft.proved_by`` names a proof, else pending for
    ``pending_for``) and the notification outbox rows, one per outlet (``notify``: names of
    ``nettrouble.notify.outlets``; None, the default, every outlet switched on in the settings; True
    every outlet, False none) are one transaction: after a crash there is all or nothing.
    Concurrent calls for the same conversation and trouble get the same case; a reference that
    happens to be taken already is replaced by a new random one. ``may_open`` is asked before a
    new case is made (not for an existing one); False raises CaseError('limited')."""
    values = clean_draft(draft)
    at = in_japan(at) if at else now()
    if notify is None:
        notify = outlets.switched_on()
    elif isinstance(notify, bool):
        notify = outlets.NAMES if notify else ()
    existing = find_case(engine, draft.conversation_id, values["trouble_type"])
    if existing is None and may_open is not None and not may_open():
        raise CaseError("limited", "the client has opened as many cases as it may for now")
    for _attempt in range(MAX_ATTEMPTS):
        if existing is not None:
            _refresh(engine, existing, values, at)
            return _existing(engine, existing.reference), False
        reference = new_reference(at)
        try:
            with engine.begin() as connection:
                case_id = _insert(connection, values, reference, at)
                claimed = _claim(connection, values, reference, at, draft.proved_by, pending_for)
                connection.execute(cases.update().where(cases.c.id == case_id).values(**claimed))
                case = case_from_row(connection.execute(select(cases).where(cases.c.id == case_id)).one())
                if notify:
                    outlets.enqueue_case(connection, case_id, CASE_CREATED, case_document(case), notify)
            return case, True
        except IntegrityError:
            # Either another handoff created this conversation's case first (found on the next
            # pass) or the reference was taken (a new one is drawn). Nothing was written.
            existing = find_case(engine, draft.conversation_id, values["trouble_type"])
    raise CaseError("busy", f"could not create a case after {MAX_ATTEMPTS} attempts")


def record_fraud_cover(engine: Engine, draft: CaseDraft, at: Optional[datetime] = None) -> Optional[Case]:
    """Puts the draft's fraud-cover pre-check on the case of its conversation and trouble type,
    when one was made already (the pre-check done after the reference was given); returns that
    case, or None when there is none yet (the handoff will carry the pre-check)."""
    existing = find_case(engine, draft.conversation_id, draft.trouble_type)
    if existing is None:
        return None
    at = in_japan(at) if at else now()
    with engine.begin() as connection:
        connection.execute(
            cases.update().where(cases.c.id == existing.id).values(**fraud_cover_columns(draft), updated_at=at)
        )
    return get_case(engine, existing.reference)


def find_case(engine: Engine, conversation_id: str, trouble_type: str) -> Optional[Case]:
    """The case of this conversation and trouble type, if one was made."""
    if (
        not isinstance(conversation_id, str)
        or not conversation_id.strip()
        or len(conversation_id) > MAX_CONVERSATION_ID
    ):
        return None
    trouble = trouble_type if trouble_type in TROUBLE_TYPES else UNKNOWN
    with engine.connect() as connection:
        return _one(
            connection, cases.c.conversation_id == conversation_key(conversation_id), cases.c.trouble_type == trouble
        )


# confirm_caller() results beyond matches_person()'s
CONFIRMED = "confirmed"
HELD_ELSEWHERE = "held_elsewhere"
NO_CLAIM = "no_claim"


def confirm_caller(
    engine: Engine, reference: str, phone_text: str, at: Optional[datetime] = None
) -> Tuple[str, Optional[str]]:
    """Staff check the number the caller phones from against the number the case was checked
    with; a match proves the number, which confirms the case's free-consultation claim (taking
    it from another case's pending claim). Returns (result, holder reference): CONFIRMED,
    HELD_ELSEWHERE (another case's claim is confirmed; its reference is for staff only),
    NO_CLAIM (a match on a case the free consultation does not apply to), or a
    ``matches_person`` result other than MATCH."""
    match = matches_person(engine, reference, phone_text)
    if match != MATCH:
        return match, None
    case = _existing(engine, reference)
    # A MATCH means the case has a person key; the check tells the type checker so too.
    if case.eligibility not in (ELIGIBLE, ALREADY_USED) or not case.eligibility_campaign or case.person_key is None:
        return NO_CLAIM, None
    at = in_japan(at) if at else now()
    with engine.begin() as connection:
        outcome = ledger.reserve(
            connection, case.eligibility_campaign, case.person_key, reference, at=at, proved_by=ledger.VIA_STAFF
        )
        if outcome.result == ledger.ALREADY_USED:
            connection.execute(
                cases.update()
                .where(cases.c.id == case.id)
                .values(eligibility=ALREADY_USED, claim_state=None, updated_at=at)
            )
            return HELD_ELSEWHERE, outcome.case_reference
        if outcome.displaced:
            connection.execute(
                cases.update()
                .where(cases.c.reference == outcome.displaced)
                .values(claim_state=outcome.displaced_state, updated_at=at)
            )
        connection.execute(
            cases.update()
            .where(cases.c.id == case.id)
            .values(eligibility=ELIGIBLE, claim_state=ledger.CONFIRMED, updated_at=at)
        )
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
        connection.execute(
            cases.update().where(cases.c.id == case.id).values(claim_state=ledger.RELEASED, updated_at=at)
        )
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
    who = _name(who, "who")
    case = _existing(engine, reference)
    allowed = TRANSITIONS.get(case.status, ())
    if case.status == CLOSED and reopen:
        allowed = (IN_PROGRESS,)
    if new_status not in allowed:
        raise CaseError("not_allowed", f"a {case.status} case cannot become {new_status}")
    at = now()
    values = dict(status=new_status, status_changed_at=at, status_changed_by=who, updated_at=at)
    if new_status == NEW:
        # Back in the queue means nobody holds it: any agent may take it.
        values.update(assigned_to=None, assigned_at=None)
    if case.status == CLOSED:
        # The reason belonged to the closing that is now undone; the audit trail keeps it.
        values.update(closing_reason=None)
    with engine.begin() as connection:
        # Conditional on the status read above: of two agents acting at once, one wins.
        changed = connection.execute(
            cases.update().where(cases.c.id == case.id, cases.c.status == case.status).values(**values)
        ).rowcount
        if changed != 1:
            raise CaseError("conflict", f"case {reference} was changed by someone else")
        connection.execute(
            case_status_events.insert().values(
                case_id=case.id, at=at, by=who, from_status=case.status, to_status=new_status
            )
        )
    return _existing(engine, reference)


def _name(value: Any, field_name: str) -> str:
    """A person's name for the audit trail, trimmed; CaseError('invalid') unless 1..MAX_WHO."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_WHO:
        raise CaseError("invalid", f"{field_name} must be 1..{MAX_WHO} characters")
    return value.strip()


def _existing(engine: Engine, reference: str) -> Case:
    case = get_case(engine, reference)
    if case is None:
        raise CaseError("unknown", f"no case {reference}")
    return case


def _hand_over(engine: Engine, case: Case, holder: Optional[str], by: str, at: datetime) -> bool:
    """Gives ``case`` to ``holder`` (in_progress) or back to the queue (None: new), if nobody
    changed its holder or status since it was read; False when someone did. One transaction
    with its audit event."""
    status = IN_PROGRESS if holder is not None else NEW
    values: Dict[str, Any] = dict(assigned_to=holder, assigned_at=at if holder is not None else None, updated_at=at)
    if status != case.status:
        values.update(status=status, status_changed_at=at, status_changed_by=by)
    held = cases.c.assigned_to.is_(None) if case.assigned_to is None else cases.c.assigned_to == case.assigned_to
    with engine.begin() as connection:
        # Conditional on the holder and status read before: of two agents taking the same case
        # at once, the second UPDATE matches no row, and nothing of theirs is written.
        changed = connection.execute(
            cases.update().where(cases.c.id == case.id, cases.c.status == case.status, held).values(**values)
        ).rowcount
        if changed != 1:
            return False
        connection.execute(
            case_status_events.insert().values(
                case_id=case.id,
                at=at,
                by=by,
                from_status=case.status,
                to_status=status,
                assigned_to=holder,
            )
        )
    return True


def _lost(engine: Engine, reference: str) -> CaseError:
    """Why a hand-over found the case changed: 'taken' when someone holds it now."""
    current = _existing(engine, reference)
    if current.assigned_to is not None:
        return CaseError("taken", f"case {reference} is held by {current.assigned_to}")
    return CaseError("conflict", f"case {reference} was changed by someone else")


def take(engine: Engine, reference: str, agent_name: str, at: datetime) -> Case:
    """The agent takes an open case nobody holds: it becomes theirs and in_progress, recorded
    in the audit trail under their name. Of two agents taking it at once exactly one gets it;
    the other gets CaseError('taken'). Also 'unknown', 'invalid' (name), 'not_allowed' (closed)."""
    agent = _name(agent_name, "agent_name")
    case = _existing(engine, reference)
    if case.status not in OPEN_STATUSES:
        raise CaseError("not_allowed", f"a {case.status} case cannot be taken")
    if case.assigned_to is not None:
        raise CaseError("taken", f"case {reference} is held by {case.assigned_to}")
    if not _hand_over(engine, case, agent, agent, in_japan(at)):
        raise _lost(engine, reference)
    return _existing(engine, reference)


def assign(engine: Engine, reference: str, agent_name: Optional[str], by: str, at: datetime) -> Case:
    """A supervisor (``by``; the caller checks the role) gives an open case to ``agent_name``
    (in_progress) or, with None, releases it to the queue (new, nobody holds it, its waiting
    time starts again). Assigning it to its holder, or releasing a case nobody holds, changes
    nothing. CaseError 'unknown', 'invalid', 'not_allowed' (closed) or 'conflict'/'taken'
    (someone changed it meanwhile)."""
    by = _name(by, "by")
    agent = _name(agent_name, "agent_name") if agent_name is not None else None
    case = _existing(engine, reference)
    if case.status not in OPEN_STATUSES:
        raise CaseError("not_allowed", f"a {case.status} case cannot be assigned")
    if case.assigned_to == agent and (agent is not None or case.status == NEW):
        return case
    if not _hand_over(engine, case, agent, by, in_japan(at)):
        raise _lost(engine, reference)
    return _existing(engine, reference)


def close(engine: Engine, reference: str, reason_code: str, by: str, at: datetime) -> Case:
    """Closes a case in progress for a reason of business/closing_reasons.yml, stored on the
    case and in the audit trail. A new case must be taken first (TRANSITIONS), so every closed
    case was in someone's hands. CaseError 'invalid' (unknown reason or name), 'unknown',
    'not_allowed' or 'conflict'."""
    by = _name(by, "by")
    codes = [reason.code for reason in closing_reasons.catalogue()]
    if reason_code not in codes:
        raise CaseError("invalid", f"reason must be one of {', '.join(codes)}")
    case = _existing(engine, reference)
    if CLOSED not in TRANSITIONS.get(case.status, ()):
        raise CaseError("not_allowed", f"a {case.status} case cannot be closed")
    at = in_japan(at)
    with engine.begin() as connection:
        changed = connection.execute(
            cases.update()
            .where(cases.c.id == case.id, cases.c.status == case.status)
            .values(
                status=CLOSED,
                closing_reason=reason_code,
                status_changed_at=at,
                status_changed_by=by,
                updated_at=at,
            )
        ).rowcount
        if changed != 1:
            raise CaseError("conflict", f"case {reference} was changed by someone else")
        connection.execute(
            case_status_events.insert().values(
                case_id=case.id,
                at=at,
                by=by,
                from_status=case.status,
                to_status=CLOSED,
                closing_reason=reason_code,
            )
        )
    return _existing(engine, reference)


def add_note(engine: Engine, reference: str, author: str, body: str, at: datetime) -> Note:
    """Adds a staff note to a case (closed ones too: a follow-up is still worth writing down).

    Stored as written, not masked: agents write what they need to call back (a number the
    caller gave, a name), the console is staff-only, and masking would destroy exactly that.
    For the same reason notes are never logged and never exported to CSV: logs and exports go
    further than the console, and notes may hold the caller's personal data. They go with the
    case when retention purges it."""
    author = _name(author, "author")
    cleaned = clean_note(body)
    case = _existing(engine, reference)
    at = in_japan(at)
    with engine.begin() as connection:
        connection.execute(case_notes.insert().values(case_id=case.id, at=at, author=author, text=cleaned))
        # A note is activity: retention counts from the last change of the case.
        connection.execute(cases.update().where(cases.c.id == case.id).values(updated_at=at))
    return Note(at=at, author=author, text=cleaned)


def notes(engine: Engine, reference: str) -> List[Note]:
    """The case's notes, oldest first (newest last); empty for an unknown reference."""
    query = (
        select(case_notes)
        .join(cases, cases.c.id == case_notes.c.case_id)
        .where(cases.c.reference == reference)
        .order_by(case_notes.c.at, case_notes.c.id)
    )
    with engine.connect() as connection:
        return [Note(in_japan(row.at), row.author, row.text) for row in connection.execute(query)]
