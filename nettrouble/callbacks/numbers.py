"""The number a callback goes to: a Japanese mobile, fixed-line or IP phone number read from what
the user typed (090-1234-5678, ０９０ー１２３４ー５６７８, 03(1234)5678, +81 90 1234 5678).

Toll-free, navi-dial, premium-rate and other numbers that staff cannot or should not call are
refused with their own reason, and so are numbers outside Japan. The number is only ever held
in memory as a ``CallbackNumber`` and stored sealed (``nettrouble.callbacks.sealing``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType

NO_NUMBER = "no_number"
INVALID = "invalid"
NOT_CALLABLE = "not_callable"

# Numbers a person answers: mobile (070/080/090), fixed line (03-…), IP phone (050).
_CALLABLE = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP,
}
# Hyphen look-alikes Japanese IMEs produce, which NFKC leaves alone.
_HYPHENS = {ord(char): "-" for char in "‐‑‒–—―−ーｰ﹣"}
# Longer input is not a reply giving a number; refusing it early keeps hostile input cheap.
_MAX_INPUT = 200
# Fewer digits than this and the message gave no number at all (「2番」, 「10時」).
_MIN_DIGITS = 6


class InvalidNumber(ValueError):
    """No callable Japanese number in the text; ``reason`` is NO_NUMBER, INVALID or NOT_CALLABLE."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CallbackNumber:
    """A callable Japanese number. ``e164`` is what is sealed; ``national`` is how staff read it."""

    e164: str

    @property
    def national(self) -> str:
        return phonenumbers.format_number(phonenumbers.parse(self.e164), PhoneNumberFormat.NATIONAL)

    def __repr__(self) -> str:
        # Never the digits, should an object end up in a log line or a traceback.
        return "CallbackNumber(…)"


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_HYPHENS)


def read_number(text: str) -> CallbackNumber:
    """The first callable Japanese number in ``text``; ``InvalidNumber`` says why there is none."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        raise InvalidNumber(INVALID)
    folded = _folded(text)
    if sum(char.isdigit() for char in folded) < _MIN_DIGITS:
        raise InvalidNumber(NO_NUMBER)
    reason = INVALID
    for match in PhoneNumberMatcher(folded, "JP", leniency=phonenumbers.Leniency.POSSIBLE):
        number = match.number
        if number.country_code != 81 or not phonenumbers.is_valid_number(number):
            continue
        if phonenumbers.number_type(number) not in _CALLABLE:
            reason = NOT_CALLABLE
            continue
        return CallbackNumber(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    raise InvalidNumber(reason)
