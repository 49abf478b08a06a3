"""LINE message objects for one reply call: at most 5 of them, text of at most 5,000
characters, the turn's buttons as quick replies (at most 13 items, labels of at most 20
characters)."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Sequence

from addons.channels import render

logger = logging.getLogger(__name__)

LINE_MAX_MESSAGES = 5
LINE_MAX_TEXT = 5000
LINE_MAX_QUICK_REPLIES = 13
LINE_MAX_LABEL = 20
LINE_MAX_POSTBACK_DATA = 300


def _label(title: str) -> str:
    return title if len(title) <= LINE_MAX_LABEL else title[: LINE_MAX_LABEL - 1] + "…"


def _quick_reply_item(button: render.Button) -> Dict[str, Any]:
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


def line_messages(messages: Sequence[render.BotMessage]) -> List[Dict[str, Any]]:
    """The LINE message objects of one reply call (1 to 5 of them; empty only for no
    messages)."""
    result: List[Dict[str, Any]] = []
    for message in messages:
        for piece in render.split_text(message.text, LINE_MAX_TEXT) if message.text else []:
            result.append({"type": "text", "text": piece})
        if message.image.startswith("https://"):
            result.append({"type": "image", "originalContentUrl": message.image,
                           "previewImageUrl": message.image})
        elif message.image:
            result.append({"type": "text", "text": message.image})
    buttons = render.turn_buttons(messages)
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


