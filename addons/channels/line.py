"""LINE Messaging API channel: the webhook, its signature and its events.

- ``POST /webhooks/line/webhook``: ``X-Line-Signature`` must be base64(HMAC-SHA256(channel
  secret, raw body)), compared in constant time; otherwise 401 and nothing is processed. The
  webhook answers 200 at once and the turns run in the background, so LINE's timeout is never hit.
- The body is read by ``turns.json_object`` after the signature check: odd JSON is a 400.
- Events already handled are dropped: known by ``webhookEventId``, or when it is missing by the
  source, timestamp and message id or text; ``deliveryContext.isRedelivery`` changes nothing. The
  memory is the service database (``turns.DeliveryLog``), shared by servers and restarts. Events
  older than LINE_EVENT_MAX_AGE_S or dated in the future (a replay), and events of a channel in
  standby mode, are dropped too.
- The conversation id is ``line-`` + the group, room or user id (``turns.conversation_id``), a
  prefix that the REST channel refuses; the client of the message limits is the LINE user.
- 「配信停止」 or STOP alone becomes ``/stop_article_notices`` (``stops_notices``): the user's
  new-article notices end at once (``actions/notices.py``).
- One reply call per turn with up to 5 messages (``render_line``: text, and Flex cards for
  articles and first steps) and the buttons as quick replies. Only when the reply token cannot
  be used (rejected, or the turn outlived its window) is the answer pushed, with an
  ``X-Line-Retry-Key`` that stays the same across retries. The HTTP calls are in
  ``nettrouble.channels.line_api``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import unicodedata
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels import render, render_line, render_sms, turns
from addons.channels.messages import TEXT_ONLY
from nettrouble.channels.line_api import LineApi
from nettrouble.core.settings import settings

logger = logging.getLogger(__name__)

# LINE's clock and ours may differ a little; an event dated further ahead is not from LINE.
MAX_FUTURE_S = 300
# LINE's webhooks are a few kilobytes; anything near this is not from LINE.
MAX_BODY_BYTES = 1024 * 1024
# A reply token is valid for about a minute; after this long a push is the safe way.
REPLY_WINDOW_S = 50.0
GREETING_PAYLOAD = "/greet"
STOP_NOTICES_PAYLOAD = "/stop_article_notices"
# What the user types to stop (a vocabulary, so a set: a reading rule, not wording).
STOP_NOTICES_WORDS = {"配信停止", "はいしんていし", "stop"}


def stops_notices(text: str) -> bool:
    """Whether the message is 「配信停止」 or STOP alone (as SMS reads its keywords): it ends the
    user's new-article notices at once, whatever the classifier would make of it. 「停止」 alone
    is left to the classifier: on LINE it may answer a question (a card stopped, say)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return render_sms.keyword(text) == render_sms.STOP and any(word in folded for word in STOP_NOTICES_WORDS)


def line_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _object(value: Any) -> Dict[str, Any]:
    """A JSON object of the event, or an empty one where the event holds something else."""
    return value if isinstance(value, dict) else {}


def source_id(source: Any) -> Optional[str]:
    """The LINE id of the conversation: a group or room is one conversation; otherwise the user is."""
    if not isinstance(source, dict):
        return None
    for key in ("groupId", "roomId", "userId"):
        if isinstance(source.get(key), str) and source[key]:
            return source[key]
    return None


class LineInput(InputChannel):
    """LINE official account webhook."""

    @classmethod
    def name(cls) -> Text:
        return "line"

    def __init__(
        self,
        channel_secret: str,
        access_token: str,
        api_base: Optional[str] = None,
        reply_window_s: float = REPLY_WINDOW_S,
    ) -> None:
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.enabled = bool(channel_secret and access_token)
        self.api_base = (api_base or settings().line_api_base).rstrip("/")
        self.reply_window_s = reply_window_s
        self.seen = turns.DeliveryLog(self.name())
        self.turns = turns.UserTurns(self.name())
        self.background = turns.BackgroundTurns(self.name())

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "LineInput":
        credentials = credentials or {}
        secret = str(credentials.get("channel_secret") or "").strip()
        token = str(credentials.get("access_token") or "").strip()
        missing = [
            name for name, value in (("LINE_CHANNEL_SECRET", secret), ("LINE_CHANNEL_ACCESS_TOKEN", token)) if not value
        ]
        if missing:
            logger.warning("LINE channel off: %s not set", " / ".join(missing))
        return cls(secret, token)

    def signature_valid(self, body: bytes, signature: Optional[str]) -> bool:
        if not signature:
            return False
        # bytes: compare_digest refuses str with non-ASCII characters, which a forger may send
        return hmac.compare_digest(line_signature(self.channel_secret, body).encode(), signature.strip().encode())

    @staticmethod
    def delivery_id(event: Dict[str, Any]) -> str:
        """``webhookEventId``; without one, the source, time and content of the event."""
        event_id = event.get("webhookEventId")
        if isinstance(event_id, str) and event_id:
            return "id:" + event_id
        message, postback = _object(event.get("message")), _object(event.get("postback"))
        content = message.get("id") or message.get("text") or postback.get("data") or ""
        parts = [source_id(event.get("source")), event.get("timestamp"), event.get("type"), content]
        return "event:" + json.dumps(parts, ensure_ascii=False, default=str)

    @staticmethod
    def timely(event: Dict[str, Any], max_age_s: float) -> bool:
        """Whether the event's ``timestamp`` (ms since the epoch) is neither older than
        ``max_age_s`` nor in the future; LINE always sends one."""
        stamp = event.get("timestamp")
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
            return False
        age_s = time.time() - stamp / 1000
        return -MAX_FUTURE_S <= age_s <= max_age_s

    async def _new_events(self, events: List[Any]) -> List[Dict[str, Any]]:
        fresh = []
        max_age_s = settings().line_event_max_age_s
        for event in events:
            if not isinstance(event, dict) or event.get("mode") == "standby":
                continue
            if not self.timely(event, max_age_s):
                logger.warning(
                    "LINE %r event dropped: its timestamp is missing, too old or in the future", event.get("type")
                )
                continue
            if not await self.seen.first_time(self.delivery_id(event)):
                redelivery = (event.get("deliveryContext") or {}).get("isRedelivery")
                logger.info(
                    "LINE %r event dropped: already handled (redelivery: %s)", event.get("type"), bool(redelivery)
                )
                continue
            fresh.append(event)
        return fresh

    def blueprint(self, on_new_message: turns.OnNewMessage) -> Blueprint:
        line = Blueprint("nettrouble_line", __name__)
        self.background.attach(line)

        @line.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "off"}, status=200 if self.enabled else 503)

        @line.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.enabled:
                return response.json({"error": "LINE channel off"}, status=503)
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                return response.json({"error": "request too large"}, status=413)
            if not self.signature_valid(body, request.headers.get("x-line-signature")):
                logger.warning("LINE webhook refused: missing or wrong X-Line-Signature")
                return response.json({"error": "invalid signature"}, status=401)
            document = turns.json_object(body)
            events = document.get("events") if document is not None else None
            if not isinstance(events, list):
                return response.json({"error": "body is not a JSON object with an events list"}, status=400)
            fresh = await self._new_events(events)
            if fresh:
                self.background.start(self._handle_events(on_new_message, fresh, time.monotonic()))
            return response.json({})

        return line

    async def _handle_events(
        self, on_new_message: turns.OnNewMessage, events: List[Dict[str, Any]], received: float
    ) -> None:
        # In order: events of one delivery may be consecutive messages of the same user.
        for event in events:
            try:
                await self._handle_event(on_new_message, event, received)
            except Exception:  # noqa: BLE001 - one bad event must not cost the others their answer
                logger.exception("LINE event of type %r failed", event.get("type"))

    async def _handle_event(self, on_new_message: turns.OnNewMessage, event: Dict[str, Any], received: float) -> None:
        kind = event.get("type")
        source = _object(event.get("source"))
        line_id = source_id(source)
        if line_id is None:
            logger.warning("LINE %r event without a source: ignored", kind)
            return
        text = None
        if kind == "follow":
            text = GREETING_PAYLOAD
        elif kind == "message":
            message = _object(event.get("message"))
            if message.get("type") == "text" and isinstance(message.get("text"), str):
                text = turns.clean_text(message["text"])
                if stops_notices(text):
                    text = STOP_NOTICES_PAYLOAD
            elif message.get("type"):
                # sticker, image, video, audio, file, location, and any type LINE adds later
                await self._answer(event, line_id, [render.BotMessage(text=TEXT_ONLY)], received)
                return
        elif kind == "postback":
            postback = _object(event.get("postback"))
            if isinstance(postback.get("data"), str):
                text = turns.clean_text(postback["data"])
        if not text:
            return  # unfollow, join, leave, unsend, … : nothing to say
        # In a group the client is the member who wrote, when LINE says who; else the group.
        writer = source.get("userId")
        user = writer if isinstance(writer, str) and writer else line_id
        answer = await self.turns.answer(on_new_message, text, turns.conversation_id(self.name(), line_id), user)
        await self._answer(event, line_id, answer.messages, received)

    async def _answer(
        self, event: Dict[str, Any], line_id: str, messages: List[render.BotMessage], received: float
    ) -> None:
        payload = render_line.line_messages(messages)
        if not payload:
            return
        async with LineApi(self.access_token, self.api_base) as api:
            token = event.get("replyToken")
            if isinstance(token, str) and token and time.monotonic() - received < self.reply_window_s:
                status = await api.reply(token, payload)
                if status is not None and 200 <= status < 300:
                    return
                if status in (401, 403):
                    logger.error(
                        "LINE refused the channel access token (HTTP %s): check LINE_CHANNEL_ACCESS_TOKEN", status
                    )
                    return
                logger.warning("LINE reply failed (HTTP %s): pushing the answer instead", status)
            await api.push(line_id, payload)
