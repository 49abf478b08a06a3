"""Reading what people type in answer to the fraud-cover pre-check's questions.

Plain Python, no Rasa, over the triage's reader (``nettrouble.triage.answers``): its clauses
seen as typed and as read aloud, its negation rule, its yes/no reader for membership, its skip
and its amounts (3万円, 九十八万円, 1,200,000円, ¥5000, さんまんえん). What this module adds:

- the payment provider's decision (``recognised`` 「認めてもらえました」, ``refused``
  「本人の利用と言われて断られました」, ``waiting`` 「調査中です」, ``not_asked``
  「まだ連絡していません」, ``unknown`` a skip);
- two amounts in one message, each placed by its words: 「5万円のうち3万円は返金されます」 is a
  loss of 5万円 of which the provider pays 3万円; 「返金はありません」 is a provider paying 0, and
  「全額返金」 one paying the whole loss.

As in the triage, a message fills every input it answers, asked or not, while bare answers
(「はい」「まだです」, a lone amount) count only for the question just asked. A value of ``None``
is never returned; an input missing from the result was not answered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

from nettrouble.core import japanese
from nettrouble.core.money import parse_yen
from nettrouble.cover.codes import (
    AMOUNT_LOST,
    DECISIONS,
    IS_MEMBER,
    NOT_ASKED,
    PROVIDER_DECISION,
    PROVIDER_PAYS,
    RECOGNISED,
    REFUSED,
    UNKNOWN,
    WAITING,
)
from nettrouble.triage import answers
from nettrouble.triage.answers import Message


def _compile(pattern: str) -> "re.Pattern[str]":
    """Patterns see folded text (katakana as hiragana), as the triage's do."""
    return re.compile(japanese.hiragana(pattern))


# ---------------------------------------------------------------------------------------------
# The provider's decision

_RECOGNISED = _compile(
    r"認め|みとめ|認定|にんてい|承認|しょうにん|"
    r"不正(利用)?(と|だと|って)(判断|はんだん|判定|はんてい|わかっ|言われ|いわれ)|ふせい(りよう)?(と|だと|って)(はんだん|はんてい|いわれ)|"
    r"(補償|ほしょう|返金|へんきん)(して(もらえ|くれ|いただけ)|され)(る|ます)(こと|そう|って|と)|"
    r"(補償|ほしょう|返金|へんきん)(が|は|も)?(決ま|きま)|(?<![a-z])ok(?![a-z])|おっけー|おーけー"
)
_REFUSED = _compile(
    r"断られ|ことわられ|却下|きゃっか|拒否|きょひ|対象外|たいしょうがい|"
    r"本人(の|による)?(利用|決済|購入)|ほんにん(の|による)?(りよう|けっさい|こうにゅう)|"
    r"不正(利用)?(ではない|じゃない|ではありません)|ふせい(りよう)?(ではない|じゃない)|"
    r"(だめ|無理|むり|ng)(だった|でした|と言われ|といわれ|って言われ|っていわれ)"
)
_WAITING = _compile(
    r"調査中|ちょうさちゅう|確認中|かくにんちゅう|審査中|しんさちゅう|対応中|たいおうちゅう|調べて(もらって|くれて)|しらべて(もら|くれ)|"
    r"(結果|けっか|返事|へんじ|回答|かいとう|連絡|れんらく|判断|はんだん)(を|が)?(待|ま)(って|ち)|"
    r"(結果|けっか|返事|へんじ|回答|かいとう|判断|はんだん)(は|が)?(まだ|出て(い)?な|でて(い)?な|来て(い)?な|きて(い)?な)|"
    r"まだ(結果|けっか|返事|へんじ|回答|かいとう|判断|はんだん)|"
    r"(申告|しんこく|連絡|れんらく|相談|そうだん|問い合わせ|問合せ|といあわせ|電話|でんわ|届け出|とどけで)(は|を|も)?"
    r"(し(た|まし|て(い)?ます|てある|てあり)|済|ずみ)"
)
_NOT_ASKED = _compile(
    r"(申告|しんこく|連絡|れんらく|相談|そうだん|問い合わせ|問合せ|といあわせ|電話|でんわ|届け出|とどけで|伝え|つたえ)(は|を|も)?"
    r"(まだ|して(い)?な|してませ|しておりませ|て(い)?な|てませ)|"
    r"まだ(申告|しんこく|連絡|れんらく|相談|そうだん|問い合わせ|といあわせ|電話|でんわ|何も|なにも)|"
    r"これから(連絡|れんらく|申告|しんこく|問い合わせ|といあわせ|電話|でんわ|相談|そうだん)"
)
# 「認めてもらえるかどうか」「認めてくれたら」 wonder whether it will be: not decided yet.
_WONDERS = re.compile(r"^[^、。]{0,8}?(かどうか|かな|か[?？]?$|たら|れば|ないと)")
_STILL = re.compile(r"^(いや|いえ|うーん)?まだ")

# Strongest first: a refusal outweighs the contact it came from, a decision the waiting before it.
_DECISION_ORDER = (REFUSED, RECOGNISED, NOT_ASKED, WAITING)


def _decisions_in(message: Message) -> List[str]:
    found: List[str] = []
    for clause in message.clauses:
        recognised = answers.find(_RECOGNISED, clause)
        if recognised and _WONDERS.match(recognised.view[recognised.end :]):
            found.append(WAITING)
        elif recognised:
            found.append(REFUSED if answers.negated(recognised) else RECOGNISED)
        if answers.find(_REFUSED, clause):
            found.append(REFUSED)
        if answers.find(_NOT_ASKED, clause):
            found.append(NOT_ASKED)
        if answers.find(_WAITING, clause):
            found.append(WAITING)
    return found


def read_decision(message: Message, asked: bool, intent: Optional[str] = None) -> Optional[str]:
    """The provider's decision the message reports; bare answers only when it was ``asked``:
    「はい」 recognised, 「まだです」 waiting, a skip unknown. A bare 「いいえ」 is no answer: not
    recognised may be refused or not decided yet, and the two lead to different outcomes."""
    found = _decisions_in(message)
    if found:
        return min(found, key=_DECISION_ORDER.index)
    if not asked:
        return None
    if answers.is_skip(message.text):
        return UNKNOWN
    if any(_STILL.match(clause.folded) for clause in message.clauses) and len(message.folded) <= 12:
        return WAITING
    return RECOGNISED if answers.bare_yes_no(PROVIDER_DECISION, message.clauses, intent) == answers.YES else None


# ---------------------------------------------------------------------------------------------
# Amounts

# A run of digits and Japanese numerals (9万8千, 1,200,000, 九十八万) or a yen sign and digits.
_RUN = re.compile(r"¥\s*[0-9][0-9,]*|[0-9〇一二三四五六七八九十百千万億][0-9〇一二三四五六七八九十百千万億,.]*")
_DIGIT = re.compile(r"[0-9〇一二三四五六七八九]")
_YEN_AFTER = re.compile(r"^\s*(円|えん|yen)")
_CORRECTED_AFTER = re.compile(r"^\s*(円|えん)?\s*(じゃなく|ではなく|でなく|じゃなかっ|ではなかっ)")
_CLAUSE_BREAK = re.compile(r"[、。!?！？\n;；]")
_WINDOW = 16

# Words that place an amount: paid back by the provider, or lost.
_PAID_BACK = _compile(
    r"返金|へんきん|返って|かえって|返して|かえして|返され|かえされ|戻って|もどって|戻る|もどる|戻され|もどされ|払い戻|はらいもど|"
    r"補償(され|して|する|額|が出|が(お)?り)|ほしょう(され|して|する|がで)|補填|ほてん|補てん|負担(して|する|され)|ふたん(して|する|され)|"
    r"(払|はら)って(くれ|もら|いただ)|返還|へんかん|取り消(され|して)|とりけ(され|して)|きゃんせる(され|して)|立て替|たてか"
)
_LOST = _compile(
    r"被害|ひがい|使われ|つかわれ|取られ|とられ|盗ら|ぬすま|引かれ|ひかれ|引き落と|ひきおと|抜かれ|ぬかれ|払われ|はらわれ|"
    r"決済され|けっさいされ|請求|せいきゅう|不正|ふせい|損|買われ|かわれ|利用され|りようされ|送金|そうきん|振り込|ふりこ|"
    r"(?<!て)(払|はら)っ(た|ちゃ|てしま)|騙し取|だましと"
)
_OF_WHICH = re.compile(r"^\s*(円|えん)?\s*(の)?うち")
# 「返金はありません」「1円も戻ってこない」: the provider pays nothing.
_NO_REFUND = _compile(
    r"(返金|へんきん|補償|ほしょう|補填|ほてん|払い戻し|はらいもどし)(は|も|が)?(なし|無し|ない|ありませ|され(な|ませ)|ぜろ|0円)|"
    r"(何|なに|1円|一円|いちえん)も(返|かえ|戻|もど|補償|ほしょう)|(返|かえ|戻|もど)って(こ|き)(な|ませ)"
)
_WHOLE = _compile(r"全額|ぜんがく|満額|まんがく|全部|ぜんぶ")


@dataclass(frozen=True)
class Amount:
    value: int
    before: str
    after: str


def amounts_in(text: str) -> List[Amount]:
    """Every amount of ``text`` in order, with the words of its clause before and after it. A
    run of numerals counts when 円 follows it or it holds 万, 億 or 千/百 with a digit, so that
    「3回」「2件」「千葉」 are not amounts; an amount corrected away (「5万じゃなくて」) is left out."""
    normalised = unicodedata.normalize("NFKC", text or "")
    found: List[Amount] = []
    for match in _RUN.finditer(normalised):
        run = match.group().rstrip(",.")
        rest = normalised[match.start() + len(run) :]
        yen_follows = bool(_YEN_AFTER.match(rest))
        units = any(unit in run for unit in "万億") or (any(unit in run for unit in "千百") and _DIGIT.search(run))
        if not run.startswith("¥") and not (yen_follows or units):
            continue
        if not _DIGIT.search(run) and not any(unit in run for unit in "十百千"):
            continue
        if _CORRECTED_AFTER.match(rest):
            continue
        value = parse_yen(run if run.startswith("¥") else run + "円")
        if value is None:
            continue
        before = _CLAUSE_BREAK.split(normalised[max(0, match.start() - _WINDOW) : match.start()])[-1]
        after = _YEN_AFTER.sub("", _CLAUSE_BREAK.split(rest[:_WINDOW])[0])
        found.append(Amount(value, answers.fold(before), answers.fold(after)))
    return found


# An amount the provider does not pay back (「3万円は返金されない」): neither input, left out.
NOT_PAID_BACK = "not_paid_back"
_NOT_SO = re.compile(r"^[^、。]{0,6}?(な(い|かっ)|ませ)")


def _place(amount: Amount) -> Optional[str]:
    """AMOUNT_LOST, PROVIDER_PAYS, NOT_PAID_BACK or None (the words do not say) for one amount."""
    if _OF_WHICH.match(amount.after):
        return AMOUNT_LOST
    for window in (amount.after, amount.before):
        paid = _PAID_BACK.search(window)
        if paid:
            return NOT_PAID_BACK if _NOT_SO.match(window[paid.end() :]) else PROVIDER_PAYS
        if _LOST.search(window):
            return AMOUNT_LOST
    return None


def read_amounts(message: Message, asked: Optional[str], known: Mapping[str, object]) -> Dict[str, int]:
    """The amount lost and what the provider pays, as far as the message says them."""
    result: Dict[str, int] = {}
    unplaced: List[int] = []
    listed = amounts_in(message.text)
    for amount in listed:
        place = _place(amount)
        if place is None:
            unplaced.append(amount.value)
        elif place != NOT_PAID_BACK:
            result.setdefault(place, amount.value)
    if not listed:
        single = answers.amount_in(message)  # a bare 30000, さんまんえん
        if single is not None and isinstance(single.value, int):
            unplaced.append(single.value)
    if asked in (AMOUNT_LOST, PROVIDER_PAYS) and asked not in result and len(unplaced) == 1:
        result[asked] = unplaced[0]
    if PROVIDER_PAYS not in result:
        lost = result.get(AMOUNT_LOST, known.get(AMOUNT_LOST))
        # 「全額」 is what the provider pays when refunds are spoken of, or when that was asked.
        whole = [
            clause
            for clause in message.clauses
            if answers.find(_WHOLE, clause) and (asked == PROVIDER_PAYS or answers.find(_PAID_BACK, clause))
        ]
        if any(answers.find(_NO_REFUND, clause) for clause in message.clauses):
            result[PROVIDER_PAYS] = 0
        elif isinstance(lost, int) and whole:
            result[PROVIDER_PAYS] = lost
        elif asked == PROVIDER_PAYS and not listed and answers.bare_yes_no(asked, message.clauses) == answers.NO:
            result[PROVIDER_PAYS] = 0
    return result


# ---------------------------------------------------------------------------------------------
# Membership

# 「会員かはわからない」「たぶん入ってると思う」 doubt it: the triage's reader would hear a yes.
_MEMBERSHIP = _compile(r"会員|かいいん|加入|かにゅう|入って|はいって|さぽーと")
_DOUBT = _compile(r"わから|分から|わかん|知らな|しらな|不明|ふめい|覚えてな|おぼえてな|たぶん|多分|かも|かどうか")


def read_member(text: str, asked: bool, intent: Optional[str]) -> Optional[str]:
    """Membership as the triage reads it ("yes" / "no"), unless the words that say it doubt it."""
    said = answers.read(text, [IS_MEMBER], IS_MEMBER if asked else None, intent=intent).get(IS_MEMBER)
    if said not in (answers.YES, answers.NO):
        return None
    doubted = any(
        answers.find(_MEMBERSHIP, clause) and answers.find(_DOUBT, clause) for clause in Message(text).clauses
    )
    return None if doubted else str(said)


# ---------------------------------------------------------------------------------------------
# A whole message


def read(
    text: str,
    asked: Optional[str] = None,
    *,
    intent: Optional[str] = None,
    entities: Sequence[Mapping[str, object]] = (),
    known: Optional[Mapping[str, object]] = None,
) -> Dict[str, object]:
    """What the message answers among the pre-check's inputs (``codes.INPUTS``); ``asked`` is the
    input just asked, if any. ``is_member`` comes as the triage's "yes" / "no", the decision as
    a code of ``codes.DECISIONS``, the amounts as whole yen."""
    known = dict(known or {})
    pressed = next((e.get("value") for e in entities if e.get("entity") == "answer" and e.get("value")), None)
    if pressed is not None:
        return _pressed(asked, str(pressed))
    result: Dict[str, object] = {}
    member = read_member(text, asked == IS_MEMBER, intent)
    if member is not None:
        result[IS_MEMBER] = member
    if (text or "").lstrip().startswith("/"):
        return result
    message = Message(text)
    if not message.clauses:
        return result
    decision = read_decision(message, asked == PROVIDER_DECISION, intent)
    if decision is not None:
        result[PROVIDER_DECISION] = decision
    result.update(read_amounts(message, asked, known))
    return result


def _pressed(asked: Optional[str], value: str) -> Dict[str, object]:
    """A button's answer (``/inform{"answer": ...}``) for the question asked."""
    if asked == PROVIDER_DECISION and value in DECISIONS:
        return {asked: value}
    if asked in (AMOUNT_LOST, PROVIDER_PAYS):
        amount = 0 if value.strip() in ("0", "0円") else parse_yen(value)
        return {} if amount is None else {asked: amount}
    return {}
