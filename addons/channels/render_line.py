"""LINE message objects for one reply call: text, Flex cards for articles and first steps, and
the turn's buttons as quick replies on the last message.

The Messaging API's documented limits, kept here and checked by ``reply_problems`` (the
reference, https://developers.line.biz/en/reference/messaging-api/):
- at most 5 message objects per reply or push ("messages", Max: 5);
- text messages of at most 5,000 characters; Flex ``altText`` of at most 1,500 characters, both
  counted in UTF-16 code units ("Character counting in a text");
- a carousel holds at most 12 bubbles; the JSON of a bubble is at most 30 KB, of a carousel 50 KB;
- quick replies hold at most 13 items; action labels are counted in grapheme clusters: quick
  replies and rich menus take 20, Flex buttons 40, and the cards keep to 20 like everything else
  (issue 16); postback data at most 300 characters;
- a URI action's ``uri`` is at most 1,000 characters with the scheme http, https, line or tel.

A card that cannot be drawn within these limits, or that is malformed, is sent as its text,
which always says the same (``render.BotMessage.card``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence
from urllib.parse import quote, urlsplit

from addons.channels import render
from addons.channels.messages import (
    LINE_ARTICLE_LIST,
    LINE_CALL,
    LINE_CALL_NUMBER,
    LINE_CHOOSE,
    LINE_FREE_UNTIL,
    LINE_LIST_HINT,
    LINE_LIST_MEMBERS_NOTE,
    LINE_LIST_TITLE,
    LINE_MEMBERS_ONLY,
    LINE_MORE_CHOICE,
    LINE_READ,
    LINE_REFERRAL,
    LINE_REFERRAL_HOURS,
    LINE_REFERRALS_HEADING,
    LINE_REFERRALS_TITLE,
    LINE_STEPS_TITLE,
    LINE_WEBSITE,
)

logger = logging.getLogger(__name__)

LINE_MAX_MESSAGES = 5
LINE_MAX_TEXT = 5000
LINE_MAX_ALT_TEXT = 1500
LINE_MAX_QUICK_REPLIES = 13
LINE_MAX_LABEL = 20
LINE_MAX_POSTBACK_DATA = 300
LINE_MAX_BUBBLES = 12
LINE_MAX_BUBBLE_BYTES = 30 * 1024
LINE_MAX_CAROUSEL_BYTES = 50 * 1024
LINE_MAX_URI = 1000
LINE_URI_SCHEMES = ("http", "https", "line", "tel")

# Colours of the cards: dark text on white, each pair at least 4.5:1 (WCAG AA).
INK = "#1F2933"
MUTED = "#52606D"
FREE_COLOUR = "#1B6E3A"
MEMBERS_COLOUR = "#8A4B08"
BUTTON_COLOUR = "#0B5CAD"


def utf16_length(text: str) -> int:
    """LINE's count of characters in a text: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _label(title: str) -> str:
    return title if len(title) <= LINE_MAX_LABEL else title[: LINE_MAX_LABEL - 1] + "…"


def alt_text(text: str) -> str:
    """``text`` within the altText limit, cut with an ellipsis when longer."""
    if utf16_length(text) <= LINE_MAX_ALT_TEXT:
        return text
    cut = LINE_MAX_ALT_TEXT - 1
    while utf16_length(text[:cut]) > LINE_MAX_ALT_TEXT - 1:
        cut -= 1
    return text[:cut] + "…"


def tel_uri(phone: str) -> str:
    """``tel:`` + the number without its visual separators. ``#`` is percent-encoded: in a URI it
    starts the fragment (RFC 3986 section 3.5), so an unencoded 「#9110」 would dial nothing; RFC
    3966 allows it in a local number only escaped, and LINE wants URIs percent-encoded (RFC 3986)."""
    digits = "".join(character for character in phone if character not in "- ()（）")
    return "tel:" + quote(digits, safe="+")


# ---- Flex components ------------------------------------------------------------------------


def _text(text: str, **style: Any) -> Dict[str, Any]:
    return {"type": "text", "text": text, "wrap": True, **style}


def _uri_button(label: str, uri: str, style: str = "primary") -> Dict[str, Any]:
    button = {
        "type": "button",
        "style": style,
        "height": "sm",
        "action": {"type": "uri", "label": _label(label), "uri": uri},
    }
    if style == "primary":
        button["color"] = BUTTON_COLOUR
    return button


def _box(contents: List[Dict[str, Any]], layout: str = "vertical", **style: Any) -> Dict[str, Any]:
    return {"type": "box", "layout": layout, "contents": contents, **style}


def _bubble(
    body: List[Dict[str, Any]], footer: Optional[List[Dict[str, Any]]] = None, header: Optional[str] = None
) -> Dict[str, Any]:
    bubble: Dict[str, Any] = {"type": "bubble"}
    if header:
        bubble["header"] = _box([_text(header, weight="bold", size="md", color=INK)])
    bubble["body"] = _box(body, spacing="md")
    if footer:
        bubble["footer"] = _box(footer, spacing="sm")
    return bubble


def _flex(alt: str, contents: Dict[str, Any]) -> Dict[str, Any]:
    return {"type": "flex", "altText": alt_text(alt), "contents": contents}


def _web_uri(value: Any) -> Optional[str]:
    """An https address that fits a URI action, else None (the card then goes as text)."""
    if isinstance(value, str) and value.startswith("https://") and len(value) <= LINE_MAX_URI:
        return value
    return None


def _words(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


# ---- articles: a carousel, one bubble per article and one for the list --------------------


def free_label(free_until: Optional[str]) -> str:
    """「無料：12月31日まで」 for an article free until that day (ISO date), else 「会員向け」."""
    if not free_until:
        return LINE_MEMBERS_ONLY
    last_day = date.fromisoformat(free_until)
    return LINE_FREE_UNTIL.format(month=last_day.month, day=last_day.day)


def _article_bubble(article: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    title, summary, url = _words(article.get("title")), _words(article.get("summary")), _web_uri(article.get("url"))
    free_until = article.get("free_until")
    if title is None or summary is None or url is None or not (free_until is None or isinstance(free_until, str)):
        return None
    try:
        label = free_label(free_until)
    except ValueError:
        return None
    colour = FREE_COLOUR if free_until else MEMBERS_COLOUR
    return _bubble(
        [
            _text(label, size="xs", weight="bold", color=colour),
            _text(title, weight="bold", size="md", color=INK, maxLines=4),
            _text(summary, size="sm", color=MUTED, maxLines=5),
        ],
        [_uri_button(LINE_READ, url)],
    )


def articles_flex(card: Mapping[str, Any], text: str) -> Optional[Dict[str, Any]]:
    """A carousel of the articles (at most 11) and a last bubble with the list of all
    articles; None when the card is malformed."""
    found = card.get("articles")
    if not isinstance(found, list) or not found or not all(isinstance(a, Mapping) for a in found):
        return None
    bubbles = [_article_bubble(article) for article in found[: LINE_MAX_BUBBLES - 1]]
    if any(bubble is None for bubble in bubbles):
        return None
    more = _web_uri(card.get("more_url"))
    if more is not None:
        body = [
            _text(LINE_LIST_TITLE, weight="bold", size="md", color=INK),
            _text(LINE_LIST_HINT, size="sm", color=MUTED),
        ]
        if any(not article.get("free_until") for article in found):
            body.append(_text(LINE_LIST_MEMBERS_NOTE, size="sm", color=MUTED))
        bubbles.append(_bubble(body, [_uri_button(LINE_ARTICLE_LIST, more, style="secondary")]))
    return _flex(text, {"type": "carousel", "contents": bubbles})


# ---- first steps and public bodies: two bubbles -----------------------------------------


def _steps_bubble(steps: List[str]) -> Dict[str, Any]:
    rows = [
        _box(
            [
                _text(f"{number}.", flex=0, size="sm", color=INK, weight="bold"),
                _text(step, flex=1, size="sm", color=INK),
            ],
            layout="baseline",
            spacing="sm",
        )
        for number, step in enumerate(steps, 1)
    ]
    return _bubble(rows, header=LINE_STEPS_TITLE)


def _call_label(phone: str) -> str:
    label = LINE_CALL_NUMBER.format(phone=phone)
    return label if len(label) <= LINE_MAX_LABEL else LINE_CALL


def _referral_row(referral: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    name, purpose, hours = (_words(referral.get(key)) for key in ("name", "purpose", "hours"))
    phone, url = _words(referral.get("phone")), _web_uri(referral.get("url"))
    if name is None or purpose is None or hours is None or (phone is None and url is None):
        return None
    contents = [
        _text(name, weight="bold", size="sm", color=INK),
        _text(purpose, size="xs", color=MUTED),
        _text(LINE_REFERRAL_HOURS.format(hours=hours), size="xs", color=MUTED),
    ]
    if phone is not None:
        contents.append(_uri_button(_call_label(phone), tel_uri(phone)))
    elif url is not None:  # a row has a number or an address (checked above)
        contents.append(_uri_button(LINE_WEBSITE, url, style="secondary"))
    return _box(contents, spacing="xs")


def guidance_flex(card: Mapping[str, Any]) -> Optional[List[Dict[str, Any]]]:
    """A bubble of the first steps, and one of the public bodies with a call button for each
    that has a number (a website button otherwise); None when the card is malformed. Each
    altText is the content of its bubble in words, numbers included."""
    steps, referrals = card.get("steps"), card.get("referrals")
    if not isinstance(steps, list) or not steps or not all(_words(step) for step in steps):
        return None
    if not isinstance(referrals, list) or not all(isinstance(r, Mapping) for r in referrals):
        return None
    steps = [step.strip() for step in steps]
    result = [
        _flex("\n".join([LINE_STEPS_TITLE] + [f"{n}. {step}" for n, step in enumerate(steps, 1)]), _steps_bubble(steps))
    ]
    if referrals:
        rows = [row for row in (_referral_row(referral) for referral in referrals) if row is not None]
        if len(rows) != len(referrals):
            return None
        body: List[Dict[str, Any]] = []
        for row in rows:
            if body:
                body.append({"type": "separator"})
            body.append(row)
        lines = [
            LINE_REFERRAL.format(
                name=r["name"].strip(), contact=_words(r.get("phone")) or r["url"], hours=r["hours"].strip()
            )
            for r in referrals
        ]
        result.append(_flex("\n".join([LINE_REFERRALS_HEADING] + lines), _bubble(body, header=LINE_REFERRALS_TITLE)))
    return result


def card_messages(message: render.BotMessage) -> Optional[List[Dict[str, Any]]]:
    """The Flex messages of a message's card, or None when it is to go as text (no card, a
    malformed one, or one past LINE's limits)."""
    card = message.card
    if card is None:
        return None
    if card.get("kind") == "articles":
        flex = articles_flex(card, message.text)
        drawn = [flex] if flex is not None else None
    elif card.get("kind") == "guidance":
        drawn = guidance_flex(card)
    else:
        drawn = None
    if drawn is None:
        logger.warning("LINE %r card malformed: sent as text", card.get("kind"))
        return None
    problems = [problem for flex in drawn for problem in flex_problems(flex)]
    if problems:
        logger.warning("LINE %r card past LINE's limits (%s): sent as text", card.get("kind"), "; ".join(problems))
        return None
    return drawn


# ---- the limits, checked ------------------------------------------------------------------


def _actions(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "action" and isinstance(item, Mapping):
                yield item
            else:
                yield from _actions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _actions(item)


def _components(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        yield value
        for item in value.values():
            yield from _components(item)
    elif isinstance(value, list):
        for item in value:
            yield from _components(item)


def action_problems(action: Mapping[str, Any]) -> List[str]:
    problems = []
    label = action.get("label")
    if label is not None and (not isinstance(label, str) or not label or len(label) > LINE_MAX_LABEL):
        problems.append(f"action label {label!r} is not 1 to {LINE_MAX_LABEL} characters")
    if action.get("type") == "uri":
        uri = action.get("uri")
        if not isinstance(uri, str) or len(uri) > LINE_MAX_URI or urlsplit(uri).scheme not in LINE_URI_SCHEMES:
            problems.append(f"uri {uri!r} is not an http, https, line or tel URI of at most {LINE_MAX_URI} characters")
        elif uri.startswith("tel:") and "#" in uri:
            problems.append(f"uri {uri!r}: '#' must be percent-encoded")
    if action.get("type") == "postback" and len(str(action.get("data", ""))) > LINE_MAX_POSTBACK_DATA:
        problems.append(f"postback data longer than {LINE_MAX_POSTBACK_DATA} characters")
    return problems


def flex_problems(message: Mapping[str, Any]) -> List[str]:
    """Where a Flex message breaks LINE's documented limits (empty when it keeps them)."""
    problems = []
    alt = message.get("altText")
    if not isinstance(alt, str) or not alt.strip() or utf16_length(alt) > LINE_MAX_ALT_TEXT:
        problems.append(f"altText missing or longer than {LINE_MAX_ALT_TEXT} characters")
    contents = message.get("contents")
    if not isinstance(contents, Mapping) or contents.get("type") not in ("bubble", "carousel"):
        return problems + ["contents is not a bubble or a carousel"]
    bubbles: Any = contents.get("contents") if contents["type"] == "carousel" else [contents]
    if contents["type"] == "carousel":
        if not isinstance(bubbles, list) or not 1 <= len(bubbles) <= LINE_MAX_BUBBLES:
            return problems + [f"a carousel holds 1 to {LINE_MAX_BUBBLES} bubbles"]
        if json_size(contents) > LINE_MAX_CAROUSEL_BYTES:
            problems.append(f"carousel JSON larger than {LINE_MAX_CAROUSEL_BYTES} bytes")
    for bubble in bubbles:
        if not isinstance(bubble, Mapping) or bubble.get("type") != "bubble":
            problems.append("a carousel item is not a bubble")
        elif json_size(bubble) > LINE_MAX_BUBBLE_BYTES:
            problems.append(f"bubble JSON larger than {LINE_MAX_BUBBLE_BYTES} bytes")
    for component in _components(contents):
        if component.get("type") == "text" and not _words(component.get("text")):
            problems.append("a text component without text")
    for action in _actions(contents):
        problems += action_problems(action)
    return problems


def reply_problems(messages: Sequence[Mapping[str, Any]]) -> List[str]:
    """Where the messages of one reply call break LINE's documented limits (empty when they
    keep them)."""
    problems = []
    if not 1 <= len(messages) <= LINE_MAX_MESSAGES:
        problems.append(f"{len(messages)} messages: a reply holds 1 to {LINE_MAX_MESSAGES}")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if message.get("type") == "text":
            if not _words(message.get("text")) or utf16_length(message["text"]) > LINE_MAX_TEXT:
                problems.append(f"{where}: text empty or longer than {LINE_MAX_TEXT} characters")
        elif message.get("type") == "flex":
            problems += [f"{where}: {problem}" for problem in flex_problems(message)]
        items = (message.get("quickReply") or {}).get("items", [])
        if len(items) > LINE_MAX_QUICK_REPLIES:
            problems.append(f"{where}: more than {LINE_MAX_QUICK_REPLIES} quick replies")
        if "quickReply" in message and index != len(messages) - 1:
            problems.append(f"{where}: quick replies only show on the last message")
        for item in items:
            problems += [f"{where} quick reply: {problem}" for problem in action_problems(item.get("action", {}))]
    return problems


# ---- one reply call -------------------------------------------------------------------------


def _quick_reply_item(button: render.Button) -> Dict[str, Any]:
    if len(button.payload) <= LINE_MAX_POSTBACK_DATA:
        action = {
            "type": "postback",
            "label": _label(button.title),
            "data": button.payload,
            "displayText": button.title[:300],
        }
    else:
        # Too long for postback data: the title itself goes to the bot as the user's text.
        action = {"type": "message", "label": _label(button.title), "text": button.title[:300]}
    return {"type": "action", "action": action}


@dataclass
class _Drawn:
    """A message of the reply; ``card`` numbers the card it belongs to (None for text)."""

    message: Dict[str, Any]
    card: Optional[int] = None


def _text_messages(text: str) -> List[Dict[str, Any]]:
    return [{"type": "text", "text": piece} for piece in render.split_text(text, LINE_MAX_TEXT)] if text else []


def _pack_line(drawn: List[_Drawn], card_texts: Mapping[int, str]) -> List[Dict[str, Any]]:
    """At most 5 messages: the shortest neighbouring texts are merged first; then a card goes
    as its text (the last card first), which may merge in turn; only then is the end cut."""
    drawn = list(drawn)
    while len(drawn) > LINE_MAX_MESSAGES:
        best = None
        for index in range(len(drawn) - 1):
            first, second = drawn[index].message, drawn[index + 1].message
            if first["type"] == second["type"] == "text":
                size = len(first["text"]) + 2 + len(second["text"])
                if size <= LINE_MAX_TEXT and (best is None or size < best[1]):
                    best = (index, size)
        if best is not None:
            index = best[0]
            merged = {"type": "text", "text": drawn[index].message["text"] + "\n\n" + drawn[index + 1].message["text"]}
            drawn[index : index + 2] = [_Drawn(merged)]
            continue
        cards = [item.card for item in drawn if item.card is not None]
        if cards:
            card = cards[-1]
            start = next(index for index, item in enumerate(drawn) if item.card == card)
            rest = [item for item in drawn[start:] if item.card != card]
            drawn = drawn[:start] + [_Drawn(m) for m in _text_messages(card_texts[card])] + rest
            continue
        logger.warning("LINE reply too long for one call: %d messages cut to %d", len(drawn), LINE_MAX_MESSAGES)
        drawn = drawn[:LINE_MAX_MESSAGES]
    return [item.message for item in drawn]


def line_messages(messages: Sequence[render.BotMessage]) -> List[Dict[str, Any]]:
    """The LINE message objects of one reply call (1 to 5 of them; empty only for no
    messages)."""
    drawn: List[_Drawn] = []
    card_texts: Dict[int, str] = {}
    for message in messages:
        cards = card_messages(message)
        if cards is not None:
            card_texts[len(card_texts)] = message.text
            drawn += [_Drawn(flex, len(card_texts) - 1) for flex in cards]
        else:
            drawn += [_Drawn(m) for m in _text_messages(message.text)]
        if message.image.startswith("https://"):
            drawn.append(
                _Drawn({"type": "image", "originalContentUrl": message.image, "previewImageUrl": message.image})
            )
        elif message.image:
            drawn.append(_Drawn({"type": "text", "text": message.image}))
    buttons = render.turn_buttons(messages)
    shown, overflow = buttons[:LINE_MAX_QUICK_REPLIES], buttons[LINE_MAX_QUICK_REPLIES:]
    if overflow:
        # Quick replies hold 13 items: the rest are listed so the user can type them.
        drawn.append(
            _Drawn({"type": "text", "text": "\n".join(LINE_MORE_CHOICE.format(title=b.title) for b in overflow)})
        )
    if shown and not drawn:
        drawn.append(_Drawn({"type": "text", "text": LINE_CHOOSE}))
    result = _pack_line(drawn, card_texts)
    if shown:
        result[-1] = dict(result[-1], quickReply={"items": [_quick_reply_item(b) for b in shown]})
    return result
