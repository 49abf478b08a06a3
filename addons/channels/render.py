"""One renderer for every channel: the bot's messages of a turn become what each channel can show.

Input is what Rasa's ``CollectingOutputChannel`` collects (dicts with ``text``, ``buttons``,
``image``, ``custom``). Output stays within each channel's limits:

- web: JSON the page builds with DOM APIs (text split into plain, link and case-reference parts);
- LINE: at most 5 message objects per reply call, text ≤ 5,000 characters, buttons as quick
  replies (≤ 13 items, labels ≤ 20 characters);
- SMS: short texts of at most one 70-character UCS-2 segment each, buttons as a numbered menu.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

logger = logging.getLogger(__name__)

# Only https: an http:// or javascript: address in a bot text stays plain text.
URL = re.compile(r"https://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_URL_TRAILING = ".,;:!?'\")]"
# NT-YYMM-NNNNN-C; Japanese text has no word boundaries, so the edges are explicit.
CASE_REFERENCE = re.compile(r"(?<![A-Za-z0-9])NT-[0-9]{4}-[0-9]{5}-[0-9](?![0-9])")
# Numbers a user must be able to call even when a reply is shortened for SMS.
PHONE = re.compile(r"#[0-9]{4}|[0-9]{2,5}-[0-9]{1,4}-[0-9]{3,5}|(?<![0-9])(?:110|119|188)(?![0-9])")

LINE_MAX_MESSAGES = 5
LINE_MAX_TEXT = 5000
LINE_MAX_QUICK_REPLIES = 13
LINE_MAX_LABEL = 20
LINE_MAX_POSTBACK_DATA = 300

SMS_SEGMENT = 70
SMS_MAX_PER_TURN = 8
SMS_MENU_HINT = "番号でご返信ください。"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: Tuple[Button, ...] = ()
    image: str = ""


def _buttons(raw: Any) -> Tuple[Button, ...]:
    if not isinstance(raw, list):
        return ()
    result = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        title, payload = item.get("title"), item.get("payload")
        if isinstance(title, str) and title.strip() and isinstance(payload, str) and payload.strip():
            result.append(Button(title=title.strip(), payload=payload.strip()))
    return tuple(result)


def bot_messages(raw: Iterable[Mapping[str, Any]]) -> List[BotMessage]:
    """The bot's messages of one turn, in order, with malformed parts left out.

    A custom payload is shown when it carries ``text`` or ``buttons``; anything else in it is
    meant for another kind of client and is skipped (with a warning, so it is noticed)."""
    result = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        text = item.get("text") if isinstance(item.get("text"), str) else ""
        buttons = _buttons(item.get("buttons"))
        image = item.get("image") if isinstance(item.get("image"), str) else ""
        custom = item.get("custom")
        if isinstance(custom, Mapping):
            if isinstance(custom.get("text"), str) or custom.get("buttons"):
                text = "\n".join(filter(None, [text, custom.get("text") or ""]))
                buttons = buttons + _buttons(custom.get("buttons"))
            else:
                logger.warning("bot message with a custom payload that no channel shows: keys %s",
                               sorted(custom))
        if text.strip() or buttons or image.strip():
            result.append(BotMessage(text=text.strip(), buttons=buttons, image=image.strip()))
    return result


def turn_buttons(messages: Sequence[BotMessage]) -> List[Button]:
    """Every button of a turn in order, each payload once: the numbered SMS menu and LINE's
    quick replies both come from this list."""
    seen, result = set(), []
    for message in messages:
        for button in message.buttons:
            if button.payload not in seen:
                seen.add(button.payload)
                result.append(button)
    return result


# ---- web -----------------------------------------------------------------------------------

def _url_spans(text: str) -> List[Tuple[int, int]]:
    spans = []
    for match in URL.finditer(text):
        end = match.end()
        while end > match.start() + len("https://") and text[end - 1] in _URL_TRAILING:
            end -= 1
        spans.append((match.start(), end))
    return spans


def text_parts(text: str) -> List[Dict[str, str]]:
    """Text split into plain text, https links and case references, for the page to build
    elements from without ever parsing HTML."""
    marks = [(start, end, "link") for start, end in _url_spans(text)]
    marks += [(m.start(), m.end(), "reference") for m in CASE_REFERENCE.finditer(text)
              if not any(s <= m.start() < e for s, e, _ in marks)]
    parts, position = [], 0
    for start, end, kind in sorted(marks):
        if start > position:
            parts.append({"type": "text", "text": text[position:start]})
        part = {"type": kind, "text": text[start:end]}
        if kind == "link":
            part["href"] = text[start:end]
        parts.append(part)
        position = end
    if position < len(text):
        parts.append({"type": "text", "text": text[position:]})
    return parts


def web_message(message: BotMessage) -> Dict[str, Any]:
    image = message.image if message.image.startswith("https://") else ""
    text = message.text
    if message.image and not image:
        text = "\n".join(filter(None, [text, message.image]))
    return {
        "from": "bot",
        "text": text,
        "parts": text_parts(text),
        "references": CASE_REFERENCE.findall(text),
        "buttons": [{"title": b.title, "payload": b.payload} for b in message.buttons],
        "image": image,
    }


def web_messages(messages: Sequence[BotMessage]) -> List[Dict[str, Any]]:
    return [web_message(message) for message in messages]


# ---- LINE ----------------------------------------------------------------------------------

def _split(text: str, limit: int, measure=len) -> List[str]:
    """``text`` in pieces of at most ``limit``, cut at line ends, then after 。！？, then
    anywhere."""
    if measure(text) <= limit:
        return [text]
    pieces: List[str] = []
    for unit in _units(text, limit, measure):
        if pieces and measure(pieces[-1] + unit) <= limit:
            pieces[-1] += unit
        else:
            pieces.append(unit)
    return [piece.strip("\n") for piece in pieces if piece.strip()]


def _units(text: str, limit: int, measure) -> List[str]:
    units = []
    for line in text.splitlines(keepends=True):
        for sentence in re.findall(r"[^。！？!?]*(?:[。！？!?]+|$)", line):
            while measure(sentence) > limit:
                cut = _cut_point(sentence, limit, measure)
                units.append(sentence[:cut])
                sentence = sentence[cut:]
            if sentence:
                units.append(sentence)
    return units


def _cut_point(text: str, limit: int, measure) -> int:
    cut = limit
    while cut > 1 and measure(text[:cut]) > limit:
        cut -= 1
    comma = max(text.rfind("、", 0, cut), text.rfind("，", 0, cut))
    return comma + 1 if comma >= cut // 2 else cut


def _label(title: str) -> str:
    return title if len(title) <= LINE_MAX_LABEL else title[: LINE_MAX_LABEL - 1] + "…"


def _quick_reply_item(button: Button) -> Dict[str, Any]:
    if len(button.payload) <= LINE_MAX_POSTBACK_DATA:
        action = {"type": "postback", "label": _label(button.title), "data": button.payload,
                  "displayText": button.title[:300]}
    else:
        # Too long for postback data: the title itself goes to the bot as the user's text.
        action = {"type": "message", "label": _label(button.title), "text": button.title[:300]}
    return {"type": "action", "action": action}


def _pack_line(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """At most 5 messages: the shortest neighbouring texts are merged first, so nothing is
    dropped while the result fits; only then is the end cut."""
    messages = list(messages)
    while len(messages) > LINE_MAX_MESSAGES:
        best = None
        for index in range(len(messages) - 1):
            first, second = messages[index], messages[index + 1]
            if first["type"] == second["type"] == "text":
                size = len(first["text"]) + 2 + len(second["text"])
                if size <= LINE_MAX_TEXT and (best is None or size < best[1]):
                    best = (index, size)
        if best is None:
            logger.warning("LINE reply too long for one call: %d messages cut to %d",
                           len(messages), LINE_MAX_MESSAGES)
            return messages[:LINE_MAX_MESSAGES]
        index = best[0]
        merged = {"type": "text", "text": messages[index]["text"] + "\n\n" + messages[index + 1]["text"]}
        messages[index:index + 2] = [merged]
    return messages


def line_messages(messages: Sequence[BotMessage]) -> List[Dict[str, Any]]:
    """The LINE message objects of one reply call (1 to 5 of them; empty only for no
    messages)."""
    result: List[Dict[str, Any]] = []
    for message in messages:
        for piece in _split(message.text, LINE_MAX_TEXT) if message.text else []:
            result.append({"type": "text", "text": piece})
        if message.image.startswith("https://"):
            result.append({"type": "image", "originalContentUrl": message.image,
                           "previewImageUrl": message.image})
        elif message.image:
            result.append({"type": "text", "text": message.image})
    buttons = turn_buttons(messages)
    shown, overflow = buttons[:LINE_MAX_QUICK_REPLIES], buttons[LINE_MAX_QUICK_REPLIES:]
    if overflow:
        # Quick replies hold 13 items: the rest are listed so the user can type them.
        result.append({"type": "text", "text": "\n".join(f"・{b.title}" for b in overflow)})
    if shown and not result:
        result.append({"type": "text", "text": "次からお選びください。"})
    result = _pack_line(result)
    if shown:
        result[-1] = dict(result[-1], quickReply={"items": [_quick_reply_item(b) for b in shown]})
    return result


# ---- SMS -----------------------------------------------------------------------------------

def ucs2_length(text: str) -> int:
    """Characters as an SMS counts them in UCS-2: one outside the BMP (emoji) takes two."""
    return len(text.encode("utf-16-le")) // 2


def _without_extra_urls(texts: List[str]) -> List[str]:
    """Every URL after the first of the turn is dropped: SMS has no room for them."""
    kept_one, result = False, []
    for text in texts:
        pieces, position = [], 0
        for start, end in _url_spans(text):
            pieces.append(text[position:start])
            if not kept_one:
                pieces.append(text[start:end])
                kept_one = True
            position = end
        pieces.append(text[position:])
        result.append("".join(pieces))
    return result


def _sms_lines(messages: Sequence[BotMessage]) -> List[Tuple[str, bool]]:
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
                lines.append((line, with_menu or bool(PHONE.search(line) or CASE_REFERENCE.search(line))))
    menu = turn_buttons(messages)
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


def sms_texts(messages: Sequence[BotMessage], max_texts: int = SMS_MAX_PER_TURN) -> List[str]:
    """The SMS of one turn, each at most 70 UCS-2 characters (one segment), at most
    ``max_texts`` of them. When the turn is longer, lines are left out from the end,
    never one with a phone number, a case reference or a menu entry."""
    units: List[Tuple[str, bool, bool, int]] = []  # (text, starts a line, must keep, line number)
    for number, (line, must) in enumerate(_sms_lines(messages)):
        for index, piece in enumerate(_units(line, SMS_SEGMENT, ucs2_length)):
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


def menu_choice(text: str, menu: Sequence[Button]) -> Optional[Button]:
    """The button a reply such as 「1」 selects (after NFKC), or None."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and 1 <= int(stripped) <= len(menu):
        return menu[int(stripped) - 1]
    return None
