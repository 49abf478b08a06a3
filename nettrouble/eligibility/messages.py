"""What the free-consultation check says to the user: re-asks, the decision and its alternative.

Plain Python (no Rasa). Public bodies come from business/referrals.yml and the service's own
facts from business/service.yml; refusals are a cushion phrase, the reason and an alternative.
"""

from __future__ import annotations

from typing import Mapping

from nettrouble.content.service import Service
from nettrouble.eligibility import identity
from nettrouble.eligibility.rules import (
    ADVISER_EXCLUDED,
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

_ASK_DIGITS = "お手数ですが、ドコモの携帯電話番号（070・080・090で始まる11桁）を数字でご入力ください。例：090-XXXX-XXXX"
_WRONG_LENGTH = (
    "桁数が合わないようです。携帯電話番号は070・080・090で始まる11桁です。もう一度ご確認のうえご入力ください。"
)
NUMBER_REASKS = {
    identity.EMPTY: _ASK_DIGITS,
    identity.NO_NUMBER: _ASK_DIGITS,
    identity.SEVERAL: "番号が複数含まれているようです。ご本人のドコモの携帯電話番号をおひとつだけご入力ください。",
    identity.MALFORMED: "恐れ入りますが、番号を読み取れませんでした。数字とハイフン（-）で、090-XXXX-XXXX のようにご入力ください。",
    identity.TOO_SHORT: _WRONG_LENGTH,
    identity.TOO_LONG: _WRONG_LENGTH,
    identity.NOT_JAPANESE: "恐れ入りますが、日本のドコモの携帯電話番号（070・080・090で始まる番号、または +81 からの番号）をご入力ください。",
    identity.NOT_MOBILE: "恐れ入りますが、固定電話や050・0120などの番号ではご本人の確認ができません。070・080・090で始まるドコモの携帯電話番号をご入力ください。",
    identity.TOO_LONG_INPUT: "メッセージが長いため読み取れませんでした。携帯電話番号だけをご入力ください。",
}
SKIP_HINT = "番号をお伝えいただけない場合は「スキップ」とお送りください。"
YES_NO_REASK = {
    NEEDS_DOCOMO_LINE: "恐れ入りますが、ドコモの回線をご契約中かどうか、「はい」か「いいえ」でお答えいただけますか。ご不明な場合は「わからない」とお送りください。",
    NEEDS_IS_MEMBER: "恐れ入りますが、ネットトラブルあんしんサポートにご加入中かどうか、「はい」か「いいえ」でお答えいただけますか。ご不明な場合は「わからない」とお送りください。",
}
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
    "ご相談は有料のサービスとなり、SNSでの誹謗中傷に関する無料電話相談の対象外です。詳しくはお電話でご案内いたします。"
)
NEED_LABELS = {
    NEEDS_DOCOMO_LINE: "ドコモの回線をご契約中かどうか",
    NEEDS_IS_MEMBER: "ネットトラブルあんしんサポートにご加入中かどうか",
    NEEDS_TOPIC: "ご相談の内容",
    NEEDS_PERSON_KEY: "ご本人確認のためのドコモの携帯電話番号",
}


# The one-time code (nettrouble.eligibility.number_proof) and the limit on number checks.
CODE_VERIFIED = "確認できました。ありがとうございます。"
CODE_UNREADABLE = "恐れ入りますが、SMSでお送りした6桁の数字をそのままご入力ください。SMSが届かない場合は「スキップ」とお送りください。"
CODE_WRONG = "コードが一致しませんでした。もう一度ご確認のうえご入力ください（あと{tries}回お試しいただけます）。"
CODE_EXPIRED = "確認コードの有効期限（10分）が過ぎました。お手数ですが、もう一度ドコモの携帯電話番号をご入力ください。新しいコードをお送りします。"
STAFF_WILL_CONFIRM = "ご本人の番号の確認は、お電話の際にスタッフが行います。"
CODE_LOCKED = "確認コードを規定の回数以上お間違えになったため、チャットでの確認を終了しました。" + STAFF_WILL_CONFIRM
CODE_NOT_SENT = "申し訳ございません。ただいま確認コードのSMSをお送りできませんでした。" + STAFF_WILL_CONFIRM
NUMBER_CHECK_LIMIT = "恐れ入りますが、チャットで確認できる電話番号の回数の上限に達しました。" + STAFF_WILL_CONFIRM


def _date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _centre(s: Service) -> str:
    return f"{s.centre} {s.phone}\n受付時間 {s.hours_text}"


def unavailable_text(s: Service) -> str:
    return (
        "申し訳ございません。ただいま無料相談のご利用状況を確認できない状態です。"
        f"お手数ですが、次の窓口へお電話ください。\n{_centre(s)}"
    )


def _join(s: Service, applicant: Applicant, reason: str) -> str:
    lead = (
        "必要に応じて消費生活アドバイザーなども対応いたします"
        if reason == ADVISER_EXCLUDED
        else "トラブルの種類を問わず、専門スタッフに電話でご相談いただけます"
    )
    text = (
        f"「{s.name}」（{s.monthly_fee_text}、{s.eligibility_text}がご利用いただけます）に"
        f"ご加入いただくと、{lead}。詳しくは {s.site_url} をご覧ください。"
    )
    if applicant.is_member is None:
        text += f"\nすでにご加入中のお客さまは、次の窓口へお電話ください。\n{_centre(s)}"
    return text


def _referral_lines(decision: Decision, referrals: Mapping[str, Referral]) -> str:
    lines = [referrals[i].line() for i in decision.offer.referral_ids if i in referrals]
    return "公的な相談窓口もございます。\n" + "\n".join(lines) if lines else ""


def decision_text(
    decision: Decision, applicant: Applicant, s: Service, referrals: Mapping[str, Referral], proved: bool = False
) -> str:
    """The decision as the user reads it: result, reason, and what to do instead.

    Until the number is proved to be the user's, an eligible decision says that staff confirm
    it on the phone: it was made without the ledger, so it reads the same whether the number
    is free, pending, used, or being claimed by someone else. Nothing from another case (its
    reference, date or topic) is ever shown."""
    reason, campaign, offer = decision.reason, decision.campaign, decision.offer
    if reason is None:
        parts = [_undecided(decision)]
    elif reason == ELIGIBLE and not proved:
        parts = [
            f"ご回答ありがとうございます。お客さまのご相談は、「{campaign.name}」"
            f"（期間：{_date(campaign.first_day)}〜{_date(campaign.last_day)}）の対象となる見込みです。",
            f"次の窓口へお電話ください。\n{_centre(s)}",
            PENDING_CLAIM,
            "なお、消費生活アドバイザーなどへのご相談は有料のサービスとなり、無料相談の対象外です。",
        ]
    elif reason == ELIGIBLE:
        parts = [
            f"ご回答ありがとうございます。お客さまのご相談は、「{campaign.name}」"
            f"（期間：{_date(campaign.first_day)}〜{_date(campaign.last_day)}）の対象です。",
            f"次の窓口へお電話ください。\n{_centre(s)}",
            "無料相談はお一人さま一案件までです。このご相談を専門スタッフへ引き継いだ時点で、"
            "お客さまの無料相談の枠をこのご相談のために確保いたします。",
            "なお、消費生活アドバイザーなどへのご相談は有料のサービスとなり、無料相談の対象外です。",
        ]
    elif reason == MEMBER:
        parts = [
            "ご加入いただきありがとうございます。ご加入中のお客さまは、専門スタッフへの電話相談が"
            "サービスに含まれておりますので、キャンペーンの無料相談をお使いいただく必要はございません。",
            f"次の窓口へお電話ください。\n{_centre(s)}",
        ]
    elif reason == NOT_DOCOMO:
        parts = [
            "ご回答ありがとうございます。申し訳ございませんが、この無料相談はドコモの回線契約を"
            "お持ちのお客さまが対象のため、今回はご利用いただけません。",
        ]
    elif reason == ADVISER_EXCLUDED:
        parts = [
            "ご要望を承りました。恐れ入りますが、消費生活アドバイザーなどへのご相談は有料のサービスの"
            "ため、無料相談の対象外となります。",
            _join(s, applicant, reason),
        ]
    elif reason == TOPIC_NOT_COVERED:
        parts = [
            "ご相談の内容を承りました。申し訳ございませんが、無料相談は対象となるご相談の内容が"
            "限られており、このご相談は対象外となります。",
            _join(s, applicant, reason),
        ]
    elif reason == NOT_STARTED:
        parts = [
            f"お問い合わせありがとうございます。申し訳ございませんが、「{campaign.name}」の受付は"
            f"{_date(offer.starts_on)}からとなります。恐れ入りますが、開始日以降にあらためてご確認ください。",
            _join(s, applicant, reason),
        ]
    elif reason == ENDED:
        parts = [
            f"お問い合わせありがとうございます。申し訳ございませんが、「{campaign.name}」は"
            f"{_date(campaign.last_day)}をもって終了いたしました。",
            _join(s, applicant, reason),
        ]
    else:  # already_used: only said to a user whose number is proved to be their own
        parts = [ALREADY_USED_TEXT, _join(s, applicant, reason)]
    parts.append(_referral_lines(decision, referrals))
    return "\n".join(part for part in parts if part)


def _undecided(decision: Decision) -> str:
    missing = "、".join(NEED_LABELS[need] for need in decision.needs)
    text = (
        f"ご回答ありがとうございます。無料相談の対象かどうかを確認するには、{missing}を"
        "伺う必要がございます。おわかりになりましたら、「無料相談の対象か確認したい」とお送りください。"
    )
    if NEEDS_TOPIC in decision.needs:
        text += "\nどのようなトラブルでお困りか、あわせてお聞かせください。"
    return text
