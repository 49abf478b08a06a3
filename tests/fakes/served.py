"""A Sanic app served on a free port in its own thread, and Debian's Chromium for Playwright:
what the end-to-end browser tests share."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

from tests.fakes.local import wait_until

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google, which this machine's
# closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


class ServedApp:
    """``app`` served on 127.0.0.1 in a thread with its own event loop; ``start`` returns once
    ``ready_path`` answers 200."""

    def __init__(self, app: Any, port: int, ready_path: str) -> None:
        self.app, self.port, self.ready_path = app, port, ready_path
        self.loop: Optional[asyncio.AbstractEventLoop] = None

        @app.listener("after_server_start")
        async def remember_loop(app, loop):
            self.loop = asyncio.get_running_loop()

        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.app.run(host="127.0.0.1", port=self.port, access_log=False, register_sys_signals=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServedApp":
        self.thread.start()
        if not wait_until(self._ready, seconds=30):
            raise RuntimeError(f"{self.base}{self.ready_path} did not answer within 30 s")
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + self.ready_path, timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.app.stop)
        self.thread.join(15)


def chromium() -> Iterator[Any]:
    """Debian's Chromium, launched headless through Playwright (for a module-scoped fixture)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run scripts/install_chromium.sh"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
