"""Triage: which questions each kind of trouble needs, and how the answers are read back.

Plain Python so that it can be tested without a bot. The Rasa form asks the questions in the
order given here; what the user's words mean for each question is ``nettrouble.triage.answers``.
Every question can be skipped.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from nettrouble.triage.answers import NO, NOT_PAID, UNKNOWN, YES

# The questions of each trouble type, in the order asked (2–4 each, from the domain notes).
PLANS: Dict[str, List[str]] = {
    "defamation": ["platform", "user_role", "ongoing", "evidence_saved"],
    "privacy": ["platform", "exposed_info", "offline_contact", "evidence_saved"],
    "own_post": ["platform", "notice_received", "post_still_up"],
    "account": ["platform", "can_login", "payments_linked"],
    "phishing": ["entered_info", "money_lost", "money_amount"],
    "payment_fraud": ["payment_method", "money_amount", "provider_contacted"],
    "billing_scam": ["money_lost", "money_amount", "payment_method"],
    "shopping": ["payment_method", "seller_type", "money_amount"],
    "sexual_image": ["user_role", "image_status", "money_demanded"],
    "bullying": ["user_role", "child_grade", "platform", "ongoing"],
}

# Questions that only make sense after a given answer: how much was lost only if money was.
_ONLY_IF = {
    ("phishing", "money_amount"): ("money_lost", YES),
    ("billing_scam", "money_amount"): ("money_lost", YES),
    ("billing_scam", "payment_method"): ("money_lost", YES),
}

TRIAGE_SLOTS = sorted({slot for plan in PLANS.values() for slot in plan})

# The one question asked before a reference when the user wants to call mid-way: what the phone
# agent most needs first (whether it reached the user's home, what was entered, ...).
ESSENTIAL = {
    "defamation": "platform",
    "privacy": "offline_contact",
    "own_post": "notice_received",
    "account": "can_login",
    "phishing": "entered_info",
    "payment_fraud": "payment_method",
    "billing_scam": "money_lost",
    "shopping": "seller_type",
    "sexual_image": "image_status",
    "bullying": "user_role",
}

# How each type is named to the user (also the titles of the trouble-type menu buttons).
TYPE_LABELS = {
    "defamation": "SNSでの誹謗中傷",
    "privacy": "個人情報・写真の晒し",
    "own_post": "自分の投稿・炎上",
    "account": "乗っ取り・なりすまし",
    "phishing": "偽SMS・フィッシング",
    "payment_fraud": "身に覚えのない決済",
    "billing_scam": "架空請求・ワンクリック詐欺",
    "shopping": "ネット通販・フリマ",
    "sexual_image": "性的な画像・動画の被害",
    "bullying": "子どものネットいじめ",
}
# The last of the buttons that offer the likeliest types when a message was unclear.
NONE_OF_THESE = "どれにも当てはまらない"
UNKNOWN_TYPE_LABEL = "未確認"


def type_label(trouble_type: Optional[str]) -> str:
    return TYPE_LABELS.get(trouble_type or "", UNKNOWN_TYPE_LABEL)


# Examples given when an answer could not be read twice in a row.
HINTS = {
    "platform": "「X」「Instagram」「LINE」「掲示板」",
    "user_role": "「自分」「子どものことで相談している親です」",
    "ongoing": "「続いている」「止まっている」",
    "evidence_saved": "「スクショを保存してある」「まだ」",
    "exposed_info": "「住所」「本名と勤務先」「顔写真」",
    "offline_contact": "「あった」「ない」",
    "notice_received": "「意見照会書が届いた」「訴えると言われた」「何も届いていない」",
    "post_still_up": "「公開したまま」「削除した」",
    "can_login": "「ログインできる」「できない」",
    "payments_linked": "「カードを登録している」「していない」",
    "entered_info": "「パスワードを入力した」「カード番号を入れた」「何も入力していない」",
    "money_lost": "「はい」「いいえ」",
    "money_amount": "「3万円」「5000円」",
    "payment_method": "「クレジットカード」「PayPay」「銀行振込」",
    "provider_contacted": "「連絡した」「まだ」",
    "seller_type": "「お店」「個人（フリマ）」",
    "image_status": "「もう出回っている」「ばらまくと脅されている」",
    "money_demanded": "「求められている」「求められていない」",
    "child_grade": "「中学2年」「小学生」",
}


def plan(trouble_type: Optional[str], answers: Mapping[str, object]) -> List[str]:
    """The questions that apply to ``trouble_type`` given the answers so far, in order."""
    applicable = []
    for slot in PLANS.get(trouble_type or "", []):
        condition = _ONLY_IF.get((trouble_type or "", slot))
        if condition and answers.get(condition[0]) not in (condition[1], None):
            continue
        applicable.append(slot)
    return applicable


def questions(trouble_type: Optional[str], answers: Mapping[str, object]) -> List[str]:
    """The slots still to ask for ``trouble_type``, in order, given the answers so far."""
    return [slot for slot in plan(trouble_type, answers) if answers.get(slot) is None]


def essential_question(trouble_type: Optional[str], answers: Mapping[str, object]) -> Optional[str]:
    """The type's essential question if it applies and is still open, else None."""
    slot = ESSENTIAL.get(trouble_type or "")
    return slot if slot in questions(trouble_type, answers) else None


# How the summary shows each answer.
LABELS = {
    "platform": "サービス",
    "user_role": "ご相談者",
    "ongoing": "今も続いているか",
    "evidence_saved": "証拠の保存",
    "exposed_info": "さらされた情報",
    "offline_contact": "自宅・職場などへの接触",
    "notice_received": "届いた通知",
    "post_still_up": "投稿の状態",
    "can_login": "ログインできるか",
    "payments_linked": "決済情報の登録",
    "entered_info": "入力してしまった情報",
    "money_lost": "お金の被害",
    "money_amount": "金額",
    "payment_method": "支払い方法",
    "provider_contacted": "決済事業者への連絡",
    "seller_type": "相手",
    "image_status": "画像・動画の状況",
    "money_demanded": "金銭などの要求",
    "child_grade": "学年",
}

_VALUE_TEXT = {
    "user_role": {
        "self": "ご本人",
        "parent": "保護者（お子さまのご相談）",
        "other": "ご家族・知人",
        "poster": "投稿したご本人",
        "student": "ご本人（生徒・学生）",
        "teacher": "学校関係者",
    },
    "ongoing": {YES: "続いている", NO: "止まっている"},
    "evidence_saved": {YES: "保存済み", NO: "まだ"},
    "offline_contact": {YES: "あった", NO: "なし"},
    "notice_received": {
        "opinion_letter": "意見照会書・開示の通知",
        "lawsuit_threat": "訴えるなどの連絡",
        "none": "まだ届いていない",
    },
    "post_still_up": {YES: "公開中", NO: "削除・非公開"},
    "can_login": {YES: "できる", NO: "できない"},
    "payments_linked": {YES: "登録あり", NO: "登録なし"},
    "money_lost": {YES: "あり", NO: "なし"},
    "provider_contacted": {YES: "連絡済み", NO: "まだ"},
    "seller_type": {"business": "お店・事業者", "individual": "個人"},
    "image_status": {"spread": "すでに出回っている", "threatened": "ばらまくと脅されている"},
    "money_demanded": {YES: "求められている", NO: "求められていない"},
    "payment_method": {NOT_PAID: "まだ支払っていない"},
}
_ENTERED_TEXT = {
    "password": "ID・パスワード",
    "card": "カード・口座の情報",
    "app": "アプリのインストール",
    "personal": "個人情報",
    "nothing": "何も入力していない",
}


def display(slot: str, value: object) -> str:
    """The answer as the user should read it back."""
    if value == UNKNOWN:
        return "未回答"
    if slot == "money_amount":
        return f"{int(value):,}円" if isinstance(value, (int, float)) and value else "なし"
    if slot == "entered_info":
        return "、".join(_ENTERED_TEXT.get(part, part) for part in str(value).split(","))
    if isinstance(value, str):
        return _VALUE_TEXT.get(slot, {}).get(value, value)
    return str(value)


def summary_lines(trouble_type: Optional[str], answers: Mapping[str, object]) -> List[str]:
    return [
        f"・{LABELS[slot]}：{display(slot, answers[slot])}"
        for slot in plan(trouble_type, answers)
        if answers.get(slot) is not None
    ]


def explanation_values(slot: str) -> Dict[str, Any]:
    """The values of utter_triage_explanation, said after two answers to the same question
    could not be read: the question's name and examples of answers (texts; typed as
    utter_message takes them, ``**kwargs: Any``)."""
    return {"question_label": LABELS[slot], "answer_examples": HINTS[slot]}
