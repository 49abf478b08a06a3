"""Checks the classifier's intent against the message's words (nettrouble/triage/intents.py).

Runs after the intent classifier and before the FallbackClassifier. An intent that changes the
course of the conversation needs its words, else the runner-up is taken; words that ask for
staff make the intent request_human. When the message reports a trouble and asks a question,
the trouble becomes the intent (with the two intents' confidence together, since both explain
the message) and the questions go to ``also_asked`` for the triage's start to answer.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from addons.intent_rewrite import IntentRewrite
from nettrouble.triage import intents


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class IntentReview(IntentRewrite):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            classified = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            ranking = message.get(INTENT_RANKING_KEY) or []
            intent = intents.review(classified, ranking, text)
            if intent is not None and intent != classified:  # review() gives None only for None
                # Taken on the words: the intent they replace is no rival to doubt over.
                ranking = self._lead(message, ranking, intent, 0.9, drop=(classified,))
            found = intents.split(intent, ranking, text)
            if found is None:
                continue
            message.set(intents.ALSO_ASKED, list(found.also_asked), add_to_output=True)
            # The trouble leads and the questions are answered with it: they explain the message
            # together, so the trouble takes their confidence and they leave the ranking.
            self._lead(
                message, ranking, found.trouble, min(1.0, max(found.confidence, 0.5)), drop=(intent,) + found.also_asked
            )
        return messages

    @staticmethod
    def _lead(
        message: Message, ranking: List[Dict[Text, Any]], intent: Text, confidence: float, drop: tuple = ()
    ) -> List[Dict[Text, Any]]:
        score = next((e.get(PREDICTED_CONFIDENCE_KEY, 0.0) for e in ranking if e.get(INTENT_NAME_KEY) == intent), 0.0)
        leading = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: max(score, confidence)}
        rest = [e for e in ranking if e.get(INTENT_NAME_KEY) not in (intent,) + tuple(drop)]
        message.set(INTENT, leading, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [leading] + rest, add_to_output=True)
        return [leading] + rest
