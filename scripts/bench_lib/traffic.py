"""The HTTP traffic of the benchmark: NLU parses and conversations over the REST channel,
one sender at a time, many at once, or one long conversation played to its end. Every turn is
checked, so that a bot answering with its fallback, an error or the wrong step counts as a
failure instead of as a fast reply."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import aiohttp

REQUEST_TIMEOUT_S = 120.0
SHOWN_REPLY_CHARS = 160
# A bot that fails every conversation would otherwise keep the sequential phase going forever.
MAX_FAILED_CONVERSATIONS = 10


@dataclass(frozen=True)
class Turn:
    text: str
    # A regular expression the bot's reply must contain at this step, when the step matters.
    expect: Optional[str] = None


@dataclass
class Outcome:
    latencies_ms: List[float] = field(default_factory=list)
    # Latencies by position of the turn in its conversation (0 = first message).
    by_step: Dict[int, List[float]] = field(default_factory=dict)
    failures: List[str] = field(default_factory=list)
    conversations: int = 0
    seconds: float = 0.0
    # Turns answered as expected per conversation (sender id), in the order played: the first
    # ones of its timing records are theirs (scripts/bench_lib/budget.py).
    turns_by_sender: Dict[str, int] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)


@dataclass
class LongOutcome:
    """One long conversation played to its end whatever the replies (the growth phase)."""

    sender: str
    # Per turn, in order: the latency in ms, None when the turn failed.
    latencies_ms: List[Optional[float]] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)
    # Numbers (1-based) of the turns answered with "please rephrase" or the like.
    confused: List[int] = field(default_factory=list)
    # Events of the stored conversation after the turns asked for (turn number -> events).
    events_after: Dict[int, Optional[int]] = field(default_factory=dict)


# Builds conversation number n (its sender id and any per-person data differ each time).
ConversationFactory = Callable[[int], Sequence[Turn]]


def _text_of(messages: list) -> str:
    return "\n".join(str(m.get("text") or "") for m in messages if isinstance(m, dict))


def reply_problem(status: int, body: str, turn: Turn, failure_markers: Sequence[str]) -> Optional[str]:
    """Why a reply does not count as the bot answering this turn, or None when it does."""
    if status != 200:
        return f"HTTP {status}: {body[:SHOWN_REPLY_CHARS]}"
    try:
        messages = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:SHOWN_REPLY_CHARS]}"
    if not isinstance(messages, list) or not messages:
        return "no reply"
    text = _text_of(messages)
    for marker in failure_markers:
        if marker and marker in text:
            return f"fallback reply: {text[:SHOWN_REPLY_CHARS]!r}"
    if turn.expect and not re.search(turn.expect, text):
        return f"expected /{turn.expect}/ after {turn.text!r}, got {text[:SHOWN_REPLY_CHARS]!r}"
    return None


def says_any(body: str, markers: Sequence[str]) -> bool:
    """Whether the text of a REST reply holds one of ``markers`` (the body escapes non-ASCII
    characters, so it is read as JSON first)."""
    try:
        messages = json.loads(body)
    except ValueError:
        return False
    if not isinstance(messages, list):
        return False
    text = _text_of(messages)
    return any(marker and marker in text for marker in markers)


class Client:
    def __init__(self, base_url: str, token: str, failure_markers: Sequence[str]) -> None:
        self.base_url, self.token, self.failure_markers = base_url.rstrip("/"), token, list(failure_markers)

    def session(self, senders: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            connector=aiohttp.TCPConnector(limit=max(senders, 1)),
        )

    async def parse(self, session: aiohttp.ClientSession, text: str) -> float:
        started = time.perf_counter()
        async with session.post(
            f"{self.base_url}/model/parse",
            params={"token": self.token},
            json={"text": text},
        ) as response:
            body = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200 or "intent" not in json.loads(body):
            raise RuntimeError(f"/model/parse answered {response.status}: {body[:SHOWN_REPLY_CHARS]!r}")
        return elapsed

    async def send(self, session: aiohttp.ClientSession, sender: str, text: str):
        """(latency in ms, HTTP status, body) of one user message over the REST channel; the
        status is None when no response came (the body then names the error)."""
        started = time.perf_counter()
        try:
            async with session.post(
                f"{self.base_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text},
            ) as response:
                body = (await response.read()).decode("utf-8", errors="replace")
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return (time.perf_counter() - started) * 1000, None, type(error).__name__
        return (time.perf_counter() - started) * 1000, status, body

    async def turn(self, session: aiohttp.ClientSession, sender: str, turn: Turn):
        """(latency in ms, problem or None) of one user message and the bot's reply."""
        elapsed, status, body = await self.send(session, sender, turn.text)
        if status is None:
            return elapsed, f"{body} after {turn.text!r}"
        return elapsed, reply_problem(status, body, turn, self.failure_markers)

    async def stored_events(self, session: aiohttp.ClientSession, sender: str) -> Optional[int]:
        """How many events the tracker store holds for the conversation (Rasa's HTTP API),
        None when it does not answer."""
        try:
            async with session.get(
                f"{self.base_url}/conversations/{sender}/tracker",
                params={"token": self.token},
            ) as response:
                if response.status != 200:
                    return None
                tracker = json.loads(await response.read())
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None
        events = tracker.get("events") if isinstance(tracker, dict) else None
        return len(events) if isinstance(events, list) else None

    async def conversation(
        self, session, sender: str, turns: Sequence[Turn], outcome: Outcome, deadline: Optional[float] = None
    ) -> None:
        """Plays the turns in order; stops at the first failure (the rest would be measured on
        a conversation that went off its path) and, with a deadline, before starting a turn
        after it."""
        outcome.conversations += 1
        for step, turn in enumerate(turns):
            if deadline is not None and time.monotonic() >= deadline:
                return
            elapsed, problem = await self.turn(session, sender, turn)
            if problem:
                outcome.failures.append(f"{sender}: {problem}")
                return
            outcome.latencies_ms.append(elapsed)
            outcome.by_step.setdefault(step, []).append(elapsed)
            outcome.turns_by_sender[sender] = step + 1


async def parse_latencies(client: Client, messages: Sequence[str], warm_up: int = 5) -> List[float]:
    async with client.session(1) as session:
        for text in messages[:warm_up]:
            await client.parse(session, text)
        return [await client.parse(session, text) for text in messages]


async def sequential_turns(
    client: Client, make: ConversationFactory, sender_prefix: str, first: int, min_turns: int
) -> Outcome:
    """Whole conversations one after another until at least ``min_turns`` turns succeeded
    (conversation numbers ``first``, ``first + 1``, ...)."""
    outcome = Outcome()
    started = time.monotonic()
    async with client.session(1) as session:
        while outcome.turns < min_turns and len(outcome.failures) < MAX_FAILED_CONVERSATIONS:
            number = first + outcome.conversations
            await client.conversation(session, f"{sender_prefix}-{number}", make(number), outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


async def concurrent_turns(
    client: Client, make: ConversationFactory, sender_prefix: str, first: int, senders: int, duration_s: float
) -> Outcome:
    """``senders`` users at once, each its own conversation after another and waiting for every
    reply, for ``duration_s``; turns under way at the end are finished and counted, and the
    rate divides by the time until the last one ended."""
    outcome = Outcome()
    numbers = itertools.count(first)
    started = time.monotonic()
    deadline = started + duration_s
    async with client.session(senders) as session:

        async def one_sender() -> None:
            while time.monotonic() < deadline:
                number = next(numbers)
                await client.conversation(session, f"{sender_prefix}-{number}", make(number), outcome, deadline)

        await asyncio.gather(*(one_sender() for _ in range(senders)))
    outcome.seconds = time.monotonic() - started
    return outcome


async def long_conversation(
    client: Client,
    sender: str,
    turns: Sequence[Turn],
    confusion_markers: Sequence[str],
    events_after: Sequence[int] = (),
) -> LongOutcome:
    """Plays every turn of one conversation in order. Unlike ``conversation`` it goes on after
    a failed turn, since what it measures is how the reply time changes as the conversation
    grows; a turn fails on an HTTP error, no reply, a failure marker or a missed ``expect``.
    After the turns numbered in ``events_after`` (1-based) the stored events are counted, off
    the clock."""
    outcome = LongOutcome(sender)
    async with client.session(1) as session:
        for number, turn in enumerate(turns, start=1):
            elapsed, status, body = await client.send(session, sender, turn.text)
            problem = (
                f"{body} after {turn.text!r}"
                if status is None
                else reply_problem(status, body, turn, client.failure_markers)
            )
            if problem:
                outcome.failures.append(f"{sender} turn {number}: {problem}")
                outcome.latencies_ms.append(None)
            else:
                outcome.latencies_ms.append(elapsed)
                if says_any(body, confusion_markers):
                    outcome.confused.append(number)
            if number in events_after:
                outcome.events_after[number] = await client.stored_events(session, sender)
    return outcome
