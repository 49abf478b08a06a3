"""What the pre-check's responses are filled with, and what staff call its codes.

The sentences around these values are domain.yml's responses (``utter_fraud_cover_*``); the
wording of each outcome and the list of what to prepare are business/fraud_cover.yml's. Built
here: the lines made from those files and the user's figures, which only make sense in code.
"""

from __future__ import annotations

from typing import Dict, Iterable

from nettrouble.content.service import Service
from nettrouble.core.money import yen_text
from nettrouble.cover.codes import (
    AMOUNT_LOST,
    FULLY_PAID_BY_PROVIDER,
    IS_MEMBER,
    MAY_BE_COVERED,
    NOT_ASKED,
    NOT_MEMBER,
    PROVIDER_DECISION,
    PROVIDER_DECISION_NEEDED,
    PROVIDER_PAYS,
    PROVIDER_REFUSED,
    RECOGNISED,
    REFUSED,
    UNKNOWN,
    WAITING,
    WITH_FIGURES,
)
from nettrouble.cover.rules import Assessment, Claim, remaining
from nettrouble.cover.terms import Terms

# What the user is told is still needed, per input, when the pre-check cannot decide.
NEEDED = {
    IS_MEMBER: "「{service}」にご加入中かどうか",
    PROVIDER_DECISION: "決済事業者が「不正利用」と認めたかどうか",
    AMOUNT_LOST: "被害額（身に覚えのない利用の合計）",
    PROVIDER_PAYS: "決済事業者などから補償される額",
}

# Staff's names of the codes (the console's case page).
OUTCOME_LABELS = {
    MAY_BE_COVERED: "対象の可能性あり",
    PROVIDER_DECISION_NEEDED: "決済事業者の判断待ち",
    PROVIDER_REFUSED: "対象外（決済事業者が不正利用と認めず）",
    FULLY_PAID_BY_PROVIDER: "補償額なし（決済事業者などが全額補償）",
    NOT_MEMBER: "対象外（会員ではない）",
}
DECISION_LABELS = {
    RECOGNISED: "不正利用と認めた",
    WAITING: "調査中・結果待ち",
    REFUSED: "認めなかった",
    NOT_ASKED: "まだ申告していない",
    UNKNOWN: "わからない",
}
# Shown for a pre-check done without an outcome, and for a question not answered in it.
UNDECIDED = "未判定"
UNANSWERED = "未確認"


def _lines(texts: Iterable[str]) -> str:
    return "\n".join(f"・{text}" for text in texts)


def _plain(terms: Terms, facts: Service) -> Dict[str, str]:
    return {"name": terms.name, "service": facts.name, "cap": yen_text(terms.cap)}


def condition_lines(terms: Terms, facts: Service) -> str:
    """The conditions, one line each, as said before the questions."""
    return _lines(condition.text.format(**_plain(terms, facts)) for condition in terms.conditions)


def prepare_lines(terms: Terms, facts: Service) -> str:
    return _lines(item.text.format(**_plain(terms, facts)) for item in terms.prepare)


def missing_lines(needs: Iterable[str], facts: Service) -> str:
    return _lines(NEEDED[need].format(service=facts.name) for need in needs)


def outcome_text(assessment: Assessment, claim: Claim, terms: Terms, facts: Service) -> str:
    """The outcome's wording from business/fraud_cover.yml, with the user's figures."""
    if assessment.outcome is None:
        raise ValueError("an undecided assessment has no outcome text")
    values = _plain(terms, facts)
    if assessment.outcome in WITH_FIGURES:
        left = remaining(claim)
        if claim.amount_lost is None or claim.provider_pays is None or left is None or assessment.estimate is None:
            raise ValueError(f"{assessment.outcome} needs both amounts")
        values.update(
            lost=yen_text(claim.amount_lost),
            provider_pays=yen_text(claim.provider_pays),
            remaining=yen_text(max(left, 0)),
            estimate=yen_text(assessment.estimate),
        )
    return terms.outcomes[assessment.outcome].format(**values)


def outcome_label(code: object) -> str:
    return OUTCOME_LABELS.get(code, str(code)) if isinstance(code, str) else UNDECIDED


def decision_label(code: object) -> str:
    return DECISION_LABELS.get(code, str(code)) if isinstance(code, str) else UNANSWERED
