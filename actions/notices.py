"""New-article notices on LINE and SMS (nettrouble/notices/ holds the records and the sending):
offered after the articles a user asked for there, recorded when the user accepts, ended by
「配信停止」. Asking about notices is faq/new_article_notice, whose answer says how."""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from nettrouble.content import articles
from nettrouble.core import clock, db
from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.notices import addresses, subscriptions

logger = logging.getLogger(__name__)

# The trouble type whose notices the bot has just offered (set with the question, cleared
# after): the rules route the user's はい or いいえ by it.
TOPIC_SLOT = "article_notice_topic"
ASK_ARTICLES = "ask_articles"
CHANNEL_NAMES = {addresses.LINE: "LINE", addresses.SMS: "SMS"}


def _database() -> Engine:
    """The prepared service database of DATABASE_URL (prepared once per process and URL)."""
    return db.LazyEngine().get()


def _topic_labels() -> Dict[str, str]:
    return articles.index().catalogue.topic_labels


def offer_after_articles(
    dispatcher: CollectingDispatcher, tracker: Tracker, topic: Optional[str], found: Sequence[articles.Article]
) -> List[EventType]:
    """After articles shown on LINE or SMS because the user asked for them, asks whether to send
    the new articles of their trouble type (``topic``, else the first article's). Not in the
    middle of the questions, nor after the triage, where another question comes next; nor when
    the conversation already has them. The slot says the question was asked."""
    channel = addresses.channel_of(tracker.sender_id)
    topic = topic or (found[0].category if found else None)
    standalone = tracker.get_intent_of_latest_message(skip_fallback_intent=False) == ASK_ARTICLES
    if channel is None or topic is None or not found or not standalone or tracker.active_loop_name:
        return _cleared(tracker)
    try:
        if topic in subscriptions.topics_of(_database(), tracker.sender_id):
            return _cleared(tracker)
    except (SQLAlchemyError, db.Unavailable):
        logger.exception("new-article notices not offered: the subscriptions could not be read")
        return _cleared(tracker)
    dispatcher.utter_message(
        response="utter_offer_article_notices", topic_label=_topic_labels()[topic], channel_name=CHANNEL_NAMES[channel]
    )
    return [SlotSet(TOPIC_SLOT, topic)]


def _cleared(tracker: Tracker) -> List[EventType]:
    return [SlotSet(TOPIC_SLOT, None)] if tracker.get_slot(TOPIC_SLOT) is not None else []


class ActionSubscribeArticleNotices(Action):
    """はい to the offer: records the consent to notices of the trouble type just offered."""

    def __init__(self) -> None:
        # The catalogue is read now so that a mistake in it stops the action server at start-up.
        self.labels = _topic_labels()

    def name(self) -> Text:
        return "action_subscribe_article_notices"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        channel = addresses.channel_of(tracker.sender_id)
        topic = tracker.get_slot(TOPIC_SLOT)
        if channel is None or topic not in TROUBLE_TYPES:
            # Only a prediction gone astray gets here: nothing was offered in this conversation.
            dispatcher.utter_message(response="utter_article_notices_unavailable")
            return _cleared(tracker)
        try:
            await asyncio.to_thread(lambda: subscriptions.subscribe(_database(), tracker.sender_id, topic, clock.now()))
        except (SQLAlchemyError, db.Unavailable):
            logger.exception("new-article notices: the consent could not be recorded")
            dispatcher.utter_message(response="utter_article_notices_failed")
            return _cleared(tracker)
        logger.info("new-article notices: a %s conversation subscribed to %s", channel, topic)
        dispatcher.utter_message(response="utter_article_notices_subscribed", topic_label=self.labels[topic])
        return _cleared(tracker)


class ActionDeclineArticleNotices(Action):
    """いいえ to the offer: nothing is recorded, and the offer is over."""

    def name(self) -> Text:
        return "action_decline_article_notices"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_article_notices_declined")
        return _cleared(tracker)


class ActionStopArticleNotices(Action):
    """「配信停止」: every subscription of the conversation ends at once."""

    def name(self) -> Text:
        return "action_stop_article_notices"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        try:
            ended = await asyncio.to_thread(lambda: subscriptions.end(_database(), tracker.sender_id))
        except (SQLAlchemyError, db.Unavailable):
            # The user must not believe the notices stopped.
            logger.exception("new-article notices: a stop could not be recorded")
            dispatcher.utter_message(response="utter_article_notices_failed")
            return _cleared(tracker)
        if ended:
            logger.info("new-article notices: a conversation stopped %d subscription(s)", ended)
        dispatcher.utter_message(response="utter_article_notices_stopped" if ended else "utter_article_notices_none")
        return _cleared(tracker)
