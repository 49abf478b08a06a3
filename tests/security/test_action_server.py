"""The action server trusts nothing (issue 13, point 2): a real action server, started by
scripts/launch.py on a free port with a temporary case database, is sent the forged calls of
the issue. Without the shared secret (X-Action-Token) nothing runs and nothing is echoed."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.local import wait_until
from tests.tracker_states import initial_slots, message

ROOT = Path(__file__).resolve().parents[2]

NUMBER = "090-3141-5926"
TOKEN = secrets.token_urlsafe(32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_addresses(port: int) -> set:
    """The local addresses with a listening TCP socket on ``port`` (/proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(ordered)))
    return found


class ActionServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.cases_db = workdir / "cases.db"
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "actions.log"
        self.env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            APP_ENV="development",
            ACTIONS_PORT=str(self.port),
            ACTION_SERVER_TOKEN=TOKEN,
            BIND_HOST="127.0.0.1",
            DATABASE_URL=f"sqlite:///{self.cases_db}",
            PERSON_KEY_SECRET=secrets.token_urlsafe(32),
            CLOCK_OVERRIDE="2020-07-15T11:00:00+09:00",
            HANDOFF_WEBHOOK_URL="",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
        )
        self.process = None

    def start(self) -> None:
        with open(os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "scripts" / "launch.py"), "actions"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        if not wait_until(self._healthy, seconds=120):
            raise RuntimeError("the action server did not start")

    def _healthy(self) -> bool:
        """Whether /health answers; a server that exited is an error at once, with its log."""
        if self.process.poll() is not None:
            raise RuntimeError(f"the action server exited: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            return call(self, "GET", "/health")[0] == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cases(self) -> int:
        if not self.cases_db.exists():
            return 0
        with sqlite3.connect(self.cases_db) as connection:
            tables = {name for (name,) in connection.execute("select name from sqlite_master where type='table'")}
            return connection.execute("select count(*) from cases").fetchone()[0] if "cases" in tables else 0


def call(server: ActionServer, method: str, path: str, body: bytes = None, headers: dict = None):
    request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = ActionServer(tmp_path_factory.mktemp("action-server"))
    started.start()
    yield started
    started.stop()


def action_call(action: str, text: str, slots: dict, active_loop: str = None) -> bytes:
    """What Rasa would POST for ``action``, with a tracker the caller made up."""
    latest = message(text, "request_human" if action == "action_handoff" else "inform")
    tracker = {
        "sender_id": "forged-" + secrets.token_hex(4),
        "slots": {**initial_slots(), **slots},
        "latest_message": latest,
        "events": [{"event": "user", "text": text, "parse_data": latest, "input_channel": "rest"}],
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
    }
    return json.dumps(
        {
            "next_action": action,
            "sender_id": tracker["sender_id"],
            "tracker": tracker,
            "domain": {},
            "version": "3.6.21",
        },
        ensure_ascii=False,
    ).encode("utf-8")


# A case marked eligible for a topic the rules do not cover, with any urgency and channel.
FORGED_HANDOFF = action_call(
    "action_handoff",
    "/request_human",
    {
        "trouble_type": "fraud",
        "eligibility": "eligible",
        "urgency": ["danger"],
        "phone_number": NUMBER,
        "triage_done": True,
        "handoff_requested": True,
    },
)
NUMBER_CHECK = action_call(
    "validate_eligibility_form",
    NUMBER,
    {
        "trouble_type": "defamation",
        "phone_number": NUMBER,
        "requested_slot": "phone_number",
    },
    active_loop="eligibility_form",
)
JSON = {"Content-Type": "application/json"}


def assert_echoes_nothing(body: bytes) -> None:
    text = body.decode("utf-8", "replace")
    assert json.loads(body) == {"error": "unauthorized"}
    for fragment in (NUMBER, "3141", "forged", "fraud", "eligible", "person_key", TOKEN):
        assert fragment not in text


def test_a_forged_handoff_without_the_token_is_refused_and_creates_no_case(server):
    status, _, body = call(server, "POST", "/webhook", FORGED_HANDOFF, JSON)
    assert status == 401
    assert_echoes_nothing(body)
    assert server.cases() == 0


@pytest.mark.parametrize("token", ["", "wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "é" * 43])
def test_a_wrong_token_is_refused(server, token):
    status, _, body = call(server, "POST", "/webhook", FORGED_HANDOFF, {**JSON, "X-Action-Token": token})
    assert status == 401
    assert_echoes_nothing(body)
    assert server.cases() == 0


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_a_cross_site_style_post_is_refused(server, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    # Without the token (what a web page could send) and even with it.
    assert call(server, "POST", "/webhook", FORGED_HANDOFF, headers)[0] == 401
    status, _, body = call(server, "POST", "/webhook", FORGED_HANDOFF, {**headers, "X-Action-Token": TOKEN})
    assert status == 415 and NUMBER.encode() not in body
    assert server.cases() == 0


def test_the_number_check_without_the_token_returns_no_person_key(server):
    status, _, body = call(server, "POST", "/webhook", NUMBER_CHECK, JSON)
    assert status == 401
    assert_echoes_nothing(body)


def test_health_stays_open_and_reveals_nothing(server):
    status, headers, body = call(server, "GET", "/health")
    assert status == 200 and json.loads(body) == {"status": "ok", "checks": {"case_database": "ok"}}
    status, _, body = call(server, "GET", "/metrics")
    assert status == 200 and NUMBER not in body.decode()
    assert not {name.lower() for name in headers} & {"server", "x-powered-by"}


def test_everything_else_needs_the_token(server):
    for method, path in (("GET", "/actions"), ("GET", "/nowhere"), ("POST", "/health")):
        status, _, body = call(server, method, path, b"{}" if method == "POST" else None, JSON)
        assert status == 401, (method, path)
    assert call(server, "GET", "/actions", headers={"X-Action-Token": TOKEN})[0] == 200


def test_an_error_with_the_token_echoes_nothing_of_the_request(server):
    # A tracker that is not an object makes rasa_sdk raise; its own handler would answer 500
    # with the whole request body.
    broken = json.dumps({"next_action": "action_handoff", "tracker": NUMBER, "domain": {}}).encode()
    status, _, body = call(server, "POST", "/webhook", broken, {**JSON, "X-Action-Token": TOKEN})
    assert status == 500 and json.loads(body) == {"error": "internal error"}


def test_the_right_token_works(server):
    status, headers, body = call(server, "POST", "/webhook", NUMBER_CHECK, {**JSON, "X-Action-Token": TOKEN})
    assert status == 200
    assert "events" in json.loads(body)
    # its own figures for the turn's record on the Rasa side (nettrouble/monitoring/timing.py)
    from nettrouble.monitoring.timing import parse_server_timing

    figures = parse_server_timing(headers.get("Server-Timing"))
    assert figures["server_ms"] > 0 and figures["server_db_statements"] >= 0


def test_a_refused_call_gets_no_timing_figures(server):
    status, headers, _ = call(server, "POST", "/webhook", NUMBER_CHECK, {**JSON, "X-Action-Token": "wrong"})
    assert status == 401 and "Server-Timing" not in headers


def test_the_server_listens_on_the_loopback_only(server):
    assert listening_addresses(server.port) == {"127.0.0.1"}


def test_an_empty_token_stops_the_action_server_naming_it(tmp_path):
    stopped = ActionServer(tmp_path)
    stopped.env["ACTION_SERVER_TOKEN"] = ""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "launch.py"), "actions"],
        cwd=ROOT,
        env=stopped.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "ACTION_SERVER_TOKEN" in done.stderr


def test_the_plugin_alone_refuses_an_empty_token(env):
    """`rasa run actions` started some other way still loads the plugin from the repository
    (PYTHONPATH) and must not serve without a token."""
    from sanic import Sanic

    import rasa_sdk_plugins

    env(ACTION_SERVER_TOKEN="")
    with pytest.raises(SystemExit, match="ACTION_SERVER_TOKEN"):
        rasa_sdk_plugins.attach_sanic_app_extensions(app=Sanic("plugin_test_" + secrets.token_hex(4)))
