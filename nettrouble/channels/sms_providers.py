"""Sending SMS, behind one small interface.

Two-way SMS in Japan usually goes through a domestic provider, so the channel only knows
``SmsProvider.send``; Twilio is the first implementation. Errors never carry the phone number.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 10.0
# Retried only when the message certainly was not accepted (refused connection, 429, 503):
# Twilio has no idempotency key, and a retry after a timeout could send the SMS twice.
RETRY_DELAYS_S = (0.5, 2.0)
_RETRY_STATUSES = {429, 503}


class SmsSendError(RuntimeError):
    """The provider did not accept a message."""


class SmsProvider(abc.ABC):
    @property
    @abc.abstractmethod
    def body_limit(self) -> int:
        """The longest body the provider takes in one message, in characters as
        ``nettrouble.channels.sms_segments.length`` counts them; it sends a longer one as segments that
        the handset joins."""

    @abc.abstractmethod
    async def send(self, to: str, text: str) -> None:
        """Sends one message (one body, however many segments it costs); raises
        ``SmsSendError`` when it was not accepted."""


class TwilioSmsProvider(SmsProvider):
    """Twilio's Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``)."""

    # Twilio refuses a longer Body (error 21617).
    body_limit = 1600

    def __init__(
        self, account_sid: str, auth_token: str, from_number: str, api_base: str, timeout_s: float = HTTP_TIMEOUT_S
    ) -> None:
        self.account_sid = account_sid
        self.from_number = from_number
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{quote(account_sid, safe='')}/Messages.json"
        self._auth = aiohttp.BasicAuth(account_sid, auth_token)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, to: str, text: str) -> None:
        form = {"To": to, "From": self.from_number, "Body": text}
        async with aiohttp.ClientSession(timeout=self._timeout, auth=self._auth) as http:
            for delay in (0.0,) + RETRY_DELAYS_S:
                await asyncio.sleep(delay)
                try:
                    async with http.post(self.url, data=form) as answer:
                        if answer.status in (200, 201):
                            return
                        code = await self._error_code(answer)
                        if answer.status not in _RETRY_STATUSES:
                            raise SmsSendError(f"Twilio refused the message: HTTP {answer.status}, error code {code}")
                        logger.warning("Twilio busy (HTTP %s): retrying", answer.status)
                except aiohttp.ClientConnectorError as error:
                    logger.warning("Twilio unreachable (%s): retrying", type(error).__name__)
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    raise SmsSendError(f"Twilio did not answer ({type(error).__name__}); not retried") from None
        raise SmsSendError(f"Twilio did not accept the message after {1 + len(RETRY_DELAYS_S)} attempts")

    @staticmethod
    async def _error_code(answer: aiohttp.ClientResponse) -> str:
        # Only Twilio's numeric code: its message text may quote the phone number.
        try:
            body = await answer.json(content_type=None)
        except (ValueError, aiohttp.ClientError):
            return "unknown"
        return str(body.get("code", "unknown")) if isinstance(body, dict) else "unknown"


def configured() -> "SmsProvider | None":
    """The provider that .env configures (Twilio: account, token and sender number), or None
    when SMS is off."""
    from nettrouble.core.settings import settings

    current = settings()
    if not (current.twilio_account_sid and current.twilio_auth_token and current.sms_from_number):
        return None
    return TwilioSmsProvider(
        current.twilio_account_sid, current.twilio_auth_token, current.sms_from_number, current.sms_api_base
    )
