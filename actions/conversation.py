"""Small helpers the actions share for reading the tracker and composing safety lines."""
from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Text

from rasa_sdk import Tracker

from nettrouble import referrals
from nettrouble.datafiles import TROUBLE_TYPES

URGENCY_FLAGS = ("danger", "self_harm", "minor", "sexual_image")


def intent_name(message: Mapping[Text, Any]) -> Optional[Text]:
    return (message.get("intent") or {}).get("name")


def trouble_type_of(intent: Optional[Text]) -> Optional[Text]:
    """``trouble_defamation`` → ``defamation``; None for any other intent."""
    if intent and intent.startswith("trouble_") and intent[len("trouble_"):] in TROUBLE_TYPES:
        return intent[len("trouble_"):]
    return None


def entity_value(entities: Iterable[Mapping[Text, Any]], name: Text) -> Optional[Text]:
    return next((str(e["value"]) for e in entities if e.get("entity") == name and e.get("value")), None)


def urgency_of(tracker: Tracker) -> List[Text]:
    """The urgency flags recorded so far, without the "none" placeholder."""
    return [flag for flag in tracker.get_slot("urgency") or [] if flag in URGENCY_FLAGS]


def with_flag(urgency: List[Text], flag: Text) -> List[Text]:
    return urgency if flag in urgency else urgency + [flag]


def _lines(topic: Text) -> Text:
    return "\n".join(referral.line() for referral in referrals.for_topic(topic))


def sexual_image_notice() -> Text:
    """Intimate-image cases are urgent by type; the image itself is never asked for."""
    return (
        "性的な画像や動画の被害は、早めの対応が大切です。画像や動画をこちらに送っていただく必要はありません。"
        "相手の要求には応じず、次の窓口にご相談ください。\n" + _lines("sexual_image")
    )


def child_lines() -> Text:
    return "お子さまが関わるご相談は、次の窓口でも受け付けています。\n" + _lines("minor")
