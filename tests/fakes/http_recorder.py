"""A real HTTP server on a free local port that records every request and answers from a
script: the stand-in for the LINE and Twilio APIs. It runs its own event loop in a thread, so
the code under test talks to it over real sockets exactly as it would to the real API."""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class Recorded:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> Dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


class RecordingServer:
    def __init__(self) -> None:
        self.requests: List[Recorded] = []
        # path -> answers (status, JSON body) used one per request; then 200 {}
        self.script: Dict[str, List[Tuple[int, Any]]] = {}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, *answers: Tuple[int, Any]) -> None:
        self.script.setdefault(path, []).extend(answers)

    def to(self, path: str) -> List[Recorded]:
        return [request for request in self.requests if request.path == path]

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), await request.read()))
        queued = self.script.get(request.path)
        status, body = queued.pop(0) if queued else (200, {})
        return web.json_response(body, status=status)

    def start(self) -> "RecordingServer":
        ready = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(serve())
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("recording server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


@contextmanager
def platform_apis(
    env: Any, database: Any, api_settings: Sequence[str], **environment: str
) -> Iterator["RecordingServer"]:
    """A recording server standing in for the platform APIs whose base URL settings are named
    in ``api_settings`` (LINE_API_BASE, SMS_API_BASE), with the channels' delivery log on the
    test's service database and the other ``environment`` settings, set through ``env`` (the
    fixture of tests/conftest.py, which puts them back after the test)."""
    server = RecordingServer().start()
    env(
        DATABASE_URL=database.url.render_as_string(hide_password=False),
        **{name: server.url for name in api_settings},
        **environment,
    )
    try:
        yield server
    finally:
        server.stop()
