"""Whether the number given for the free consultation is the user's own, for the eligibility
form, the decision and the handoff (the rules are in ``nettrouble.eligibility.number_proof`` and
``nettrouble.eligibility.ledger``).

Proved by the SMS sender's own number (the SMS channel puts the sender's person key in every
message's metadata) or by the one-time code, whose verification is read from the database:
the ``number_code`` slot only says which question comes next.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import timedelta
from typing import Any, Callable, Optional

from rasa_sdk import Tracker
from sqlalchemy.engine import Engine

from nettrouble.channels import sms_providers
from nettrouble.core import limits
from nettrouble.core.settings import settings
from nettrouble.eligibility import identity, ledger, messages, number_proof

logger = logging.getLogger(__name__)

SLOT = "number_code"
# The slot's values: the code check's own result once the code matched, or "unproved".
VERIFIED = number_proof.VERIFIED
UNPROVED = "unproved"
# A conversation rarely has a reason to check more numbers than this in a month.
CONVERSATION_WINDOW = timedelta(days=30)


def metadata_value(tracker: Tracker, key: str) -> Optional[str]:
    """A value the channel put into the latest message's metadata (never the user's words)."""
    value = ((tracker.latest_message or {}).get("metadata") or {}).get(key)
    return value if isinstance(value, str) and value else None


def sender_proves(tracker: Tracker, person_key: Optional[str]) -> bool:
    """On SMS: the number typed is the sender's own."""
    sender_key = metadata_value(tracker, limits.SENDER_PERSON_KEY)
    return (
        ledger.is_person_key(person_key)
        and sender_key is not None
        and hmac.compare_digest(sender_key.encode("utf-8"), person_key.encode("ascii"))
    )


def codes_available() -> bool:
    return sms_providers.configured() is not None


async def blocking(function: Callable[..., Any], *args: Any) -> Any:
    """Runs a database call off the event loop, so the action server keeps answering (in the
    request's context, so that its statements count in the request's timing record)."""
    return await asyncio.to_thread(function, *args)


async def proof(tracker: Tracker, engine: Engine) -> Optional[str]:
    """How this conversation proved its number (ledger.VIA_SMS_SENDER / VIA_CODE), or None."""
    person_key = tracker.get_slot("person_key")
    if sender_proves(tracker, person_key):
        return ledger.VIA_SMS_SENDER
    if tracker.get_slot(SLOT) == VERIFIED and await blocking(
        number_proof.proved_by_code, engine, tracker.sender_id, person_key
    ):
        return ledger.VIA_CODE
    return None


async def within_check_limits(tracker: Tracker, engine: Engine) -> bool:
    """Counts one number check against the conversation's and the client's limits; False when
    either is reached (then nothing is counted further)."""
    current = settings()
    conversation = "conversation:" + number_proof.conversation_digest(tracker.sender_id)[:40]
    if not await blocking(
        limits.take,
        engine,
        limits.NUMBER_CHECK,
        conversation,
        current.number_checks_per_conversation,
        CONVERSATION_WINDOW,
    ):
        return False
    client = metadata_value(tracker, limits.CLIENT)
    # Without a client the message came through the token-protected HTTP API or the shell.
    return client is None or await blocking(
        limits.take, engine, limits.NUMBER_CHECK, client, current.number_checks_per_hour, timedelta(hours=1)
    )


async def send_code(tracker: Tracker, engine: Engine, text: str, person_key: str) -> bool:
    """Sends a new code to the number in ``text`` (the user's reply); False when it could not
    be sent. The number and the code are forgotten when this returns."""
    provider = sms_providers.configured()
    if provider is None:
        return False
    code = await blocking(number_proof.new_code, engine, tracker.sender_id, person_key)
    try:
        await provider.send(number_proof.e164(identity.normalise(text)), messages.code_sms(code))
    except (sms_providers.SmsSendError, identity.InvalidNumber) as error:
        logger.error("one-time code not sent: %s", type(error).__name__)
        return False
    return True
