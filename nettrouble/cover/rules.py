"""Whether the fraud cover (不正決済補償) may pay: the rule engine.

Pure: everything it knows comes in as arguments (the user's answers, the terms, the moment), so
every rule is tested as a table without a bot or a database. The answer is data (an outcome code,
the estimate, what is still missing); the chat words it.

Checks, in this order; the first that applies is the outcome:

1. ``not_member``                the cover is a benefit of the service (when the terms check it).
2. ``provider_refused``          the provider did not recognise the use as fraud (when the terms
                                 make that a condition): nothing to estimate.
3. ``provider_decision_needed``  the provider has not decided yet, has not been asked, or the
                                 user does not know: the decision comes first.
4. ``fully_paid_by_provider``    what the provider pays covers the loss: the difference
                                 lost − provider pays is zero or less (an over-refund is still
                                 "fully paid", never a negative estimate). Its estimate is 0.
5. ``may_be_covered``            the estimate is min(lost − provider pays, cap), in yen.

An answer the user has not given (``None``) is never guessed. Its check is passed over and the
input listed in ``Assessment.needs``; a later check that holds whatever the missing answer would
be still decides: a refusal needs no membership, a loss the provider pays in full needs neither
membership nor the decision (a provider who pays has recognised the use). So the chat asks only
what can change the outcome. When nothing decides, ``outcome`` is ``None`` and ``needs`` lists,
in check order, what is missing.

Before the terms' ``applies_from`` there is no outcome at all (``in_force`` is False): the
pre-check has no rule to apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Tuple

from nettrouble.cover.codes import (
    AMOUNT_LOST,
    DECISIONS,
    FULLY_PAID_BY_PROVIDER,
    IS_MEMBER,
    MAY_BE_COVERED,
    MEMBER_CHECK,
    NOT_MEMBER,
    PROVIDER_DECISION,
    PROVIDER_DECISION_NEEDED,
    PROVIDER_PAYS,
    PROVIDER_REFUSED,
    RECOGNISED,
    RECOGNISED_CHECK,
    REFUSED,
)
from nettrouble.cover.terms import Terms


@dataclass(frozen=True)
class Claim:
    """What the user has told; ``None`` means not known (yet). Amounts in yen, never negative."""

    is_member: Optional[bool] = None
    provider_decision: Optional[str] = None
    amount_lost: Optional[int] = None
    provider_pays: Optional[int] = None

    def __post_init__(self) -> None:
        if self.provider_decision is not None and self.provider_decision not in DECISIONS:
            raise ValueError(f"provider_decision must be one of {', '.join(DECISIONS)}")
        for name in (AMOUNT_LOST, PROVIDER_PAYS):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a whole number of yen, 0 or more")


@dataclass(frozen=True)
class Assessment:
    outcome: Optional[str]
    # In yen: min(lost − provider pays, cap) for may_be_covered, 0 for fully_paid_by_provider.
    estimate: Optional[int] = None
    needs: Tuple[str, ...] = ()
    in_force: bool = True

    @property
    def decided(self) -> bool:
        return self.outcome is not None


def remaining(claim: Claim) -> Optional[int]:
    """What is left of the loss after what the provider pays (negative when it pays more)."""
    if claim.amount_lost is None or claim.provider_pays is None:
        return None
    return claim.amount_lost - claim.provider_pays


def assess(claim: Claim, terms: Terms, moment: datetime) -> Assessment:
    """The outcome for ``claim`` under ``terms`` at ``moment`` (any time zone; naive is Japan)."""
    if not terms.in_force(moment):
        return Assessment(None, in_force=False)
    missing: List[str] = []

    if MEMBER_CHECK in terms.checks:
        if claim.is_member is False:
            return Assessment(NOT_MEMBER)
        if claim.is_member is None:
            missing.append(IS_MEMBER)

    if RECOGNISED_CHECK in terms.checks:
        if claim.provider_decision == REFUSED:
            return Assessment(PROVIDER_REFUSED)
        if claim.provider_decision is None:
            missing.append(PROVIDER_DECISION)
        elif claim.provider_decision != RECOGNISED:
            # Waiting, not asked or not known: the decision comes first, for a member.
            if missing:
                return Assessment(None, needs=tuple(missing))
            return Assessment(PROVIDER_DECISION_NEEDED)

    if claim.amount_lost is None:
        missing.append(AMOUNT_LOST)
    if claim.provider_pays is None:
        missing.append(PROVIDER_PAYS)
    left = remaining(claim)
    if left is not None and left <= 0:
        return Assessment(FULLY_PAID_BY_PROVIDER, estimate=0)
    if missing or left is None:
        return Assessment(None, needs=tuple(missing))
    return Assessment(MAY_BE_COVERED, estimate=min(left, terms.cap))
