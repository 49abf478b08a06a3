"""Small helpers the actions share for reading the tracker and composing safety lines."""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.triage import guidance, referrals
from nettrouble.triage.urgency import SEXUAL_IMAGE, URGENCY_FLAGS

# Messages that are not answers: the forms hand them to the rules (with any answers they also
# carry) and ask their open question again afterwards.
INTERRUPTIONS = {
    "urgent_danger",
    "urgent_self_harm",
    "request_human",
    "goodbye",
    "cancel",
    "correct_trouble_type",
}
# Questions, unless the message answers the question asked in so many words and asks nothing:
# 「アプリを入れるように出たので入れました」 reads like a question about the app to the classifier.
QUESTIONS = {
    "ask_hours",
    "ask_service_info",
    "ask_articles",
    "ask_free_consultation",
    "ask_fraud_cover",
    "faq",
    "bot_challenge",
    "ask_next_step",
}


def trouble_type_of(intent: Optional[Text]) -> Optional[Text]:
    """``trouble_defamation`` → ``defamation``; None for any other intent."""
    if intent and intent.startswith("trouble_") and intent[len("trouble_") :] in TROUBLE_TYPES:
        return intent[len("trouble_") :]
    return None


FAQ_INTENT = "faq"


def faq_key(message: Mapping[Text, Any]) -> Optional[Text]:
    """The FAQ key the response selector chose for the message (``faq/price`` → ``price``)."""
    selected = ((message.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("response") or {}
    key = selected.get("intent_response_key") or ""
    return key.split("/", 1)[1] if key.startswith(FAQ_INTENT + "/") else None


def fresh_reply(tracker: Tracker, form: Text) -> bool:
    """Whether the latest user message is still unanswered: nothing but ``form`` itself has
    run since. A form that runs again after a rule answered an interruption, or that is
    activated by the rules after a reply, must not read an already answered message."""
    neutral = {"action_listen", "action_extract_slots", form}
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            return True
        if kind in ("bot", "action_execution_rejected"):
            return False
        if kind == "action" and event.get("name") not in neutral:
            return False
    return False


def entity_value(entities: Iterable[Mapping[Text, Any]], name: Text) -> Optional[Text]:
    return next((str(e["value"]) for e in entities if e.get("entity") == name and e.get("value")), None)


def urgency_of(tracker: Tracker) -> List[Text]:
    """The urgency flags recorded so far, without the "none" placeholder."""
    return [flag for flag in tracker.get_slot("urgency") or [] if flag in URGENCY_FLAGS]


def with_flag(urgency: List[Text], flag: Text) -> List[Text]:
    return urgency if flag in urgency else urgency + [flag]


def referral_lines(topic: Text) -> Text:
    """The public bodies for a topic, one line each, for the responses that list them."""
    return "\n".join(referral.line() for referral in referrals.for_topic(topic))


def utter_sexual_image_notice(dispatcher: CollectingDispatcher) -> None:
    """Intimate-image cases are urgent by type; the image itself is never asked for."""
    dispatcher.utter_message(response="utter_sexual_image_notice", referral_lines=referral_lines(SEXUAL_IMAGE))


def utter_guidance(
    dispatcher: CollectingDispatcher, trouble_type: Text, answers: Mapping[str, object], urgency: Iterable[str]
) -> None:
    """First steps and public bodies: the text, with the same as a card for LINE."""
    urgency = list(urgency)
    response, values = guidance.guidance_response(trouble_type, answers, urgency)
    dispatcher.utter_message(
        response=response, json_message={"card": guidance.guidance_card(trouble_type, answers, urgency)}, **values
    )
