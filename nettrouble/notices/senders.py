"""The two ways a notice goes out, behind one small interface: LINE's push API and the SMS
provider of ``nettrouble.channels.sms_providers``.

``send`` answers whether the platform accepted the message. LINE gets the notice record's own
``X-Line-Retry-Key``: LINE accepts a key once and answers 409 to a repeat within 24 hours
(``line_api.push`` takes that as delivered), so sending a record again after a crash cannot
reach the user twice. SMS has no such key (``sms_providers``): ``runner`` never sends an SMS
record twice.
"""

from __future__ import annotations

import logging
from typing import Dict, Optional, Protocol

from nettrouble.channels.line_api import LineApi
from nettrouble.channels.sms_providers import SmsProvider, SmsSendError
from nettrouble.channels.sms_providers import configured as configured_sms
from nettrouble.core.settings import settings
from nettrouble.notices import addresses

logger = logging.getLogger(__name__)


class Sender(Protocol):
    async def send(self, address: str, text: str, retry_key: str) -> bool:
        """Sends ``text`` to the stored ``address``; whether the platform accepted it."""


class LineSender:
    def __init__(self, access_token: str, api_base: Optional[str] = None) -> None:
        self.access_token = access_token
        self.api_base = api_base

    async def send(self, address: str, text: str, retry_key: str) -> bool:
        async with LineApi(self.access_token, self.api_base) as api:
            return await api.push(address, [{"type": "text", "text": text}], retry_key=retry_key)


class SmsSender:
    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    async def send(self, address: str, text: str, retry_key: str) -> bool:
        try:
            await self.provider.send(addresses.unseal(address), text)
        except (SmsSendError, addresses.UnreadableAddress) as error:
            logger.error("new-article notice not sent by SMS: %s", error)
            return False
        return True


def configured() -> Dict[str, Sender]:
    """The senders that .env switches on: LINE with LINE_CHANNEL_ACCESS_TOKEN, SMS with the
    Twilio settings."""
    found: Dict[str, Sender] = {}
    token = settings().line_channel_access_token
    if token:
        found[addresses.LINE] = LineSender(token)
    provider = configured_sms()
    if provider is not None:
        found[addresses.SMS] = SmsSender(provider)
    return found
