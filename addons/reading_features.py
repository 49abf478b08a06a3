"""Character n-grams over how a message sounds, so that kana-only messages classify like
their kanji versions.

Phone users often type in hiragana only: 「いんすたでわるぐちかかれた」 shares no word and few
characters with 「インスタで悪口書かれた」, but both read いんすたでわるぐちかかれた. The tokenizer
keeps each word's reading (``reading`` on the token); this featurizer is Rasa's
CountVectorsFeaturizer over those readings, with one difference: the words are joined without
spaces before the n-grams are counted, because Sudachi cuts kana-only text at other places than
the kanji text it stands for (わる|ぐち against 悪口), and n-grams across the cuts still match.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Text, Tuple

import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.training_data.message import Message

from addons.tokenizer import READING


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class ReadingNgramFeaturizer(CountVectorsFeaturizer):
    """Counts character n-grams (``analyzer: char``) of the text's reading, words joined."""

    def _get_message_tokens_by_attribute(self, message: Message, attribute: Text) -> List[Text]:
        tokens = message.get(TOKENS_NAMES[attribute]) or []
        return [token.get(READING) or token.text for token in tokens]

    @staticmethod
    def _convert_attribute_tokens_to_texts(attribute_tokens: Dict[Text, List[List[Text]]]) -> Dict[Text, List[Text]]:
        return {
            attribute: ["".join(tokens) for tokens in token_lists]
            for attribute, token_lists in attribute_tokens.items()
        }

    def _create_features(
        self, attribute: Text, all_tokens: List[List[Text]]
    ) -> Tuple[List[Optional[scipy.sparse.spmatrix]], List[Optional[scipy.sparse.spmatrix]]]:
        # Sequence features per word as usual; only the sentence features join the words.
        sequence, _ = super()._create_features(attribute, all_tokens)
        vectorizer = self.vectorizers.get(attribute)
        sentence: List[Optional[scipy.sparse.spmatrix]] = []
        for tokens, sequence_features in zip(all_tokens, sequence):
            if sequence_features is None or vectorizer is None or attribute not in DENSE_FEATURIZABLE_ATTRIBUTES:
                sentence.append(None)
                continue
            vector = vectorizer.transform(["".join(tokens)])
            vector.sort_indices()
            sentence.append(vector.tocoo())
        return sequence, sentence
