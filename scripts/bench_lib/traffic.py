"""The HTTP traffic of the benchmark: NLU parses and conversations over the REST channel,
one sender at a time or many at once. Every turn is checked, so that a bot answering with its
fallback, an error or the wrong step counts as a failure instead of as a fast reply."""
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

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)


# Builds conversation number n (its sender id and any per-person data differ each time).
ConversationFactory = Callable[[int], Sequence[Turn]]


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
    text = "\n".join(str(m.get("text") or "") for m in messages if isinstance(m, dict))
    for marker in failure_markers:
        if marker and marker in text:
            return f"fallback reply: {text[:SHOWN_REPLY_CHARS]!r}"
    if turn.expect and not re.search(turn.expect, text):
        return f"expected /{turn.expect}/ after {turn.text!r}, got {text[:SHOWN_REPLY_CHARS]!r}"
    return None


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
            f"{self.base_url}/model/parse", params={"token": self.token}, json={"text": text},
        ) as response:
            body = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200 or "intent" not in json.loads(body):
            raise RuntimeError(f"/model/parse answered {response.status}: {body[:SHOWN_REPLY_CHARS]!r}")
        return elapsed

    async def turn(self, session: aiohttp.ClientSession, sender: str, turn: Turn):
        """(latency in ms, problem or None) of one user message and the bot's reply."""
        started = time.perf_counter()
        try:
            async with session.post(
                f"{self.base_url}/webhooks/rest/webhook", json={"sender": sender, "message": turn.text},
            ) as response:
                body = (await response.read()).decode("utf-8", errors="replace")
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return (time.perf_counter() - started) * 1000, f"{type(error).__name__} after {turn.text!r}"
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, reply_problem(status, body, turn, self.failure_markers)

    async def conversation(self, session, sender: str, turns: Sequence[Turn], outcome: Outcome,
                           deadline: Optional[float] = None) -> None:
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


async def parse_latencies(client: Client, messages: Sequence[str], warm_up: int = 5) -> List[float]:
    async with client.session(1) as session:
        for text in messages[:warm_up]:
            await client.parse(session, text)
        return [await client.parse(session, text) for text in messages]


async def sequential_turns(client: Client, make: ConversationFactory, sender_prefix: str,
                           first: int, min_turns: int) -> Outcome:
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


async def concurrent_turns(client: Client, make: ConversationFactory, sender_prefix: str,
                           first: int, senders: int, duration_s: float) -> Outcome:
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
