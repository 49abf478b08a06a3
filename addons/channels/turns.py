"""What every channel does with a user's turn: read the request safely, clean the text, keep
one client from hurting others, run the bot, never leave the user without a reply, and read
earlier turns back from the tracker store.

- **Request bodies**: ``json_object`` is the one JSON parser of the channels; broken or odd JSON
  (not an object, NaN, nesting deeper than ``MAX_JSON_DEPTH``, huge arrays) is refused (400).
- **Clients**: ``client_address`` is the web or REST client's address (``X-Forwarded-For`` is
  believed only from TRUSTED_PROXIES). Every message carries ``limits.client_key`` of its client
  in the metadata (``limits.CLIENT``); nothing a client sends becomes metadata.
- **Limits** (``UserTurns``): past MESSAGES_PER_MINUTE a client gets a polite answer with the
  centre's number and the message is not processed (counted in this server's memory, a long
  message once per MAX_MESSAGE_CHARS it holds; nginx's ``limit_req`` covers the scale-out
  profile). A message longer than MAX_MESSAGE_CHARS is cut to that length before Rasa tokenises
  it, once the whole text has been searched for danger and self-harm words (in a worker thread,
  off the event loop), so the helplines still come.
- **Conversation ids**: the web chat, LINE and SMS ids are made by the server under a prefix of
  their own (``conversation_id``: ``web-``, ``line-``, ``sms-``), so no two channels can name the
  same conversation; REST, whose client picks the id, refuses those prefixes.
- **Deliveries** (``DeliveryLog``): LINE events and SMS already handled are remembered in the
  service database (``nettrouble.channels.deliveries``), across restarts and servers.

Logs never carry the user's text, address or phone number: only the channel and what went wrong.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import time
import unicodedata
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Awaitable, Callable, Coroutine, Deque, Dict, List, Optional, Set, Tuple

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint

from addons.channels import render
from addons.channels.messages import CUT, DEGRADED, FALLBACK, LIMITED, URGENT_CALL
from nettrouble.channels import deliveries
from nettrouble.content import service
from nettrouble.core import db, limits
from nettrouble.core.settings import settings
from nettrouble.monitoring import health
from nettrouble.triage import safety

logger = logging.getLogger(__name__)

# Longer than LINE's reply-token window on purpose: a slow turn is still answered (by push).
TURN_TIMEOUT_S = 60.0
# How long a stopping server waits for turns that are still being answered in the background.
DRAIN_TIMEOUT_S = 30.0

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b\u2028\u2029\ufeff]")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


# ---- request bodies ------------------------------------------------------------------------

# Real requests of every channel nest a few levels and hold short lists (LINE sends a few
# events at a time); anything beyond these is not a client of ours and only costs time.
MAX_JSON_DEPTH = 32
MAX_JSON_ITEMS = 1000
# Converting an integer of thousands of digits takes quadratic time.
_MAX_INT_DIGITS = 30


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _bounded_int(digits: str) -> int:
    if len(digits) > _MAX_INT_DIGITS:
        raise ValueError("integer too long")
    return int(digits)


def _reasonable(document: Any) -> bool:
    stack: List[Tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_JSON_DEPTH or len(node) > MAX_JSON_ITEMS:
                return False
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return True


def json_object(body: Optional[bytes]) -> Optional[Dict[str, Any]]:
    """The request body as a JSON object; None for anything else: not UTF-8, broken JSON, a top
    level that is not an object, NaN or Infinity, an integer of more than 30 digits, nesting
    deeper than MAX_JSON_DEPTH, an array or object of more than MAX_JSON_ITEMS entries."""
    try:
        document = json.loads((body or b"").decode("utf-8"), parse_constant=_refuse_constant, parse_int=_bounded_int)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return document if isinstance(document, dict) and _reasonable(document) else None


# ---- who the client is ---------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(entries: Tuple[str, ...]) -> Tuple[Any, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            logger.error("TRUSTED_PROXIES: %r is not an address or network; it is ignored", entry)
    return tuple(networks)


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(settings().trusted_proxies))


def client_address(request: Any) -> str:
    """The address of a web or REST client: the connecting address, unless that is one of
    TRUSTED_PROXIES; then the last address in X-Forwarded-For that is not a trusted proxy (the
    ones left of it are whatever the client chose to send)."""
    peer = request.ip
    if not _trusted(peer):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getall("x-forwarded-for", [])
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _trusted(hop):
            return hop
    return hops[0] if hops else peer


# ---- conversation ids ----------------------------------------------------------------------

# The channels whose conversation ids the server makes, each under its own prefix, so that no
# id of one channel can be an id of another. REST, whose client picks the id, refuses them all.
OWN_PREFIXES = {"web": "web-", "line": "line-", "sms": "sms-"}


def conversation_id(channel: str, local_id: str) -> str:
    return OWN_PREFIXES[channel] + local_id


def in_another_channel(sender_id: str) -> bool:
    """Whether an id chosen by a REST client names a web chat, LINE or SMS conversation."""
    return sender_id.strip().lower().startswith(tuple(OWN_PREFIXES.values()))


def clean_text(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII, half-width kana full-width), no
    control characters, no surrounding blanks."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def urgent_call_line() -> str:
    return URGENT_CALL.format(centre_line=service.reachable_centre_line())


def degraded_text() -> str:
    """Added to a turn while the action server is unreachable: the plain responses still came,
    but questions, case references and articles cannot, so the user gets the phone number."""
    return "\n".join([DEGRADED, urgent_call_line()])


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
                    # A 503 that names a failed check (the case database) still comes from a
                    # running server, whose questions and articles work.
                    if health.answered_by_server(reply.status, await reply.read()):
                        return True
        except asyncio.TimeoutError:
            return True
        except (aiohttp.ClientError, OSError):
            pass
        logger.error("the action server does not answer %s", self.health_url())
        return False


action_server = ActionServerProbe()


# Rasa's safety guard searches the part of a long message it is given with every view of the
# text; here the rest is searched, from a little before the cut so that a phrase cut in two is
# found. Without Sudachi's reading view (reading=""): the patterns hold the kanji and the kana
# forms, and the reading is what makes a long text slow (measured: 17 ms per 1,000 characters
# with it, 2 ms without).
_CUT_OVERLAP = 100


def oversized_stand_in(text: str, limit: int) -> Optional[str]:
    """For a message longer than ``limit``: the safety intent to send in its place when the
    part beyond what Rasa reads signals danger or self-harm, so that the helplines still
    come; None otherwise."""
    urgent = safety.most_urgent(safety.signals(text[max(0, limit - _CUT_OVERLAP) :], reading=""))
    return f"/{urgent}" if urgent else None


def fallback_text() -> str:
    """What the user reads when the bot produced nothing (an error, a timeout, a model that
    is still loading): an apology, what to do, and the phone number of the centre."""
    return "\n".join([FALLBACK, urgent_call_line()])


class TurnCollector(CollectingOutputChannel):
    """Rasa's collector, except that a text sent with a card stays one item with it: Rasa's
    ``send_response`` would send the card apart and cut the text at its blank lines. Every
    other message is collected as Rasa collects it (a text without buttons in one item per
    paragraph), as Rasa's REST channel answers."""

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        custom = message.get("custom")
        if isinstance(custom, dict) and "card" in custom:
            self.messages.append({**message, "recipient_id": recipient_id})
        else:
            await super().send_response(recipient_id, message)


async def bot_turn(
    on_new_message: OnNewMessage,
    text: str,
    sender_id: str,
    input_channel: str,
    metadata: Optional[Dict[str, Any]] = None,
    timeout: float = TURN_TIMEOUT_S,
) -> List[render.BotMessage]:
    """The bot's messages for one user message; the fallback when there are none."""
    collector = TurnCollector()
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


# ---- a user's turn: limits, then the bot ---------------------------------------------------


def limited_text() -> str:
    """The answer to a client past MESSAGES_PER_MINUTE, whose message was not read."""
    return "\n".join([LIMITED, urgent_call_line()])


class MessageRate:
    """Messages per minute per client, in this server's memory: the times of each client's
    messages of the last minute (at most the limit of them), for the most recent clients only.

    A long message weighs as many messages as it holds MAX_MESSAGE_CHARS (``weight``): what
    bounds the time one client takes from the others is the text it makes the server search,
    not only the number of its messages."""

    WINDOW_S = 60.0

    def __init__(self, capacity: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._clients: "OrderedDict[str, Deque[float]]" = OrderedDict()
        self._capacity = capacity
        self._clock = clock

    def allow(self, client: str, limit: int, weight: int = 1) -> bool:
        """True, and counted ``weight`` times, when that keeps ``client`` within ``limit`` in
        the last minute; False (not counted) otherwise. A weight above the limit counts as the
        limit: such a message passes once the client has sent nothing for a minute."""
        moment = self._clock()
        weight = min(weight, limit)
        times = self._clients.setdefault(client, deque())
        self._clients.move_to_end(client)
        while times and moment - times[0] >= self.WINDOW_S:
            times.popleft()
        if len(times) + weight > limit:
            return False
        times.extend([moment] * weight)
        # A client forgotten here starts again from zero: only the least recent ones go.
        while len(self._clients) > self._capacity:
            self._clients.popitem(last=False)
        return True


# One worker thread, off the event loop, searches the long messages one at a time whoever sends
# them: the event loop is never held for a whole search.
_SAFETY_SCAN = ThreadPoolExecutor(max_workers=1, thread_name_prefix="safety-scan")


async def readable_text(text: str) -> Tuple[str, Optional[str]]:
    """What Rasa may read of a message, and the notice for the user when it was cut: at most
    MAX_MESSAGE_CHARS characters; a longer message that signals danger or self-harm in the part
    cut off becomes that safety intent instead, so that the helplines come."""
    limit = settings().max_message_chars
    if len(text) <= limit:
        return text, None
    stand_in = await asyncio.get_running_loop().run_in_executor(_SAFETY_SCAN, oversized_stand_in, text, limit)
    if stand_in is not None:
        return stand_in, None
    return text[:limit], CUT.format(limit=limit)


@dataclass(frozen=True)
class Answer:
    """The messages for the user, and whether their message was read (False: over the limit)."""

    messages: List[render.BotMessage]
    read: bool = True


class UserTurns:
    """A channel's way to the bot for a cleaned, non-empty message: the client's message limit,
    the processing limit, the client's identity in the metadata, then ``bot_turn``.

    The polite answer past the limit comes after ``LIMITED_PAUSE_S``: a person hardly notices,
    and a script that sends as fast as it is answered slows down to one message per pause and
    connection instead of keeping the event loop busy with refusals."""

    LIMITED_PAUSE_S = 2.0

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.rate = MessageRate()

    async def refused(self, text: str, client: str) -> Optional[Answer]:
        """The polite answer when ``text`` takes ``client`` past MESSAGES_PER_MINUTE (the message
        is then not read), else None and the message is counted. Channels that answer some
        messages themselves (SMS keywords) count them here too."""
        weight = -(-len(text) // settings().max_message_chars)
        if self.rate.allow(limits.client_key(self.channel, client), settings().messages_per_minute, weight):
            return None
        logger.warning(
            "%s: a client sent more than %d messages in a minute; one was not processed",
            self.channel,
            settings().messages_per_minute,
        )
        await asyncio.sleep(self.LIMITED_PAUSE_S)
        return Answer([render.BotMessage(text=limited_text())], read=False)

    async def answer(
        self,
        on_new_message: OnNewMessage,
        text: str,
        sender_id: str,
        client: str,
        metadata: Optional[Dict[str, Any]] = None,
    ) -> Answer:
        """``client``: the address, LINE user id or phone number (only its keyed hash goes on);
        ``metadata``: what the channel itself adds (never anything the client sent)."""
        refused = await self.refused(text, client)
        if refused is not None:
            return refused
        client_key = limits.client_key(self.channel, client)
        text, notice = await readable_text(text)
        messages = await bot_turn(
            on_new_message, text, sender_id, self.channel, metadata={**(metadata or {}), limits.CLIENT: client_key}
        )
        return Answer(([render.BotMessage(text=notice)] if notice else []) + messages)


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


class DeliveryLog:
    """A channel's deliveries already handled, to drop a platform's redelivery or a replayed
    request: ``nettrouble.channels.deliveries`` in the service database, called off the event loop."""

    def __init__(self, channel: str) -> None:
        self._channel = channel
        self._database = db.LazyEngine()

    def _first_time(self, delivery_id: str) -> bool:
        return deliveries.first_time(self._database.get(), self._channel, delivery_id)

    async def first_time(self, delivery_id: str) -> bool:
        """True the first time ``delivery_id`` arrives. While the database is unreachable every
        delivery counts as new: a user left without an answer is worse than one answered twice."""
        try:
            return await asyncio.to_thread(self._first_time, delivery_id)
        except Exception:  # noqa: BLE001 - any database error; the cause is in the log
            logger.exception("%s: the delivery log is unavailable; the delivery is handled as new", self._channel)
            return True


class BackgroundTurns:
    """Turns answered after the webhook has returned, so the platform never times out.

    References are kept until each task ends (asyncio only holds weak ones), and a stopping
    server waits for the turns still running instead of dropping their replies."""

    def __init__(self, channel: str) -> None:
        self._channel = channel
        self._tasks: Set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
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
