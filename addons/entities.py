"""Clean-up of the entities found by lookup tables and regexes."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START
from rasa.shared.nlu.training_data.message import Message


def without_overlaps(entities: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """Keeps the longest of overlapping entities: ``LINE Pay`` wins over the ``LINE`` inside it,
    ``インスタグラム`` over ``インスタ``. Entities without offsets are kept as they are."""
    spans = [e for e in entities if ENTITY_ATTRIBUTE_START in e and ENTITY_ATTRIBUTE_END in e]
    others = [e for e in entities if e not in spans]
    kept: List[Dict[Text, Any]] = []
    longest_first = sorted(
        spans, key=lambda e: (e[ENTITY_ATTRIBUTE_START] - e[ENTITY_ATTRIBUTE_END], e[ENTITY_ATTRIBUTE_START])
    )
    for entity in longest_first:
        if all(
            entity[ENTITY_ATTRIBUTE_END] <= other[ENTITY_ATTRIBUTE_START]
            or entity[ENTITY_ATTRIBUTE_START] >= other[ENTITY_ATTRIBUTE_END]
            for other in kept
        ):
            kept.append(entity)
    kept.sort(key=lambda e: e[ENTITY_ATTRIBUTE_START])
    return kept + others


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class OverlapResolver(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OverlapResolver:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES)
            if entities:
                message.set(ENTITIES, without_overlaps(entities), add_to_output=True)
        return messages
