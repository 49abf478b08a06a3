"""The words of a message against the classifier for the fraud-cover pre-check: its own loss
checked (ask_fraud_cover), the cover in general answered by the FAQ."""

import pytest

from nettrouble.triage import intents


def ranked(*pairs):
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("補償してもらえますか", "ask_fraud_cover"),
        ("ほしょうしてもらえますか", "ask_fraud_cover"),
        ("今回の被害、補償の対象か確認したいです", "ask_fraud_cover"),
        # the cover in general: its conditions, cap, claim, a loss imagined
        ("ほしょうしてもらえる じょうけん おしえて", "faq"),
        ("不正利用されたら全額補償してもらえる？", "faq"),
        ("補償って最大いくらまでですか", "faq"),
        ("補償の申請はどうすればいいですか", "faq"),
        ("カード会社が認めないと補償されないんですか", "faq"),
        # without 補償 the pre-check is not what was asked: the runner-up is taken
        ("対象になるか確認したいです", "ask_free_consultation"),
    ],
)
def test_the_pre_check_needs_its_words_and_the_cover_in_general_is_the_faqs(text, expected):
    ranking = ranked(("ask_fraud_cover", 0.7), ("ask_free_consultation", 0.2), ("faq", 0.1))
    assert intents.review("ask_fraud_cover", ranking, text) == expected


def test_a_payment_imagined_is_no_trouble_report():
    ranking = ranked(("trouble_payment_fraud", 0.9), ("faq", 0.05))
    text = "家族が勝手に使った場合も補償の対象になりますか？"
    assert intents.review("trouble_payment_fraud", ranking, text) == "faq"
    assert intents.review("trouble_payment_fraud", ranking, "家族に勝手に使われました") == "trouble_payment_fraud"
