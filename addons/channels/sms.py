"""SMS channel with a webhook in Twilio's format.

- ``POST /webhooks/sms/webhook`` takes Twilio's form post (From, To, Body, MessageSid, …).
  ``X-Twilio-Signature`` is checked by the ``twilio`` package's ``RequestValidator`` against
  SMS_PUBLIC_URL (configuration, because a proxy changes the URL the server sees); otherwise 403
  and nothing is processed.
- A signed request without ``MessageSid`` is refused (400). A ``MessageSid`` already handled (a
  replayed request: Twilio's signature carries no time) is dropped; the memory is the service
  database (``turns.DeliveryLog``), shared by servers and restarts.
- The webhook answers with an empty TwiML ``<Response/>`` at once; the turn runs in the
  background and the answer goes out through an ``SmsProvider``.
- Buttons become a numbered menu; a reply of 「1」 (or 「１」) sends that button's payload. The
  menu is read back from the conversation in the tracker store, so it survives restarts and
  works with several servers.
- The phone number is never logged and is not the conversation id: that is ``sms-`` + a keyed
  hash (``turns.conversation_id``), a prefix that the REST channel refuses. The sender's number
  is the client of the message limits, and for a Japanese mobile number the message metadata
  carries its person key (``limits.SENDER_PERSON_KEY``): the free-consultation check uses it to
  see that a number typed in an SMS conversation is the sender's own.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, Dict, List, Optional, Text, Tuple
from urllib.parse import parse_qsl

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from addons.channels import render, render_sms, turns
from nettrouble import identity, limits
from nettrouble.sms_providers import SmsProvider, SmsSendError, TwilioSmsProvider
from nettrouble.settings import settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
EMPTY_MESSAGE = "メッセージの内容が届いていないようです。お手数ですが、お困りのことを文字でお送りください。"


class _Form(dict):
    """POST parameters as RequestValidator reads them: every value of a repeated name."""

    def getall(self, name: str) -> List[str]:
        return self[name]


def _form(params: List[Tuple[str, str]]) -> _Form:
    form = _Form()
    for name, value in params:
        form.setdefault(name, []).append(value)
    return form


def sender_person_key(phone: str) -> Optional[str]:
    """The person key of the sender's number when it is a Japanese mobile number, else None."""
    try:
        national = identity.normalise(phone)
    except identity.InvalidNumber:
        return None
    return identity.key_for(national, settings().require("person_key_secret"))


class SmsInput(InputChannel):
    """Two-way SMS."""

    @classmethod
    def name(cls) -> Text:
        return "sms"

    def __init__(self, auth_token: str, public_url: str, provider: Optional[SmsProvider]) -> None:
        self.auth_token = auth_token
        self.public_url = public_url
        self.provider = provider
        self.enabled = bool(auth_token and public_url and provider is not None)
        self.validator = RequestValidator(auth_token)
        self.seen = turns.DeliveryLog(self.name())
        self.turns = turns.UserTurns(self.name())
        self.background = turns.BackgroundTurns(self.name())

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "SmsInput":
        credentials = credentials or {}
        current = settings()
        sid = str(credentials.get("account_sid") or "").strip()
        token = str(credentials.get("auth_token") or "").strip()
        missing = [name for name, value in (
            ("TWILIO_ACCOUNT_SID", sid), ("TWILIO_AUTH_TOKEN", token),
            ("SMS_PUBLIC_URL", current.sms_public_url), ("SMS_FROM_NUMBER", current.sms_from_number),
        ) if not value]
        if missing:
            logger.warning("SMS channel off: %s not set", " / ".join(missing))
            return cls("", "", None)
        provider = TwilioSmsProvider(sid, token, current.sms_from_number, current.sms_api_base)
        return cls(token, current.sms_public_url, provider)

    def signature_valid(self, params: List[Tuple[str, str]], signature: Optional[str]) -> bool:
        if not signature:
            return False
        return self.validator.validate(self.public_url, _form(params), signature.strip())

    def sender_id(self, phone: str) -> str:
        """The conversation id of a phone number: keyed, so the number is in no log or store."""
        digest = hmac.new(self.auth_token.encode("utf-8"), b"sms-sender:" + phone.encode("utf-8"),
                          hashlib.sha256).hexdigest()
        return turns.conversation_id(self.name(), digest[:32])

    def blueprint(self, on_new_message: turns.OnNewMessage) -> Blueprint:
        sms = Blueprint("nettrouble_sms", __name__)
        self.background.attach(sms)

        @sms.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "off"}, status=200 if self.enabled else 503)

        @sms.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.enabled:
                return response.text("SMS channel off", status=503)
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                return response.text("request too large", status=413)
            try:
                params = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                params = None
            if params is None or not self.signature_valid(params, request.headers.get("x-twilio-signature")):
                logger.warning("SMS webhook refused: missing or wrong X-Twilio-Signature")
                return response.text("invalid signature", status=403)
            fields = dict(params)
            message_sid = fields.get("MessageSid") or ""
            if not message_sid:
                logger.warning("SMS webhook refused: signed, but without a MessageSid")
                return response.text("MessageSid missing", status=400)
            if not await self.seen.first_time(message_sid):
                logger.info("SMS %s dropped: already handled", message_sid)
            elif not fields.get("From"):
                logger.warning("SMS %s without a sender: ignored", message_sid)
            else:
                has_media = fields.get("NumMedia", "0").strip() not in ("", "0")
                self.background.start(self._answer(
                    on_new_message, request.app.ctx.agent, fields["From"], fields.get("Body") or "", has_media,
                ))
            return response.text(EMPTY_TWIML, content_type="text/xml; charset=utf-8")

        return sms

    async def _answer(self, on_new_message: turns.OnNewMessage, agent: Any, phone: str, body: str,
                      has_media: bool) -> None:
        sender = self.sender_id(phone)
        text = turns.clean_text(body)
        if not text:
            messages = [render.BotMessage(text=turns.TEXT_ONLY if has_media else EMPTY_MESSAGE)]
        else:
            person_key = sender_person_key(phone)
            answer = await self.turns.answer(
                on_new_message, await self._chosen(agent, sender, text), sender, phone,
                {limits.SENDER_PERSON_KEY: person_key} if person_key else None,
            )
            messages = answer.messages
        for part in render_sms.sms_texts(messages):
            try:
                await self.provider.send(phone, part)
            except SmsSendError as error:
                # The later parts would make no sense without this one.
                logger.error("SMS answer not delivered to conversation %s: %s", sender, error)
                return

    async def _chosen(self, agent: Any, sender: str, text: str) -> str:
        """The payload of the menu entry a reply such as 「1」 picks, else the text itself."""
        if not (text.isascii() and text.isdigit()):
            return text
        menu = render.turn_buttons(turns.last_bot_turn(await turns.recorded_events(agent, sender)))
        choice = render_sms.menu_choice(text, menu)
        return choice.payload if choice else text
