"""Case references ``NT-YYMM-NNNNN-C`` that users read out on the phone.

YYMM is the month of creation in Japan time, NNNNN a random number and C the Damm check digit
over the nine digits. Damm detects every single-digit error and every swap of two adjacent
digits (Luhn misses 09↔90), so a mistyped reference is told apart from an unknown one before
any database lookup.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from nettrouble.core.clock import in_japan

OK = "ok"
MALFORMED = "malformed"
BAD_CHECK_DIGIT = "bad_check_digit"

PREFIX = "NT"
RANDOM_DIGITS = 5

# The weakly totally anti-symmetric quasigroup of order 10 from Damm's thesis (2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# Anything longer is not a reference someone typed; refusing early keeps hostile input cheap.
_MAX_INPUT = 64
# Hyphen look-alikes that Japanese IMEs produce (NFKC leaves most of them alone), and spaces.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー－ｰ_/.・]+")
_SHAPE = re.compile(r"(?:NT)?([0-9]{10})")


def damm(digits: str) -> int:
    """The Damm check digit of a string of ASCII digits."""
    interim = 0
    for char in digits:
        if not ("0" <= char <= "9"):
            raise ValueError(f"not a digit: {char!r}")
        interim = _DAMM[interim][ord(char) - 48]
    return interim


def format_reference(digits: str) -> str:
    """The canonical form of ten digits (nine plus the check digit)."""
    return f"{PREFIX}-{digits[0:4]}-{digits[4:9]}-{digits[9]}"


def new_reference(moment: datetime) -> str:
    """A fresh random reference for a case created at ``moment``."""
    nine = in_japan(moment).strftime("%y%m") + f"{secrets.randbelow(10**RANDOM_DIGITS):05d}"
    return format_reference(nine + str(damm(nine)))


@dataclass(frozen=True)
class ParsedReference:
    """``status`` is OK (``reference`` is the canonical form), MALFORMED or BAD_CHECK_DIGIT
    (``reference`` is the canonical form of what was typed, so it can be shown back)."""

    status: str
    reference: Optional[str] = None


def parse_reference(text: object) -> ParsedReference:
    """Reads a reference as a person may type it: lower case, full-width, with missing or odd
    hyphens, with or without the NT prefix."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        return ParsedReference(MALFORMED)
    folded = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    match = _SHAPE.fullmatch(folded)
    if not match:
        return ParsedReference(MALFORMED)
    digits = match.group(1)
    canonical = format_reference(digits)
    if damm(digits) != 0:
        return ParsedReference(BAD_CHECK_DIGIT, canonical)
    return ParsedReference(OK, canonical)
