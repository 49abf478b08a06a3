"""The codes of the fraud-cover pre-check, shared by its terms, its engine, the chat and the case.

Outcome codes are a contract: the slot ``fraud_cover`` and the case's ``fraud_cover`` column hold
one of ``OUTCOMES``, or nothing while the pre-check has not decided.
"""

from __future__ import annotations

MAY_BE_COVERED = "may_be_covered"
PROVIDER_DECISION_NEEDED = "provider_decision_needed"
PROVIDER_REFUSED = "provider_refused"
FULLY_PAID_BY_PROVIDER = "fully_paid_by_provider"
NOT_MEMBER = "not_member"
OUTCOMES = (MAY_BE_COVERED, PROVIDER_DECISION_NEEDED, PROVIDER_REFUSED, FULLY_PAID_BY_PROVIDER, NOT_MEMBER)
# The outcomes worked out from the amounts: only their wording may quote the figures.
WITH_FIGURES = (MAY_BE_COVERED, FULLY_PAID_BY_PROVIDER)

# The payment provider's decision on the use, as the user reports it. ``unknown``: the user does
# not know it, which for the pre-check is the same as no decision yet.
RECOGNISED = "recognised"
WAITING = "waiting"
REFUSED = "refused"
NOT_ASKED = "not_asked"
UNKNOWN = "unknown"
DECISIONS = (RECOGNISED, WAITING, REFUSED, NOT_ASKED, UNKNOWN)

# Conditions of business/fraud_cover.yml that the engine applies (``check:``).
MEMBER_CHECK = "member"
RECOGNISED_CHECK = "provider_recognised"
CHECKS = (MEMBER_CHECK, RECOGNISED_CHECK)

# The engine's inputs, named as the chat's slots that hold them, in the order they are checked
# (and asked).
IS_MEMBER = "is_member"
PROVIDER_DECISION = "provider_decision"
AMOUNT_LOST = "amount_lost"
PROVIDER_PAYS = "provider_pays"
INPUTS = (IS_MEMBER, PROVIDER_DECISION, AMOUNT_LOST, PROVIDER_PAYS)
