"""Rasa tokenizer for Japanese, on SudachiPy (split mode C, normalised form as lemma, the
reading in hiragana kept on each token for the reading featurizer).

With ``kana_copies`` on, training also sees every intent example as a phone user typing only
kana would write it (「いんすたでわるぐちかかれた」 beside 「インスタで悪口書かれた」): Sudachi
cuts kana-only text at other places than its kanji version, so the word features of the two
share little unless the model has seen both.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nettrouble.core import japanese

# The token attribute holding the word's reading in hiragana (addons/reading_features.py).
READING = "reading"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class SudachiTokenizer(Tokenizer):
    """Words with Sudachi's normalised form as lemma, which CountVectorsFeaturizer then uses."""

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return ["ja"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "kana_copies": False,
        }

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SudachiTokenizer:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        if self._config.get("kana_copies"):
            training_data = with_kana_copies(training_data)
        return super().process_training_data(training_data)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        tokens = [
            Token(word.surface, word.start, word.end, data={READING: word.reading}, lemma=word.lemma)
            for word in japanese.words(text)
        ]
        return self._apply_token_pattern(tokens)


def with_kana_copies(training_data: TrainingData) -> TrainingData:
    """The training data plus a kana spelling of each intent example that has kanji or
    katakana; the copies carry the intent (and a retrieval key) but no entity annotations,
    whose offsets no longer fit."""
    copies = []
    for example in training_data.intent_examples:
        text = example.get(TEXT)
        kana = japanese.kana_spelling(text) if isinstance(text, str) else text
        if not kana or kana == text:
            continue
        data = {key: value for key, value in example.data.items() if key not in (TEXT, ENTITIES)}
        copies.append(Message(data={TEXT: kana, **data}))
    return TrainingData(
        training_examples=training_data.training_examples + copies,
        entity_synonyms=training_data.entity_synonyms,
        regex_features=training_data.regex_features,
        lookup_tables=training_data.lookup_tables,
        responses=training_data.responses,
    )
