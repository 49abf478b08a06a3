"""The FAQ answers (business/faq.yml): every key answered, figures from one place, worded for
the time before, during and after a campaign."""

from datetime import datetime
from pathlib import Path

import pytest

from nettrouble.content import faq
from nettrouble.core import datafiles
from nettrouble.core.clock import JST
from tests import project_files

ROOT = Path(__file__).resolve().parent.parent
BEFORE = datetime(2020, 6, 15, 11, 0, tzinfo=JST)
DURING = datetime(2020, 7, 15, 11, 0, tzinfo=JST)
AFTER = datetime(2026, 12, 2, 11, 0, tzinfo=JST)
SATURDAY_NIGHT = datetime(2026, 12, 5, 21, 0, tzinfo=JST)


def nlu_keys():
    document = project_files.read_yaml(ROOT / "data" / "nlu" / "faq.yml")
    return [block["intent"].split("/", 1)[1] for block in document["nlu"]]


def test_every_key_of_the_nlu_data_has_an_answer_and_a_domain_response():
    domain = project_files.domain()
    assert len(nlu_keys()) >= 25
    for key in nlu_keys():
        assert key in faq.keys(), key
        assert f"utter_faq/{key}" in domain["responses"], key


@pytest.mark.parametrize("key", sorted(faq.keys()))
@pytest.mark.parametrize("moment", [BEFORE, DURING, AFTER])
def test_every_answer_is_filled_in_at_every_time(key, moment):
    text = faq.answer(key, moment, reference="NT-2007-12345-6", topic="defamation")
    assert text and "{" not in text and "}" not in text


@pytest.mark.parametrize(
    "key, moment, present, absent",
    [
        ("campaign_period", BEFORE, ["2020年7月1日から実施予定"], ["終了"]),
        ("campaign_period", DURING, ["2020年7月1日〜2020年8月31日に実施しております"], ["終了"]),
        ("campaign_period", AFTER, ["2020年8月31日をもって終了"], ["実施しております"]),
        ("free_without_joining", DURING, ["無料でお試し"], ["終了"]),
        ("free_without_joining", AFTER, ["終了"], ["お試し"]),
        ("article_access", DURING, ["7月31日まで、どなたでも無料"], []),
        ("article_access", AFTER, ["会員の方"], ["無料でお読み"]),
        ("weekends_holidays", SATURDAY_NIGHT, ["受付時間外", "12月7日(月) 10:00"], []),
    ],
)
def test_time_dependent_answers_follow_the_clock(key, moment, present, absent):
    text = faq.answer(key, moment)
    assert all(p in text for p in present), text
    assert not any(a in text for a in absent), text


def test_figures_come_from_the_service_file():
    text = faq.answer("fraud_cover_amount", DURING)
    assert "100万円" in text and "東京海上日動火災保険株式会社" in text
    assert "月額500円（税抜）" in faq.answer("price", DURING)
    assert "0570-078374" in faq.answer("lawyer", DURING)


def test_the_reference_is_quoted_once_there_is_one():
    assert "NT-2007-12345-6" in faq.answer("what_to_say_on_phone", DURING, reference="NT-2007-12345-6")
    assert "NT-2007" not in faq.answer("what_to_say_on_phone", DURING)


def test_the_free_consultation_answer_knows_the_topic():
    assert "対象外" in faq.answer("free_consultation_after_triage", DURING, topic="shopping")
    assert "確認いたします" in faq.answer("free_consultation_after_triage", DURING, topic="defamation")


@pytest.mark.parametrize(
    "content, message",
    [
        ("answers:\n  price:\n    - text: 料金は{unknown}です\n", "unknown placeholder"),
        ("answers:\n  price:\n    - when: {campaign: during}\n      text: a\n", "without 'when'"),
        ("answers:\n  price:\n    - when: {moon: full}\n      text: a\n    - text: b\n", "unknown condition"),
        ("answers:\n  price:\n    - text: '{referral_nowhere}'\n", "no public body"),
    ],
)
def test_a_mistake_in_the_file_is_named(tmp_path, content, message):
    path = tmp_path / "faq.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(datafiles.DataFileError) as error:
        faq.load(path)
    assert message in str(error.value)
