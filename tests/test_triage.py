"""Triage questions and how the answers are read back, without a bot (the reading of the
answers themselves: tests/test_answers.py)."""

import pytest

from nettrouble.core.money import parse_yen
from nettrouble.triage import plans


def test_every_type_asks_two_to_four_questions():
    assert set(plans.PLANS) == set(plans.TYPE_LABELS)
    for trouble_type, plan in plans.PLANS.items():
        assert 2 <= len(plans.questions(trouble_type, {})) <= 4, trouble_type
        assert all(slot in plans.LABELS and slot in plans.HINTS for slot in plan)


def test_amount_is_asked_only_when_money_was_lost():
    assert plans.questions("phishing", {"entered_info": "card", "money_lost": "no"}) == []
    assert plans.questions("phishing", {"entered_info": "card", "money_lost": "yes"}) == ["money_amount"]
    assert plans.questions("phishing", {"entered_info": "card", "money_lost": "unknown"}) == []
    assert plans.questions("billing_scam", {"money_lost": "no"}) == []


def test_unknown_type_has_no_questions():
    assert plans.questions(None, {}) == []
    assert plans.questions("weather", {}) == []


def test_the_essential_question_is_the_one_asked_before_a_handoff():
    assert set(plans.ESSENTIAL) == set(plans.PLANS)
    assert all(slot in plans.PLANS[t] for t, slot in plans.ESSENTIAL.items())
    assert plans.essential_question("privacy", {}) == "offline_contact"
    assert plans.essential_question("privacy", {"offline_contact": "no"}) is None
    assert plans.essential_question(None, {}) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3万円", 30000),
        ("９万８千円", 98000),
        ("五千円", 5000),
        ("¥1,500", 1500),
        ("10万くらい", 100000),
        ("3人", None),
        ("090-1234-5678", None),
        ("", None),
    ],
)
def test_parse_yen(text, expected):
    assert parse_yen(text) == expected


def test_summary_reads_back_answers_in_plan_order():
    lines = plans.summary_lines(
        "defamation", {"platform": "X", "user_role": "parent", "ongoing": "yes", "evidence_saved": "unknown"}
    )
    assert lines == [
        "・サービス：X",
        "・ご相談者：保護者（お子さまのご相談）",
        "・今も続いているか：続いている",
        "・証拠の保存：未回答",
    ]


def test_explanation_names_the_question_and_examples_of_answers():
    # utter_triage_explanation words them and offers to skip (tests/test_action_triage.py).
    assert plans.explanation_values("ongoing") == {
        "question_label": "今も続いているか",
        "answer_examples": "「続いている」「止まっている」",
    }
