"""Offering case articles, after triage and whenever the user asks for them."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import notices
from nettrouble.content import articles, service
from nettrouble.core import clock
from nettrouble.core.datafiles import TROUBLE_TYPES

ASK_ARTICLES = "ask_articles"
TOPIC_ENTITY = "article_topic"
SHOWN_SLOT = "articles_shown"


def _known_topic(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value in TROUBLE_TYPES else None


def topic_of(tracker: Tracker) -> Optional[str]:
    """The topic the user chose for articles in this message, else the triaged trouble type."""
    for value in tracker.get_latest_entity_values(TOPIC_ENTITY):
        if _known_topic(value):
            return value
    return _known_topic(tracker.get_slot("trouble_type"))


def words_of(tracker: Tracker) -> str:
    """The user's own words when they asked for articles; a button payload (/intent{...}) and
    the answers to other questions are not search words."""
    intent = tracker.get_intent_of_latest_message(skip_fallback_intent=False)
    text = (tracker.latest_message or {}).get("text")
    if intent != ASK_ARTICLES or not isinstance(text, str) or text.lstrip().startswith("/"):
        return ""
    return text


def topic_buttons(labels: Dict[str, str]) -> List[Dict[str, str]]:
    return [
        {
            "title": labels[topic],
            "payload": f"/{ASK_ARTICLES}" + json.dumps({TOPIC_ENTITY: topic}, separators=(",", ":")),
        }
        for topic in TROUBLE_TYPES
    ]


class ActionOfferArticles(Action):
    def __init__(self) -> None:
        # rasa_sdk creates actions when the action server starts: a broken catalogue stops it
        # there, with the file, article and field in the error, instead of failing a user later.
        self.index = articles.index()
        self.service = service.facts()

    def name(self) -> Text:
        return "action_offer_articles"

    # A plain function: rasa_sdk's executor awaits run() only when it returns a coroutine
    # (utils.call_potential_coroutine), though its base class declares run() async.
    def run(  # type: ignore[override]
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        topic = topic_of(tracker)
        words = words_of(tracker)
        if topic is None and not articles.query_terms(words):
            dispatcher.utter_message(
                response="utter_ask_article_topic", buttons=topic_buttons(self.index.catalogue.topic_labels)
            )
            return []
        at = clock.now()
        # The user's side of the story (victim, poster, parent) shapes the ranking.
        found = self.index.search(words, topic, at, role=tracker.get_slot("user_role"))
        card = articles.offer_card(found, at, self.service) if found else None
        response, values = articles.offer_response(found, at, self.service)
        dispatcher.utter_message(response=response, json_message={"card": card} if card else None, **values)
        shown = [SlotSet(SHOWN_SLOT, [article.id for article in found])] if found else []
        # On LINE and SMS, the new articles of the type may be sent later: asked here.
        return shown + notices.offer_after_articles(dispatcher, tracker, topic, found)
