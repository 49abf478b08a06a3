"""The clients of scripts/hostile_load.py, with nothing but the standard library.

The hostile client's workers run in processes of their own, started with ``spawn``: each imports
this module afresh. Were it to import the assistant's code (Rasa, TensorFlow: seconds of CPU per
process), the workers' start-up would take the machine from the server at the very moment the
attack phase is measured, and the figure would be the harness's, not the server's.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
from typing import Any, Dict, List
from urllib.parse import urlsplit

HOSTILE_ADDRESS = "203.0.113.66"
# A long message that reads like a real one and signals no danger: Rasa reads its beginning.
LONG_PIECE = "ネットで悪口を書かれていて、どうしたらいいのか分からず困っています。"
# How long the workers may take to start before the measurement gives up.
START_TIMEOUT_S = 60.0


class Client:
    """REST over one kept-alive connection, as one client address."""

    def __init__(self, base: str, address: str) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.address = address

    def say(self, sender: str, message: str) -> List[dict]:
        body = json.dumps({"sender": sender, "message": message}, ensure_ascii=False).encode("utf-8")
        self.connection.request(
            "POST",
            "/webhooks/rest/webhook",
            body=body,
            headers={"Content-Type": "application/json", "X-Forwarded-For": self.address},
        )
        answer = self.connection.getresponse()
        payload = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"REST answered {answer.status}: {payload[:200]!r}")
        return json.loads(payload)

    def close(self) -> None:
        self.connection.close()


def _hostile_worker(
    base: str, worker: int, message: str, limited: str, read: Any, refused: Any, ready: Any, go: Any, stop: Any
) -> None:
    client = Client(base, HOSTILE_ADDRESS)
    with ready.get_lock():
        ready.value += 1
    go.wait()
    number = 0
    while not stop.is_set():
        replies = client.say(f"hostile-{worker}-{number}", message)
        number += 1
        counter = refused if replies and replies[0].get("text") == limited else read
        with counter.get_lock():
            counter.value += 1
    client.close()


class HostileClient:
    """``workers`` connections from one address sending long messages back to back, each in a
    process of its own, so that the measuring process shares no interpreter lock with them.

    ``start`` returns once every worker has started and the first messages are on their way."""

    def __init__(self, base: str, workers: int, chars: int, limited: str) -> None:
        context = multiprocessing.get_context("spawn")
        message = (LONG_PIECE * (chars // len(LONG_PIECE) + 1))[:chars]
        self.read, self.refused, self._ready = context.Value("i", 0), context.Value("i", 0), context.Value("i", 0)
        self._go, self._stop = context.Event(), context.Event()
        self._processes = [
            context.Process(
                target=_hostile_worker,
                daemon=True,
                args=(base, worker, message, limited, self.read, self.refused, self._ready, self._go, self._stop),
            )
            for worker in range(workers)
        ]

    def start(self) -> None:
        for process in self._processes:
            process.start()
        waited = 0.0
        while self._ready.value < len(self._processes):
            if waited > START_TIMEOUT_S or not all(process.is_alive() for process in self._processes):
                self.stop()
                raise RuntimeError("the hostile client's workers did not start")
            self._go.wait(0.05)
            waited += 0.05
        self._go.set()

    def stop(self) -> Dict[str, int]:
        self._go.set()
        self._stop.set()
        for process in self._processes:
            process.join(120)
        return {"read (cut)": self.read.value, "refused by the limit": self.refused.value}
