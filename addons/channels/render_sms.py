"""SMS texts for one turn, buttons as a numbered menu, and reading a reply such as 「1」 back
as the button it picks."""
from __future__ import annotations

import logging
import re
from typing import List, Optional, Sequence, Tuple

from addons.channels import render

logger = logging.getLogger(__name__)

SMS_SEGMENT = 70
SMS_MAX_PER_TURN = 8
SMS_MENU_HINT = "番号でご返信ください。"

def ucs2_length(text: str) -> int:
    """Characters as an SMS counts them in UCS-2: one outside the BMP (emoji) takes two."""
    return len(text.encode("utf-16-le")) // 2


def _without_extra_urls(texts: List[str]) -> List[str]:
    """Every URL after the first of the turn is dropped: SMS has no room for them."""
    kept_one, result = False, []
    for text in texts:
        pieces, position = [], 0
        for start, end in render.url_spans(text):
            pieces.append(text[position:start])
            if not kept_one:
                pieces.append(text[start:end])
                kept_one = True
            position = end
        pieces.append(text[position:])
        result.append("".join(pieces))
    return result


def _sms_lines(messages: Sequence[render.BotMessage]) -> List[Tuple[str, bool]]:
    """(line, must keep) pairs: lines with a phone number, a case reference or a menu entry
    survive shortening, and so does the question a menu answers (the text of a message with
    buttons): 「1: はい」 alone asks nothing."""
    texts = _without_extra_urls([m.text for m in messages] + [m.image for m in messages if m.image])
    asks = [bool(m.buttons) for m in messages] + [False for m in messages if m.image]
    lines = []
    for text, with_menu in zip(texts, asks):
        for line in text.splitlines():
            line = re.sub(r"[ \t\u3000]+", " ", line).strip()
            if line:
                lines.append((line, with_menu or bool(render.PHONE.search(line) or render.CASE_REFERENCE.search(line))))
    menu = render.turn_buttons(messages)
    if menu:
        lines += [(f"{number}: {button.title}", True) for number, button in enumerate(menu, 1)]
        lines.append((SMS_MENU_HINT, True))
    return lines


def _pack_sms(units: List[Tuple[str, bool]]) -> List[str]:
    texts: List[str] = []
    for unit, new_line in units:
        joined = (texts[-1] + ("\n" if new_line else "") + unit) if texts else unit
        if texts and ucs2_length(joined) <= SMS_SEGMENT:
            texts[-1] = joined
        else:
            texts.append(unit)
    return texts


def sms_texts(messages: Sequence[render.BotMessage], max_texts: int = SMS_MAX_PER_TURN) -> List[str]:
    """The SMS of one turn, each at most 70 UCS-2 characters (one segment), at most
    ``max_texts`` of them. When the turn is longer, lines are left out from the end,
    never one with a phone number, a case reference or a menu entry."""
    units: List[Tuple[str, bool, bool, int]] = []  # (text, starts a line, must keep, line number)
    for number, (line, must) in enumerate(_sms_lines(messages)):
        for index, piece in enumerate(render.sentence_units(line, SMS_SEGMENT, ucs2_length)):
            if piece.strip():
                units.append((piece.strip(), index == 0, must, number))
    chosen = [u for u in units if u[2]]
    if len(_pack_sms([(u[0], u[1]) for u in chosen])) > max_texts:
        logger.warning("SMS reply keeps only %d texts although its numbers need more", max_texts)
        return _pack_sms([(u[0], u[1]) for u in chosen])[:max_texts]
    selected = {id(u) for u in chosen}
    # A line loses its end, never its beginning: 「運営者への削除依頼の流れ」 alone means nothing.
    cut_lines = set()
    for unit in units:
        if unit[2]:
            continue
        trial = [u for u in units if id(u) in selected or u is unit]
        if unit[3] not in cut_lines and len(_pack_sms([(u[0], u[1]) for u in trial])) <= max_texts:
            selected.add(id(unit))
        else:
            cut_lines.add(unit[3])
    return _pack_sms([(u[0], u[1]) for u in units if id(u) in selected])


def menu_choice(text: str, menu: Sequence[render.Button]) -> Optional[render.Button]:
    """The button a reply such as 「1」 selects (after NFKC), or None."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and 1 <= int(stripped) <= len(menu):
        return menu[int(stripped) - 1]
    return None
