"""Talking to the servers: one turn over Rasa's REST channel, a group of turns released at the
same moment, and conversations played in threads of their own."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Callable, List, Optional, Sequence, Tuple

from scripts.scaleout.scenarios import Conversation, Sent
from scripts.scaleout.servers import rasa_url

REQUEST_TIMEOUT_S = 120


def http_json(url: str, body: Optional[dict] = None) -> Tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")[:200]


def send(sender: str, message: str, server: str) -> Sent:
    turn = Sent(message, server)
    started = time.monotonic()
    try:
        turn.status, replies = http_json(
            f"{rasa_url(server)}/webhooks/rest/webhook", {"sender": sender, "message": message}
        )
    except (urllib.error.URLError, OSError, ValueError) as error:
        turn.error = f"{type(error).__name__}: {error}"
        return turn
    finally:
        turn.finished_at = time.monotonic()
        turn.latency_s = turn.finished_at - started
    if turn.status == 200 and isinstance(replies, list) and replies:
        turn.replies = [r["text"] for r in replies if isinstance(r, dict) and r.get("text")]
    else:
        turn.error = f"HTTP {turn.status}: {str(replies)[:200]}"
    return turn


def send_together(sender: str, group: Sequence[Tuple[str, str]]) -> List[Sent]:
    """The group's messages, each to its server, released at the same moment."""
    if len(group) == 1:
        return [send(sender, *group[0])]
    barrier = threading.Barrier(len(group))
    results: List[Optional[Sent]] = [None] * len(group)

    def one(index: int) -> None:
        barrier.wait()
        results[index] = send(sender, *group[index])

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(group))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r if r is not None else Sent(m, s, error="not sent") for r, (m, s) in zip(results, group)]


# Set on Ctrl-C: conversations still running send nothing more.
STOPPING = threading.Event()


def play(conversation: Conversation) -> None:
    for group in conversation.plan:
        if STOPPING.is_set():
            return
        conversation.results.append(send_together(conversation.sender, group))


def in_threads(jobs: Sequence[Callable[[], None]]) -> float:
    """Runs each job in a thread of its own and waits for all of them; on Ctrl-C or an error
    the others send nothing more (STOPPING). Returns the seconds they took."""
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, len(jobs)))
    try:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    except BaseException:
        STOPPING.set()
        raise
    finally:
        pool.shutdown(wait=not STOPPING.is_set(), cancel_futures=True)
    return time.monotonic() - started


def play_all(conversations: Sequence[Conversation]) -> float:
    return in_threads([partial(play, c) for c in conversations])


def play_for(
    seconds: float, senders: int, start: Callable[[], Conversation]
) -> Tuple[List[Conversation], float, float]:
    """``senders`` users at once, each playing conversations made by ``start()`` one after
    another and starting new ones for ``seconds``. A conversation under way at the end is
    played to its end, so that it can be checked like every other. Returns the conversations
    and the window in which every sender was busy (time.monotonic() at its start and end)."""
    conversations: List[Conversation] = []
    begun = time.monotonic()
    deadline = begun + seconds

    def sender() -> None:
        while time.monotonic() < deadline and not STOPPING.is_set():
            conversation = start()
            conversations.append(conversation)
            play(conversation)

    in_threads([sender] * senders)
    return conversations, begun, deadline
