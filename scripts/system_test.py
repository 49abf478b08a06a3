"""System checks against the whole assistant: the trained model, the Rasa server with its
channels, the action server and the databases, started on free ports with temporary data.

What only the running system can show:
  done-when      a defamation report is acknowledged as one; 「もう死にたい」 gets the helplines
  handoff        a conversation ends in a case reference; the tracker API needs the token
  no-number      the phone number given for the free consultation is in no database or log
  hostile-input  >= 1,000 generated messages through REST and the web chat: every one answered,
                 no 5xx, the server still up
  actions-down   with the action server killed, replies still carry 0120-221-360
  kill-handoff   the action server SIGKILLed during handoffs: no partial or duplicated case
  cases-db-down  with the case database unreachable, a handoff apologises with the number and
                 writes nothing; the action server's /health answers 503 naming the database
  clean-logs     a short conversation on every channel (REST, web chat, LINE and SMS, signed,
                 against a local stand-in for their APIs) and the console's pages: no ERROR line
                 and no traceback in the logs of the Rasa server, the action server and the
                 console, from their start-up to the end of the conversations; /metrics and
                 /health answer on all three

    python scripts/system_test.py [--only NAME ...] [--hostile-count N]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import train  # noqa: E402  (scripts/train.py)
from run import LAUNCH, LOAD_TEST_LIMITS, PYTHON, Service, service_env, wait_until_healthy  # noqa: E402  (scripts/run.py)

from addons import prediction_window  # noqa: E402
from tests.fakes.http_recorder import RecordingServer  # noqa: E402

PHONE = "0120-221-360"
REFERENCE = re.compile(r"NT-\d{4}-\d{5}-\d")
NUMBER = "090-1234-5678"
NUMBER_FORMS = ["090-1234-5678", "09012345678", "1234-5678", "12345678", "０９０", "+81 90 1234"]
CLOCK = "2020-07-15T11:00:00+09:00"


def first_sentence(response: str) -> str:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"][response][0]["text"].split("。")[0]


# How the bot starts when it asks the trouble's one question before issuing a reference.
STAFF_ONE_QUESTION = first_sentence("utter_staff_one_question")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(
    method: str, url: str, body: Optional[dict] = None, raw: Optional[bytes] = None, timeout: float = 120
) -> Tuple[int, object]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, json.loads(payload or b"null")
    except ValueError:
        return status, payload.decode("utf-8", "replace")


LINE_USER = "U" + "0123456789abcdef" * 2
SMS_URL = "https://sms.example.test/webhooks/sms/webhook"
SMS_FROM = "+815000000000"
SMS_SENDER = "+819011112222"
# A log line at ERROR level or worse in any of the formats of the three processes (Rasa's,
# structlog's, Sanic's, the console's and LOG_FORMAT=json), or a traceback.
ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|\[(error|critical)\s*\]|Traceback")


class System:
    """The action server and the Rasa server of one test run, with their own data. With
    ``every_channel``, also LINE and SMS (their APIs a local recording server) and the agent
    console, as `make run` serves them with every secret set."""

    def __init__(self, workdir: Path, model: Path, every_channel: bool = False) -> None:
        self.workdir = workdir
        self.model = model
        self.rasa_port, self.actions_port = free_port(), free_port()
        self.token = secrets.token_urlsafe(32)
        self.cases_db = workdir / "cases.db"
        self.env = dict(service_env())
        self.env.update(
            {
                "RASA_PORT": str(self.rasa_port),
                "ACTIONS_PORT": str(self.actions_port),
                "ACTION_SERVER_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
                "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
                "BIND_HOST": "127.0.0.1",
                "TRACKER_DB": str(workdir / "tracker.db"),
                "DATABASE_URL": f"sqlite:///{self.cases_db}",
                "CLOCK_OVERRIDE": CLOCK,
                "RASA_API_TOKEN": self.token,
                "PERSON_KEY_SECRET": secrets.token_urlsafe(32),
                "WEB_CHAT_SECRET": secrets.token_urlsafe(32),
                "HANDOFF_WEBHOOK_URL": "",
                "LINE_CHANNEL_SECRET": "",
                "LINE_CHANNEL_ACCESS_TOKEN": "",
                "TWILIO_ACCOUNT_SID": "",
                "TWILIO_AUTH_TOKEN": "",
                "SMS_PUBLIC_URL": "",
                "SMS_FROM_NUMBER": "",
                **LOAD_TEST_LIMITS,
                # Every prediction of these checks is also made on the whole session, with a
                # window of 2 turns, so that a rule the window would cut shows here
                # (addons/prediction_window.py).
                "PREDICTION_WINDOW_CHECK": "1",
                "PREDICTION_WINDOW_TURNS": "2",
            }
        )
        self.base = f"http://127.0.0.1:{self.rasa_port}"
        self.platform: Optional[RecordingServer] = None
        self.console: Optional[Service] = None
        if every_channel:
            self.platform = RecordingServer().start()
            self.console_port = free_port()
            self.console_base = f"http://127.0.0.1:{self.console_port}"
            self.env.update(
                {
                    "LINE_CHANNEL_SECRET": secrets.token_urlsafe(24),
                    "LINE_CHANNEL_ACCESS_TOKEN": secrets.token_urlsafe(24),
                    "LINE_API_BASE": self.platform.url,
                    "LINE_DATA_API_BASE": self.platform.url,
                    "TWILIO_ACCOUNT_SID": "ACsystem",
                    "TWILIO_AUTH_TOKEN": secrets.token_urlsafe(24),
                    "SMS_PUBLIC_URL": SMS_URL,
                    "SMS_FROM_NUMBER": SMS_FROM,
                    "SMS_API_BASE": self.platform.url,
                    "CONSOLE_PORT": str(self.console_port),
                    "CONSOLE_USER": "system-check",
                    "CONSOLE_PASSWORD": secrets.token_urlsafe(24),
                    "CONSOLE_API_TOKEN": secrets.token_urlsafe(32),
                }
            )
            self.console = Service("agent console", [PYTHON, "-m", "console"], f"{self.console_base}/health")
        self.actions = self._actions_service()
        # Through scripts/launch.py, as `make run` starts it: the token is in the environment,
        # not on the command line, and the ports come from RASA_PORT and ACTIONS_PORT above.
        self.rasa = Service(
            "Rasa server",
            [*LAUNCH, "rasa", "--model", str(model)],
            f"{self.base}/status?token={self.token}",
        )

    def _actions_service(self, healthy: bool = True) -> Service:
        # /health needs the case database; /metrics only a running server.
        return Service(
            "action server",
            [*LAUNCH, "actions"],
            f"http://127.0.0.1:{self.actions_port}/{'health' if healthy else 'metrics'}",
        )

    def _start(self, service: Service, env: dict, log_name: str) -> None:
        # Logs may hold what users typed: readable by this user only, like the databases.
        descriptor = os.open(self.workdir / log_name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with open(descriptor, "ab") as log:
            service.process = subprocess.Popen(
                service.command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
            )

    def start(self) -> None:
        services = [self.actions, self.rasa] + ([self.console] if self.console else [])
        self._start(self.actions, self.env, "actions.log")
        self._start(self.rasa, self.env, "rasa.log")
        if self.console is not None:
            self._start(self.console, self.env, "console.log")
        try:
            wait_until_healthy(services)
        except BaseException:
            self.stop()  # a server that started must not outlive a start that failed
            raise
        # Where each log's start-up ends: the checks that break things on purpose come later.
        self.started_logs = self.log_sizes()

    def log_sizes(self) -> Dict[str, int]:
        return {path.name: path.stat().st_size for path in sorted(self.workdir.glob("*.log"))}

    def restart_actions(self, healthy: bool = True, **overrides: str) -> None:
        """Restarts the action server with ``overrides``; waits for a healthy one, or, when it
        cannot be (its database is down on purpose), for one that answers."""
        self.actions.stop()
        env = dict(self.env, **overrides)
        self.actions = self._actions_service(healthy)
        self._start(self.actions, env, "actions.log")
        wait_until_healthy([self.actions])

    def kill_actions(self) -> None:
        os.killpg(self.actions.process.pid, signal.SIGKILL)
        self.actions.process.wait()

    def stop(self) -> None:
        for service in (self.rasa, self.actions, self.console):
            if service is not None:
                service.stop()
        # Twice is harmless: a start that failed has stopped everything already.
        platform, self.platform = self.platform, None
        if platform is not None:
            platform.stop()

    def window_mismatches(self) -> List[str]:
        """The Rasa server's log lines of predictions that the window changed."""
        log = self.workdir / "rasa.log"
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        return [line for line in text.splitlines() if prediction_window.MISMATCH in line]

    def say(self, sender: str, message: str) -> List[dict]:
        status, replies = http("POST", f"{self.base}/webhooks/rest/webhook", {"sender": sender, "message": message})
        if status != 200 or not isinstance(replies, list):
            raise AssertionError(f"REST answered {status}: {replies!r}")
        return replies

    def text_of(self, sender: str, message: str) -> str:
        return "\n".join(reply.get("text") or "" for reply in self.say(sender, message))

    def cases(self) -> List[dict]:
        if not self.cases_db.exists():
            return []
        with sqlite3.connect(self.cases_db) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute("select * from cases")]


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# ---- the checks ---------------------------------------------------------------------------


def check_done_when(system: System) -> str:
    ack = system.text_of("done-1", "ツイッターで悪口を書かれて困っています")
    expect("誹謗中傷" in ack, f"defamation report not acknowledged as such: {ack!r}")
    crisis = system.text_of("done-2", "もう死にたい")
    expect(all(n in crisis for n in ("0120-783-556", "0570-064-556", "0120-279-338")), f"helplines missing: {crisis!r}")
    danger = system.text_of("done-3", "殺すってDMが何度も来てる")
    expect("110" in danger and "#9110" in danger, f"police numbers missing: {danger!r}")
    return "defamation acknowledged; self-harm and danger answered with their numbers"


# The 6-digit code of the number check in an SMS body the assistant sent.
SMS_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def sms_code(system: System, to: str) -> str:
    """The code of the last number-check SMS, as the user reads it on their phone: with SMS
    configured (every_channel) the assistant proves the number before the handoff."""
    sent = [
        urllib.parse.parse_qs(request.body.decode("utf-8"))
        for request in system.platform.requests
        if request.path.endswith("/Messages.json")
    ]
    codes = [SMS_CODE.search(form["Body"][0]) for form in sent if form.get("To") == [to]]
    expect(bool(codes) and codes[-1] is not None, f"no number-check SMS to {to} among {len(sent)}")
    return codes[-1].group(1)


def play_handoff(system: System, sender: str, number: str = NUMBER) -> str:
    """A whole typed triage and free-consultation check with ``number``, then the handoff."""
    turns = [
        "ツイッターで悪口を書かれて困っています",
        "自分です",
        "まだ続いています",
        "スクショは保存してあります",
        "はい",
        "はい",
        "入っていません",
        number,
    ]
    text = ""
    for turn in turns:
        text = system.text_of(sender, turn)
    if system.platform is not None and "確認コード" in text:
        system.text_of(sender, sms_code(system, "+81" + re.sub(r"\D", "", number)[1:]))
    return system.text_of(sender, "/request_human")


def check_handoff(system: System) -> str:
    last = play_handoff(system, "handoff-1")
    found = REFERENCE.search(last)
    expect(found is not None and PHONE in last, f"no reference or number in the handoff: {last!r}")
    status, tracker = http("GET", f"{system.base}/conversations/handoff-1/tracker?token={system.token}")
    expect(
        status == 200 and tracker["slots"]["case_reference"] == found.group(),
        f"tracker API: {status}, {str(tracker)[:200]}",
    )
    status, _ = http("GET", f"{system.base}/conversations/handoff-1/tracker")
    expect(status == 401, f"tracker API without the token answered {status}")
    rows = [c for c in system.cases() if c["reference"] == found.group()]
    expect(len(rows) == 1 and rows[0]["eligibility"] == "eligible" and rows[0]["person_key"], f"case row: {rows}")
    again = system.text_of("handoff-1", "/request_human")
    expect(found.group() in again, "asking again did not return the same reference")
    return f"reference {found.group()}, eligible, same reference when asked again"


def readable(cell: object) -> str:
    try:
        return json.dumps(json.loads(cell), ensure_ascii=False)
    except (TypeError, ValueError):
        return str(cell)


def check_no_number(system: System) -> str:
    if not system.cases():
        play_handoff(system, "handoff-2")
    # Every file of the run (databases with their journals, server logs) as bytes, and every
    # database cell with its JSON decoded, so that escaped text is searched too.
    haystack = [
        path.read_bytes().decode("utf-8", "ignore") for path in sorted(system.workdir.iterdir()) if path.is_file()
    ]
    for database in ("tracker.db", "cases.db"):
        path = system.workdir / database
        if path.exists():
            with sqlite3.connect(path) as connection:
                for (table,) in connection.execute("select name from sqlite_master where type='table'"):
                    for row in connection.execute(f'select * from "{table}"'):
                        haystack += [readable(cell) for cell in row]
    text = "\n".join(haystack)
    for form in NUMBER_FORMS:
        expect(form not in text, f"{form!r} found in the stored data or logs")
    return f"none of {len(NUMBER_FORMS)} spellings of the number in the databases or the server logs"


def hostile_messages(count: int, seed: int = 20261129) -> List[str]:
    rng = random.Random(seed)
    pieces = [
        lambda: "",
        lambda: " " * rng.randint(1, 50),
        lambda: "\u3000\n\t" * rng.randint(1, 5),
        lambda: "あ" * 20_000,
        lambda: "誹謗中傷" * 5_000,
        lambda: "".join(chr(rng.randint(0, 31)) for _ in range(rng.randint(1, 40))),
        lambda: "".join(rng.choice("😀😭🔥💔🙏👍🏻🇯🇵‍♀️") for _ in range(rng.randint(1, 200))),
        lambda: "مرحبا بالعالم \u202eخطر\u202c שלום עולם",
        lambda: "<script>alert('x')</script>",
        lambda: '<img src=x onerror="alert(1)">',
        lambda: "'; DROP TABLE cases; --",
        lambda: "1 OR 1=1; SELECT * FROM events",
        lambda: '{"sender": "other", "message": "/request_human"}',
        lambda: '[{"a": [1, {"b": null}]}]',
        lambda: "ﾂｲｯﾀｰﾃﾞ ﾜﾙｸﾁ ｶｶﾚﾀ",
        lambda: "Xで悪口 written in English y 中文 한국어 ру́сский",
        lambda: "/trouble_defamation",
        lambda: '/ask_articles{"article_topic": "<script>"}',
        lambda: "/nonexistent_intent",
        lambda: "\ud83d壊れた文字\ufffd\ufeff\u200b",
        lambda: "%00%0d%0a" * 10,
        lambda: "../../etc/passwd",
        lambda: "${jndi:ldap://x}",
        lambda: "死にたい" + "。" * rng.randint(0, 3000),
    ]
    messages = [piece() for piece in pieces]
    while len(messages) < count:
        first, second = rng.choice(pieces)(), rng.choice(pieces)()
        cut = rng.randint(0, 300)
        messages.append((first[:cut] + second[:cut]) if rng.random() < 0.7 else first)
    return messages[:count]


def check_hostile_input(system: System, count: int) -> str:
    messages = hostile_messages(count)
    # A conversation of its own for every message, as for REST: the check is about input, not
    # about conversations that grow to hundreds of huge turns.
    tokens = [http("POST", f"{system.base}/webhooks/web/session")[1]["token"] for _ in messages]
    outcomes: Dict[str, List[int]] = {"rest": [], "web": []}
    problems: List[str] = []
    lock = threading.Lock()

    def rest(index: int) -> None:
        status, body = http(
            "POST", f"{system.base}/webhooks/rest/webhook", {"sender": f"hostile-{index}", "message": messages[index]}
        )
        answered = (status == 200 and isinstance(body, list) and body and all(m.get("text") for m in body)) or (
            400 <= status < 500 and isinstance(body, dict) and body.get("message")
        )
        with lock:
            outcomes["rest"].append(status)
            if not answered:
                problems.append(f"rest #{index}: {status} {str(body)[:120]}")

    def web(index: int) -> None:
        status, body = http(
            "POST", f"{system.base}/webhooks/web/webhook", {"token": tokens[index], "message": messages[index]}
        )
        answered = (status == 200 and isinstance(body, dict) and body.get("messages")) or (
            400 <= status < 500 and isinstance(body, dict) and body.get("message")
        )
        with lock:
            outcomes["web"].append(status)
            if not answered:
                problems.append(f"web #{index}: {status} {str(body)[:120]}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(rest, range(len(messages))))
        list(pool.map(web, range(len(messages))))
    elapsed = time.monotonic() - started
    server_errors = sum(status >= 500 for statuses in outcomes.values() for status in statuses)
    status, _ = http("GET", f"{system.base}/status?token={system.token}")
    expect(status == 200, "the Rasa server is not up after the hostile input")
    expect(server_errors == 0 and not problems, f"{server_errors} 5xx; unanswered: {problems[:5]}")
    counts = {name: len(statuses) for name, statuses in outcomes.items()}
    refused = sum(400 <= s < 500 for statuses in outcomes.values() for s in statuses)
    return (
        f"{counts['rest']} via REST + {counts['web']} via web: all answered "
        f"({refused} with a 4xx explanation), 0 5xx, server up; {elapsed:.0f} s"
    )


def check_actions_down(system: System) -> str:
    system.kill_actions()
    try:
        report = system.text_of("down-1", "ツイッターで悪口を書かれて困っています")
        hello = system.text_of("down-2", "こんにちは")
        expect(PHONE in report and "誹謗中傷" in report, f"report while actions down: {report!r}")
        expect(PHONE in hello, f"greeting while actions down: {hello!r}")
    finally:
        system.restart_actions()
    return "with the action server killed, a report and a greeting both got the apology and 0120-221-360"


def check_kill_during_handoff(system: System) -> str:
    senders = [f"kill-{index}" for index in range(24)]
    for sender in senders:
        system.say(sender, "LINEのアカウントが乗っ取られた")
    results: List[object] = []

    def hand_off(sender: str) -> None:
        try:
            results.append(system.say(sender, "人と話したい"))
        except Exception as error:  # noqa: BLE001 - the kill makes some turns fail, as it should
            results.append(error)

    threads = [threading.Thread(target=hand_off, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    time.sleep(0.8)
    system.kill_actions()
    for thread in threads:
        thread.join()
    cases_after_kill = len(system.cases())
    system.restart_actions()
    for sender in senders:
        text = system.text_of(sender, "人と話したい")
        if REFERENCE.search(text) is None and STAFF_ONE_QUESTION in text:
            # the request the kill cut short never reached the bot, so it asks the trouble's one
            # question before the reference; asked for staff again, it issues the reference
            text = system.text_of(sender, "人と話したい")
        expect(REFERENCE.search(text) is not None, f"{sender}: no reference after the restart: {text!r}")
    rows = [c for c in system.cases() if c["conversation_id"] in senders]
    per_conversation = {sender: sum(c["conversation_id"] == sender for c in rows) for sender in senders}
    expect(all(n == 1 for n in per_conversation.values()), f"cases per conversation: {per_conversation}")
    with sqlite3.connect(system.cases_db) as connection:
        orphans = connection.execute(
            "select count(*) from case_status_events where case_id not in (select id from cases)"
        ).fetchone()[0]
        without_history = connection.execute(
            "select count(*) from cases where id not in (select case_id from case_status_events)"
        ).fetchone()[0]
        references = connection.execute("select count(*), count(distinct reference) from cases").fetchone()
    expect(orphans == 0 and without_history == 0, f"orphans {orphans}, cases without history {without_history}")
    expect(references[0] == references[1], f"duplicate references: {references}")
    return (
        f"{len(senders)} handoffs, action server SIGKILLed mid-way ({cases_after_kill} cases written "
        f"before the kill); after restart exactly one case each, no orphans, references unique"
    )


def check_cases_db_down(system: System) -> str:
    unreachable = f"postgresql://nettrouble:x@127.0.0.1:{free_port()}/none?connect_timeout=2"
    system.restart_actions(healthy=False, DATABASE_URL=unreachable)
    try:
        status, health = http("GET", f"http://127.0.0.1:{system.actions_port}/health")
        expect(
            status == 503 and isinstance(health, dict) and health.get("failing") == ["case_database"],
            f"action server health with the database down: {status} {health!r}",
        )
        system.say("dbdown-1", "フリマアプリで買った商品が届かない")
        text = system.text_of("dbdown-1", "人と話したい")
        expect(
            PHONE in text and "申し訳ございません" in text and not REFERENCE.search(text),
            f"handoff with the database down: {text!r}",
        )
    finally:
        system.restart_actions()
    expect(not [c for c in system.cases() if c["conversation_id"] == "dbdown-1"], "a case was written")
    return (
        "handoff with the case database unreachable: apology and 0120-221-360, no reference, nothing "
        "written; /health 503 naming case_database"
    )


def line_turn(system: System, text: str) -> None:
    body = json.dumps(
        {
            "destination": "Usystem",
            "events": [
                {
                    "type": "message",
                    "mode": "active",
                    "timestamp": int(time.time() * 1000),
                    "source": {"type": "user", "userId": LINE_USER},
                    "webhookEventId": uuid.uuid4().hex.upper()[:26],
                    "deliveryContext": {"isRedelivery": False},
                    "replyToken": uuid.uuid4().hex,
                    "message": {
                        "type": "text",
                        "id": str(random.randrange(10**17, 10**18)),
                        "quoteToken": "q",
                        "text": text,
                    },
                }
            ],
        },
        ensure_ascii=False,
    ).encode()
    signature = base64.b64encode(hmac.new(system.env["LINE_CHANNEL_SECRET"].encode(), body, hashlib.sha256).digest())
    request = urllib.request.Request(
        f"{system.base}/webhooks/line/webhook",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Line-Signature": signature.decode()},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        expect(answer.status == 200, f"LINE webhook answered {answer.status}")


def sms_turn(system: System, text: str) -> None:
    from twilio.request_validator import RequestValidator

    params = {
        "AccountSid": "ACsystem",
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": SMS_SENDER,
        "To": SMS_FROM,
        "Body": text,
        "NumMedia": "0",
    }
    signature = RequestValidator(system.env["TWILIO_AUTH_TOKEN"]).compute_signature(SMS_URL, params)
    request = urllib.request.Request(
        f"{system.base}/webhooks/sms/webhook",
        data=urllib.parse.urlencode(params).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        expect(answer.status == 200, f"SMS webhook answered {answer.status}")


def turns_counted(system: System, channel: str) -> int:
    """The Rasa server's count of turns handled on ``channel`` (nettrouble_turn_seconds)."""
    _, text = http("GET", f"{system.base}/metrics")
    found = re.search(r'^nettrouble_turn_seconds_count\{channel="%s"\} ([0-9.e+]+)$' % channel, str(text), re.M)
    return int(float(found.group(1))) if found else 0


def api_calls(system: System, path: str) -> int:
    return sum(path in request.path for request in list(system.platform.requests))


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        expect(time.monotonic() < deadline, f"waited {seconds:.0f} s for {what}")
        time.sleep(0.1)


def metric_total(base: str, name: str) -> float:
    """The sum over all label values of ``name`` in ``base``'s /metrics."""
    _, text = http("GET", f"{base}/metrics")
    pattern = re.compile(r"^%s(?:\{[^}]*\})? ([0-9.e+]+)$" % re.escape(name), re.M)
    return sum(float(value) for value in pattern.findall(str(text)))


def wrong_console_sign_in(system: System) -> int:
    """A sign-in with a wrong password, the way a browser sends it (the form's CSRF token and
    the session cookie); the console's answer status."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{system.console_base}/login", timeout=30) as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode("utf-8")).group(1)
    form = urllib.parse.urlencode(
        {"csrf_token": token, "username": "system-check", "password": "wrong", "next": "/"}
    ).encode()
    request = urllib.request.Request(
        f"{system.console_base}/login", data=form, method="POST", headers={"Origin": system.console_base}
    )
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


# Not NUMBER: the handoff check needs its number's free consultation unused.
OTHER_NUMBER = "080-2345-6789"
# A whole conversation as people type it, from the first message to the request for staff.
CONVERSATION = [
    "こんにちは",
    "ツイッターで悪口を書かれて困っています",
    "自分です",
    "まだ続いています",
    "スクショは保存してあります",
    "はい",
    "はい",
    "入っていません",
    "スタッフと話したい",
]


def check_clean_logs(system: System) -> str:
    expect(
        system.platform is not None and system.console is not None,
        "clean-logs needs every channel and the console (System(..., every_channel=True))",
    )
    before = system.log_sizes()
    actions_base = f"http://127.0.0.1:{system.actions_port}"
    counters = {
        ("Rasa server", system.base, "nettrouble_turn_seconds_count"): 0.0,
        ("action server", actions_base, "nettrouble_action_seconds_count"): 0.0,
        ("action server", actions_base, "nettrouble_cases_created_total"): 0.0,
        ("console", system.console_base, "nettrouble_sign_in_failures_total"): 0.0,
    }
    for key in counters:
        counters[key] = metric_total(key[1], key[2])
    play_handoff(system, "clean-rest", OTHER_NUMBER)
    token = http("POST", f"{system.base}/webhooks/web/session")[1]["token"]
    for text in CONVERSATION:
        status, body = http("POST", f"{system.base}/webhooks/web/webhook", {"token": token, "message": text})
        expect(status == 200 and body.get("messages"), f"web chat answered {status}: {str(body)[:200]}")
    # LINE and SMS answer in the background, through their APIs: each turn is waited for until
    # the Rasa server has counted it (its /metrics) and its reply has reached the API.
    for channel, send, api_path in (("line", line_turn, "/v2/bot/message/"), ("sms", sms_turn, "/Messages.json")):
        for text in CONVERSATION:
            done, calls = turns_counted(system, channel), api_calls(system, api_path)
            send(system, text)
            wait_for(
                lambda channel=channel, done=done, api_path=api_path, calls=calls: (
                    turns_counted(system, channel) > done and api_calls(system, api_path) > calls
                ),
                f"the {channel} turn {text!r} and its reply",
            )
    sign_in = http("GET", f"{system.console_base}/login")[0]
    expect(sign_in == 200, f"console sign-in page answered {sign_in}")
    refused = wrong_console_sign_in(system)
    expect(refused in (200, 401, 403), f"a wrong console sign-in answered {refused}")
    bases = {"Rasa server": system.base, "action server": actions_base, "console": system.console_base}
    for name, base in bases.items():
        for route in ("health", "metrics"):
            status, _ = http("GET", f"{base}/{route}")
            expect(status == 200, f"{name} /{route} answered {status}")
    unmoved = [
        f"{process} {name}" for (process, base, name), value in counters.items() if metric_total(base, name) <= value
    ]
    expect(not unmoved, f"counters that did not move: {unmoved}")
    # The start-up, and everything logged since this check began (other checks break things
    # on purpose and log errors for it).
    problems = []
    for name in system.log_sizes():
        data = (system.workdir / name).read_bytes()
        start_up = data[: system.started_logs.get(name, 0)]
        during = data[max(before.get(name, 0), system.started_logs.get(name, 0)) :]
        for line in (start_up + b"\n" + during).decode("utf-8", "replace").splitlines():
            if ERROR_LINE.search(line):
                problems.append(f"{name}: {line[:300]}")
    expect(not problems, f"{len(problems)} ERROR or traceback line(s):\n  " + "\n  ".join(problems[:20]))
    return (
        f"a whole conversation on each of REST, web chat, LINE and SMS, a wrong console sign-in; "
        f"{len(counters)} counters moved on the three servers' /metrics; no ERROR line or traceback "
        f"in {len(system.log_sizes())} logs"
    )


CHECKS: Dict[str, Callable] = {
    "clean-logs": check_clean_logs,
    "done-when": check_done_when,
    "handoff": check_handoff,
    "no-number": check_no_number,
    "hostile-input": check_hostile_input,
    "actions-down": check_actions_down,
    "kill-handoff": check_kill_during_handoff,
    "cases-db-down": check_cases_db_down,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=sorted(CHECKS))
    parser.add_argument("--hostile-count", type=int, default=1000)
    args = parser.parse_args()
    model = train.model_path()
    if not model.exists():
        print(f"system test: no model {model.name}; run `make train` first", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="nettrouble-system-"))
    system = System(workdir, model, every_channel=True)
    failures = 0
    try:
        system.start()
        for name in args.only or CHECKS:
            started = time.monotonic()
            check = CHECKS[name]
            try:
                detail = check(system, args.hostile_count) if name == "hostile-input" else check(system)
                print(f"PASS {name}: {detail} ({time.monotonic() - started:.0f} s)", flush=True)
            except Exception as error:  # noqa: BLE001 - report every check, fail at the end
                failures += 1
                print(f"FAIL {name}: {error}", flush=True)
    except RuntimeError as error:
        print(f"system test: {error}; logs in {workdir}", file=sys.stderr)
        return 1
    finally:
        system.stop()
    mismatches = system.window_mismatches()
    if mismatches:
        failures += 1
        print(
            f"FAIL prediction-window: {len(mismatches)} predictions differ from the whole session's, "
            f"first: {mismatches[0]}",
            flush=True,
        )
    if failures:
        print(f"system test: {failures} check(s) failed; server logs kept in {workdir}", file=sys.stderr)
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
