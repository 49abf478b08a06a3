"""What tests that run local servers share: a free port, and waiting for a condition with a
deadline instead of sleeping and hoping."""
from __future__ import annotations

import socket
import time
from typing import Callable


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
