"""The one JSON form of a case, for everything outside the case store: the console's API, the
signed handoff webhook and the helpdesk ticket. Its fields, their types and every code they
may hold are documented in ``docs/case-schema.md`` and, checkable, in ``docs/case-schema.json``.

``schema_version`` changes only when a field is renamed, removed or changes meaning; a new
optional field keeps the version, so a reader should ignore fields it does not know.

The Japanese names of the codes live here too, so that the console, the Slack alerts and the
tickets call a flag or a channel the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from nettrouble.triage.plans import TYPE_LABELS
from nettrouble.triage.urgency import DANGER, MINOR, SELF_HARM, SEXUAL_IMAGE

if TYPE_CHECKING:
    from nettrouble.cases.schema import Case

SCHEMA_VERSION = 1

# Danger to life first: the order in which flags are shown and listed.
URGENCY_ORDER = (DANGER, SELF_HARM, SEXUAL_IMAGE, MINOR)
URGENCY_LABELS = {
    DANGER: "身の危険",
    SELF_HARM: "自傷・自殺の恐れ",
    SEXUAL_IMAGE: "性的画像の被害",
    MINOR: "未成年",
}
CHANNEL_LABELS = {"web": "ウェブ", "line": "LINE", "sms": "SMS", "rest": "REST", "cmdline": "シェル"}
UNCLASSIFIED = "未分類"


def case_document(case: "Case", transcript: Optional[List[Any]] = None) -> Dict[str, Any]:
    """The case as documented JSON values (``Case.public``: no person key, no row id), with
    ``schema_version``, whether staff can check the caller's number, and ``transcript`` only
    when one is given (the console API adds the conversation; notifications do not)."""
    document: Dict[str, Any] = {"schema_version": SCHEMA_VERSION, **case.public()}
    document["caller_check_available"] = case.person_key is not None
    if transcript is not None:
        document["transcript"] = transcript
    return document


def is_urgent(document: Dict[str, Any]) -> bool:
    """Any urgency flag makes a case urgent (the Slack alert, the ticket's priority)."""
    return bool(document["urgency"])


def ordered_urgency(flags: Sequence[str]) -> List[str]:
    known = [flag for flag in URGENCY_ORDER if flag in flags]
    return known + [flag for flag in flags if flag not in URGENCY_ORDER]


def urgency_labels(flags: Sequence[str]) -> List[str]:
    return [URGENCY_LABELS.get(flag, flag) for flag in ordered_urgency(flags)]


def type_label(trouble_type: str) -> str:
    return TYPE_LABELS.get(trouble_type, UNCLASSIFIED)


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)
