"""Whether the free SNS-defamation phone consultation applies: the rule engine.

Pure: everything it knows comes in as arguments (the applicant's answers, the moment, the
campaigns, a ledger lookup and the referrals), so every rule is tested without a bot or a
database. The answer is data (a reason code and what to offer instead); the action words it.

Checks, in this order; the first that applies is the reason:

1. ``not_docomo``        the campaign and the service itself need a docomo line contract.
2. ``member``            a subscriber's phone consultation is already included in the service.
3. ``adviser_excluded``  the user asks for a consumer-affairs adviser (消費生活アドバイザー等):
                         a paid service, outside the free offer.
4. ``topic_not_covered`` no campaign covers the trouble type.
5. ``not_started`` / ``ended``  campaigns cover the topic but none runs now: ``not_started``
                         when one starts later, otherwise ``ended``.
6. ``already_used``      the ledger holds this person for every running campaign with a
                         DIFFERENT case (the same case asked about again is fine).
7. ``eligible``.

An answer the user has not given (``None``) is never guessed. Its check is passed over and the
input is listed in ``Decision.needs``; a later check that applies whatever the missing answer
would be (e.g. the campaign has ended) still decides, so the form asks only for what can change
the outcome. When nothing decides, ``reason`` is ``None`` and ``needs`` lists, in check order,
what is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from nettrouble.core.clock import in_japan
from nettrouble.eligibility.campaigns import Campaign
from nettrouble.triage.referrals import Referral, for_topic

ELIGIBLE = "eligible"
MEMBER = "member"
TOPIC_NOT_COVERED = "topic_not_covered"
NOT_DOCOMO = "not_docomo"
NOT_STARTED = "not_started"
ENDED = "ended"
ALREADY_USED = "already_used"
ADVISER_EXCLUDED = "adviser_excluded"

REASONS = (
    NOT_DOCOMO,
    MEMBER,
    ADVISER_EXCLUDED,
    TOPIC_NOT_COVERED,
    NOT_STARTED,
    ENDED,
    ALREADY_USED,
    ELIGIBLE,
)

# Inputs the engine may still need.
NEEDS_DOCOMO_LINE = "docomo_line"
NEEDS_IS_MEMBER = "is_member"
NEEDS_TOPIC = "topic"
NEEDS_PERSON_KEY = "person_key"

# Refusals after which joining the paid service is the way to a phone consultation. Not for
# not_docomo (the service needs a docomo line) nor member (already in).
_JOIN_SERVICE = {ADVISER_EXCLUDED, TOPIC_NOT_COVERED, NOT_STARTED, ENDED, ALREADY_USED}
_CALL_CENTRE = {ELIGIBLE, MEMBER}

# (campaign id, person key) -> the case reference holding that free consultation, or None.
UsedFor = Callable[[str, str], Optional[str]]


@dataclass(frozen=True)
class Applicant:
    """What is known about the person and their case; ``None`` means not known (yet)."""

    topic: Optional[str] = None
    docomo_line: Optional[bool] = None
    is_member: Optional[bool] = None
    person_key: Optional[str] = None
    case_reference: Optional[str] = None
    adviser_requested: bool = False


@dataclass(frozen=True)
class Offer:
    """What to offer with the decision, as data."""

    call_centre: bool = False
    join_service: bool = False
    referral_ids: Tuple[str, ...] = ()
    first_case_reference: Optional[str] = None
    starts_on: Optional[date] = None


@dataclass(frozen=True)
class Decision:
    reason: Optional[str]
    campaign: Optional[Campaign] = None
    offer: Offer = field(default_factory=Offer)
    needs: Tuple[str, ...] = ()

    @property
    def decided(self) -> bool:
        return self.reason is not None


def _offer(
    reason: Optional[str],
    topic: Optional[str],
    referrals: Sequence[Referral],
    *,
    first_case_reference: Optional[str] = None,
    starts_on: Optional[date] = None,
) -> Offer:
    # Public bodies go with a refusal or an open question; a caller who may phone the centre
    # needs nothing else to choose from.
    referral_ids = () if reason in _CALL_CENTRE or not topic else tuple(r.id for r in for_topic(topic, referrals))
    return Offer(
        call_centre=reason in _CALL_CENTRE,
        join_service=reason in _JOIN_SERVICE,
        referral_ids=referral_ids,
        first_case_reference=first_case_reference,
        starts_on=starts_on,
    )


def decide(
    applicant: Applicant,
    moment: datetime,
    campaigns: Iterable[Campaign],
    used_for: UsedFor,
    referrals: Iterable[Referral],
) -> Decision:
    """The decision for ``applicant`` at ``moment`` (any time zone; a naive one is Japan time).

    ``used_for`` is consulted only for campaigns running at ``moment`` and only when the person
    key is known."""
    moment = in_japan(moment)
    referrals = tuple(referrals)
    topic = applicant.topic or None

    def decided(
        reason: str,
        campaign: Optional[Campaign] = None,
        *,
        first_case_reference: Optional[str] = None,
        starts_on: Optional[date] = None,
    ) -> Decision:
        offer = _offer(reason, topic, referrals, first_case_reference=first_case_reference, starts_on=starts_on)
        return Decision(reason, campaign, offer)

    # An unknown topic could be any of them: only what holds for every campaign decides.
    covering = [c for c in campaigns if topic is None or c.covers(topic)]
    running = [c for c in covering if c.running(moment)]
    missing: List[str] = []

    if applicant.docomo_line is None:
        missing.append(NEEDS_DOCOMO_LINE)
    elif not applicant.docomo_line:
        return decided(NOT_DOCOMO)

    if applicant.is_member is None:
        missing.append(NEEDS_IS_MEMBER)
    elif applicant.is_member:
        return decided(MEMBER)

    if applicant.adviser_requested:
        return decided(ADVISER_EXCLUDED)

    if not covering:
        return decided(TOPIC_NOT_COVERED)
    if topic is None:
        missing.append(NEEDS_TOPIC)

    if not running:
        upcoming = sorted((c for c in covering if c.upcoming(moment)), key=lambda c: c.first_day)
        if upcoming:
            return decided(NOT_STARTED, upcoming[0], starts_on=upcoming[0].first_day)
        return decided(ENDED, max(covering, key=lambda c: c.last_day))

    chosen = running[0]
    if applicant.person_key is None:
        missing.append(NEEDS_PERSON_KEY)
    else:
        holders = [(c, used_for(c.id, applicant.person_key)) for c in running]
        free = [c for c, held_by in holders if held_by is None or held_by == applicant.case_reference]
        if not free:
            campaign, held_by = holders[0]
            return decided(ALREADY_USED, campaign, first_case_reference=held_by)
        chosen = free[0]

    if missing:
        return Decision(None, None, _offer(None, topic, referrals), tuple(missing))
    return decided(ELIGIBLE, chosen)
