"""Makes sure a danger or self-harm message is never routed as anything else, and that an
ordinary one is not taken for one.

Runs after the classifier and the FallbackClassifier. When the rule-based detector in
``nettrouble.triage.safety`` finds a signal the classifier missed, the message's intent becomes the
safety intent with full confidence, so the safety rules answer it wherever the conversation is.
The signals are kept on the message (``safety_signals``) for the actions that record urgency.
When only the classifier heard danger or self-harm, and the message holds none of the words such
a message would (``safety.plausible``), the classifier's best other intent is taken instead.
"""

from __future__ import annotations

from typing import Any, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from addons.intent_rewrite import IntentRewrite
from addons.tokenizer import READING
from nettrouble.triage import safety

SIGNALS_KEY = "safety_signals"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyGuard(IntentRewrite):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            # The tokenizer already read the words aloud: the patterns also see the text in kana.
            tokens = message.get(TOKENS_NAMES[TEXT]) or []
            reading = "".join(token.get(READING) or token.text for token in tokens) if tokens else None
            text = message.get(TEXT) or ""
            found = safety.signals(text, reading)
            message.set(SIGNALS_KEY, found, add_to_output=True)
            if not found:
                self._unless_implausible(message, text, reading)
                continue
            predicted = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            # Self-harm outranks danger, whichever layer saw it.
            wanted = safety.most_urgent(found + [predicted])
            if predicted == wanted:
                continue
            ranking = [entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get(INTENT_NAME_KEY) != wanted]
            override = {INTENT_NAME_KEY: wanted, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, override, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [override] + ranking, add_to_output=True)
        return messages

    @staticmethod
    def _unless_implausible(message: Message, text: str, reading: Any) -> None:
        predicted = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if predicted not in (safety.DANGER, safety.SELF_HARM) or safety.plausible(text, reading):
            return
        ranking = [
            entry
            for entry in message.get(INTENT_RANKING_KEY) or []
            if entry.get(INTENT_NAME_KEY) not in (safety.DANGER, safety.SELF_HARM)
        ]
        if ranking:
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
