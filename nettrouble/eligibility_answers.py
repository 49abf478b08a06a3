"""Reading the answers to the free-consultation questions: docomo line? already a member?

Plain Python (no Rasa): free Japanese answers and button payloads become "yes", "no" or None
(not understood); a skip is recognised; a request for a consumer-affairs adviser is spotted.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Optional

from nettrouble.eligibility import NEEDS_DOCOMO_LINE

YES, NO = "yes", "no"

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


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().strip()


def is_skip(text: str) -> bool:
    return not text.startswith("/") and bool(_SKIP.search(fold(text)))


def yes_no(slot: str, text: str, intent: Optional[str]) -> Optional[str]:
    """"yes", "no" or None (not understood) for a free answer or a button payload."""
    folded = "" if text.startswith("/") else _CERTAIN.sub("はい", fold(text))
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


def asks_for_adviser(text: str) -> bool:
    """Whether the text asks for a 消費生活アドバイザー (or 相談員), whose consultations are paid."""
    return bool(_ADVISER.search(fold(text)))
