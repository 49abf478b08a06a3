"""Masking phone numbers and e-mail addresses in free text before it is stored.

Japanese users write numbers in many ways: 090-1234-5678, ０９０ー１２３４ー５６７８, +81 90 1234 5678,
(03)1234-5678. Detection runs on a folded copy of the text in which every character maps to
exactly one character (full-width ASCII to ASCII, hyphen look-alikes to '-'), so the positions
found there are the positions to replace in the original, whose other characters stay as typed.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, List, Tuple

PHONE_MASK = "［電話番号］"
EMAIL_MASK = "［メールアドレス］"

_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FOLD.update({ord(char): "-" for char in "‐‑‒–—―−ーｰ﹣"})
_FOLD[0x3000] = " "

# Bounded repetitions keep the scan linear on hostile input (a long run of letters or digits).
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){1,8}"
)
# A domestic number (leading 0) or an international one (+81, optionally with "(0)"), digits
# separated by at most two spaces, hyphens or parentheses; the length is checked afterwards.
_PHONE = re.compile(
    r"(?<![0-9])"
    r"(?:\+ ?81[ \-]?(?:\(0\)[ \-]?)?|\(?0)"
    r"[0-9](?:[ \-()]{0,2}[0-9]){7,10}"
    r"(?![0-9])"
)


def _is_japanese_number(found: str) -> bool:
    digits = re.sub(r"[^0-9]", "", found)
    if found.startswith("+"):
        digits = digits[2:]
        if not digits.startswith("0"):
            digits = "0" + digits
    # Landlines, 0120/0570/0800 and IP numbers have 10 digits, mobile and 050 numbers 11.
    return len(digits) in (10, 11) and digits[1] != "0"


def _spans(folded: str) -> List[Tuple[int, int, str]]:
    spans = [(m.start(), m.end(), EMAIL_MASK) for m in _EMAIL.finditer(folded)]
    # E-mail addresses first: their digits (09012345678@…) must not be masked twice.
    taken = [(start, end) for start, end, _ in spans]
    for match in _PHONE.finditer(folded):
        inside = any(start < match.end() and match.start() < end for start, end in taken)
        if not inside and _is_japanese_number(match.group()):
            spans.append((match.start(), match.end(), PHONE_MASK))
    return sorted(spans)


def _digits(found: str) -> str:
    return re.sub(r"[^0-9]", "", found.translate(_FOLD))


def mask_text(text: str, keep: Iterable[str] = ()) -> str:
    """``text`` with every phone number and e-mail address replaced by a placeholder, except
    the numbers in ``keep`` (public numbers such as the centre's, however they are written)."""
    if not text:
        return text
    kept = {_digits(number) for number in keep}
    pieces = []
    cursor = 0
    folded = text.translate(_FOLD)
    for start, end, mask in _spans(folded):
        if mask == PHONE_MASK and _digits(folded[start:end]) in kept:
            continue
        pieces.append(text[cursor:start])
        pieces.append(mask)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def mask_data(value: Any, keep: Iterable[str] = ()) -> Any:
    """A copy of ``value`` (strings, and dicts, lists and tuples of them) with every string
    masked; dictionary keys and other values are kept as they are."""
    if isinstance(value, str):
        return mask_text(value, keep)
    if isinstance(value, dict):
        return {key: mask_data(item, keep) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_data(item, keep) for item in value)
    return value
