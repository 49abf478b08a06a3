"""The web chat embedded in a page of "the service's site", in a real browser, against the running
assistant (the trained model, the Rasa server and the action server) started as tests/security
starts it. ``make test`` runs this folder after the attack suite with NETTROUBLE_MODEL naming
the model; run alone, the model is trained first when its inputs changed.

docs/embed-example.html is served from two other local origins: the site, listed in
WEB_CHAT_ALLOWED_ORIGINS, and a stranger that is not. Both are ``localhost`` while the assistant
is ``127.0.0.1``: another site, not only another origin, so the chat runs in a cross-site frame
(partitioned storage) as it will on the real site.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.fakes.local import FixedPortServer, free_port
from tests.fakes.served import chromium
from tests.security.conftest import start_assistant

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "embed-example.html"
# Where the example page expects the assistant (make run's default).
EXAMPLE_ASSISTANT = "http://localhost:5005"


class ExampleSite(FixedPortServer):
    """docs/embed-example.html at ``/``, its assistant's address (script tag and CSP) replaced."""

    def __init__(self, assistant_base: str, port: int | None = None) -> None:
        super().__init__(port)
        self.page = EXAMPLE.read_text(encoding="utf-8").replace(EXAMPLE_ASSISTANT, assistant_base).encode("utf-8")

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> "ExampleSite":
        page = self.page

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args) -> None:
                pass

        self.serve(Handler)
        return self


@pytest.fixture(scope="session")
def site_port():
    return free_port()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory, site_port):
    system = start_assistant(
        tmp_path_factory.mktemp("assistant"), WEB_CHAT_ALLOWED_ORIGINS=f"http://localhost:{site_port}"
    )
    yield system
    system.stop()


@pytest.fixture(scope="session")
def site(assistant, site_port):
    """The service's site, allowed to frame the chat."""
    served = ExampleSite(assistant.base, site_port).start()
    yield served
    served.stop()


@pytest.fixture(scope="session")
def stranger(assistant):
    """Another site with the same tag, not in WEB_CHAT_ALLOWED_ORIGINS."""
    served = ExampleSite(assistant.base).start()
    yield served
    served.stop()


@pytest.fixture(scope="session")
def browser():
    yield from chromium()
