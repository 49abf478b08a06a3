"""How many SMS segments a body costs: its encoding (GSM-7 or UCS-2) and the parts a provider
cuts it into, as the handset joins them again (3GPP TS 23.038 and 23.040).

- **GSM-7** when every character is in the GSM 03.38 basic table or its extension table; an
  extension character is sent as an escape and a character, so it takes 2 septets. One SMS
  holds 160 septets; a longer body is sent in parts of 153 (7 septets go to the header that
  tells the handset how to join them).
- **UCS-2** otherwise (any Japanese character): 70 UTF-16 code units alone, 67 per part; a
  character outside the BMP (an emoji) is a surrogate pair and takes 2.

A part never ends between an escape and its character, nor between the halves of a surrogate
pair: the character moves to the next part, which can cost one more segment than the plain
division says. Pure: no Rasa, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 basic character set (the escape 0x1B itself is not a character of a text).
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table, reached by the escape: 2 septets each.
_EXTENSION = frozenset("\f^{}\\[~]|€")

# (one SMS, each part of a longer body), in septets or UTF-16 code units.
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class Segmented:
    encoding: str
    # The body as the provider sends it, part by part (one part: one SMS).
    parts: Tuple[str, ...]

    @property
    def segments(self) -> int:
        return len(self.parts)


def encoding(text: str) -> str:
    return GSM7 if all(c in _BASIC or c in _EXTENSION for c in text) else UCS2


def _cost(character: str, kind: str) -> int:
    if kind == GSM7:
        return 2 if character in _EXTENSION else 1
    return 2 if ord(character) > 0xFFFF else 1


def length(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) of ``text`` in its encoding."""
    kind = encoding(text)
    return sum(_cost(c, kind) for c in text)


def segment(text: str) -> Segmented:
    """``text`` in its encoding and the parts it is sent in; an empty text has no part."""
    kind = encoding(text)
    single, per_part = LIMITS[kind]
    if sum(_cost(c, kind) for c in text) <= single:
        return Segmented(kind, (text,) if text else ())
    parts: List[str] = []
    current: List[str] = []
    used = 0
    # Python's str holds whole characters, so an escape or a surrogate pair is never split.
    for character in text:
        cost = _cost(character, kind)
        if used + cost > per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(character)
        used += cost
    parts.append("".join(current))
    return Segmented(kind, tuple(parts))


def segments(text: str) -> int:
    return segment(text).segments
