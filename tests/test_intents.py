"""The words of a message checked against the classifier's intent (nettrouble/triage/intents.py)."""

import pytest

from nettrouble.triage import intents


def ranked(*pairs):
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


@pytest.mark.parametrize(
    "intent, ranking, text, expected",
    [
        # A free-consultation question must name 無料 or the like.
        (
            "ask_free_consultation",
            ranked(("ask_free_consultation", 0.6), ("trouble_defamation", 0.36)),
            "Xの誹謗中傷の件で相談させてください",
            "trouble_defamation",
        ),
        (
            "ask_free_consultation",
            ranked(("ask_free_consultation", 0.6)),
            "無料で相談できますか",
            "ask_free_consultation",
        ),
        # Words that ask for staff outweigh a general wish for help.
        (
            "need_help",
            ranked(("need_help", 0.75), ("request_human", 0.07)),
            "あの、電話で相談したいんですけど",
            "request_human",
        ),
        # Resetting or cancelling needs its words: an answer is not a correction of the type.
        (
            "correct_trouble_type",
            ranked(("correct_trouble_type", 0.57), ("inform", 0.2)),
            "お金のほうは今のところ何もないと思います",
            "inform",
        ),
        ("cancel", ranked(("cancel", 0.5)), "もうやめます", "cancel"),
        # Intimate images decide the trouble.
        (
            "trouble_bullying",
            ranked(("trouble_bullying", 0.7)),
            "高校生の娘の下着姿の動画が出回っているようです",
            "trouble_sexual_image",
        ),
        ("trouble_defamation", ranked(("trouble_defamation", 0.7)), "Xで悪口を書かれています", "trouble_defamation"),
    ],
)
def test_review(intent, ranking, text, expected):
    assert intents.review(intent, ranking, text) == expected


def test_a_trouble_and_a_question_about_the_free_consultation():
    found = intents.split(
        "ask_free_consultation",
        ranked(("ask_free_consultation", 0.96), ("trouble_defamation", 0.04)),
        "Instagramで中傷されてて困ってるんですが、無料で電話相談できるって本当ですか？",
    )
    assert found.trouble == "trouble_defamation" and found.also_asked == ("ask_free_consultation",)


def test_a_trouble_and_a_wish_to_call():
    found = intents.split(
        "trouble_billing_scam",
        ranked(("trouble_billing_scam", 0.3), ("request_human", 0.28)),
        "架空請求のハガキが届いて怖いです。オペレーターの人と話したいです",
    )
    assert found.also_asked == ("request_human",) and found.confidence > 0.5


def test_a_hypothetical_trouble_is_not_reported():
    assert (
        intents.split(
            "ask_free_consultation",
            ranked(("ask_free_consultation", 0.8), ("trouble_defamation", 0.1)),
            "中傷されたら無料で相談できますか",
        )
        is None
    )


def test_a_statement_the_classifier_took_for_a_question_is_the_trouble_alone():
    found = intents.split(
        "faq",
        ranked(("faq", 0.6), ("trouble_privacy", 0.3)),
        "LINEのオープンチャットで電話番号と家族のことまで書かれてます",
    )
    assert found.trouble == "trouble_privacy" and found.also_asked == ()


def test_a_plain_trouble_report_asks_nothing():
    assert (
        intents.split(
            "trouble_defamation", ranked(("trouble_defamation", 0.9)), "Xで悪口を書かれて、どうしたらいいですか"
        )
        is None
    )


@pytest.mark.parametrize(
    "text, expected", [("発行してください", "affirm"), ("今はいいです", "deny"), ("大丈夫です、いりません", "deny")]
)
def test_a_no_needs_words_of_refusal(text, expected):
    assert intents.review("deny", ranked(("deny", 0.5), ("affirm", 0.3)), text) == expected


def test_the_classifiers_probabilities_are_scikit_learns():
    """IntentAndFaqClassifier computes predict_proba itself (one contiguous copy of the
    weights instead of one per parse); the figures must stay scikit-learn's."""
    import numpy as np
    from scipy.sparse import random as sparse_random
    from sklearn.linear_model import LogisticRegression

    from addons.intent_classifier import IntentAndFaqClassifier

    generator = np.random.default_rng(7)
    features = sparse_random(300, 500, density=0.02, format="csr", random_state=7)
    labels = generator.choice(["greet", "faq/price", "faq/app", "trouble_fraud", "deny"], size=300)
    for solver in ("lbfgs", "liblinear"):
        component = IntentAndFaqClassifier.__new__(IntentAndFaqClassifier)
        component.clf = LogisticRegression(solver=solver, max_iter=500, class_weight="balanced").fit(features, labels)
        for rows in (features[:1], features[5:60]):
            assert np.allclose(component._probabilities(rows), component.clf.predict_proba(rows), rtol=0, atol=1e-12)
