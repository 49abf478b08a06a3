"""What every channel starts from: the bot's messages of a turn, read from what Rasa's output
channel collected (dicts with ``text``, ``buttons``, ``image``, ``custom``), and the web chat's
JSON built from them. LINE (``render_line``) and SMS (``render_sms``) have modules of their own;
the sentence splitting they share is here."""

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


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


# Structured content an action sends beside its text (``custom: {"card": {...}}``): articles
# (``nettrouble.content.articles.offer_card``) and first steps with public bodies
# (``nettrouble.triage.guidance.guidance_card``). LINE draws them as Flex messages; the other channels
# show the text, which always says the same.
CARD_KINDS = ("articles", "guidance")


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: Tuple[Button, ...] = ()
    image: str = ""
    card: Optional[Mapping[str, Any]] = None


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

    A custom payload with a ``card`` of a known kind goes with the message's text; one that
    carries ``text`` or ``buttons`` is shown; anything else in it is meant for another kind of
    client and is skipped (with a warning, so it is noticed)."""
    result = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        given_text, given_image = item.get("text"), item.get("image")
        text = given_text if isinstance(given_text, str) else ""
        buttons = _buttons(item.get("buttons"))
        image = given_image if isinstance(given_image, str) else ""
        custom = item.get("custom")
        card = None
        if isinstance(custom, Mapping):
            if isinstance(custom.get("card"), Mapping) and custom["card"].get("kind") in CARD_KINDS:
                card = custom["card"]
            elif isinstance(custom.get("text"), str) or custom.get("buttons"):
                text = "\n".join(filter(None, [text, custom.get("text") or ""]))
                buttons = buttons + _buttons(custom.get("buttons"))
            else:
                logger.warning("bot message with a custom payload that no channel shows: keys %s", sorted(custom))
        if text.strip() or buttons or image.strip():
            result.append(BotMessage(text=text.strip(), buttons=buttons, image=image.strip(), card=card))
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


# ---- splitting long text (LINE and SMS) -------------------------------------


def split_text(text: str, limit: int, measure=len) -> List[str]:
    """``text`` in pieces of at most ``limit``, cut at line ends, then after 。！？, then
    anywhere."""
    if measure(text) <= limit:
        return [text]
    pieces: List[str] = []
    for unit in sentence_units(text, limit, measure):
        if pieces and measure(pieces[-1] + unit) <= limit:
            pieces[-1] += unit
        else:
            pieces.append(unit)
    return [piece.strip("\n") for piece in pieces if piece.strip()]


def sentence_units(text: str, limit: int, measure) -> List[str]:
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


# ---- web -----------------------------------------------------------------------------------


def url_spans(text: str) -> List[Tuple[int, int]]:
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
    marks = [(start, end, "link") for start, end in url_spans(text)]
    marks += [
        (m.start(), m.end(), "reference")
        for m in CASE_REFERENCE.finditer(text)
        if not any(s <= m.start() < e for s, e, _ in marks)
    ]
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
