"""What the free-consultation check says beside the domain's responses: which response words
each outcome, the values that fill it, and the few sentences that only exist in code.

The sentences are responses in domain.yml (``utter_reask_*``, ``utter_number_*``, ``utter_code_*``,
``utter_eligibility_*``), sent with ``utter_message(response=…, **values)``. What stays here as text
is what a response cannot hold:

- sentences added to a message only on a condition the action knows and no slot does (the
  free-consultation and adviser notes of the handoff, how members call when the user did not say
  whether they are one, the public bodies' heading when there are bodies, the question about the
  trouble when it is still needed): Rasa fills a response's placeholders, but a response cannot
  hold another one or drop a sentence;
- the two sentences that are both such a note of the handoff and a part of a decision
  (``PENDING_CLAIM``, ``ALREADY_USED_TEXT``): written once here, the decision's responses take
  them as values;
- a list and a date put together in code (what is still needed, 「2020年7月1日」);
- the SMS that carries the one-time code, which the action server sends itself, not through Rasa.

Plain Python (no Rasa). Public bodies come from business/referrals.yml and the service's own
facts from business/service.yml.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Dict, Mapping, Tuple

from nettrouble.content.service import Service
from nettrouble.eligibility import identity, number_proof
from nettrouble.eligibility.rules import (
    ADVISER_EXCLUDED,
    ALREADY_USED,
    ELIGIBLE,
    ENDED,
    MEMBER,
    NEEDS_DOCOMO_LINE,
    NEEDS_IS_MEMBER,
    NEEDS_PERSON_KEY,
    NEEDS_TOPIC,
    NOT_DOCOMO,
    NOT_STARTED,
    TOPIC_NOT_COVERED,
    Applicant,
    Decision,
)
from nettrouble.triage.referrals import Referral

# The response that asks again for a number that could not be read, by identity's reason.
NUMBER_REASKS = {
    identity.EMPTY: "utter_number_digits",
    identity.NO_NUMBER: "utter_number_digits",
    identity.SEVERAL: "utter_number_several",
    identity.MALFORMED: "utter_number_malformed",
    identity.TOO_SHORT: "utter_number_wrong_length",
    identity.TOO_LONG: "utter_number_wrong_length",
    identity.NOT_JAPANESE: "utter_number_not_japanese",
    identity.NOT_MOBILE: "utter_number_not_mobile",
    identity.TOO_LONG_INPUT: "utter_number_message_too_long",
}
# The response that asks a yes/no question again, by slot.
YES_NO_REASK = {
    NEEDS_DOCOMO_LINE: "utter_reask_docomo_line",
    NEEDS_IS_MEMBER: "utter_reask_is_member",
}
# The response that words each decision; an eligible one not yet proved is EXPECTED.
DECISION_RESPONSES = {
    ELIGIBLE: "utter_eligibility_confirmed",
    MEMBER: "utter_eligibility_member",
    NOT_DOCOMO: "utter_eligibility_not_docomo",
    ADVISER_EXCLUDED: "utter_eligibility_adviser_excluded",
    TOPIC_NOT_COVERED: "utter_eligibility_topic_not_covered",
    NOT_STARTED: "utter_eligibility_not_started",
    ENDED: "utter_eligibility_ended",
    ALREADY_USED: "utter_eligibility_already_used",
}
EXPECTED = "utter_eligibility_expected"
UNDECIDED = "utter_eligibility_undecided"
UNAVAILABLE = "utter_eligibility_unavailable"
# Decisions that offer to join the service instead.
JOIN_OFFERED = (ADVISER_EXCLUDED, TOPIC_NOT_COVERED, NOT_STARTED, ENDED, ALREADY_USED)

PENDING_CLAIM = (
    "無料相談はお一人さま一案件までのため、お電話の際にスタッフがご本人の番号を確認したうえで、"
    "無料相談の対象として確定いたします。"
)
ALREADY_USED_TEXT = (
    "確認いたしました。申し訳ございませんが、無料相談はお一人さま一案件までのため、"
    "お客さまはすでに以前のご相談でご利用済みです。以前のご相談の続きでしたら、"
    "お電話の際にその旨をお伝えください。"
)
# What the handoff adds about the free consultation: until the caller's number is proved, the
# same words whatever the ledger said; an adviser asked for mid-triage is not covered.
FREE_EXPECTED = "今回のご相談は、SNSでの誹謗中傷に関する無料電話相談の対象となる見込みです。" + PENDING_CLAIM
FREE_ACCEPTED = "今回のご相談は、SNSでの誹謗中傷に関する無料電話相談の対象として承りました。"
ALREADY_USED_AT_HANDOFF = ALREADY_USED_TEXT + "今回のご相談は通常のご相談として承ります。"
ADVISER_NOT_COVERED = (
    "消費生活アドバイザーなどへのご相談をご希望とのこと、承りました。消費生活アドバイザーなどへの"
    "ご相談は有料のサービスとなり、SNSでの誹謗中傷に関する無料電話相談の対象外です。"
    "詳しくはお電話でご案内いたします。"
)

# Parts of a decision said only in some cases ({members_call}, {referrals}, {needs}, {topic_question}).
MEMBERS_CALL = (
    "\nすでにご加入中のお客さまは、次の窓口へお電話ください。\n{centre_name} {centre_phone}\n受付時間 {centre_hours}"
)
REFERRALS_HEADING = "公的な相談窓口もございます。"
NEED_LABELS = {
    NEEDS_DOCOMO_LINE: "ドコモの回線をご契約中かどうか",
    NEEDS_IS_MEMBER: "ネットトラブルあんしんサポートにご加入中かどうか",
    NEEDS_TOPIC: "ご相談の内容",
    NEEDS_PERSON_KEY: "ご本人確認のためのドコモの携帯電話番号",
}
TOPIC_QUESTION = "どのようなトラブルでお困りか、あわせてお聞かせください。"

# The SMS that carries a one-time code (nettrouble.eligibility.number_proof).
CODE_SMS = (
    "【ネットトラブルあんしんサポート】確認コード {code}（{minutes}分間有効）。"
    "チャットにこのコードをご入力ください。お心当たりがない場合は、このメッセージを破棄してください。"
)


def code_sms(code: str) -> str:
    return CODE_SMS.format(code=code, minutes=int(number_proof.CODE_TTL.total_seconds() // 60))


def _date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def centre_values(s: Service) -> Dict[str, Any]:
    """The centre's name, number and hours, as the decision responses quote them."""
    return {"centre_name": s.centre, "centre_phone": s.phone, "centre_hours": s.hours_text}


def _join_values(s: Service, applicant: Applicant) -> Dict[str, Any]:
    """The service to join instead, and how members call when the user did not say whether
    they are one."""
    return {
        "service_name": s.name,
        "service_fee": s.monthly_fee_text,
        "service_eligibility": s.eligibility_text,
        "service_site": s.site_url,
        "members_call": MEMBERS_CALL.format(**centre_values(s)) if applicant.is_member is None else "",
    }


def _referral_lines(decision: Decision, referrals: Mapping[str, Referral]) -> str:
    lines = [referrals[i].line() for i in decision.offer.referral_ids if i in referrals]
    return "\n".join(["", REFERRALS_HEADING, *lines]) if lines else ""


def decision_response(
    decision: Decision, applicant: Applicant, s: Service, referrals: Mapping[str, Referral], proved: bool = False
) -> Tuple[str, Dict[str, Any]]:
    """The response that words the decision (result, reason, and what to do instead) and its values
    (texts; typed as utter_message takes them, ``**kwargs: Any``).

    Until the number is proved to be the user's, an eligible decision says that staff confirm
    it on the phone: it was made without the ledger, so it reads the same whether the number
    is free, pending, used, or being claimed by someone else. Nothing from another case (its
    reference, date or topic) is ever shown."""
    reason, campaign = decision.reason, decision.campaign
    values: Dict[str, Any] = {"referrals": _referral_lines(decision, referrals)}
    if reason is None:
        values["needs"] = "、".join(NEED_LABELS[need] for need in decision.needs)
        values["topic_question"] = "\n" + TOPIC_QUESTION if NEEDS_TOPIC in decision.needs else ""
        return UNDECIDED, values
    if campaign is not None:
        values["campaign_name"] = campaign.name
        values["campaign_first_day"] = _date(campaign.first_day)
        values["campaign_last_day"] = _date(campaign.last_day)
    if decision.offer.starts_on is not None:
        values["campaign_starts_on"] = _date(decision.offer.starts_on)
    if reason in (ELIGIBLE, MEMBER):
        values.update(centre_values(s))
    if reason in JOIN_OFFERED:
        values.update(_join_values(s, applicant))
    if reason == ELIGIBLE and not proved:
        values["pending_claim"] = PENDING_CLAIM
        return EXPECTED, values
    if reason == ALREADY_USED:  # only said to a user whose number is proved to be their own
        values["already_used"] = ALREADY_USED_TEXT
    return DECISION_RESPONSES[reason], values
