"""What tests that run local servers share: a free port, and waiting for a condition with a
deadline instead of sleeping and hoping."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional, Type


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
    """True as soon as ``condition()`` is, False when ``seconds`` have passed without it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class FixedPortServer:
    """A threaded HTTP server on a port chosen once, which can be stopped and served again on the
    same port: a receiver that is down, then up. Subclasses build their handler class and call
    ``serve`` with it."""

    def __init__(self, port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, handler: Type[BaseHTTPRequestHandler]) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        # shutdown() waits for the loop's next look at its flag: every 50 ms instead of the
        # default 500 ms, which each test that stops a server would otherwise spend waiting.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
