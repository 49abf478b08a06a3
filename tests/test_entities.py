"""Service names, amounts and phone numbers, found by the lookup tables and regexes of
data/nlu/entities.yml as the trained pipeline finds them (extractor, overlap clean-up,
synonyms), without training a model."""

import re
from pathlib import Path

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.entity_synonyms import EntitySynonymMapper
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from addons.entities import OverlapResolver, without_overlaps

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def training_data():
    return load_data(str(ROOT / "data" / "nlu"))


@pytest.fixture(scope="module")
def pipeline(training_data, tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    extractor = RegexEntityExtractor(
        {"use_word_boundaries": False, "use_lookup_tables": True, "use_regexes": True},
        storage,
        Resource("regex"),
    )
    extractor.train(training_data)
    synonyms = EntitySynonymMapper({}, storage, Resource("synonyms"))
    synonyms.train(training_data)

    def extract(text):
        message = Message.build(text=text)
        extractor.process([message])
        OverlapResolver().process([message])
        synonyms.process([message])
        return [(e["entity"], e["value"]) for e in message.get(ENTITIES, [])]

    return extract


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ツイッターで悪口を書かれた", [("sns_platform", "X")]),
        ("ﾂｲｯﾀｰで晒された", [("sns_platform", "X")]),
        ("Xで中傷されています", [("sns_platform", "X")]),
        ("Xperiaが壊れた", []),
        ("インスタグラムのDMで脅された", [("sns_platform", "Instagram")]),
        ("インスタで晒された", [("sns_platform", "Instagram")]),
        ("LINEのグループで外された", [("sns_platform", "LINE")]),
        ("ラインで悪口", [("sns_platform", "LINE")]),
        ("オンラインショップで詐欺", []),
        ("LINE Payで勝手に決済された", [("payment_service", "LINE Pay")]),
        ("ＰａｙＰａｙで3万円使われた", [("payment_service", "PayPay"), ("money_amount", "3万円")]),
        ("ペイペイで5,000円", [("payment_service", "PayPay"), ("money_amount", "5,000円")]),
        ("ｄ払いで身に覚えのない請求", [("payment_service", "d払い")]),
        ("アマギフで払えと言われた", [("payment_service", "ギフトカード")]),
        ("9万8千円取られた", [("money_amount", "9万8千円")]),
        ("5ちゃんねるに書き込まれた", [("sns_platform", "5ちゃんねる")]),
        ("番号は090-1234-5678です", [("phone_number", "090-1234-5678")]),
        ("０８０１２３４５６７８", [("phone_number", "０８０１２３４５６７８")]),
        ("+81 90 1234 5678", [("phone_number", "+81 90 1234 5678")]),
    ],
)
def test_entities(pipeline, text, expected):
    assert sorted(pipeline(text)) == sorted(expected)


def test_every_lookup_entry_maps_to_one_canonical_name(training_data):
    synonyms = {key.lower(): value for key, value in training_data.entity_synonyms.items()}
    canonical = set(synonyms.values())
    assert training_data.lookup_tables and all(table["elements"] for table in training_data.lookup_tables)
    for table in training_data.lookup_tables:
        for element in table["elements"]:
            assert element in canonical or element.lower() in synonyms, (
                f"{table['name']} entry {element!r} has no synonym to a canonical name"
            )


def annotated(training_data, entity):
    """The words annotated as ``entity`` in the training examples."""
    return {
        example.get("text")[found["start"] : found["end"]]
        for example in training_data.training_examples
        for found in example.get(ENTITIES) or []
        if found["entity"] == entity
    }


def test_each_regex_compiles_and_finds_words_annotated_with_its_entity(training_data):
    assert {"money_amount", "phone_number"} <= {regex["name"] for regex in training_data.regex_features}
    for regex in training_data.regex_features:
        pattern = re.compile(regex["pattern"])
        assert any(pattern.fullmatch(words) for words in annotated(training_data, regex["name"])), regex


@pytest.mark.parametrize("entity", ["money_amount", "phone_number"])
def test_every_amount_and_number_annotated_is_found_by_a_regex(training_data, entity):
    """Amounts and numbers have no lookup table: the regexes alone must find what the examples
    annotate."""
    patterns = [re.compile(r["pattern"]) for r in training_data.regex_features if r["name"] == entity]
    missed = [words for words in annotated(training_data, entity) if not any(p.fullmatch(words) for p in patterns)]
    assert annotated(training_data, entity) and missed == []


def test_overlaps_keep_the_longest_entity():
    entities = [
        {"entity": "sns_platform", "start": 0, "end": 4, "value": "LINE"},
        {"entity": "payment_service", "start": 0, "end": 8, "value": "LINE Pay"},
        {"entity": "money_amount", "start": 10, "end": 14, "value": "500円"},
    ]
    assert [e["value"] for e in without_overlaps(entities)] == ["LINE Pay", "500円"]
