"""Who a person is, without knowing their number: the keyed hash of a docomo mobile number.

The free consultation is limited to one case per person, and the docomo mobile number the user
types is what identifies them. Only ``person_key`` (hex HMAC-SHA256 under PERSON_KEY_SECRET of
the normalised 11-digit number) leaves this module. Neither the number nor the text it came in
is ever logged or put into an exception message, so a traceback cannot leak it either.

Accepted: 070/080/090 numbers written with full-width digits, spaces, any dash, hyphen or minus
(and ー, which Japanese IMEs often produce), parentheses, and the +81 / 81 / +81(0) prefixes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import List, Optional

from nettrouble.core.settings import settings

MOBILE_PREFIXES = ("070", "080", "090")
NATIONAL_LENGTH = 11
# Longer input cannot be a number someone typed; it is refused before any regex runs on it.
MAX_INPUT_CHARS = 2000

# Reasons for refusing a number; the action turns each into a re-ask that explains the form.
EMPTY = "empty"
NO_NUMBER = "no_number"
SEVERAL = "several"
MALFORMED = "malformed"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
NOT_JAPANESE = "not_japanese"
NOT_MOBILE = "not_mobile"
TOO_LONG_INPUT = "too_long_input"

# Every dash a phone or an IME produces: hyphen-minus, hyphen, non-breaking hyphen, figure
# dash, en and em dashes, horizontal bar, minus sign, small hyphen-minus, full-width
# hyphen-minus, katakana prolonged sound mark (full and half width).
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d\u30fc\uff70"
_DASH_CLASS = re.escape(_DASHES)
_SEPARATORS = re.compile(f"[\\s{_DASH_CLASS}()]")
# A run of characters that can belong to a written number (after NFKC).
_RUN = re.compile(f"[0-9+(][0-9+()\\s{_DASH_CLASS}]*")
# Fewer digits than this is a stray figure in a sentence ("2回目です"), not an attempt at a number.
_MIN_CANDIDATE_DIGITS = 7


class InvalidNumber(ValueError):
    """The text holds no acceptable docomo mobile number; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(f"not an acceptable docomo mobile number: {reason}")
        self.reason = reason


def _digits(run: str) -> int:
    return sum(c.isdigit() for c in run)


def _candidates(folded: str) -> List[str]:
    runs = []
    for match in _RUN.finditer(folded):
        run = match.group().strip(" " + _DASHES)
        if _digits(run) >= _MIN_CANDIDATE_DIGITS:
            # A letter glued to the number ("090-1234-5678x") means it is not a number as typed.
            before = folded[match.start() - 1] if match.start() else ""
            after = folded[match.end()] if match.end() < len(folded) else ""
            if (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum()):
                raise InvalidNumber(MALFORMED)
            # Two numbers separated only by a space form one run; each part long enough to be a
            # number on its own means the user gave several.
            parts = [part for part in run.split() if _digits(part) >= _MIN_CANDIDATE_DIGITS]
            runs.extend(parts if len(parts) > 1 else [run])
    return runs


def _national(run: str) -> str:
    compact = _SEPARATORS.sub("", run)
    if not re.fullmatch(r"\+?[0-9]+", compact):
        raise InvalidNumber(MALFORMED)
    international = compact.startswith("+")
    digits = compact.lstrip("+")
    if international or (digits.startswith("81") and len(digits) in (12, 13)):
        if not digits.startswith("81"):
            raise InvalidNumber(NOT_JAPANESE)
        # +81(0)90… and +81 090… both carry the trunk 0 that +81 replaces.
        rest = digits[2:]
        digits = "0" + (rest[1:] if rest.startswith("0") else rest)
    if len(digits) < 3:
        raise InvalidNumber(TOO_SHORT)
    if not digits.startswith(MOBILE_PREFIXES):
        raise InvalidNumber(NOT_MOBILE)
    if len(digits) < NATIONAL_LENGTH:
        raise InvalidNumber(TOO_SHORT)
    if len(digits) > NATIONAL_LENGTH:
        raise InvalidNumber(TOO_LONG)
    return digits


def normalise(text: Optional[str]) -> str:
    """The 11-digit national form of the one docomo mobile number in ``text``.

    ``text`` may be just the number or a sentence around it (「番号は090-1234-5678です」).
    Raises ``InvalidNumber`` with the reason when there is none, several, or one that is not a
    070/080/090 number of 11 digits."""
    if text is None or not text.strip():
        raise InvalidNumber(EMPTY)
    if len(text) > MAX_INPUT_CHARS:
        raise InvalidNumber(TOO_LONG_INPUT)
    folded = unicodedata.normalize("NFKC", text)
    runs = _candidates(folded)
    if not runs:
        # Enough digits split by other marks (090.1234.5678) is a number in a form we do not
        # read; fewer is a number cut short; none at all, no number.
        digits = _digits(folded)
        if digits >= _MIN_CANDIDATE_DIGITS:
            raise InvalidNumber(MALFORMED)
        raise InvalidNumber(TOO_SHORT if digits else NO_NUMBER)
    if len(runs) > 1:
        raise InvalidNumber(SEVERAL)
    return _national(runs[0])


def keyed(text: str, secret: Optional[str] = None) -> str:
    """Hex HMAC-SHA256 of ``text`` under ``secret`` (PERSON_KEY_SECRET by default): the one
    keyed hash behind person keys, client keys, stored conversation ids and one-time codes."""
    key = secret or settings().require("person_key_secret")
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def key_for(national_number: str, secret: str) -> str:
    """Hex HMAC-SHA256 of an already normalised number under ``secret``."""
    return keyed(national_number, secret)


def person_key(text: Optional[str], secret: Optional[str] = None) -> str:
    """The person key for the number in ``text`` (see ``normalise``); the secret defaults to
    PERSON_KEY_SECRET, whose absence is a ``SettingsError`` naming it."""
    national = normalise(text)
    return key_for(national, secret or settings().require("person_key_secret"))


def same_person(text: Optional[str], stored_key: str, secret: Optional[str] = None) -> bool:
    """Whether the number in ``text`` hashes to ``stored_key`` (constant-time comparison);
    False for text without an acceptable number."""
    try:
        candidate = person_key(text, secret)
    except InvalidNumber:
        return False
    return hmac.compare_digest(candidate.encode("ascii"), (stored_key or "").encode("utf-8"))
