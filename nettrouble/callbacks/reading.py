"""What users type when they choose a callback slot, and the case reference in a request to
cancel or move one. Reading rules only: no wording.

A choice is read as the position of an offered slot (「2番」「2番目で」「二番」, or a bare 「2」),
or as a day and a time (「土曜の10時半」「月曜の10:00で」「明日の午後3時」「12月14日 11時」
「あさっての10じはん」), either of which may be missing: the earliest open slot that fits is taken
(「月曜で」 is the coming Monday's first open slot, 「11時」 the next open 11:00). The text is folded with
NFKC first, so full-width digits and colons read like ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional, Sequence

from nettrouble.cases.reference import ParsedReference, parse_reference
from nettrouble.core.clock import in_japan

CHOSEN = "chosen"
UNAVAILABLE = "unavailable"  # a day or time was read, and no open slot fits it
UNREADABLE = "unreadable"  # neither a position nor a day or time

_MAX_INPUT = 200
_KANJI_NUMBERS = {char: value for value, char in enumerate("〇一二三四五六七八九十", 0)}
_NUMBER = r"([0-9]{1,2}|[一二三四五六七八九十]{1,3})"
_KANA_NUMBERS = {"いち": 1, "に": 2, "さん": 3, "よん": 4, "ご": 5, "ろく": 6, "なな": 7, "はち": 8, "きゅう": 9}
_POSITION = re.compile(
    r"([0-9]{1,2}|[一二三四五六七八九十]{1,3}|" + "|".join(_KANA_NUMBERS) + r")\s*(?:番目?|ばんめ?|つ目|つめ|個目|こめ)"
)
_BARE_POSITION = re.compile(r"#?\s*([0-9]{1,2})\s*(?:で|でお願いします|でおねがいします|です|にします)?[。.!！]?")
_CLOCK = re.compile(r"(?<![0-9])([0-9]{1,2})\s*:\s*([0-5][0-9])(?![0-9])")
_HOUR = re.compile(_NUMBER + r"\s*(?:時|じ)(?:\s*(半|はん)|\s*" + _NUMBER + r"\s*(?:分|ふん|ぷん))?")
_AFTERNOON = re.compile(r"午後|ごご|夕方|ゆうがた|pm|p\.m\.")
_MORNING = re.compile(r"午前|ごぜん|朝|あさ(?!って)|am|a\.m\.")
_WEEKDAY = re.compile(
    r"([月火水木金土日])\s*(?:曜日?|よう(?:び)?)|[(（]([月火水木金土日])[)）]|"
    r"(げつ|か|すい|もく|きん|ど|にち)よう(?:び)?"
)
_WEEKDAY_READINGS = {"げつ": 0, "か": 1, "すい": 2, "もく": 3, "きん": 4, "ど": 5, "にち": 6}
_RELATIVE_DAYS = (
    (re.compile(r"明後日|あさって"), 2),
    (re.compile(r"明日|あした|あす"), 1),
    (re.compile(r"今日|本日|きょう|ほんじつ"), 0),
)
_NEXT_WEEK = re.compile(r"来週|らいしゅう")
_MONTH_DAY = re.compile(r"(?<![0-9])([0-9]{1,2})\s*(?:月|がつ|/)\s*([0-9]{1,2})\s*(?:日|にち)?")
_DAY_OF_MONTH = re.compile(r"(?<![0-9/])([0-9]{1,2})\s*(?:日|にち)(?!曜)")
# A case reference as it may be typed inside a message (nettrouble.cases.reference).
_REFERENCE = re.compile(r"(?<![A-Za-z])NT[\s\-_/.]{0,3}(?:[0-9][\s\-_/.]{0,3}){9}[0-9](?![0-9])", re.IGNORECASE)
_HYPHENS = {ord(char): "-" for char in "‐‑‒–—―−ーｰ﹣"}
# Hours the centre cannot mean in the morning: 「3時」 is 15:00.
_AFTERNOON_BELOW = 8


@dataclass(frozen=True)
class Choice:
    """``status`` is CHOSEN (``start`` is the slot), UNAVAILABLE or UNREADABLE."""

    status: str
    start: Optional[datetime] = None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token in _KANA_NUMBERS:
        return _KANA_NUMBERS[token]
    # 十一 = 11, 二十 = 20, 十 = 10, 三 = 3
    if "十" in token:
        tens, _, ones = token.partition("十")
        return (_KANJI_NUMBERS[tens] if tens else 1) * 10 + (_KANJI_NUMBERS[ones] if ones else 0)
    return _KANJI_NUMBERS[token[0]] if len(token) == 1 else -1


def _position(text: str) -> Optional[int]:
    match = _POSITION.search(text) or _BARE_POSITION.fullmatch(text.strip())
    return _number(match.group(1)) if match else None


def _time(text: str) -> Optional[time]:
    clock = _CLOCK.search(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
    else:
        hour_match = _HOUR.search(text)
        if not hour_match:
            return None
        hour = _number(hour_match.group(1))
        minute = 30 if hour_match.group(2) else (_number(hour_match.group(3)) if hour_match.group(3) else 0)
    afternoon = _AFTERNOON.search(text) is not None
    if hour < 12 and (afternoon or (hour < _AFTERNOON_BELOW and _MORNING.search(text) is None)):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _weekday(text: str) -> Optional[int]:
    match = _WEEKDAY.search(text)
    if not match:
        return None
    if match.group(3):
        return _WEEKDAY_READINGS[match.group(3)]
    return "月火水木金土日".index(match.group(1) or match.group(2))


def _day(text: str, today: date) -> Optional[date]:
    for pattern, offset in _RELATIVE_DAYS:
        if pattern.search(text):
            return today + timedelta(days=offset)
    month_day = _MONTH_DAY.search(text)
    if month_day:
        month, day = int(month_day.group(1)), int(month_day.group(2))
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                return None
            if candidate >= today:
                return candidate
        return None
    day_of_month = _DAY_OF_MONTH.search(text)
    if day_of_month:
        wanted = int(day_of_month.group(1))
        candidate = today
        for _ in range(62):
            if candidate.day == wanted:
                return candidate
            candidate += timedelta(days=1)
    return None


def choose(text: str, offered: Sequence[datetime], open_starts: Sequence[datetime], now: datetime) -> Choice:
    """The slot ``text`` chooses: an offered one by its position, or the earliest open one that
    fits the day and time it names (``open_starts`` in order)."""
    if not isinstance(text, str) or not text.strip() or len(text) > _MAX_INPUT:
        return Choice(UNREADABLE)
    folded = _fold(text)
    today = in_japan(now).date()
    wished_time, weekday, day = _time(folded), _weekday(folded), _day(folded, today)
    if wished_time is None and weekday is None and day is None:
        position = _position(folded)
        if position is None:
            return Choice(UNREADABLE)
        if 1 <= position <= len(offered):
            return Choice(CHOSEN, in_japan(offered[position - 1]))
        return Choice(UNAVAILABLE)
    if day is None and weekday is not None:
        # The nearest such day (next week's after 「来週」), not any later one: 「月曜の10時」
        # with this Monday's 10:00 taken is not next Monday's.
        earliest = today + timedelta(days=7 - today.weekday()) if _NEXT_WEEK.search(folded) else today
        day = earliest + timedelta(days=(weekday - earliest.weekday()) % 7)
        if day == today and all(in_japan(s).date() != today for s in open_starts):
            day += timedelta(days=7)  # 「月曜」 said on a Monday evening is the next one
    for start in (in_japan(s) for s in open_starts):
        if (
            (day is None or start.date() == day)
            and (weekday is None or start.weekday() == weekday)
            and (wished_time is None or start.time() == wished_time)
        ):
            return Choice(CHOSEN, start)
    return Choice(UNAVAILABLE)


def reference_in(text: str) -> Optional[ParsedReference]:
    """The case reference typed in ``text`` (「折り返しをキャンセルしたい NT-2607-12345-1」), parsed:
    OK, or BAD_CHECK_DIGIT for a mistyped one; None when the message holds none."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        return None
    match = _REFERENCE.search(unicodedata.normalize("NFKC", text).translate(_HYPHENS))
    return parse_reference(match.group(0)) if match else None


CANCEL_CALLBACK = "cancel_callback"
CHANGE_CALLBACK = "change_callback"
# Words that name the booked call (折り返し, the call's reservation or time), without which a
# message is not about it: 「機種変更の予約」 is not. Also what nettrouble/triage/intents.py asks
# of the intents cancel_callback and change_callback.
CALLBACK_WORDS = (
    r"折り?返し|おりかえし|コールバック|こーるばっく|かけ直|掛け直|かけなお|"
    r"(電話|でんわ)(の|を)?(予約|よやく|日時|にちじ|時間|じかん|時刻)|"
    r"(予約|よやく)(した|の)(電話|でんわ|時間|じかん|日時|にちじ)"
)
# Words of a slot choice (a position, a day, a time), which choose_callback needs: 「月500円で
# 何ができるの」 has a 月 but names no day.
CHOICE_WORDS = (
    r"([0-9一二三四五六七八九十]|いち|に|さん|よん|ご)\s*(番|ばん|つ目|つめ|個目)|[月火水木金土日]\s*曜|(げつ|か|すい|もく|きん|ど|にち)よう|"
    r"[0-9]\s*(時|じ|:)|今日|本日|明日|明後日|きょう|あした|あす|あさって|最初|さいしょ|一番|いちばん|^#?[0-9]{1,2}$"
)
# The booked call named with a wish to cancel it or to move it: 「折り返しをキャンセルしたい」 is
# no request to stop the triage questions.
_CALLBACK_WORDS = re.compile(CALLBACK_WORDS)
_CANCEL_WORDS = re.compile(r"キャンセル|きゃんせる|取り?消|とりけ|やめ|止め|いらな|要らな|不要|なしに|無しに|断|ことわ")
_CHANGE_WORDS = re.compile(
    r"変更|へんこう|変え|かえ(たい|て|られ|ます)|ずら|別の(日|時間)|べつの(ひ|じかん)|移し|うつし|遅らせ|おくらせ|早め|はやめ"
)


def callback_request(text: str) -> Optional[str]:
    """CANCEL_CALLBACK or CHANGE_CALLBACK when the words ask to cancel or move a booked
    callback, else None."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        return None
    folded = _fold(text)
    if not _CALLBACK_WORDS.search(folded):
        return None
    if _CHANGE_WORDS.search(folded):
        return CHANGE_CALLBACK
    if _CANCEL_WORDS.search(folded):
        return CANCEL_CALLBACK
    return None
