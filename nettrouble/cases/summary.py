"""What a case keeps of a conversation: the draft's fields trimmed, masked or dropped, the
summary of the user's recent messages, and staff notes cleaned before they are stored.

A sender id that contains a phone number or an e-mail address (an SMS sender) is stored as its
keyed hash, never as the number; answers and the summary are masked before any cut, so that no
part of a number survives at the cut.
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

from nettrouble.cases.schema import (
    MAX_ANSWER_CHARS,
    MAX_ANSWERS,
    MAX_ARTICLES,
    MAX_CONVERSATION_ID,
    MAX_ITEM_CHARS,
    MAX_LIST_ITEMS,
    MAX_NOTE_CHARS,
    SEPARATOR,
    SUMMARY_CHARS,
    UNKNOWN,
    CaseDraft,
    CaseError,
)
from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.core.masking import conversation_key, mask_text
from nettrouble.cover.codes import DECISIONS, OUTCOMES
from nettrouble.eligibility.ledger import is_person_key
from nettrouble.triage.urgency import URGENCY_FLAGS


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


# Amounts beyond this are not a fraud victim's loss but a typo (the money reader's own bound).
MAX_YEN = 10_000_000_000


def _yen(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_YEN:
        return None
    return value


def fraud_cover_columns(draft: CaseDraft) -> Dict[str, Any]:
    """The fraud-cover pre-check's columns: codes that are not the engine's, and amounts that are
    not whole yen, are dropped."""
    return dict(
        fraud_cover=draft.fraud_cover if draft.fraud_cover in OUTCOMES else None,
        fraud_cover_estimate=_yen(draft.fraud_cover_estimate),
        fraud_cover_amount_lost=_yen(draft.fraud_cover_amount_lost),
        fraud_cover_provider_pays=_yen(draft.fraud_cover_provider_pays),
        fraud_cover_provider_decision=(
            draft.fraud_cover_provider_decision if draft.fraud_cover_provider_decision in DECISIONS else None
        ),
    )


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
        conversation_id=conversation_key(sender),
        channel=_text(draft.channel, 40) or UNKNOWN,
        trouble_type=trouble,
        triage_answers=answers,
        urgency=_flags(draft.urgency, URGENCY_FLAGS),
        eligibility=eligibility,
        eligibility_campaign=campaign,
        person_key=person,
        articles_shown=_flags(draft.articles_shown, limit=MAX_ARTICLES),
        summary=mask_text(draft.summary.strip() if isinstance(draft.summary, str) else "")[:SUMMARY_CHARS],
        **fraud_cover_columns(draft),
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
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


# Line breaks are kept; other control characters and the bidirectional overrides (which can
# make a note display as something else than it says) are dropped.
_NOTE_NOISE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def clean_note(value: Any) -> str:
    """The note as stored: line breaks as \\n, no control characters, trimmed. CaseError
    'invalid' when empty or longer than MAX_NOTE_CHARS; a long note is refused rather than cut
    so that staff never lose words without being told."""
    if not isinstance(value, str):
        raise CaseError("invalid", "a note must be text")
    cleaned = _NOTE_NOISE.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not cleaned or len(cleaned) > MAX_NOTE_CHARS:
        raise CaseError("invalid", f"a note must be 1..{MAX_NOTE_CHARS} characters")
    return cleaned
