"""The web chat: a page served by the Rasa server itself, and the JSON endpoints it talks to.

    GET  /webhooks/web/                 the page (no external assets)
    GET  /webhooks/web/static/<file>    its script and style sheet
    GET  /webhooks/web/launcher.js      the script a site page includes to open the page in a frame
    POST /webhooks/web/session          a new conversation: {"token"}
    POST /webhooks/web/webhook          {"token", "message"} -> {"accepted", "messages"}
    GET  /webhooks/web/history?token=   the conversation so far, from the tracker store

The server issues every sender id and signs it (HMAC-SHA256 with WEB_CHAT_SECRET); the token
is ``<id>.<signature>``. A client can only write into a conversation whose token it was given.
The conversation id is ``web-<id>`` (``turns.conversation_id``), a prefix that the REST channel
refuses, so no other channel can write into a web chat conversation.

Bodies are read by ``turns.json_object`` (odd JSON: 400); the client is the connecting address
(``turns.client_address``), limited in messages per minute, and long messages are cut
(``turns.UserTurns``). A message that was not read comes back with ``accepted: false`` and the
page gives the text back to the input.

Only the page may be framed, and only by the site origins of WEB_CHAT_ALLOWED_ORIGINS (its
``frame-ancestors``); with none it is unframable like every other answer. An entry that is not a
plain origin stops the server at start (``allowed_origins``), so that no value can add a
directive to the policy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels import render, turns
from addons.channels.messages import FILE_NOT_FOUND, MALFORMED, NO_MESSAGE, SESSION_UNKNOWN, TOO_LARGE, WEB_CHAT_OFF
from nettrouble.core.settings import settings

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "web_static"
STATIC_TYPES = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8"}
# Requests above this are refused unread; a longer message inside it is cut (turns.UserTurns).
MAX_BODY_BYTES = 64 * 1024
HISTORY_LIMIT = 200
# The page opens a conversation by sending this without showing it; history hides it too.
GREETING_PAYLOAD = "/greet"
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")

# The script a site's pages include; it finds the page to frame from its own address.
LAUNCHER = "launcher.js"
# Replaced when launcher.js is served: the centre's number, shown when the frame cannot show the chat.
CENTRE_MARKER = b'"__CENTRE_LINE__"'
# The launcher's address never changes between releases: browsers keep it an hour, then revalidate.
LAUNCHER_MAX_AGE_S = 3600


def content_security_policy(frame_ancestors: str) -> str:
    # Everything the page needs comes from this server; bot images may be any https address.
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; "
        f"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {frame_ancestors}"
    )


# Every answer but the page: never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy("'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def page_headers(origins: Tuple[str, ...]) -> Dict[str, str]:
    """The page's headers: framable by ``origins`` only, by nobody when there are none."""
    if not origins:
        return SECURITY_HEADERS
    headers = {name: value for name, value in SECURITY_HEADERS.items() if name != "X-Frame-Options"}
    headers["Content-Security-Policy"] = content_security_policy(" ".join(origins))
    return headers


@lru_cache(maxsize=None)
def _static(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


@lru_cache(maxsize=1)
def launcher_script() -> Tuple[bytes, str]:
    """launcher.js with the sentence that gives the centre's number (business/service.yml), and
    its ETag."""
    # A JSON string is a JavaScript string literal.
    centre = json.dumps(turns.urgent_call_line(), ensure_ascii=False).encode("utf-8")
    script = _static(LAUNCHER).replace(CENTRE_MARKER, centre)
    return script, '"%s"' % hashlib.sha256(script).hexdigest()[:32]


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status, headers=SECURITY_HEADERS)


class SenderTokens:
    """Issues and checks the signed sender ids of the web chat."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode("utf-8")

    def _signature(self, sender: str) -> str:
        digest = hmac.new(self._key, b"web-sender:" + sender.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def issue(self) -> str:
        sender = secrets.token_urlsafe(18)
        return f"{sender}.{self._signature(sender)}"

    def sender_id(self, token: Any) -> Optional[str]:
        """The sender id a token stands for, or None when it is missing, malformed or forged."""
        if not isinstance(token, str) or len(token) > 200 or token.count(".") != 1:
            return None
        sender, signature = token.split(".")
        if not _ID.fullmatch(sender):
            return None
        if not hmac.compare_digest(self._signature(sender).encode(), signature.encode()):
            return None
        return turns.conversation_id("web", sender)


def history_entries(events: List[Any]) -> List[Dict[str, Any]]:
    """User and bot messages for the page, newest last. A button press is stored as its
    payload: it is shown with the title the user saw. The page's hidden greeting is left out."""
    entries: List[Dict[str, Any]] = []
    titles: Dict[str, str] = {}
    for event in events:
        if isinstance(event, UserUttered) and event.text and event.text != GREETING_PAYLOAD:
            entries.append({"from": "user", "text": titles.get(event.text, event.text)})
            titles = {}
        elif isinstance(event, BotUttered):
            message = turns.bot_message_of(event)
            if message.text or message.buttons or message.image:
                entries.append(render.web_message(message))
                titles.update({b.payload: b.title for b in message.buttons})
    return entries[-HISTORY_LIMIT:]


class WebChatInput(InputChannel):
    """The website's chat page and its endpoints."""

    @classmethod
    def name(cls) -> Text:
        return "web"

    def __init__(self, secret: str, origins: Tuple[str, ...] = ()) -> None:
        self.tokens = SenderTokens(secret) if secret else None
        self.turns = turns.UserTurns(self.name())
        self.page_headers = page_headers(origins)

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WebChatInput":
        secret = str((credentials or {}).get("secret") or "").strip()
        if not secret:
            logger.warning("Web chat off: WEB_CHAT_SECRET not set")
        # Checked even with the channel off: a wrong value is found at start, not when it is switched on.
        return cls(secret, settings().web_chat_allowed_origins)

    def _tokens(self) -> SenderTokens:
        # Never None in a route: the switched_off middleware answers every request then.
        if self.tokens is None:
            raise RuntimeError("the web chat is off")
        return self.tokens

    def blueprint(self, on_new_message: turns.OnNewMessage) -> Blueprint:
        web = Blueprint("nettrouble_web_chat", __name__)

        @web.middleware("request")
        async def switched_off(request: Request) -> Optional[HTTPResponse]:
            if self.tokens is None:
                return _error(503, "channel_off", WEB_CHAT_OFF)
            return None

        @web.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            # Relative addresses in the page need the trailing slash.
            if not request.path.endswith("/"):
                return response.redirect(request.path + "/", status=308)
            return response.raw(
                _static("index.html"), content_type="text/html; charset=utf-8", headers=self.page_headers
            )

        @web.route(f"/{LAUNCHER}", methods=["GET"])
        async def launcher(request: Request) -> HTTPResponse:
            script, etag = launcher_script()
            headers = dict(
                SECURITY_HEADERS,
                **{
                    "Cache-Control": f"public, max-age={LAUNCHER_MAX_AGE_S}",
                    "ETag": etag,
                    # Loaded by the site's pages, including ones that isolate themselves (COEP).
                    "Cross-Origin-Resource-Policy": "cross-origin",
                },
            )
            if request.headers.get("if-none-match") == etag:
                return response.empty(status=304, headers=headers)
            return response.raw(script, content_type="text/javascript; charset=utf-8", headers=headers)

        @web.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            if name not in STATIC_TYPES:
                return _error(404, "not_found", FILE_NOT_FOUND)
            return response.raw(_static(name), content_type=STATIC_TYPES[name], headers=SECURITY_HEADERS)

        @web.route("/session", methods=["POST"])
        async def session(request: Request) -> HTTPResponse:
            return response.json({"token": self._tokens().issue()}, headers=SECURITY_HEADERS)

        @web.route("/history", methods=["GET"])
        async def history(request: Request) -> HTTPResponse:
            sender_id = self._tokens().sender_id(request.args.get("token"))
            if sender_id is None:
                return _error(401, "bad_token", SESSION_UNKNOWN)
            events = await turns.recorded_events(request.app.ctx.agent, sender_id)
            return response.json({"messages": history_entries(events)}, headers=SECURITY_HEADERS)

        @web.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "too_large", TOO_LARGE)
            body = turns.json_object(request.body)
            if body is None:
                return _error(400, "bad_request", MALFORMED)
            sender_id = self._tokens().sender_id(body.get("token"))
            if sender_id is None:
                return _error(401, "bad_token", SESSION_UNKNOWN)
            if not isinstance(body.get("message"), str):
                return _error(400, "no_message", NO_MESSAGE)
            text = turns.clean_text(body["message"])
            if not text:
                return _error(400, "no_message", NO_MESSAGE)
            answer = await self.turns.answer(on_new_message, text, sender_id, turns.client_address(request))
            return response.json(
                {"accepted": answer.read, "messages": render.web_messages(answer.messages)}, headers=SECURITY_HEADERS
            )

        return web
