"""The intent classifier, which also picks the FAQ key of a question about the service.

Rasa's convention for FAQs is a retrieval intent (``faq/price``, ``faq/app``, ... in the data,
``intent: faq`` in the rules) and a ResponseSelector that picks the key; the key reaches the
actions as ``response_selector.faq.response.intent_response_key``. This component keeps that
data format and that output with one linear model instead of two:

- It is Rasa's LogisticRegressionClassifier trained on the retrieval keys themselves (faq/price
  is a class beside greet and trouble_defamation), so that each of the 27 FAQ topics weighs as
  much as any other intent; trained on the single umbrella intent, the balanced class weights
  made "faq" one small class among forty and lost questions to the small intents beside it.
- The intent's probability is the sum of its keys' (faq = faq/price + faq/app + ...), and the
  key is the likeliest among them.

Measured on this pipeline (2 cores, README "How typed replies are read"), a ResponseSelector
doubled the parse latency (p50 10.9 ms against 5.5 ms), tripled the model load, took 3.5 s per
training epoch and, at 10 epochs, picked fewer FAQ keys right (0.877 against 0.903); this costs
one sparse dot product.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Dict, List, Text, Tuple

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix
from sklearn.utils.extmath import safe_sparse_dot, softmax

RANKING_LENGTH = 10
KEY_RANKING_LENGTH = 5
SEPARATOR = "/"


def _likeliest_first(entry: Dict[Text, Any]) -> float:
    """Sort key of a ranking: the highest confidence first."""
    return -float(entry[PREDICTED_CONFIDENCE_KEY])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentAndFaqClassifier(LogisticRegressionClassifier):
    def _create_training_matrix(self, training_data: TrainingData) -> Tuple[csr_matrix, List[str]]:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        labels = [e.get(INTENT_RESPONSE_KEY) or e.get(INTENT) for e in examples]
        return self._create_X(examples), labels

    def _probabilities(self, features: csr_matrix) -> np.ndarray:
        """``self.clf.predict_proba(features)``, computed as scikit-learn computes it. Its
        decision function multiplies the sparse features by ``coef_.T``, a transposed view that
        scipy copies whole before each product (numpy ``ravel`` of classes x features, about
        2.5 ms of a 12 ms parse); the contiguous copy is made once here."""
        clf = self.clf
        ovr = clf.multi_class in ("ovr", "warn") or (
            clf.multi_class == "auto" and (clf.classes_.size <= 2 or clf.solver == "liblinear")
        )
        if ovr:
            return clf.predict_proba(features)
        weights = getattr(self, "_weights", None)
        if weights is None:
            weights = self._weights = np.ascontiguousarray(clf.coef_.T)
        return softmax(safe_sparse_dot(features, weights, dense_output=True) + clf.intercept_, copy=False)

    def process(self, messages: List[Message]) -> List[Message]:
        if not hasattr(self.clf, "classes_") or not messages:
            return messages
        probabilities = self._probabilities(self._create_X(messages))
        for message, row in zip(messages, probabilities):
            intents: Dict[Text, float] = defaultdict(float)
            keys: Dict[Text, Dict[Text, float]] = defaultdict(dict)
            for label, p in zip(self.clf.classes_, row):
                intent, _, key = label.partition(SEPARATOR)
                intents[intent] += float(p)
                if key:
                    keys[intent][label] = float(p)
            ranking = sorted(
                ({INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: p} for name, p in intents.items()),
                key=_likeliest_first,
            )[:RANKING_LENGTH]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            self._set_keys(message, keys)
        return messages

    @staticmethod
    def _set_keys(message: Message, keys: Dict[Text, Dict[Text, float]]) -> None:
        """The likeliest key of each retrieval intent, in the ResponseSelector's format, with
        confidences relative to that intent's keys."""
        properties: Dict[Text, Any] = {RESPONSE_SELECTOR_RETRIEVAL_INTENTS: sorted(keys)}
        for intent, scores in keys.items():
            total = sum(scores.values()) or 1.0
            ranking = sorted(
                ({INTENT_RESPONSE_KEY: key, PREDICTED_CONFIDENCE_KEY: p / total} for key, p in scores.items()),
                key=_likeliest_first,
            )[:KEY_RANKING_LENGTH]
            best = ranking[0]
            properties[intent] = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    # The answer is written by action_answer_faq from business/faq.yml.
                    RESPONSE_SELECTOR_RESPONSES_KEY: [],
                    PREDICTED_CONFIDENCE_KEY: best[PREDICTED_CONFIDENCE_KEY],
                    INTENT_RESPONSE_KEY: best[INTENT_RESPONSE_KEY],
                    RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"utter_{best[INTENT_RESPONSE_KEY]}",
                },
                RESPONSE_SELECTOR_RANKING_KEY: ranking,
            }
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
