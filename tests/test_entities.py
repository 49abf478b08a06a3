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
        storage, Resource("regex"),
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
    for table in training_data.lookup_tables:
        for element in table["elements"]:
            assert element in canonical or element.lower() in synonyms, (
                f"{table['name']} entry {element!r} has no synonym to a canonical name"
            )


def test_regexes_compile(training_data):
    for regex in training_data.regex_features:
        re.compile(regex["pattern"])


def test_overlaps_keep_the_longest_entity():
    entities = [
        {"entity": "sns_platform", "start": 0, "end": 4, "value": "LINE"},
        {"entity": "payment_service", "start": 0, "end": 8, "value": "LINE Pay"},
        {"entity": "money_amount", "start": 10, "end": 14, "value": "500円"},
    ]
    assert [e["value"] for e in without_overlaps(entities)] == ["LINE Pay", "500円"]
