"""The review list: which messages, how they are grouped, labels stored and replaced, and the
export read back by Rasa's own NLU reader."""

from datetime import datetime, timedelta

import pytest
import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from sqlalchemy import func, inspect, select

from nettrouble.core.clock import JST
from nettrouble.staff import review
from nettrouble.staff.review import Assignment, ReviewError, ReviewMessage
from tests.test_analytics import conversations

AT = datetime(2026, 7, 2, 10, 0, tzinfo=JST)


def message(text, minutes=0):
    return ReviewMessage(text, "fallback", AT + timedelta(minutes=minutes), "web-1")


def test_the_messages_are_the_ones_not_understood_and_not_the_buttons():
    found = [(m.text, m.kind, m.sender_id) for m in review.messages(conversations().items())]
    assert found == [
        ("パスワードを忘れました", "did_you_mean", "web-a"),
        ("あばばば", "fallback", "line-d"),
        ("ぱすわーど忘れた", "did_you_mean", "line-d"),
        ("？？？", "fallback", "web-e"),
    ]


def test_similar_messages_are_grouped_and_different_ones_kept_apart():
    groups = review.group(
        [
            message("料金はいくらですか"),
            message("パスワードを忘れました", 1),
            message("ぱすわーど忘れた", 2),
            message("パスワードを忘れました", 3),
            message("りょうきんいくら", 4),
            message("あばばば", 5),
        ]
    )
    assert [(g.representative, g.count, g.texts) for g in groups] == [
        ("パスワードを忘れました", 3, ("パスワードを忘れました", "ぱすわーど忘れた")),
        ("料金はいくらですか", 2, ("料金はいくらですか", "りょうきんいくら")),
        ("あばばば", 1, ("あばばば",)),
    ]
    assert all(g.intent is None for g in groups)


def test_the_similarity_of_the_examples_in_the_docstring():
    same = review.similarity(
        review.bigrams(review.normalise("パスワードを忘れました")), review.bigrams(review.normalise("ぱすわーど忘れた"))
    )
    apart = review.similarity(
        review.bigrams(review.normalise("パスワードを忘れました")), review.bigrams(review.normalise("料金を払いました"))
    )
    assert same >= review.SIMILARITY > apart


def test_the_intents_come_from_the_domain():
    names = review.intents()
    assert {"trouble_account", "request_human", "faq/price"} <= names
    assert "faq" not in names and "nlu_fallback" not in names


def test_labels_are_stored_replaced_and_shown_on_their_group(service_database):
    assert "review_labels" in inspect(service_database).get_table_names()
    texts = ["パスワードを忘れました", "ぱすわーど忘れた", "パスワードを忘れました"]
    review.assign(service_database, texts, "faq/price", "佐藤", AT)
    review.assign(service_database, texts, "trouble_account", "鈴木", AT + timedelta(minutes=1))
    stored = review.assignments(service_database)
    assert [(a.text, a.intent, a.assigned_by, a.assigned_at) for a in stored] == [
        ("ぱすわーど忘れた", "trouble_account", "鈴木", AT + timedelta(minutes=1)),
        ("パスワードを忘れました", "trouble_account", "鈴木", AT + timedelta(minutes=1)),
    ]
    with service_database.connect() as connection:
        assert connection.execute(select(func.count()).select_from(review.review_labels)).scalar() == 2
    labels = {a.text_hash: a.intent for a in stored}
    groups = review.group([message(t) for t in texts] + [message("あばばば")], labels)
    assert [(g.representative, g.intent) for g in groups] == [
        ("パスワードを忘れました", "trouble_account"),
        ("あばばば", None),
    ]


def test_a_label_is_refused_for_an_unknown_intent_or_without_a_name(service_database):
    with pytest.raises(ReviewError) as error:
        review.assign(service_database, ["あばばば"], "trouble_unknown", "佐藤")
    assert error.value.code == "unknown_intent"
    with pytest.raises(ReviewError) as error:
        review.assign(service_database, ["あばばば"], "faq", "佐藤")
    assert error.value.code == "unknown_intent"
    with pytest.raises(ReviewError) as error:
        review.assign(service_database, ["あばばば"], "greet", "  ")
    assert error.value.code == "invalid"
    assert review.assignments(service_database) == []


def test_a_number_is_masked_when_labelled(service_database):
    review.assign(service_database, ["090-1234-5678に電話ください"], "request_human", "佐藤", AT)
    assert [a.text for a in review.assignments(service_database)] == ["［電話番号］に電話ください"]


def label(text, intent):
    return Assignment(review.text_hash(text), text, intent, "佐藤", AT)


def test_the_export_is_training_data_rasa_reads():
    tricky = [
        "a: b # c \"quoted\" 'single' {x} & * ! | > % @ `",
        "- starts like a list",
        "[リンク](platform) を踏んだ",
        "two\nlines\u2028and\ttabs",
        "  spaces around  ",
    ]
    labels = [label(text, "trouble_phishing") for text in tricky]
    labels += [
        label("090-1234-5678 に電話して", "request_human"),
        label("連絡は taro@example.com まで", "request_human"),
        label("料金は？", "faq/price"),
        label("料金は？", "faq/price"),
    ]
    exported = review.export_nlu_yaml(labels)
    assert exported.startswith('version: "3.1"\n')
    assert "examples: |" in exported and "- intent: trouble_phishing" in exported
    assert yaml.safe_load(exported)["version"] == "3.1"
    data = RasaYAMLReader().reads(exported)
    examples = {}
    for example in data.intent_examples:
        examples.setdefault(example.get_full_intent(), []).append(example.get("text"))
    assert examples["trouble_phishing"] == [
        "a: b # c \"quoted\" 'single' {x} & * ! | > % @ `",
        "- starts like a list",
        "［リンク］(platform) を踏んだ",
        "two lines and tabs",
        "spaces around",
    ]
    assert examples["faq/price"] == ["料金は？"]
    assert examples["request_human"] == ["［電話番号］ に電話して", "連絡は ［メールアドレス］ まで"]
    assert not data.entity_examples
    assert "1234" not in exported and "taro@" not in exported


def test_an_empty_export_is_still_valid():
    assert RasaYAMLReader().reads(review.export_nlu_yaml([])).intent_examples == []
