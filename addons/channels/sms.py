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
- One body per turn (``render_sms.sms_bodies``), more only past the provider's body limit;
  links only to our own site and *.go.jp (README "SMS").
- Segments are counted per turn (metrics ``nettrouble_sms_*``) and per conversation
  (``nettrouble.channels.sms_usage``, a conversation being a Rasa session). An answer that would take the
  conversation past SMS_SEGMENT_BUDGET is replaced by a short notice with the phone number and
  the web chat address; the turn itself still runs in Rasa, so nothing the user said is lost.
  Never replaced: an answer with a case reference or a helpline number, the answer to a message
  that signals danger or self-harm, and the answers to HELP, STOP and START.
- 「ヘルプ」/HELP, 「停止」/STOP and 「開始」/START are answered here, before Rasa; STOP is
  recorded (``sms_usage.is_opted_out``) and stops only what we would send on our own initiative
  (new-article notices: ``nettrouble.notices``, which START lets go out again).
- A turn that subscribed the conversation to new-article notices gets the sender's number kept,
  sealed, on the subscription (``NoticeNumbers``): the one copy of it, needed to send.
- The phone number is never logged and is not the conversation id: that is ``sms-`` + a keyed
  hash (``turns.conversation_id``), a prefix that the REST channel refuses. The sender's number
  is the client of the message limits, and for a Japanese mobile number the message metadata
  carries its person key (``limits.SENDER_PERSON_KEY``): the free-consultation check uses it to
  see that a number typed in an SMS conversation is the sender's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import timedelta
from typing import Any, Dict, List, Optional, Text, Tuple
from urllib.parse import parse_qsl

from rasa.core.channels.channel import InputChannel
from rasa.shared.core.domain import SessionConfig
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from addons.channels import render, render_sms, turns
from addons.channels.messages import SMS_EMPTY, TEXT_ONLY
from nettrouble.channels import sms_segments, sms_usage
from nettrouble.channels.sms_providers import SmsProvider, SmsSendError, TwilioSmsProvider
from nettrouble.core import db, limits
from nettrouble.core.settings import settings
from nettrouble.eligibility import identity
from nettrouble.monitoring import metrics
from nettrouble.notices import subscriptions
from nettrouble.triage import referrals, safety, urgency

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


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


def session_expiry(agent: Any) -> Optional[timedelta]:
    """Rasa's session expiry in the model's domain (which the tracker store carries); None when
    sessions never expire. An SMS conversation, and so its budget, is one Rasa session."""
    domain = getattr(getattr(agent, "tracker_store", None), "domain", None)
    minutes = (domain.session_config if domain is not None else SessionConfig.default()).session_expiration_time
    return timedelta(minutes=minutes) if minutes > 0 else None


def carries_helpline(messages: List[render.BotMessage]) -> bool:
    """Whether an answer gives the number of a body for a life in danger (business/referrals.yml):
    such an answer never loses to the budget."""
    numbers = {r.phone for r in referrals.catalogue() if r.phone and set(urgency.LIFE_THREATENING) & set(r.topics)}
    return any(number in numbers for message in messages for number in render.PHONE.findall(message.text))


class SmsUsage:
    """``nettrouble.channels.sms_usage`` in the service database, called off the event loop. While the
    database is unreachable, answers go out whatever the budget (an answer too many costs less
    than a user left without one) and STOP is not confirmed."""

    def __init__(self) -> None:
        self._database = db.LazyEngine()

    async def _call(self, function: Any, *args: Any) -> Any:
        return await asyncio.to_thread(lambda: function(self._database.get(), *args))

    async def within(self, sender: str, segments: int, expiry: Optional[timedelta]) -> bool:
        """Whether ``segments`` more keep the conversation within SMS_SEGMENT_BUDGET."""
        try:
            used = await self._call(sms_usage.current, sender, expiry)
        except Exception:  # noqa: BLE001 - any database error; the cause is in the log
            logger.exception("SMS usage unavailable: the answer is sent without the budget check")
            return True
        return used.segments + segments <= settings().sms_segment_budget

    async def add(self, sender: str, segments: int, expiry: Optional[timedelta]) -> None:
        try:
            await self._call(sms_usage.add, sender, segments, expiry)
        except Exception:  # noqa: BLE001 - any database error; the cause is in the log
            logger.exception("SMS usage unavailable: a turn of %d segments was not counted", segments)

    async def set_opted_out(self, sender: str, opted_out: bool) -> bool:
        """Records STOP (True) or START (False); False when it could not be recorded."""
        try:
            await self._call(sms_usage.opt_out if opted_out else sms_usage.opt_in, sender)
        except Exception:  # noqa: BLE001 - any database error; the cause is in the log
            logger.exception("SMS opt-outs unavailable: %s not recorded", "STOP" if opted_out else "START")
            return False
        return True


class NoticeNumbers:
    """The sender's number, kept sealed on the SMS conversation's new-article subscription that
    the turn has just recorded (``nettrouble.notices.subscriptions.add_sms_address``): the action
    server that records the consent never sees the number, and nothing else keeps it. Called
    off the event loop; while the database is unreachable the subscription waits without it."""

    def __init__(self) -> None:
        self._database = db.LazyEngine()

    async def keep(self, sender: str, phone: str) -> None:
        try:
            await asyncio.to_thread(lambda: subscriptions.add_sms_address(self._database.get(), sender, phone))
        except Exception:  # noqa: BLE001 - any database error; the cause is in the log
            logger.exception("SMS conversation %s: the number for new-article notices was not kept", sender)


def _cost(bodies: List[str]) -> int:
    return sum(sms_segments.segments(text) for text in bodies)


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
        self.usage = SmsUsage()
        self.notice_numbers = NoticeNumbers()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "SmsInput":
        credentials = credentials or {}
        current = settings()
        sid = str(credentials.get("account_sid") or "").strip()
        token = str(credentials.get("auth_token") or "").strip()
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", sid),
                ("TWILIO_AUTH_TOKEN", token),
                ("SMS_PUBLIC_URL", current.sms_public_url),
                ("SMS_FROM_NUMBER", current.sms_from_number),
            )
            if not value
        ]
        if missing:
            logger.warning("SMS channel off: %s not set", " / ".join(missing))
            return cls("", "", None)
        provider = TwilioSmsProvider(sid, token, current.sms_from_number, current.sms_api_base)
        return cls(token, current.sms_public_url, provider)

    def _provider(self) -> SmsProvider:
        # Never None in a turn: the webhook answers 503 while the channel is not enabled.
        if self.provider is None:
            raise RuntimeError("the SMS channel is off")
        return self.provider

    def signature_valid(self, params: List[Tuple[str, str]], signature: Optional[str]) -> bool:
        if not signature:
            return False
        return self.validator.validate(self.public_url, _form(params), signature.strip())

    def sender_id(self, phone: str) -> str:
        """The conversation id of a phone number: keyed, so the number is in no log or store."""
        digest = hmac.new(
            self.auth_token.encode("utf-8"), b"sms-sender:" + phone.encode("utf-8"), hashlib.sha256
        ).hexdigest()
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
                self.background.start(
                    self._answer(
                        on_new_message,
                        request.app.ctx.agent,
                        fields["From"],
                        fields.get("Body") or "",
                        has_media,
                    )
                )
            return response.text(EMPTY_TWIML, content_type="text/xml; charset=utf-8")

        return sms

    async def _answer(
        self, on_new_message: turns.OnNewMessage, agent: Any, phone: str, body: str, has_media: bool
    ) -> None:
        sender = self.sender_id(phone)
        text = turns.clean_text(body)
        expiry = session_expiry(agent)
        asked = render_sms.keyword(text)
        if asked:
            # A keyword costs an SMS like any answer: it counts towards the client's message limit.
            refused = await self.turns.refused(text, phone)
            reply, messages = (
                "keyword",
                (refused.messages if refused else [render.BotMessage(text=await self._keyword_answer(asked, sender))]),
            )
        else:
            reply, messages = "answer", await self._bot_answer(on_new_message, agent, phone, sender, text, has_media)
        bodies = render_sms.sms_bodies(messages, self._provider().body_limit)
        if (
            reply == "answer"
            and not await self.usage.within(sender, _cost(bodies), expiry)
            and not await self._never_replaced(messages, text)
        ):
            logger.info("SMS conversation %s is past its segment budget: the answer is replaced by the notice", sender)
            reply = "budget_notice"
            bodies = render_sms.sms_bodies(
                [render.BotMessage(text=render_sms.budget_notice())], self._provider().body_limit
            )
        sent = await self._send(phone, sender, bodies)
        await self.usage.add(sender, sent, expiry)
        metrics.sms_turn(reply, sent)
        if not asked:
            # After the answer is on its way: the turn may have recorded a new-article consent.
            await self.notice_numbers.keep(sender, phone)

    async def _bot_answer(
        self, on_new_message: turns.OnNewMessage, agent: Any, phone: str, sender: str, text: str, has_media: bool
    ) -> List[render.BotMessage]:
        if not text:
            return [render.BotMessage(text=TEXT_ONLY if has_media else SMS_EMPTY)]
        person_key = sender_person_key(phone)
        answer = await self.turns.answer(
            on_new_message,
            await self._chosen(agent, sender, text),
            sender,
            phone,
            {limits.SENDER_PERSON_KEY: person_key} if person_key else None,
        )
        return answer.messages

    async def _keyword_answer(self, asked: str, sender: str) -> str:
        if asked == render_sms.HELP:
            return render_sms.help_text()
        if not await self.usage.set_opted_out(sender, asked == render_sms.STOP):
            return render_sms.keyword_failed_text()
        logger.info("SMS conversation %s: %s recorded", sender, asked.upper())
        return render_sms.stop_text() if asked == render_sms.STOP else render_sms.start_text()

    @staticmethod
    async def _never_replaced(messages: List[render.BotMessage], text: str) -> bool:
        """An answer with a case reference or a helpline number, or to a message that signals
        danger or self-harm (searched as ``turns.oversized_stand_in`` does, off the event loop:
        the classifier may have read it otherwise), goes out whatever the budget."""
        if render_sms.carries_reference(messages) or carries_helpline(messages):
            return True
        return bool(await asyncio.to_thread(safety.signals, text))

    async def _send(self, phone: str, sender: str, bodies: List[str]) -> int:
        """Sends the bodies in order and returns the segments the provider accepted."""
        sent = 0
        for text in bodies:
            try:
                await self._provider().send(phone, text)
            except SmsSendError as error:
                # The later bodies would make no sense without this one.
                logger.error("SMS answer not delivered to conversation %s: %s", sender, error)
                break
            sent += sms_segments.segments(text)
        return sent

    async def _chosen(self, agent: Any, sender: str, text: str) -> str:
        """The payload of the menu entry a reply such as 「1」 picks, else the text itself."""
        if not (text.isascii() and text.isdigit()):
            return text
        menu = render.turn_buttons(turns.last_bot_turn(await turns.recorded_events(agent, sender)))
        choice = render_sms.menu_choice(text, menu)
        return choice.payload if choice else text
