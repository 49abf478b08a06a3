"""Rasa's REST channel (POST /webhooks/rest/webhook), made safe for any input.

Same route and reply format as Rasa's own ``rest`` channel (a JSON list of messages with
``recipient_id``, ``text`` and ``buttons``), so existing clients keep working. On top of it:
malformed or odd JSON gets a 400 with a message instead of a 500; an empty message gets a polite
answer; the client's limits of ``turns.UserTurns`` apply (messages per minute per address, long
messages cut); and a turn where the bot says nothing, or the action server is down, still gives
the user the centre's phone number.

As with Rasa's channel the client chooses the sender id, so put this channel behind your own
authentication before exposing it. It cannot reach another channel's conversations: ids with a
prefix of the web chat, LINE or SMS (``web-``, ``line-``, ``sms-``, any case) are refused with a
400. Unlike Rasa's channel, a ``metadata`` field of the request is ignored: the only metadata is
the client's keyed address, which the server sets.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels import render, turns
from addons.channels.messages import (
    EMPTY,
    REST_BAD_SENDER,
    REST_NOT_AN_OBJECT,
    REST_NOT_TEXT,
    REST_OTHER_CHANNEL,
    TOO_LARGE,
)

# Requests above this are refused unread; a longer message inside it is cut (turns.UserTurns).
MAX_BODY_BYTES = 256 * 1024
MAX_SENDER_CHARS = 128


def rest_messages(sender_id: str, messages: List[render.BotMessage]) -> List[Dict[str, Any]]:
    result = []
    for message in messages:
        item: Dict[str, Any] = {"recipient_id": sender_id, "text": message.text}
        if message.buttons:
            item["buttons"] = [{"title": b.title, "payload": b.payload} for b in message.buttons]
        if message.image:
            item["image"] = message.image
        result.append(item)
    return result


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


class RestInput(RasaRestInput):
    def __init__(self) -> None:
        self.turns = turns.UserTurns(self.name())

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = Blueprint("custom_rest_webhook", __name__)

        @rest.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "too_large", TOO_LARGE)
            body = turns.json_object(request.body)
            if body is None:
                return _error(400, "bad_request", REST_NOT_AN_OBJECT)
            sender = body.get("sender")
            if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
                return _error(400, "bad_sender", REST_BAD_SENDER.format(limit=MAX_SENDER_CHARS))
            if turns.in_another_channel(sender):
                return _error(400, "bad_sender", REST_OTHER_CHANNEL)
            message = body.get("message")
            if not isinstance(message, str):
                return _error(400, "no_message", REST_NOT_TEXT)
            text = turns.clean_text(message)
            if not text:
                return response.json(rest_messages(sender, [render.BotMessage(text=EMPTY)]))
            answer = await self.turns.answer(on_new_message, text, sender, turns.client_address(request))
            return response.json(rest_messages(sender, answer.messages))

        return rest
