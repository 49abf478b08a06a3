"""Masking phone numbers and e-mail addresses in free text before it is stored or logged, and
the stored form of a sender id that is a phone number or an address.

Japanese users write numbers in many ways: 090-1234-5678, ０９０ー１２３４ー５６７８, 090.1234.5678,
0 9 0 1 2 3 4 5 6 7 8, 〇九〇-一二三四-五六七八, +81 90 1234 5678, 81-90-1234-5678, (03)1234-5678.
Detection runs on a folded copy of the text in which every character maps to exactly one
character (full-width ASCII to ASCII, hyphen look-alikes and ー to '-', kanji digits in a run of
them to digits), so the positions found there are the positions to replace in the original,
whose other characters stay as typed.

Two passes: the project's own scan (fast, and it knows the forms above), then the
``phonenumbers`` matcher for Japan over what is left, when enough digits are left for a number.
Ordinary figures survive: dates, amounts, postal codes and the case references of
``nettrouble.cases.reference`` (NT-YYMM-NNNNN-C), which users and staff read out.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

import phonenumbers

from nettrouble.eligibility.identity import keyed

PHONE_MASK = "［電話番号］"
EMAIL_MASK = "［メールアドレス］"
HASHED_PREFIX = "hmac:"

_FOLD: Dict[int, Union[int, str]] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FOLD.update({ord(char): "-" for char in "‐‑‒–—―−ーｰ﹣"})
_FOLD.update({ord(char): " " for char in "\u3000\t\r\n"})
_FOLD[ord("・")] = "."
_KANJI_DIGITS = {ord(char): str(value) for value, char in enumerate("〇一二三四五六七八九")}
_KANJI_DIGITS.update({ord("○"): "0", ord("零"): "0"})

# Separators between the digits of a number, after folding (full-width forms are folded too).
_SEP = r"[ \-()./_]"
# Kanji digits are read as digits only in a run of at least seven of them, so that 一 in 統一 or
# 一度 next to a number does not glue itself to it.
_KANJI_RUN = re.compile(rf"[〇○零一二三四五六七八九](?:{_SEP}{{0,3}}[〇○零一二三四五六七八九]){{6,}}")

# Bounded repetitions keep the scan linear on hostile input (a long run of letters or digits).
# The domain may be a bare host name (user@localhost). Neither part begins, nor a label ends,
# with a hyphen, so that ー (folded to '-') next to an address stays outside it.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+])[A-Za-z0-9_%+][A-Za-z0-9._%+\-]{0,63}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?){0,8}"
)
# A number in international form (+81 or 81, optionally with the trunk 0 or "(0)") or domestic
# form (a leading 0, optionally in parentheses), then digits with up to three separators
# between two of them. It must not continue another figure: no digit, and no digit followed by
# a separator, just before it (2020-07-15 0312345678 is a date and a number, not 07-15 031…).
# How many digits belong to the number is decided afterwards (``_number_end``).
_NUMBER = re.compile(
    rf"(?<![0-9])(?<![0-9][\-./_])"
    rf"(?:(?P<intl>\+ {{0,2}}81|81){_SEP}{{0,3}}(?:\(?0\)?{_SEP}{{0,3}})?|\(?0\)?{_SEP}{{0,3}})"
    rf"[1-9](?:{_SEP}{{0,3}}[0-9]){{5,13}}"
)
_DIGIT = re.compile(r"[0-9]")
# The shape of nettrouble.cases.reference's case references as they may be typed; never a number.
_REFERENCE = re.compile(r"(?<![A-Za-z])[Nn][Tt][ \-_/.]{0,3}(?:[0-9][ \-_/.]{0,3}){9}[0-9](?![0-9])")
# Enough digits left for a number: only then does the (slower) second pass run.
_ENOUGH_DIGITS = re.compile(r"[0-9](?:[^0-9]{0,4}[0-9]){8}")
# 11-digit national numbers: mobile, IP phone (050), M2M (020) and 0800 toll-free.
_ELEVEN_DIGIT_PREFIXES = ("070", "080", "090", "050", "020", "0800")
# Distinct local parts looked for again in one text (a message holds a few addresses at most).
_MAX_ECHOED = 20


def _fold(text: str) -> str:
    folded = text.translate(_FOLD)
    if _KANJI_RUN.search(folded) is None:
        return folded
    pieces, cursor = [], 0
    for run in _KANJI_RUN.finditer(folded):
        pieces += [folded[cursor : run.start()], folded[run.start() : run.end()].translate(_KANJI_DIGITS)]
        cursor = run.end()
    pieces.append(folded[cursor:])
    return "".join(pieces)


def _separator_kind(gap: str) -> str:
    if "(" in gap or ")" in gap:
        return ""  # (03)1234-5678, 03 (1234) 5678: parentheses go with any separator
    stripped = gap.strip()
    return stripped or (" " if gap else "")


def _number_end(folded: str, match: "re.Match[str]") -> Optional[int]:
    """Where the phone number that ``match`` begins ends, or None when it begins none.

    The number is the longest plausible one: 11 national digits for the prefixes that have
    them, else 10; then 11 for any other prefix (a mistyped number is still masked). It must
    not be glued to a further digit, and all its separators must be of one kind, so that a
    date before a number ("07-15 03-1234-5678") is not taken for part of it."""
    positions = [m.start() for m in _DIGIT.finditer(folded, match.start(), match.end())]
    digits = "".join(folded[p] for p in positions)
    skipped = 0
    if match.group("intl"):
        skipped = 2 + (digits[2] == "0")  # "81" and an optional trunk 0
        national = "0" + digits[skipped:]
    else:
        national = digits
    for length, strict in ((11, True), (10, False), (11, False)):
        if len(national) < length or (strict and not national.startswith(_ELEVEN_DIGIT_PREFIXES)):
            continue
        last = positions[skipped + length - 2 if match.group("intl") else length - 1]
        if last + 1 < len(folded) and folded[last + 1].isdigit():
            continue
        inner = positions[skipped:] if match.group("intl") else positions
        inner = [p for p in inner if p <= last]
        kinds = {_separator_kind(folded[a + 1 : b]) for a, b in zip(inner, inner[1:])} - {""}
        if len(kinds) > 1:
            continue
        if match.group("intl") == "81" and not _valid(national[:length]):
            continue  # "81" without "+" is also how many other figures begin
        return last + 1
    return None


def _valid(national: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(national, "JP"))
    except phonenumbers.NumberParseException:
        return False


def _overlaps(start: int, end: int, spans: Iterable[Tuple[int, int, str]]) -> bool:
    return any(start < e and s < end for s, e, _ in spans)


def _first_pass(folded: str, taken: List[Tuple[int, int, str]]) -> List[Tuple[int, int, str]]:
    found: List[Tuple[int, int, str]] = []
    position = 0
    while True:
        match = _NUMBER.search(folded, position)
        if match is None:
            return found
        end = _number_end(folded, match)
        if end is None or _overlaps(match.start(), end, taken):
            # Not a number here: one may still begin inside (a 12-digit figure does not hide
            # the number after it), so the search goes on from the next character.
            position = match.start() + 1
            continue
        # An opening parenthesis belongs to the number only when it closes inside it: (03)…
        start = match.start()
        if folded[start] == "(" and ")" not in folded[start:end]:
            start += 1
        found.append((start, end, PHONE_MASK))
        position = end


def _second_pass(folded: str, taken: List[Tuple[int, int, str]]) -> List[Tuple[int, int, str]]:
    # What is already found is blanked (same length), so only the rest is searched.
    chars = list(folded)
    for start, end, _ in taken:
        chars[start:end] = "#" * (end - start)
    rest = "".join(chars)
    if _ENOUGH_DIGITS.search(rest) is None:
        return []
    found = []
    for match in phonenumbers.PhoneNumberMatcher(rest, "JP", leniency=phonenumbers.Leniency.VALID):
        # Only a number written as one (leading 0, +81 or 81), never a bare figure.
        if match.raw_string.lstrip("(").startswith(("0", "+", "81")):
            found.append((match.start, match.end, PHONE_MASK))
    return found


def _echoes(folded: str, addresses: List[Tuple[int, int, str]]) -> List[Tuple[int, int, str]]:
    """Other copies of an address's local part in the same text. Rasa repeats a message that
    begins with "/" in its warning cut at the "@" (its confidence marker), so the local part
    also appears alone there. One scan for all of them keeps hostile input linear."""
    distinct = {folded[start : folded.index("@", start)] for start, _, _ in addresses}
    locals_ = sorted((local for local in distinct if len(local) >= 3), key=len, reverse=True)[:_MAX_ECHOED]
    if not locals_:
        return []
    covered = bytearray(len(folded))
    for start, end, _ in addresses:
        covered[start:end] = b"\1" * (end - start)
    return [
        (match.start(), match.end(), EMAIL_MASK)
        for match in re.finditer("|".join(map(re.escape, locals_)), folded)
        if not any(covered[match.start() : match.end()])
    ]


def _spans(folded: str) -> List[Tuple[int, int, str]]:
    # E-mail addresses first: their digits (09012345678@…) must not be masked twice.
    spans = [(m.start(), m.end(), EMAIL_MASK) for m in _EMAIL.finditer(folded)]
    spans += _echoes(folded, spans)
    references = [(m.start(), m.end(), "") for m in _REFERENCE.finditer(folded)]
    spans += _first_pass(folded, spans + references)
    spans += _second_pass(folded, spans + references)
    return sorted(spans)


def _digits(found: str) -> str:
    return re.sub(r"[^0-9]", "", _fold(found))


@lru_cache(maxsize=8)
def _kept_digits(keep: FrozenSet[str]) -> FrozenSet[str]:
    return frozenset(_digits(number) for number in keep)


def mask_text(text: str, keep: Iterable[str] = ()) -> str:
    """``text`` with every phone number and e-mail address replaced by a placeholder, except
    the numbers in ``keep`` (public numbers such as the centre's, however they are written)."""
    if not text:
        return text
    # The same few public numbers for every bot message: their digits are worked out once.
    kept = _kept_digits(keep if isinstance(keep, frozenset) else frozenset(keep))
    pieces = []
    cursor = 0
    folded = _fold(text)
    for start, end, mask in _spans(folded):
        if mask == PHONE_MASK and kept and _digits(folded[start:end]) in kept:
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


def conversation_key(sender_id: str, secret: Optional[str] = None) -> str:
    """How a conversation id is stored (tracker store, cases): as it is, unless it holds a
    phone number or an e-mail address (an SMS channel's sender is the phone number); then
    "hmac:" and the hex HMAC-SHA256 of it under ``secret`` (PERSON_KEY_SECRET by default), so
    the number is never stored. A stored key given back is kept as it is, so that the keys a
    store lists can be looked up again."""
    if _is_conversation_key(sender_id) or mask_text(sender_id) == sender_id:
        return sender_id
    return HASHED_PREFIX + keyed(sender_id, secret)


def _is_conversation_key(value: str) -> bool:
    return (
        len(value) == len(HASHED_PREFIX) + 64
        and value.startswith(HASHED_PREFIX)
        and all(char in "0123456789abcdef" for char in value[len(HASHED_PREFIX) :])
    )
