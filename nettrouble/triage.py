"""Triage: which questions each kind of trouble needs, and what the user's answers mean.

Plain Python so that it can be tested without a bot. The Rasa form asks the questions in the
order given here; every answer is read from the user's own words (or a button's payload, which
is the same words) and normalised to a small set of values. Every question can be skipped.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from nettrouble.money import parse_yen

UNKNOWN = "unknown"
YES = "yes"
NO = "no"
NOT_PAID = "not_paid"

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

YES_NO_SLOTS = {
    "ongoing", "evidence_saved", "offline_contact", "post_still_up", "can_login",
    "payments_linked", "money_lost", "provider_contacted", "money_demanded",
}

# Asked to skip: explicit words count anywhere, vague ones (わからない) only in a short reply,
# since 「知らない人から」 in a longer answer is content, not a skip.
_SKIP_EXPLICIT = re.compile(
    r"スキップ|すきっぷ|skip|(?<![a-z])pass(?!word)|パス(?!ワ|ポ)|ぱす(?!わ)|飛ばし|とばし|"
    r"答えたくな|言いたくな|いいたくな|次へ|つぎへ"
)
_SKIP_VAGUE = re.compile(r"わから|分から|判ら|わかん|わかりません|不明|知らな|しらな|覚えてな|おぼえてな")
_SHORT_REPLY = 15

# Negations are checked before affirmations: 「保存してない」 contains 「保存して」.
_NO = re.compile(
    r"いいえ|いえ、|いや|ううん|ちが|違|no\b|ない|無い|ません|まだ|未|止まって|止んで|やんで|おさまっ|"
    r"収まっ|終わっ|おわっ|消した|削除し|消えた|非公開|ゼロ|0円|払ってな|支払ってな|してな|出てな"
)
_YES = re.compile(
    r"はい|うん|ええ|yes|ok|そう|ある|あった|あり|いる|います|続いて|つづいて|まだ続|した|して|しました|"
    r"できる|できます|出来|出て|届い|取られ|とられ|払っ|支払|求められ|公開中|残って|のこって|保存|撮っ|"
    r"とって|控え|メモ|登録"
)

# Per-question words that decide a yes/no answer even without はい or いいえ.
_SLOT_YES = {
    "ongoing": r"続|今も|いまも|毎日|増え|エスカレ|たまに|時々|ときどき|まだ(書|来|き|届|あ|い)",
    "post_still_up": r"(?<!非)公開|残って|そのまま",
    "can_login": r"ログインでき(る|ます)|入れ(る|ます)|使え(る|ます)",
    "evidence_saved": r"スクショ|スクリーンショット|保存|撮っ|url|控え|メモ",
}
# Words that settle a no even beside the slot's yes words: 「スクショ撮り忘れました」.
_SLOT_NO_FIRST = {
    "evidence_saved": r"忘れ|わすれ|消しちゃ|消してしま",
}
# A negation closing the same clause right after a match: 「消してません」「続いていない」.
_NEGATED_AFTER = re.compile(r"[^、。,.!?！？]{0,6}?(ない|ません|なかった)")
_SLOT_NO = {
    "ongoing": r"止ま|止ん|やん|おさま|収ま|終わ|なくな|消え|落ち着|おちつ|静か",
    "post_still_up": r"消し|削除|非公開|鍵",
    "can_login": r"ログインでき(ない|ません)|入れな|使えな|締め出",
}

_ROLE_PATTERNS = [
    ("poster", r"書いたのは|書き込んだのは|投稿したのは|私が書|自分が書|私が投稿|自分が投稿|加害"),
    ("teacher", r"先生|教師|教員|担任|学校関係|教諭|職員"),
    ("parent", r"親|保護者|子ども|子供|こども|娘|息子|うちの子|お子"),
    ("student", r"本人|生徒|学生|自分|私|わたし|僕|ぼく|俺"),
    ("other", r"家族|友人|友達|ともだち|知人|同僚|代理|妻|夫|きょうだい|兄|姉|弟|妹"),
]
_SELF_WORDS = r"本人|自分|私|わたし|僕|ぼく|俺|おれ|じぶん"

_NOTICE_PATTERNS = [
    ("opinion_letter", r"意見照会|照会書|開示|プロバイダ"),
    ("lawsuit_threat", r"訴え|訴訟|裁判|弁護士|示談|慰謝料|内容証明"),
    ("none", r"何も|なにも|まだ|ない"),
]
# 「弁護士から通知は来てないです」 names a lawyer but says nothing came: checked first.
_NOTICE_NONE = re.compile(r"(届い|来|き|受け取っ|もらっ)て(は|も)?(い)?(な|ません)")

# A loss actually suffered (「3万円払ってしまった」), unlike a demand (「10万円払えと言われた」).
_LOSS = re.compile(
    r"払っ|支払っ|振り込ん|振込ん|ふりこん|取られ|とられ|使われ|つかわれ|引き落とされ|引き出され|"
    r"騙し取|だましと|送金し|買わされ|かわされ|失っ"
)
_DEMAND = re.compile(r"請求|払え|支払え|払って(くれ|ください|ほしい)|要求|求められ")
_NOT_PAID = re.compile(r"(払|支払|振り込ん|振込ん)(っ)?て(は|も)?(い)?(な|ません)|まだ(払|支払)")

_ENTERED_PATTERNS = [
    ("password", r"パスワード|ぱすわーど|id|ログイン|暗証"),
    ("card", r"カード|クレカ|card|口座|銀行"),
    ("app", r"アプリ|インストール|apk|プロファイル"),
    ("personal", r"住所|氏名|名前|電話番号|生年月日|個人情報"),
]
_NOTHING = re.compile(r"何も|なにも|入力してな|入れてな|していない|してない|開いただけ|見ただけ")
# 「パスワードは入れてない」 names what was not entered; a done verb keeps what was. Read per
# clause: 「IDは入れてないけどカード番号は入れた」.
_CLAUSE = re.compile(r"けど|けれど|が、|、|。|,")
_ENTERED_DONE = re.compile(r"(入れ|いれ|入力し|教え|送っ|打ち込ん|登録し|インストールし)(た|ちゃ|てしま|まし)")

_EXPOSED_PATTERNS = [
    ("住所", r"住所|家|自宅|最寄"),
    ("本名", r"本名|名前|氏名|実名"),
    ("勤務先・学校", r"勤務先|職場|会社|学校|学年|クラス"),
    ("顔写真", r"顔|写真|画像|動画"),
    ("電話番号", r"電話|番号"),
    ("家族のこと", r"家族|子ども|子供|夫|妻"),
]

_SELLER_PATTERNS = [
    ("individual", r"個人|フリマ|メルカリ|ラクマ|ヤフオク|ジモティー|オークション|出品者"),
    ("business", r"店|ショップ|事業者|会社|業者|サイト|通販|公式"),
]

_IMAGE_PATTERNS = [
    ("spread", r"出て|載|上げられ|あげられ|拡散|ばらまかれ|ばら撒かれ|公開され|投稿され|出回"),
    ("threatened", r"脅|おど|ばらまく|ばら撒く|晒す|さらす|載せる|まだ"),
]

_GRADE = re.compile(
    r"(小学|中学|高校)\s*([1-6１-６一二三四五六])\s*年|([小中高])\s*([1-6１-６一二三四五六])|"
    r"小学生|中学生|高校生|高専|大学|専門学校|(\d{1,2})\s*歳"
)
_MINOR = re.compile(
    r"小学|中学|高校|小[1-6１-６]|中[1-3１-３]|高[1-3１-３]|子ども|子供|こども|娘|息子|うちの子|"
    r"お子|生徒|児童|未成年|jk|jc|高専|(?<!\d)(?:[0-9]|1[0-7])歳"
)


@dataclass(frozen=True)
class Answer:
    """What a reply means for the slot asked; ``value`` is None when it could not be read.
    ``also`` holds other slots the same reply settled (「3万円取られた」 answers the amount too)."""

    value: Optional[object]
    also: Mapping[str, object] = field(default_factory=dict)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def plan(trouble_type: Optional[str], answers: Mapping[str, object]) -> List[str]:
    """The questions that apply to ``trouble_type`` given the answers so far, in order."""
    applicable = []
    for slot in PLANS.get(trouble_type or "", []):
        condition = _ONLY_IF.get((trouble_type, slot))
        if condition and answers.get(condition[0]) not in (condition[1], None):
            continue
        applicable.append(slot)
    return applicable


def questions(trouble_type: Optional[str], answers: Mapping[str, object]) -> List[str]:
    """The slots still to ask for ``trouble_type``, in order, given the answers so far."""
    return [slot for slot in plan(trouble_type, answers) if answers.get(slot) is None]


def is_skip(text: str) -> bool:
    normalised = _norm(text)
    return bool(_SKIP_EXPLICIT.search(normalised)) or (
        len(normalised) <= _SHORT_REPLY and bool(_SKIP_VAGUE.search(normalised))
    )


def _negated(text: str, match: Optional[re.Match]) -> bool:
    return bool(match) and bool(_NEGATED_AFTER.match(text, match.end()))


def yes_no(slot: str, text: str, intent: Optional[str] = None) -> Optional[str]:
    normalised = _norm(text)
    if slot in _SLOT_NO_FIRST and re.search(_SLOT_NO_FIRST[slot], normalised):
        return NO
    specific_yes = _SLOT_YES.get(slot)
    if specific_yes:
        match = re.search(specific_yes, normalised)
        # 「まだ続いています」 is a yes although まだ often starts a no; 「続いていない」 is not.
        if match and not _negated(normalised, match):
            return YES
    if slot in _SLOT_NO:
        match = re.search(_SLOT_NO[slot], normalised)
        if match:
            # 「消してません」: the post is still up; 「止まっていない」: it goes on.
            return YES if _negated(normalised, match) else NO
    if _NO.search(normalised):
        return NO
    if _YES.search(normalised):
        return YES
    if intent == "affirm":
        return YES
    if intent == "deny":
        return NO
    return None


def reports_loss(text: str) -> bool:
    """True when the text says money was actually paid or taken, not merely demanded."""
    normalised = _norm(text)
    match = _LOSS.search(normalised)
    return bool(match) and not _negated(normalised, match)


def _first_match(patterns: Sequence, text: str) -> Optional[str]:
    return next((value for value, pattern in patterns if re.search(pattern, text)), None)


def _all_matches(patterns: Sequence, text: str) -> List[str]:
    return [value for value, pattern in patterns if re.search(pattern, text)]


def _entity(entities: Iterable[Mapping], name: str) -> Optional[str]:
    return next((str(e.get("value")) for e in entities or [] if e.get("entity") == name), None)


def _free_text(text: str, limit: int = 40) -> Optional[str]:
    """A short free answer kept as typed, when it carries letters rather than only a yes/no."""
    cleaned = " ".join((text or "").split())
    if not cleaned or len(cleaned) > limit or cleaned.startswith("/"):
        return None
    if yes_no("", cleaned) is not None and len(cleaned) <= 4:
        return None
    return cleaned


# The values a button may send for each closed question (``/inform{"answer": "..."}``); the
# open questions (platform, payment method, exposed information, grade) take short free text.
CHOICES = {
    **{slot: {YES, NO} for slot in YES_NO_SLOTS},
    "user_role": {"self", "parent", "other", "poster", "student", "teacher"},
    "notice_received": {"opinion_letter", "lawsuit_threat", "none"},
    "entered_info": {"password", "card", "app", "personal", "nothing"},
    "seller_type": {"business", "individual"},
    "image_status": {"spread", "threatened"},
}


def _button_answer(slot: str, value: str) -> Answer:
    """The answer a button sent; a value the question does not offer is not understood."""
    if value == UNKNOWN:
        return Answer(UNKNOWN)
    if slot in CHOICES:
        return Answer(value if value in CHOICES[slot] else None)
    if slot == "money_amount":
        return Answer(parse_yen(value))
    return Answer(_free_text(value))


def interpret(
    slot: str,
    text: str,
    intent: Optional[str] = None,
    entities: Iterable[Mapping] = (),
    trouble_type: Optional[str] = None,
) -> Answer:
    """Reads the user's reply to the question for ``slot``: a button's ``answer`` as sent, free
    words as they are meant."""
    entities = list(entities or [])
    pressed = _entity(entities, "answer")
    if pressed is not None:
        return _button_answer(slot, pressed)
    if is_skip(text):
        return Answer(UNKNOWN)
    normalised = _norm(text)

    if slot in YES_NO_SLOTS:
        value = yes_no(slot, text, intent)
        also = {}
        if slot == "money_lost":
            if _DEMAND.search(normalised) and not reports_loss(text) and value != NO:
                # 「10万円請求された」 says what is demanded, not whether anything was paid.
                return Answer(None)
            amount = parse_yen(_entity(entities, "money_amount") or text)
            if amount and value != NO:
                value, also = YES, {"money_amount": amount}
        return Answer(value, also)

    if slot == "platform":
        return Answer(_entity(entities, "sns_platform") or _free_text(text))

    if slot == "payment_method":
        service = _entity(entities, "payment_service")
        if service is None and _NOT_PAID.search(normalised):
            # Nothing paid yet: for a scam that also answers whether money was lost.
            lost = {"money_lost": NO} if "money_lost" in PLANS.get(trouble_type or "", []) else {}
            return Answer(NOT_PAID, lost)
        return Answer(service or _free_text(text))

    if slot == "money_amount":
        amount = parse_yen(_entity(entities, "money_amount") or text)
        if amount is not None:
            return Answer(amount)
        if yes_no("money_lost", text, intent) == NO:
            return Answer(0)
        return Answer(None)

    if slot == "user_role":
        if re.search(_ROLE_PATTERNS[0][1], normalised):
            return Answer("poster")
        if trouble_type == "bullying":
            role = _first_match(_ROLE_PATTERNS[1:4], normalised)
        else:
            role = "parent" if re.search(_ROLE_PATTERNS[2][1], normalised) else None
            if role is None and re.search(_SELF_WORDS, normalised):
                role = "self"
            role = role or _first_match(_ROLE_PATTERNS[4:], normalised)
        return Answer(role)

    if slot == "notice_received":
        if _NOTICE_NONE.search(normalised):
            return Answer("none")
        return Answer(_first_match(_NOTICE_PATTERNS, normalised))

    if slot == "entered_info":
        found: List[str] = []
        for clause in _CLAUSE.split(normalised):
            if _NOTHING.search(clause) and not _ENTERED_DONE.search(clause):
                continue
            found += [item for item in _all_matches(_ENTERED_PATTERNS, clause) if item not in found]
        if found:
            return Answer(",".join(found))
        return Answer("nothing" if _NOTHING.search(normalised) or intent == "deny" else None)

    if slot == "exposed_info":
        found = _all_matches(_EXPOSED_PATTERNS, normalised)
        return Answer("・".join(found) if found else _free_text(text))

    if slot == "seller_type":
        return Answer(_first_match(_SELLER_PATTERNS, normalised))

    if slot == "image_status":
        spread = re.search(_IMAGE_PATTERNS[0][1], normalised)
        if _negated(normalised, spread):
            return Answer("threatened")  # 「まだ投稿されていない」
        return Answer(_first_match(_IMAGE_PATTERNS, normalised))

    if slot == "child_grade":
        match = _GRADE.search(normalised)
        if match:
            return Answer(match.group(0).replace(" ", ""))
        return Answer(_free_text(text, limit=15))

    raise KeyError(f"no question for slot {slot!r}")


def mentions_minor(text: str) -> bool:
    """True when the text speaks of a child or a school pupil (age below 18, school grades)."""
    return bool(_MINOR.search(_norm(text)))


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
        "self": "ご本人", "parent": "保護者（お子さまのご相談）", "other": "ご家族・知人",
        "poster": "投稿したご本人", "student": "ご本人（生徒・学生）", "teacher": "学校関係者",
    },
    "ongoing": {YES: "続いている", NO: "止まっている"},
    "evidence_saved": {YES: "保存済み", NO: "まだ"},
    "offline_contact": {YES: "あった", NO: "なし"},
    "notice_received": {
        "opinion_letter": "意見照会書・開示の通知", "lawsuit_threat": "訴えるなどの連絡", "none": "まだ届いていない",
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
    "password": "ID・パスワード", "card": "カード・口座の情報", "app": "アプリのインストール",
    "personal": "個人情報", "nothing": "何も入力していない",
}


def display(slot: str, value: object) -> str:
    """The answer as the user should read it back."""
    if value == UNKNOWN:
        return "未回答"
    if slot == "money_amount":
        return f"{int(value):,}円" if isinstance(value, (int, float)) and value else "なし"
    if slot == "entered_info":
        return "、".join(_ENTERED_TEXT.get(part, part) for part in str(value).split(","))
    return _VALUE_TEXT.get(slot, {}).get(value, str(value))


def summary_lines(trouble_type: str, answers: Mapping[str, object]) -> List[str]:
    return [
        f"・{LABELS[slot]}：{display(slot, answers[slot])}"
        for slot in plan(trouble_type, answers)
        if answers.get(slot) is not None
    ]


def explanation(slot: str) -> str:
    """Said after two answers to the same question could not be read."""
    return (
        f"お手数をおかけしております。「{LABELS[slot]}」について、{HINTS[slot]}のようにお答えください。"
        "わからない場合や答えにくい場合は「スキップ」と送っていただければ、次の質問に進みます。"
    )
