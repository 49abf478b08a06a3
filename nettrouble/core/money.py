"""Amounts of money as users write them: 3万円, ３０，０００円, 9万8千円, 五千円, ¥5000."""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_LARGE_UNITS = {"万": 10_000, "億": 100_000_000}
_AMOUNT = re.compile(r"[0-9.,〇零一二三四五六七八九十百千万億]+(?=\s*(?:円|えん|yen)?)|[¥]\s*[0-9,]+")
# Upper bound: a chat about a scam does not involve more than this; bigger numbers are typos.
_MAX_YEN = 10_000_000_000


def _kanji_number(text: str) -> Optional[int]:
    total, section, digit = 0, 0, None
    for char in text:
        if char.isdigit():
            digit = (digit or 0) * 10 + int(char)
        elif char in _KANJI_DIGITS:
            digit = (digit or 0) * 10 + _KANJI_DIGITS[char]
        elif char in _SMALL_UNITS:
            section += (digit if digit is not None else 1) * _SMALL_UNITS[char]
            digit = None
        elif char in _LARGE_UNITS:
            total += (section + (digit or 0)) * _LARGE_UNITS[char]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def parse_yen(text: Optional[str]) -> Optional[int]:
    """The first amount in ``text`` in yen, or None when there is none."""
    if not text:
        return None
    normalised = unicodedata.normalize("NFKC", text).replace("¥", "").replace("￥", "")
    for match in _AMOUNT.finditer(normalised):
        raw = match.group().replace(",", "").replace("¥", "").strip()
        if not raw or not any(c.isdigit() or c in _KANJI_DIGITS or c in "十百千" for c in raw):
            continue
        if re.fullmatch(r"\d+(\.\d+)?", raw):
            tail = normalised[match.end() : match.end() + 2]
            if not re.match(r"\s*(円|えん|yen)", tail) and "円" not in normalised and "万" not in raw:
                # A bare number counts as yen only when it stands alone as the answer.
                if normalised.strip() != match.group().strip():
                    continue
            value = float(raw)
        elif re.fullmatch(r"\d+(\.\d+)?万", raw):
            value = float(raw[:-1]) * 10_000
        else:
            parsed = _kanji_number(raw.replace(".", ""))
            if parsed is None:
                continue
            value = parsed
        if 0 <= value <= _MAX_YEN:
            return int(round(value))
    return None


def yen_text(amount: int) -> str:
    """An amount as written to a user: whole 万 as 万 (3万円, 100万円), anything else with
    thousands separators (12,000円)."""
    if amount >= 10_000 and amount % 10_000 == 0:
        return f"{amount // 10_000:,}万円"
    return f"{amount:,}円"
