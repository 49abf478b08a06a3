"""What a message's words say about its intent, beyond the classifier's guess.

Plain Python, no Rasa; addons/intent_review.py applies it after the classifier.

- ``review``: intents that change the course of a conversation (start the free-consultation
  check, reset the triage, cancel it, hand over to staff) need their own words in the message.
  「Xの誹謗中傷の件で相談させてください」 names no 無料 and is a trouble, whatever the classifier
  says; 「あの、電話で相談したいんですけど」 asks for staff, not for help in general.
- ``split``: two things in one message. 「Xで中傷されてて、無料で電話相談できるって聞いたんですが」
  reports a trouble and asks about the free consultation. The trouble (if the words describe it
  happening to the user) then leads the dialogue, and the questions are answered before the
  triage's first question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from nettrouble.callbacks import reading
from nettrouble.core import japanese
from nettrouble.triage import answers, safety

# The message key (parse data) listing the service questions asked together with the trouble.
ALSO_ASKED = "also_asked"
SERVICE_INTENTS = ("request_human", "ask_free_consultation", "faq", "ask_hours", "ask_service_info")
TROUBLE_PREFIX = "trouble_"
# A question the classifier ranks at least this high, with words that ask it, is asked
# alongside a trouble. A wish to call needs its words only, and a question about the service
# hardly any rank: their words (a subject of the service and a question) are unmistakable.
MIN_QUESTION_CONFIDENCE = {"faq": 0.002, "request_human": 0.0, "ask_free_consultation": 0.0}
DEFAULT_QUESTION_CONFIDENCE = 0.03


def _compile(pattern: str) -> "re.Pattern[str]":
    return re.compile(japanese.hiragana(pattern))


# Words that say the trouble happened to the user (passive or experienced forms): a question
# about the free consultation for 「誹謗中傷」 names the topic without reporting anything.
TROUBLE_CUES: Dict[str, "re.Pattern[str]"] = {
    "defamation": _compile(
        r"中傷(され|を受け|をうけ|に(あ|遭))|ちゅうしょうされ|悪口(を|とか)?(.{0,4})(書か|かか|言わ|いわ|言いふらさ|広め)|わるぐち(を)?(かか|いわ)|"
        r"叩かれ|たたかれ|デマ(を)?(流|なが|書|か|拡散)|嘘(を|の)?(.{0,4})(書かれ|かかれ|流され|ながされ|広められ)|"
        r"侮辱され|ぶじょくされ|悪く(書|か|言|い)われ|誹謗中傷の被害|ひぼうちゅうしょうされ|誹謗中傷(され|を受け)"
    ),
    "privacy": _compile(
        r"晒され|さらされ|特定され|とくていされ|(住所|じゅうしょ|本名|ほんみょう|顔写真|個人情報|電話番号)(を|が|まで)?(.{0,12})"
        r"(載せ|のせ|書かれ|かかれ|公開|流出|ばれ|バレ|拡散|貼られ|はられ)"
    ),
    "own_post": _compile(
        r"炎上|えんじょう|意見照会|いけんしょうかい|開示請求(が|を)?(され|来|き|届|とど)|(訴え|うったえ)(る|られ)(って|と)|"
        r"(私|わたし|自分|じぶん)が(書|か|投稿|とうこう)|(書|か)いてしま|投稿してしま|とうこうしてしま"
    ),
    "account": _compile(
        r"乗っ取|のっと|なりすまし|成りすまし|不正ログイン|ふせいろぐいん|(ログイン|ろぐいん)でき(な|ませ)|"
        r"アカウント(を|が)?(盗|ぬす|奪|うば|取られ|とられ)"
    ),
    "phishing": _compile(
        r"偽(の)?(sms|さいと|サイト|めーる|メール|アプリ)|にせ(の)?(さいと|めーる|えすえむえす)|フィッシング|ふぃっしんぐ|"
        r"(リンク|りんく|url)(を)?(押|お|踏|ふ|開|ひら|タップ|たっぷ)|入力してしま|にゅうりょくしてしま|"
        r"(sms|めーる|メール|メッセージ|めっせーじ|お知らせ|おしらせ|通知|つうち)(.{0,20})(押し|おし|押さ|踏ん|ふん|開い|ひらい|タップ|たっぷ)"
    ),
    "payment_fraud": _compile(
        r"身に覚えのない|みにおぼえのない|覚えのない(請求|決済|利用|引き落とし)|勝手に(使|つか|引き落|決済|買|かわ|払)|"
        r"(不正利用|ふせいりよう)(され|に(あ|遭)|が(あ|発生|はっせい))|知らない(請求|決済|引き落とし|利用|支払|購入)"
    ),
    "billing_scam": _compile(
        r"架空請求|かくうせいきゅう|ワンクリック|わんくりっく|未納料金|みのうりょうきん|サポート詐欺|"
        r"(ウイルス|ういるす)(に)?(感染|かんせん)|(払|はら)えって|請求(の|が)(sms|めーる|メール|画面|がめん)"
    ),
    "shopping": _compile(
        r"(届|とど)かな|(商品|しょうひん)が(来|こ|届)|偽物|にせもの|返金(されな|してくれな|に応じ)|"
        r"(フリマ|ふりま|メルカリ|めるかり|通販|つうはん)(で|の)(.{0,10})(買|か|購入|取引)"
    ),
    "sexual_image": _compile(
        r"(裸|はだか|性的|えっち|下着|したぎ|ぬーど|わいせつ|猥褻)(姿|すがた|っぽい|な)?(の)?(画像|がぞう|写真|しゃしん|動画|どうが|自撮り|じどり)|"
        r"リベンジポルノ|りべんじぽるの|(ビデオ通話|びでおつうわ|テレビ電話|てれびでんわ)(.{0,20})(録画|ろくが|撮られ|とられ|録られ)|"
        r"セクストーション|(画像|写真|動画)を(ばらま|拡散|晒|さら)(く|す)"
    ),
    "bullying": _compile(
        r"いじめ|イジメ|仲間外れ|なかまはずれ|(はぶ|ハブ)られ|(クラス|くらす)(の)?(line|らいん|グループ|ぐるーぷ)"
    ),
}
QUESTION_CUES: Dict[str, "re.Pattern[str]"] = {
    "request_human": _compile(
        r"電話(で|を)?(相談|そうだん|話|はな|し)(したい|たい|させて)|でんわ(で)?(そうだん|はな)?したい|"
        r"電話したい|担当(者|の方)|オペレーター|人と話|ひとと(はな)|スタッフ(と|に|さん)|直接(話|相談)|つないで"
    ),
    # 無料 or キャンペーン, asked about or wished for: 「無料のアプリを入れた」 asks nothing.
    "ask_free_consultation": _compile(
        r"(無料|むりょう|タダ|ただ(で|に)|0円|ぜろえん|キャンペーン|きゃんぺーん|お試し|おためし)"
        r".{0,40}([?？]|ですか|ますか|でしょうか|かな|って本当|ってほんと|って聞い|ってきい|聞きました|ききました|"
        r"受けられ|うけられ|使え|つかえ|したい|受けたい|使いたい|できる|でき(ます|れば))"
    ),
    # A question about one of the service's own subjects, not 「どうしたらいいですか」.
    "faq": _compile(
        r"(補償|ほしょう|料金|りょうきん|いくら|月額|げつがく|あぷり|アプリ|加入|かにゅう|入会|解約|かいやく|無料|むりょう|会員|かいいん|"
        r"受付番号|記事|きじ|土日|どにち|祝日|年末|フリーダイヤル|電話代|保険|ほけん|対象|たいしょう|条件|じょうけん|申し込|申込|"
        r"手続き|期間|いつまで|何回|なんかい|弁護士|べんごし|家族|かぞく|ドコモ以外|ドコモじゃ|他社|"
        r"対応して|たいおうして|扱って|あつかって|相談(でき|に乗|にの|して(も|いい))|そうだん(でき|にの|しても))"
        r".{0,30}([?？]|ですか|ますか|でしょうか|かな|って本当|ってほんと|って聞い|ってきい|知りたい|しりたい|教えて|おしえて|の$|る$)"
    ),
    "ask_hours": _compile(r"何時|なんじ|営業時間|受付時間|うけつけじかん|(今|いま)(電話)?(つなが|やって)"),
    "ask_service_info": _compile(r"(あんしんサポート|このサービス)(って|とは)"),
}


# Intents that need their words: without them the classifier's runner-up is taken.
NEEDED_WORDS: Dict[str, "re.Pattern[str]"] = {
    "ask_free_consultation": _compile(
        r"無料|むりょう|タダ|ただで|0円|ぜろえん|キャンペーン|きゃんぺーん|お試し|おためし|対象|たいしょう|"
        r"(お金|おかね)(が|は)?かから"
    ),
    # The fraud-cover pre-check starts a form: 「補償」 (or its kana) must be said.
    "ask_fraud_cover": _compile(r"補償|ほしょう|補填|補てん|ほてん"),
    "correct_trouble_type": _compile(
        r"(違|ちが)(う|い|います|って)|間違|まちが|種類|しゅるい|じゃな|ではな|選び直|えらびなお|"
        r"カテゴリ|かてごり|ジャンル|じゃんる|分類|ぶんるい|判定|認識|勘違|かんちが|話では|はなしでは"
    ),
    # A no: 「発行してください」 heard as one has none of these.
    "deny": _compile(
        r"いいえ|いえ|いや|ううん|うーん|ノー|no(?![a-z])|ちが|違|いらな|いりませ|要らな|不要|結構|けっこう|"
        r"しな(い|くて)|しません|やめ|止め|見送|みおく|遠慮|えんりょ|また(に|今度|こんど)|あとで|後で|今は(いい|大丈夫|まだ)|"
        r"大丈夫|だいじょうぶ|自分で|じぶんで|ないです|ない$|なし|無し|まだ|未|だめ|ダメ|結構です|いいです$|いいや|いーや|"
        r"お断|おことわ|必要な|ひつようない|ません$|なかった|じゃない|ではない"
    ),
    "cancel": _compile(
        r"やめ|止め|キャンセル|きゃんせる|中止|ちゅうし|リセット|りせっと|最初から|さいしょから|はじめから|"
        r"いらない|いりません|もういい|ストップ|すとっぷ|打ち切|なかったことに|戻して|もどして"
    ),
    # Callbacks (nettrouble/callbacks/reading.py): the booked call named, or a slot chosen.
    "cancel_callback": _compile(reading.CALLBACK_WORDS),
    "change_callback": _compile(reading.CALLBACK_WORDS),
    "choose_callback": _compile(reading.CHOICE_WORDS),
}
# The fraud-cover pre-check is about the user's own loss; words about the cover in general (its
# conditions, its cap, how to claim it, a loss imagined: 「されたら」) make it the FAQ's question.
FRAUD_COVER = "ask_fraud_cover"
COVER_IN_GENERAL = _compile(
    r"条件|じょうけん|いくら|上限|じょうげん|最大|さいだい|限度|げんど|満額|まんがく|申請|しんせい|請求|せいきゅう|"
    r"手続|てつづき|方法|ほうほう|保険会社|ほけんがいしゃ|どこまで|されたら|た場合|たばあい|"
    r"ないと(補償|ほしょう|出|で|だめ|ダメ|無理|むり)|なければ"
)
# Words that ask for staff: they outweigh a classifier that heard only 「相談したい」.
STAFF_WORDS = "request_human"
_ASKS_FOR_HELP = ("need_help", "greet", "ask_free_consultation", "inform", "faq", "ask_service_info")
# Intents of a first message that asks for help in general.
_OPENERS = ("need_help", "greet")


@dataclass(frozen=True)
class Split:
    trouble: str  # the trouble intent, e.g. trouble_defamation
    confidence: float
    also_asked: Tuple[str, ...]


# 「中傷されたら」「乗っ取られた場合」「勝手に使った場合」 imagine a trouble; they do not report one.
_HYPOTHETICAL = re.compile(r"^っ?(たら|ら|た場合|たばあい|たとき|た時|ても|ると|れば)")


def _describes(pattern: "re.Pattern[str]", message: answers.Message) -> bool:
    whole = answers.Clause(-1, message.folded, "".join(c.reading for c in message.clauses))
    for clause in message.clauses + [whole]:
        for view in clause.views():
            for match in pattern.finditer(view):
                if not _HYPOTHETICAL.match(view[match.end() :]):
                    return True
    return False


# A ranked trouble the words describe replaces one they do not describe from this confidence up.
MIN_RIVAL_CONFIDENCE = 0.1
# Intimate images are urgent whatever else the message tells: their words decide the trouble.
URGENT_TROUBLE = "trouble_sexual_image"


def review(intent: Optional[str], ranking: Sequence[Mapping[str, Any]], text: str) -> Optional[str]:
    """The intent to act on: the classifier's, unless its words are missing (then the best
    runner-up that needs none or has them), or the words ask for staff, or another trouble is
    in fact about intimate images."""
    message = answers.Message(text)
    if not message.clauses or text.lstrip().startswith("/"):
        return intent
    callback = reading.callback_request(text)
    if callback and not (intent or "").startswith(TROUBLE_PREFIX) and intent not in (safety.DANGER, safety.SELF_HARM):
        # 「折り返しをキャンセルしたい」: the booked callback, not the questions (cancel). A trouble
        # stays one (「予約したホテルをキャンセルしたのに返金されない」).
        return callback
    if (
        intent
        and (intent.startswith(TROUBLE_PREFIX) or intent == safety.DANGER)
        and intent != URGENT_TROUBLE
        and _describes(TROUBLE_CUES[URGENT_TROUBLE[len(TROUBLE_PREFIX) :]], message)
        and not safety.signals(text)
    ):
        # Sextortion heard as danger by the classifier alone is answered as what it is; its
        # answer has the police numbers too.
        return URGENT_TROUBLE
    if (
        intent
        and intent.startswith(TROUBLE_PREFIX)
        and _describes(QUESTION_CUES["faq"], message)
        and not any(_describes(cue, message) for cue in TROUBLE_CUES.values())
    ):
        # 「不正利用されたら、いくらまで補償される？」 imagines a trouble and asks about the service.
        return "faq"
    if intent and intent.startswith(TROUBLE_PREFIX):
        # A trouble whose words are absent, beside one other ranked trouble whose words are there:
        # 「不在のお知らせのメッセージを押してしまいました」 is phishing, not one's own post.
        described = [
            entry.get("name")
            for entry in ranking
            if (entry.get("name") or "").startswith(TROUBLE_PREFIX)
            and float(entry.get("confidence") or 0.0) >= MIN_RIVAL_CONFIDENCE
            and _describes(TROUBLE_CUES[entry["name"][len(TROUBLE_PREFIX) :]], message)
        ]
        if intent not in described and len(described) == 1:
            return described[0]
    if intent in _ASKS_FOR_HELP and _describes(QUESTION_CUES[STAFF_WORDS], message):
        return STAFF_WORDS
    if intent in _OPENERS:
        # 「性的な画像のことで相談したいです」 names its trouble: that is what it is about.
        named = [TROUBLE_PREFIX + kind for kind, cue in TROUBLE_CUES.items() if _describes(cue, message)]
        if len(named) == 1:
            return named[0]
    if intent == FRAUD_COVER and _describes(COVER_IN_GENERAL, message):
        return "faq"
    if intent in NEEDED_WORDS and not _describes(NEEDED_WORDS[intent], message):
        for entry in ranking:
            name: Optional[str] = entry.get("name")
            if (
                name
                and name != intent
                and name != "nlu_fallback"
                and (name not in NEEDED_WORDS or _describes(NEEDED_WORDS[name], message))
            ):
                return name
    return intent


def split(intent: Optional[str], ranking: Sequence[Mapping[str, Any]], text: str) -> Optional[Split]:
    """The trouble and the questions of a message that holds both, else None."""
    scores = {entry.get("name"): float(entry.get("confidence") or 0.0) for entry in ranking}
    message = answers.Message(text)
    if not message.clauses or text.lstrip().startswith("/"):
        return None
    asked = [
        question
        for question in SERVICE_INTENTS
        if (
            question == intent
            or scores.get(question, 0.0) >= MIN_QUESTION_CONFIDENCE.get(question, DEFAULT_QUESTION_CONFIDENCE)
        )
        and _describes(QUESTION_CUES[question], message)
    ]
    # A question about the free consultation is answered by its own check; a generic question
    # mark adds nothing to it.
    if (
        "ask_free_consultation" in asked
        and "faq" in asked
        and scores.get("faq", 0.0) < scores.get("ask_free_consultation", 0.0)
    ):
        asked.remove("faq")
    if intent and intent.startswith(TROUBLE_PREFIX):
        together = scores.get(intent, 0.0) + sum(scores.get(q, 0.0) for q in asked)
        return Split(intent, together, tuple(asked)) if asked else None
    if intent not in SERVICE_INTENTS:
        return None
    # The words decide that a trouble is reported; the classifier, which of those described.
    troubles = sorted(
        (
            (scores.get(TROUBLE_PREFIX + kind, 0.0), TROUBLE_PREFIX + kind)
            for kind, cue in TROUBLE_CUES.items()
            if _describes(cue, message)
        ),
        reverse=True,
    )
    if not troubles:
        return None
    confidence, trouble = troubles[0]
    # The service intent the classifier chose is kept as a question only if the words ask it.
    return Split(trouble, confidence + scores.get(intent, 0.0), tuple(asked))
