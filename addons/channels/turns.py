"""What every channel does with a user's turn: clean the text, run the bot, never leave the
user without a reply, and read earlier turns back from the tracker store.

Logs never carry the user's text or phone number: only the channel and what went wrong.
"""
from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint

import aiohttp

from addons.channels import render
from nettrouble import datafiles, safety, service
from nettrouble.settings import settings

logger = logging.getLogger(__name__)

# Longer than LINE's reply-token window on purpose: a slow turn is still answered (by push).
TURN_TIMEOUT_S = 60.0
# How long a stopping server waits for turns that are still being answered in the background.
DRAIN_TIMEOUT_S = 30.0

TEXT_ONLY = (
    "恐れ入りますが、こちらのチャットではスタンプや画像、位置情報などの内容を読み取ることができません。"
    "画像そのものをお送りいただく必要はございませんので、お困りのことを文字でお聞かせください。"
)

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b\u2028\u2029\ufeff]")

TOO_LONG = (
    "恐れ入りますが、一度にお送りいただける文字数は{limit}文字までとなっております"
    "（今回は{length}文字でした）。お手数ですが、要点を短くまとめるか、いくつかに分けてお送りください。"
)
EMPTY = "メッセージが空のようです。お困りのことを文字でお聞かせください。"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def json_object(request: Any) -> Optional[Dict[str, Any]]:
    """The request's JSON body when it is an object; None for anything else or broken JSON."""
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - Sanic raises its own error type for malformed JSON
        return None
    return body if isinstance(body, dict) else None


def clean_text(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII, half-width kana full-width), no
    control characters, no surrounding blanks."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


# The last resort when business/service.yml cannot be read: the user must still get a number.
_CENTRE_FALLBACK = "ネットトラブルあんしんサポートセンター 0120-221-360"


def _centre_line() -> str:
    try:
        line = service.centre_line()
    except datafiles.DataFileError:
        logger.exception("business/service.yml unreadable: the fallback reply uses the built-in number")
        line = _CENTRE_FALLBACK
    return f"お急ぎの場合は、{line} までお電話ください。"


def degraded_text() -> str:
    """Added to a turn while the action server is unreachable: the plain responses still came,
    but questions, case references and articles cannot, so the user gets the phone number."""
    return "\n".join([
        "申し訳ございません。ただいまシステムの一部に不具合が起きており、ご案内の一部をお届けできません。",
        _centre_line(),
    ])


class ActionServerProbe:
    """Whether the action server is up, asked after every turn (a local request of a millisecond),
    so that a server that just died is noticed at once. Down means it refuses connections or
    answers with an error; a server too busy to answer in time is up (and slow)."""

    TIMEOUT_S = 3.0

    @staticmethod
    def health_url() -> str:
        url = settings().action_server_url
        return (url[: -len("/webhook")] if url.endswith("/webhook") else url.rstrip("/")) + "/health"

    async def reachable(self) -> bool:
        try:
            timeout = aiohttp.ClientTimeout(total=self.TIMEOUT_S)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(self.health_url()) as reply:
                    if reply.status == 200:
                        return True
        except asyncio.TimeoutError:
            return True
        except (aiohttp.ClientError, OSError):
            pass
        logger.error("the action server does not answer %s", self.health_url())
        return False


action_server = ActionServerProbe()


def oversized_stand_in(text: str) -> Optional[str]:
    """For a message too long to read: the safety intent to send in its place when it signals
    danger or self-harm anywhere, so that the helplines still come; None otherwise."""
    urgent = safety.most_urgent(safety.signals(text))
    return f"/{urgent}" if urgent else None


def fallback_text() -> str:
    """What the user reads when the bot produced nothing (an error, a timeout, a model that
    is still loading): an apology, what to do, and the phone number of the centre."""
    return "\n".join(filter(None, [
        "申し訳ございません。ただいまお返事をご用意できませんでした。",
        "お手数ですが、少し時間をおいてもう一度お送りください。",
        _centre_line(),
    ]))


async def bot_turn(
    on_new_message: OnNewMessage,
    text: str,
    sender_id: str,
    input_channel: str,
    metadata: Optional[Dict[str, Any]] = None,
    timeout: float = TURN_TIMEOUT_S,
) -> List[render.BotMessage]:
    """The bot's messages for one user message; the fallback when there are none."""
    collector = CollectingOutputChannel()
    message = UserMessage(text, collector, sender_id, input_channel=input_channel, metadata=metadata)
    try:
        await asyncio.wait_for(on_new_message(message), timeout)
    except asyncio.TimeoutError:
        logger.error("%s: the bot took longer than %.0f s; answering with the fallback", input_channel, timeout)
    except Exception:  # noqa: BLE001 - any failure of the bot still gets the user an answer
        logger.exception("%s: the bot failed on a message; answering with the fallback", input_channel)
    messages = render.bot_messages(collector.messages)
    if not messages:
        return [render.BotMessage(text=fallback_text())]
    if not await action_server.reachable():
        messages.append(render.BotMessage(text=degraded_text()))
    return messages


# ---- earlier turns -------------------------------------------------------------------------

def bot_message_of(event: BotUttered) -> render.BotMessage:
    data = event.data or {}
    found = render.bot_messages([{"text": event.text, **{k: data.get(k) for k in ("buttons", "image", "custom")}}])
    return found[0] if found else render.BotMessage(text="")


async def recorded_events(agent: Any, sender_id: str) -> List[Any]:
    """The events of a conversation (empty when it is unknown or the store fails)."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return []
    try:
        tracker = await store.retrieve(sender_id)
    except Exception:  # noqa: BLE001 - a store outage must not break the channel
        logger.exception("tracker store unavailable while reading a conversation")
        return []
    return list(tracker.events) if tracker is not None else []


def last_bot_turn(events: List[Any]) -> List[render.BotMessage]:
    """The bot's messages since the user's last message."""
    turn: List[render.BotMessage] = []
    for event in events:
        if isinstance(event, UserUttered):
            turn = []
        elif isinstance(event, BotUttered):
            turn.append(bot_message_of(event))
    return turn


# ---- delivery bookkeeping ------------------------------------------------------------------

class SeenIds:
    """The most recent delivery ids, to drop a platform's redelivery of what was handled.

    In memory and bounded: a redelivery comes within minutes, so old ids can be forgotten."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._ids: "OrderedDict[str, None]" = OrderedDict()
        self._capacity = capacity

    def first_time(self, delivery_id: str) -> bool:
        """True the first time an id is seen (and remembers it)."""
        if delivery_id in self._ids:
            self._ids.move_to_end(delivery_id)
            return False
        self._ids[delivery_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


class BackgroundTurns:
    """Turns answered after the webhook has returned, so the platform never times out.

    References are kept until each task ends (asyncio only holds weak ones), and a stopping
    server waits for the turns still running instead of dropping their replies."""

    def __init__(self, channel: str) -> None:
        self._channel = channel
        self._tasks: Set[asyncio.Task] = set()

    def start(self, work: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: a background turn failed", self._channel, exc_info=task.exception())

    async def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def attach(self, blueprint: Blueprint) -> None:
        async def wait_for_turns(app: Any, loop: Any) -> None:
            await self.drain()

        blueprint.listener("before_server_stop")(wait_for_turns)
