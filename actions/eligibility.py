"""The free SNS-defamation consultation in the conversation: the form and the decision.

``validate_eligibility_form`` asks only what ``nettrouble.eligibility`` still needs (docomo line?
already a member? the docomo number) and reads free Japanese answers. The number is turned into
its keyed hash inside ``extract_person_key``: the slot only ever holds the hash.
``action_check_eligibility`` runs the engine and words the decision for the user.

Everything read from files, the secret and the database is set up in ``__init__``, which
rasa_sdk runs when the action server starts: a malformed file or a missing secret stops it there.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from nettrouble import campaigns, datafiles, db, identity, ledger, referrals, service
from nettrouble.clock import now
from nettrouble.eligibility import (
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
    decide,
)
from nettrouble.settings import settings

logger = logging.getLogger(__name__)

FORM_SLOTS = (NEEDS_DOCOMO_LINE, NEEDS_IS_MEMBER, NEEDS_PERSON_KEY)
YES, NO = "yes", "no"

# Intents with which a user answers a question of the form. Any other intent (hours, a new
# trouble, a request for staff, and above all the safety intents) is left to the rules: the form
# rejects, the rule answers, and the form asks again afterwards.
ANSWER_INTENTS = {"affirm", "deny", "inform", "nlu_fallback", None}
SAFETY_PREFIX = "urgent_"

# Matched against NFKC-folded, lower-cased text.
_SKIP = re.compile(
    r"わから|分から|わかりま|分かりま|知らない|しらない|不明|覚えて(い)?な|おぼえて(い)?な|忘れ|わすれ|"
    r"スキップ|skip|飛ばし|とばし|パス|答えたくな|こたえたくな|言いたくな|いいたくな|"
    r"教えたくな|おしえたくな|伝えたくな|秘密|ひみつ|内緒|ないしょ|結構です|けっこうです"
)
_NEGATIVE = re.compile(
    r"いいえ|いえ、|いや|ちが|違|じゃな|ではな|でな(い|く)|ありません|ないです|ません|ない$|ない。|"
    r"以外|他社|別の会社|ノー|^no\b|^だめ"
)
_OTHER_CARRIERS = re.compile(
    r"(?<![a-z])au(?![a-z])|エーユー|えーゆー|ソフトバンク|softbank|そふとばんく|楽天モバイル|"
    r"rakuten|ワイモバイル|y!mobile|ymobile|uq|povo|linemo|格安|mvno|iphoneの?sim|海外"
)
_DOCOMO_YES = re.compile(
    r"ドコモ|どこも|docomo|ahamo|アハモ|あはも|irumo|イルモ|はい|うん|ええ|そう(です|だ)|yes|"
    r"持って(い)?ます|契約して(い)?ます|使って(い)?ます"
)
_MEMBER_NO = re.compile(r"まだ|未加入|非会員|入って(い)?な|加入して(い)?な|知らなかった|初めて|はじめて")
# 「間違いありません」 affirms although it reads like a negation.
_CERTAIN = re.compile(r"間違い(ない|なく|ありません|ございません)|まちがい(ない|なく|ありません)")
_MEMBER_YES = re.compile(
    r"会員|加入|入って(い)?ます|入ってる|契約して(い)?ます|使って(い)?ます|利用して(い)?ます|"
    r"はい|うん|ええ|そう(です|だ)|yes|済"
)
_ADVISER = re.compile(r"消費者?生活(アドバイザー|相談員|専門相談員|コンサルタント)")

_ASK_DIGITS = "お手数ですが、ドコモの携帯電話番号（070・080・090で始まる11桁）を数字でご入力ください。例：090-XXXX-XXXX"
_WRONG_LENGTH = "桁数が合わないようです。携帯電話番号は070・080・090で始まる11桁です。もう一度ご確認のうえご入力ください。"
_NUMBER_REASKS = {
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
_SKIP_HINT = "番号をお伝えいただけない場合は「スキップ」とお送りください。"
_YES_NO_REASK = {
    NEEDS_DOCOMO_LINE: "恐れ入りますが、ドコモの回線をご契約中かどうか、「はい」か「いいえ」でお答えいただけますか。ご不明な場合は「わからない」とお送りください。",
    NEEDS_IS_MEMBER: "恐れ入りますが、ネットトラブルあんしんサポートにご加入中かどうか、「はい」か「いいえ」でお答えいただけますか。ご不明な場合は「わからない」とお送りください。",
}
_NEED_LABELS = {
    NEEDS_DOCOMO_LINE: "ドコモの回線をご契約中かどうか",
    NEEDS_IS_MEMBER: "ネットトラブルあんしんサポートにご加入中かどうか",
    NEEDS_TOPIC: "ご相談の内容",
    NEEDS_PERSON_KEY: "ご本人確認のためのドコモの携帯電話番号",
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().strip()


def _intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _fresh_answer(tracker: Tracker) -> bool:
    """Whether the latest user message has not been answered by anything else yet. After an
    interruption (the user asked something else, a rule replied, the form resumed) the latest
    message is not an answer to the form's question."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return False
        if event.get("event") == "user":
            return True
    return False


def _answer_text(tracker: Tracker, slot: str) -> Optional[str]:
    """The user's answer to the question for ``slot``, or None when the latest message is not one."""
    if tracker.get_slot(REQUESTED_SLOT) != slot or not _fresh_answer(tracker):
        return None
    if (_intent(tracker) or "").startswith(SAFETY_PREFIX):
        return None
    return tracker.latest_message.get("text") or ""


def _is_skip(text: str) -> bool:
    return not text.startswith("/") and bool(_SKIP.search(_fold(text)))


def _yes_no(slot: str, text: str, intent: Optional[str]) -> Optional[str]:
    """"yes", "no" or None (not understood) for a free answer or a button payload."""
    folded = "" if text.startswith("/") else _CERTAIN.sub("はい", _fold(text))
    if slot == NEEDS_DOCOMO_LINE:
        if _OTHER_CARRIERS.search(folded) or _NEGATIVE.search(folded):
            return NO
        if _DOCOMO_YES.search(folded):
            return YES
    else:
        if _MEMBER_NO.search(folded) or _NEGATIVE.search(folded):
            return NO
        if _MEMBER_YES.search(folded):
            return YES
    return {"affirm": YES, "deny": NO}.get(intent)


def _bool(value: Any) -> Optional[bool]:
    return {YES: True, NO: False}.get(value)


def applicant_from(tracker: Tracker, adviser_requested: bool = False) -> Applicant:
    """The engine's view of the conversation; a slot value the form would not have set (a forged
    or stale one) counts as unknown."""
    topic = tracker.get_slot("trouble_type")
    person_key = tracker.get_slot("person_key")
    case_reference = tracker.get_slot("case_reference")
    return Applicant(
        topic=topic if topic in datafiles.TROUBLE_TYPES else None,
        docomo_line=_bool(tracker.get_slot(NEEDS_DOCOMO_LINE)),
        is_member=_bool(tracker.get_slot(NEEDS_IS_MEMBER)),
        person_key=person_key if ledger.is_person_key(person_key) else None,
        case_reference=case_reference
        if isinstance(case_reference, str) and 0 < len(case_reference) <= ledger.MAX_CASE_REFERENCE
        else None,
        adviser_requested=adviser_requested,
    )


class ValidateEligibilityForm(FormValidationAction):
    def __init__(self) -> None:
        self._campaigns = campaigns.catalogue()
        self._referrals = referrals.catalogue()
        self._secret = settings().require("person_key_secret")

    def name(self) -> Text:
        return "validate_eligibility_form"

    def _needs(self, tracker: Tracker) -> tuple:
        # The ledger is left to action_check_eligibility: whether a number was used before
        # never changes which questions are worth asking.
        decision = decide(
            applicant_from(tracker), now(), self._campaigns, lambda *_: None, self._referrals
        )
        return decision.needs

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        # Slots already holding a value stay in the list so that rasa_sdk validates the answer
        # that has just decided the outcome (e.g. "no docomo line") instead of dropping it.
        needs = self._needs(tracker)
        return [s for s in FORM_SLOTS if tracker.get_slot(s) is not None or s in needs]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Optional[EventType]:
        # Always explicit (rasa_sdk leaves the choice to Rasa when the list happens to equal the
        # domain's): the next question is the first needed slot still empty, none ends the form.
        # A question the user chose not to answer ends the form too: without that answer the
        # decision cannot be made, and action_check_eligibility says what is missing.
        requested = tracker.get_slot(REQUESTED_SLOT)
        if requested in FORM_SLOTS and tracker.get_slot(requested) is None:
            text = _answer_text(tracker, requested)
            if text is not None and _is_skip(text):
                return SlotSet(REQUESTED_SLOT, None)
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet(REQUESTED_SLOT, next((s for s in required if tracker.get_slot(s) is None), None))

    def _extract_yes_no(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        text = _answer_text(tracker, slot)
        if text is None:
            return {}
        if _is_skip(text):
            return {slot: None}
        intent = _intent(tracker)
        if intent not in ANSWER_INTENTS:
            return {}
        answer = _yes_no(slot, text, intent)
        if answer is None:
            dispatcher.utter_message(text=_YES_NO_REASK[slot])
        return {slot: answer}

    def extract_docomo_line(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract_yes_no(NEEDS_DOCOMO_LINE, dispatcher, tracker)

    def extract_is_member(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract_yes_no(NEEDS_IS_MEMBER, dispatcher, tracker)

    def extract_person_key(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Only the hash leaves this method; the number is neither stored, logged nor returned."""
        text = _answer_text(tracker, NEEDS_PERSON_KEY)
        if text is None:
            return {}
        if _is_skip(text):
            return {NEEDS_PERSON_KEY: None}
        try:
            return {NEEDS_PERSON_KEY: identity.person_key(text, self._secret)}
        except identity.InvalidNumber as invalid:
            if invalid.reason == identity.NO_NUMBER and _intent(tracker) not in ANSWER_INTENTS:
                return {}
            dispatcher.utter_message(text=f"{_NUMBER_REASKS[invalid.reason]}\n{_SKIP_HINT}")
            return {NEEDS_PERSON_KEY: None}

    def validate_docomo_line(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {NEEDS_DOCOMO_LINE: value if value in (YES, NO) else None}

    def validate_is_member(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {NEEDS_IS_MEMBER: value if value in (YES, NO) else None}

    def validate_person_key(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        # Whatever reaches this slot by another road (a forged payload, a raw number) is dropped.
        return {NEEDS_PERSON_KEY: value if ledger.is_person_key(value) else None}


def _day(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def adviser_requested(tracker: Tracker) -> bool:
    """Whether the user asked for a consumer-affairs adviser in the messages of this enquiry
    (since the previous eligibility check): the request usually precedes the form's questions."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == ActionCheckEligibility.NAME:
            return False
        if event.get("event") == "user" and _ADVISER.search(_fold(event.get("text") or "")):
            return True
    return False


class ActionCheckEligibility(Action):
    NAME = "action_check_eligibility"

    def __init__(self) -> None:
        self._campaigns = campaigns.catalogue()
        self._referrals = {r.id: r for r in referrals.catalogue()}
        self._service = service.facts()
        self._database = db.LazyEngine()
        self._database.warm_up()

    def name(self) -> Text:
        return self.NAME

    def _used_for(self, campaign_id: str, person_key: str) -> Optional[str]:
        held = ledger.holder(self._database.get(), campaign_id, person_key)
        return held.case_reference if held else None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        applicant = applicant_from(tracker, adviser_requested(tracker))
        try:
            decision = decide(
                applicant, now(), self._campaigns, self._used_for, self._referrals.values()
            )
        except (SQLAlchemyError, db.Unavailable):
            logger.exception("eligibility: the free-consultation ledger could not be read")
            dispatcher.utter_message(text=self._unavailable())
            return [SlotSet("eligibility", None), SlotSet("eligibility_campaign", None)]
        logger.info(
            "eligibility: reason=%s campaign=%s needs=%s",
            decision.reason, decision.campaign.id if decision.campaign else None, ",".join(decision.needs),
        )
        message = self._text(decision, applicant)
        buttons = self._buttons(decision)
        if buttons:
            dispatcher.utter_message(text=message, buttons=buttons)
        else:
            dispatcher.utter_message(text=message)
        return [
            SlotSet("eligibility", decision.reason),
            SlotSet("eligibility_campaign", decision.campaign.id if decision.campaign else None),
        ]

    # --- wording -------------------------------------------------------------------------

    def _centre(self) -> str:
        s = self._service
        return f"{s.centre} {s.phone}\n受付時間 {s.hours_text}"

    def _unavailable(self) -> str:
        return (
            "申し訳ございません。ただいま無料相談のご利用状況を確認できない状態です。"
            f"お手数ですが、次の窓口へお電話ください。\n{self._centre()}"
        )

    def _join(self, applicant: Applicant, reason: str) -> str:
        s = self._service
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
            text += f"\nすでにご加入中のお客さまは、次の窓口へお電話ください。\n{self._centre()}"
        return text

    def _referral_lines(self, decision: Decision) -> str:
        lines = [self._referrals[i].line() for i in decision.offer.referral_ids if i in self._referrals]
        return "公的な相談窓口もございます。\n" + "\n".join(lines) if lines else ""

    def _text(self, decision: Decision, applicant: Applicant) -> str:
        reason, campaign, offer = decision.reason, decision.campaign, decision.offer
        if reason is None:
            parts = [self._undecided(decision)]
        elif reason == ELIGIBLE:
            parts = [
                f"ご回答ありがとうございます。お客さまのご相談は、「{campaign.name}」"
                f"（期間：{_day(campaign.first_day)}〜{_day(campaign.last_day)}）の対象です。",
                f"次の窓口へお電話ください。\n{self._centre()}",
                "無料相談はお一人さま一案件までです。このご相談を専門スタッフへ引き継いだ時点で、"
                "お客さまの無料相談の枠をこのご相談のために確保いたします。",
                "なお、消費生活アドバイザーなどへのご相談は有料のサービスとなり、無料相談の対象外です。",
            ]
        elif reason == MEMBER:
            parts = [
                "ご加入いただきありがとうございます。ご加入中のお客さまは、専門スタッフへの電話相談が"
                "サービスに含まれておりますので、キャンペーンの無料相談をお使いいただく必要はございません。",
                f"次の窓口へお電話ください。\n{self._centre()}",
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
                self._join(applicant, reason),
            ]
        elif reason == TOPIC_NOT_COVERED:
            parts = [
                "ご相談の内容を承りました。申し訳ございませんが、無料相談は対象となるご相談の内容が"
                "限られており、このご相談は対象外となります。",
                self._join(applicant, reason),
            ]
        elif reason == NOT_STARTED:
            parts = [
                f"お問い合わせありがとうございます。申し訳ございませんが、「{campaign.name}」の受付は"
                f"{_day(offer.starts_on)}からとなります。恐れ入りますが、開始日以降にあらためてご確認ください。",
                self._join(applicant, reason),
            ]
        elif reason == ENDED:
            parts = [
                f"お問い合わせありがとうございます。申し訳ございませんが、「{campaign.name}」は"
                f"{_day(campaign.last_day)}をもって終了いたしました。",
                self._join(applicant, reason),
            ]
        else:  # already_used, the one reason left
            parts = [
                "確認いたしました。申し訳ございませんが、無料相談はお一人さま一案件までのため、"
                f"お客さまはすでに別のご相談（受付番号 {offer.first_case_reference}）でご利用済みです。",
                f"受付番号 {offer.first_case_reference} のご相談の続きでしたら、お電話の際にその番号を"
                "お伝えください。",
                self._join(applicant, reason),
            ]
        parts.append(self._referral_lines(decision))
        return "\n".join(part for part in parts if part)

    def _undecided(self, decision: Decision) -> str:
        missing = "、".join(_NEED_LABELS[need] for need in decision.needs)
        text = (
            f"ご回答ありがとうございます。無料相談の対象かどうかを確認するには、{missing}を"
            "伺う必要がございます。おわかりになりましたら、「無料相談の対象か確認したい」とお送りください。"
        )
        if NEEDS_TOPIC in decision.needs:
            text += "\nどのようなトラブルでお困りか、あわせてお聞かせください。"
        return text

    @staticmethod
    def _buttons(decision: Decision) -> List[Dict[str, str]]:
        if decision.offer.call_centre:
            return [{"title": "専門スタッフへの引き継ぎを依頼する", "payload": "/request_human"}]
        return []
