"""The scale-out check: two Rasa servers and two action servers sharing PostgreSQL and Redis.

    python scripts/scaleout_test.py [--conversations 60] [--lock-conversations 21] [--model PATH]
                                    [--endpoints FILE] [--transcripts FILE]
                                    [--capacity-senders 16] [--capacity-seconds 20]
                                    [--capacity-output results/scaleout_capacity.json]

Starts throwaway PostgreSQL and Redis (scripts/scaleout_services.sh; installing them needs root
once), two action servers (ports 6155, 6156) and two Rasa servers (6105 → 6155, 6106 → 6156)
with deploy/endpoints.scaleout.yml, everything in a temporary directory with its own secrets and
the clock pinned to 2020-07-15 11:00 (Japan), and never reads or writes the repository's .env
or var/. Then:

  phase 1  many conversations at once, each a real triage ending in a handoff, whose turns go
           alternately to server A and server B (a turn waits for its reply; conversations run
           concurrently);
  phase 2  conversations whose turns are also sent to both servers at the same moment (the
           greeting, the request for staff, a closing pair), which only the Redis lock store
           keeps in one piece;
  capacity what a capacity plan needs: a number of senders, each playing phase 1's triages
           one after another (a new user and phone number each time) for a fixed time, first
           to server A only, then alternately to A and B; the turns per second and reply times
           of both runs, and per turn the CPU of every process, the Redis commands and the
           PostgreSQL transactions, statements and rows (scripts/capacity_lib). Written to
           results/scaleout_capacity.json and printed; the figures are reported, never
           checked against a limit, and its conversations are checked like the others.

It checks, through Rasa's HTTP API (GET /conversations/<id>/tracker?token=) and the databases,
that every user message is stored exactly once and in order, every turn was answered with what
the tracker recorded (and without the action-server-down notice), no event is stored twice, the
API and the events table agree, the conversations of a scenario were answered alike, each
conversation has exactly one case with the reference its user was given and the right
free-consultation decision, and references are unique. It prints the counts and reply latencies
and exits 1 on any failure. Every process it started is stopped and its temporary directory
removed, also on Ctrl-C or an error.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import train  # noqa: E402  (scripts/train.py)
from addons.tracker_store import public_numbers  # noqa: E402
from capacity_lib.probes import PG_STATS_SETTLE_S, PROBE_ERRORS, Probes, machine_description  # noqa: E402
from capacity_lib.report import cpu_note, format_table, run_record, throughput_ratio  # noqa: E402
from nettrouble.masking import mask_text  # noqa: E402
from nettrouble.settings import setting_names  # noqa: E402
from run import LAUNCH, LOAD_TEST_LIMITS, Service, wait_until_healthy  # noqa: E402  (scripts/run.py)

SERVICES_SCRIPT = ROOT / "scripts" / "scaleout_services.sh"
ENDPOINTS = "deploy/endpoints.scaleout.yml"
CLOCK = "2020-07-15T11:00:00+09:00"
# Server name -> (Rasa port, port of its action server).
PORTS = {"A": (6105, 6155), "B": (6106, 6156)}
SERVERS = tuple(PORTS)
REQUEST_TIMEOUT_S = 120
REFERENCE = re.compile(r"NT-[0-9]{4}-[0-9]{5}-[0-9]")
CAPACITY_OUTPUT = ROOT / "results" / "scaleout_capacity.json"
# The capacity phase's runs: a label and the servers each conversation's turns go to in turn.
CAPACITY_RUNS = (("1 server", ("A",)), ("2 servers", SERVERS))

GREETING = "こんにちは"
STAFF = "スタッフと話したいです"
HOURS = "営業時間を教えてください"
THANKS = "ありがとうございました"


# ---- the conversations ------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """A triage that ends in a handoff, written as users write; ``{phone}`` is replaced by a
    docomo number of the conversation's own, so that free consultations do not collide."""

    name: str
    trouble_type: str
    messages: Tuple[str, ...]
    eligible: bool

    def turns(self, phone: str) -> List[str]:
        return [message.format(phone=phone) for message in self.messages]

    @property
    def handoff(self) -> int:
        return self.messages.index(STAFF)


# Each message was checked against the trained model: every turn moves the triage on.
SCENARIOS = (
    Scenario("defamation", "defamation", (
        "ツイッターで悪口を書かれて困っています", "自分です", "まだ続いています",
        "スクショは保存してあります", "はい", "はい", "入っていません", "{phone}", STAFF, THANKS,
    ), eligible=True),
    Scenario("privacy", "privacy", (
        GREETING, "インスタに住所と本名を晒されました", "住所と本名", "ないです",
        "スクショは保存してあります", "はい", STAFF, HOURS, THANKS,
    ), eligible=False),
    Scenario("payment_fraud", "payment_fraud", (
        GREETING, "PayPayで身に覚えのない支払いがありました", "3万円です", "まだです", "はい", STAFF,
        HOURS, THANKS,
    ), eligible=False),
)

# A group of turns is sent at the same moment; a plan is the conversation's groups in order.
Plan = List[List[Tuple[str, str]]]


def alternating_plan(messages: Sequence[str], first: int, servers: Sequence[str] = SERVERS) -> Plan:
    """One turn at a time, to the servers in turn (starting with servers[first])."""
    return [[(message, servers[(first + k) % len(servers)])] for k, message in enumerate(messages)]


def lock_plan(scenario: Scenario, phone: str) -> Plan:
    """The scenario with its greeting, its request for staff and a closing pair each sent to
    both servers at once: two servers answering the same conversation at the same moment."""
    turns = scenario.turns(phone)
    middle = turns[1 if turns[0] == GREETING else 0:scenario.handoff]
    return (
        [[(GREETING, "A"), (GREETING, "B")]]
        + alternating_plan(middle, first=1)
        + [[(STAFF, "A"), (STAFF, "B")], [(HOURS, "A"), (THANKS, "B")]]
    )


@dataclass
class Sent:
    """One user message as sent, and what came back."""

    message: str
    server: str
    replies: List[str] = field(default_factory=list)
    status: int = 0
    latency_s: float = 0.0
    error: str = ""
    # time.monotonic() when the reply (or the error) came: places the turn in a capacity window.
    finished_at: float = 0.0


@dataclass
class Conversation:
    sender: str
    scenario: Scenario
    phase: str
    plan: Plan
    results: List[List[Sent]] = field(default_factory=list)

    @property
    def sent(self) -> List[Sent]:
        return [turn for group in self.results for turn in group]

    def references(self) -> List[str]:
        return [found for turn in self.sent for reply in turn.replies for found in REFERENCE.findall(reply)]


# ---- the checks (pure: lists in, counts out) --------------------------------------------------

@dataclass
class Findings:
    """What went wrong, counted; every count is 0 for a conversation stored as it happened."""

    lost: int = 0  # a message sent but not stored
    duplicated: int = 0  # a message stored more often than it was sent
    out_of_order: int = 0  # a group of turns stored in another place than it was sent
    unanswered: int = 0  # a stored user message that no bot message follows
    reply_mismatch: int = 0  # what the user received is not what the tracker recorded
    degraded: int = 0  # a reply carrying the action-server-down notice
    duplicate_events: int = 0  # the same event (type, time, text or name, value) stored twice
    api_db_mismatch: int = 0  # the HTTP API and the events table disagree
    divergent: int = 0  # answered otherwise than the other conversations of its scenario
    request_errors: int = 0  # a turn that got no HTTP 200 with a reply list
    slow_turns: int = 0  # a turn answered after the channels' own time limit (a stuck lock)
    missing_cases: int = 0
    duplicate_cases: int = 0
    unexpected_cases: int = 0
    duplicate_references: int = 0
    reference_mismatch: int = 0  # the user was told no reference, or another one than stored
    wrong_eligibility: int = 0
    ledger_mismatch: int = 0  # an eligible case without exactly one free-consultation row
    problems: List[str] = field(default_factory=list)

    def add(self, other: "Findings") -> None:
        for name in self.counts():
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)

    def counts(self) -> Dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "problems"}

    @property
    def failed(self) -> bool:
        return any(self.counts().values())


@dataclass(frozen=True)
class StoredTurn:
    text: str
    bot_texts: Tuple[str, ...]


def delivered_texts(bot_event: Mapping) -> List[str]:
    """The texts a channel receives for one stored bot message: Rasa's output channels send a
    text without buttons or quick replies as one message per paragraph (split at blank lines);
    a text sent with a card stays whole (``addons.channels.turns.TurnCollector``)."""
    text = (bot_event.get("text") or "").strip()
    data = bot_event.get("data") or {}
    whole = data.get("buttons") or data.get("quick_replies") or "card" in (data.get("custom") or {})
    parts = [text] if whole else text.split("\n\n")
    return [part.strip() for part in parts if part.strip()]


def stored_turns(events: Iterable[Mapping]) -> List[StoredTurn]:
    """Each stored user message with the texts of the bot messages that follow it."""
    turns: List[Tuple[str, List[str]]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append((event.get("text") or "", []))
        elif event.get("event") == "bot" and turns:
            turns[-1][1].extend(delivered_texts(event))
    return [StoredTurn(text, tuple(bots)) for text, bots in turns]


def event_key(event: Mapping) -> Tuple:
    return (
        event.get("event"), event.get("timestamp"), event.get("text"), event.get("name"),
        json.dumps(event.get("value"), sort_keys=True, ensure_ascii=False, default=str),
    )


def duplicate_events(events: Sequence[Mapping]) -> int:
    """Events stored more than once: same type, timestamp, text or name and value."""
    return sum(count - 1 for count in Counter(event_key(e) for e in events).values() if count > 1)


def first_difference(received: Sequence[str], recorded: Sequence[str]) -> str:
    for index, (a, b) in enumerate(zip(received, recorded)):
        if a != b:
            return f"message {index + 1} received {a[:60]!r}, recorded {b[:60]!r}"
    if len(received) > len(recorded):
        return f"received {len(received) - len(recorded)} more, e.g. {received[len(recorded)][:60]!r}"
    return f"recorded {len(recorded) - len(received)} more, e.g. {recorded[len(received)][:60]!r}"


def check_turns(
    groups: Sequence[Sequence[Tuple[str, Sequence[str]]]],
    events: Sequence[Mapping],
    notices: Iterable[str] = (),
) -> Findings:
    """Compares what was sent, group by group (a group's turns were sent at once, so they may
    be stored in any order among themselves), with the stored events of the conversation.

    ``groups``: lists of (message, reply texts) as the client sent and received them. The
    tracker store masks phone numbers (in the bot's texts all but the public ones), so the
    client's side is masked the same way before the comparison. ``notices``: texts
    a channel adds to a reply without storing them (the action-server-down notice); each turn
    that carries one counts as degraded and is compared without it."""
    found = Findings()
    turns = stored_turns(events)
    public = public_numbers()
    notices = {mask_text(n, public) for n in notices}
    expected = []
    for group in groups:
        expected.append([])
        for message, replies in group:
            received = tuple(mask_text(r, public) for r in replies)
            kept = tuple(r for r in received if r not in notices)
            found.degraded += len(kept) != len(received)
            expected[-1].append((mask_text(message), kept))
    if found.degraded:
        found.problems.append(f"{found.degraded} turn(s) told the user that part of the system had failed")
    sent_messages = Counter(m for group in expected for m, _ in group)
    stored_messages = Counter(turn.text for turn in turns)
    found.lost = sum((sent_messages - stored_messages).values())
    found.duplicated = sum((stored_messages - sent_messages).values())
    found.unanswered = sum(1 for turn in turns if not turn.bot_texts)
    found.duplicate_events = duplicate_events(events)
    if found.lost or found.duplicated:
        found.problems.append(
            f"lost {dict(sent_messages - stored_messages)}, extra {dict(stored_messages - sent_messages)}"
        )
        return found
    position = 0
    for group in expected:
        window = turns[position:position + len(group)]
        position += len(group)
        if Counter(m for m, _ in group) != Counter(turn.text for turn in window):
            found.out_of_order += 1
            found.problems.append(
                f"turn {position}: sent {[m for m, _ in group]}, stored {[t.text for t in window]}"
            )
            continue
        missing = Counter(group) - Counter((turn.text, turn.bot_texts) for turn in window)
        if missing:
            found.reply_mismatch += sum(missing.values())
            message, received = next(iter(missing))
            recorded = next(t.bot_texts for t in window if t.text == message)
            found.problems.append(f"turn {position}: the reply to {message!r} differs from the tracker: "
                                  f"{first_difference(received, recorded)}")
    if found.unanswered:
        found.problems.append(f"{found.unanswered} stored user message(s) without a bot reply")
    if found.duplicate_events:
        found.problems.append(f"{found.duplicate_events} event(s) stored twice")
    return found


def check_api_against_db(api_events: Sequence[Mapping], db_events: Sequence[Mapping]) -> Findings:
    found = Findings()
    api = [(e.get("event"), e.get("timestamp")) for e in api_events]
    stored = [(e.get("event"), e.get("timestamp")) for e in db_events]
    if api != stored:
        found.api_db_mismatch = 1
        found.problems.append(f"HTTP API has {len(api)} events, the events table {len(stored)}, not the same")
    return found


def reply_signature(groups: Sequence[Sequence[Tuple[str, Sequence[str]]]]) -> Tuple:
    """The turns with phone numbers masked and case references blanked, each group's in a fixed
    order: equal for every conversation of a scenario when the servers share its state."""
    return tuple(
        tuple(sorted(
            (mask_text(m), tuple(REFERENCE.sub("NT-…", mask_text(r)) for r in replies))
            for m, replies in group
        ))
        for group in groups
    )


def check_divergence(signatures: Mapping[str, Tuple]) -> Findings:
    """Conversations (sender -> signature) answered otherwise than most of their group."""
    found = Findings()
    if not signatures:
        return found
    usual, _ = Counter(signatures.values()).most_common(1)[0]
    for sender, signature in sorted(signatures.items()):
        if signature != usual:
            found.divergent += 1
            turn = next((i for i, (a, b) in enumerate(zip(signature + ((),), usual + ((),))) if a != b), 0)
            found.problems.append(f"{sender}: answered differently from turn {turn + 1} on")
    return found


@dataclass(frozen=True)
class ExpectedCase:
    trouble_type: str
    eligible: bool
    told: Tuple[str, ...]  # the references the user read in the replies


def check_cases(
    expected: Mapping[str, ExpectedCase],
    cases: Sequence[Mapping],
    reserved_for: Sequence[str],
) -> Findings:
    """``cases``: rows with conversation_id, trouble_type, reference, eligibility;
    ``reserved_for``: the case reference of every free-consultation ledger row."""
    found = Findings()
    by_key = Counter((row["conversation_id"], row["trouble_type"]) for row in cases)
    found.duplicate_cases = sum(count - 1 for count in by_key.values() if count > 1)
    references = Counter(row["reference"] for row in cases)
    found.duplicate_references = sum(count - 1 for count in references.values() if count > 1)
    reservations = Counter(reserved_for)
    for sender, case in sorted(expected.items()):
        rows = [r for r in cases if r["conversation_id"] == sender and r["trouble_type"] == case.trouble_type]
        if not rows:
            found.missing_cases += 1
            found.problems.append(f"{sender}: no {case.trouble_type} case")
            continue
        row = rows[0]
        if not case.told or set(case.told) != {row["reference"]}:
            found.reference_mismatch += 1
            found.problems.append(f"{sender}: told {sorted(set(case.told))}, stored {row['reference']}")
        if (row["eligibility"] == "eligible") != case.eligible:
            found.wrong_eligibility += 1
            found.problems.append(f"{sender}: eligibility {row['eligibility']!r}")
        if case.eligible and reservations[row["reference"]] != 1:
            found.ledger_mismatch += 1
            found.problems.append(
                f"{sender}: {reservations[row['reference']]} ledger rows for {row['reference']}"
            )
    known = {(sender, case.trouble_type) for sender, case in expected.items()}
    extra = [row for row in cases if (row["conversation_id"], row["trouble_type"]) not in known]
    found.unexpected_cases = len(extra)
    if extra:
        found.problems.append(f"cases nobody asked for: {[r['reference'] for r in extra][:10]}")
    if found.duplicate_cases or found.duplicate_references:
        found.problems.append(
            f"{found.duplicate_cases} duplicated case(s), "
            f"{found.duplicate_references} duplicated reference(s)"
        )
    return found


def log_errors(text: str) -> List[str]:
    """ERROR lines of a server log, and of each traceback the exception it ended with."""
    found: List[str] = []
    in_traceback = False
    for line in text.splitlines():
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace() and not line.startswith("During handling"):
            found.append(line.strip()[:300])
            in_traceback = False
        if " ERROR " in line:
            found.append(line.strip()[:300])
    return found


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# ---- talking to the servers ---------------------------------------------------------------------

def http_json(url: str, body: Optional[dict] = None) -> Tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")[:200]


def rasa_url(server: str) -> str:
    return f"http://127.0.0.1:{PORTS[server][0]}"


def send(sender: str, message: str, server: str) -> Sent:
    turn = Sent(message, server)
    started = time.monotonic()
    try:
        turn.status, replies = http_json(f"{rasa_url(server)}/webhooks/rest/webhook",
                                         {"sender": sender, "message": message})
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


# ---- processes ----------------------------------------------------------------------------------

class Services:
    """PostgreSQL and Redis from scripts/scaleout_services.sh, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env: Dict[str, str] = {}

    def start(self) -> None:
        done = subprocess.run([str(SERVICES_SCRIPT), "start", str(self.directory)],
                              stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError("PostgreSQL and Redis could not be started (see above)")
        for line in done.stdout.splitlines():
            words = shlex.split(line)
            if len(words) == 2 and words[0] == "export" and "=" in words[1]:
                name, value = words[1].split("=", 1)
                self.env[name] = value

    def stop(self) -> None:
        if self.directory.exists():
            subprocess.run([str(SERVICES_SCRIPT), "stop", str(self.directory)], check=False)


def server_env(services: Mapping[str, str], secrets_: Mapping[str, str], server: str) -> Dict[str, str]:
    """A server's environment: every setting given here, so that nothing of the repository's
    .env applies (python-dotenv never overrides a variable that is set, even to "")."""
    rasa_port, actions_port = PORTS[server]
    env = dict(os.environ)
    env.update({name: "" for name in setting_names()})
    env.update(services)
    env.update(secrets_)
    env.update({
        # Not "production", which refuses the pinned clock this test needs.
        "APP_ENV": "test",
        "BIND_HOST": "127.0.0.1",
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "CLOCK_OVERRIDE": CLOCK,
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **LOAD_TEST_LIMITS,
    })
    return env


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Cluster:
    """The two action servers and the two Rasa servers, logging into ``logs``."""

    def __init__(self, model: Path, endpoints: str, services: Mapping[str, str], logs: Path) -> None:
        self.logs = logs
        self.token = secrets.token_urlsafe(32)
        shared = {
            "RASA_API_TOKEN": self.token,
            "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
            "PERSON_KEY_SECRET": secrets.token_urlsafe(32),
            "WEB_CHAT_SECRET": secrets.token_urlsafe(32),
            "CONSOLE_PASSWORD": secrets.token_urlsafe(32),
            "CONSOLE_API_TOKEN": secrets.token_urlsafe(32),
        }
        self.envs = {server: server_env(services, shared, server) for server in SERVERS}
        self.actions = {
            server: Service(f"action server {server}",
                            [*LAUNCH, "actions"],
                            f"http://127.0.0.1:{actions_port}/health")
            for server, (_, actions_port) in PORTS.items()
        }
        self.rasa = {
            server: Service(f"Rasa server {server}",
                            # Through scripts/launch.py: ports from RASA_PORT and ACTIONS_PORT,
                            # the token from the environment, never the command line.
                            [*LAUNCH, "rasa", "--model", str(model), "--endpoints", endpoints],
                            f"http://127.0.0.1:{rasa_port}/status?token={self.token}")
            for server, (rasa_port, _) in PORTS.items()
        }

    def services(self) -> List[Service]:
        return list(self.actions.values()) + list(self.rasa.values())

    def start(self) -> None:
        taken = [port for pair in PORTS.values() for port in pair if port_taken(port)]
        if taken:
            raise RuntimeError(f"port(s) {taken} are in use; stop whatever listens there first")
        self.logs.mkdir(parents=True, exist_ok=True)
        for group in (self.actions, self.rasa):
            for server, service in group.items():
                path = self.logs / f"{service.name.replace(' ', '-')}.log"
                # Logs may hold what users typed: readable by this user only.
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
                    service.process = subprocess.Popen(service.command, cwd=ROOT, env=self.envs[server],
                                                       stdout=log, stderr=log, start_new_session=True)
        wait_until_healthy(self.services())

    def stop(self) -> None:
        for service in reversed(self.services()):
            service.stop()

    def log_errors(self) -> List[str]:
        return [
            f"{path.stem}: {line}"
            for path in sorted(self.logs.glob("*.log"))
            for line in log_errors(path.read_text(encoding="utf-8", errors="replace"))
        ]

    def tracker_events(self, sender: str, server: str) -> List[dict]:
        quoted = urllib.parse.quote(sender, safe="")
        status, tracker = http_json(
            f"{rasa_url(server)}/conversations/{quoted}/tracker?token={self.token}&include_events=ALL"
        )
        if status != 200 or not isinstance(tracker, dict):
            raise RuntimeError(f"tracker API for {sender} on {server}: HTTP {status}")
        return list(tracker.get("events") or [])


# ---- the run ------------------------------------------------------------------------------------

def build_conversations(
    count: int, lock_count: int, run_id: str
) -> Tuple[List[Conversation], List[Conversation]]:
    def phone(n: int) -> str:
        return f"090-6100-{n:04d}"

    first = [
        Conversation(f"scaleout-{run_id}-p1-{i:03d}", SCENARIOS[i % len(SCENARIOS)], "phase 1",
                     alternating_plan(SCENARIOS[i % len(SCENARIOS)].turns(phone(i)), first=i % 2))
        for i in range(count)
    ]
    second = [
        Conversation(f"scaleout-{run_id}-p2-{i:03d}", SCENARIOS[i % len(SCENARIOS)], "phase 2",
                     lock_plan(SCENARIOS[i % len(SCENARIOS)], phone(count + i)))
        for i in range(lock_count)
    ]
    return first, second


def read_databases(
    services: Mapping[str, str], senders: Iterable[str]
) -> Tuple[Dict[str, List[dict]], List[dict], List[str]]:
    """The stored events of every conversation, the case rows and the ledger's references."""
    from sqlalchemy import create_engine, text

    events: Dict[str, List[dict]] = defaultdict(list)
    tracker = create_engine(services["TRACKER_DB_URL"], future=True)
    cases = create_engine(services["DATABASE_URL"], future=True)
    try:
        with tracker.connect() as connection:
            for sender, data in connection.execute(text("SELECT sender_id, data FROM events ORDER BY id")):
                events[sender].append(json.loads(data))
        with cases.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(
                text("SELECT conversation_id, trouble_type, reference, eligibility FROM cases"))]
            reserved = [row[0] for row in connection.execute(
                text("SELECT case_reference FROM free_consultations"))]
    finally:
        tracker.dispose()
        cases.dispose()
    unknown = set(events) - set(senders)
    if unknown:
        raise RuntimeError(
            f"the tracker store holds conversations this run did not have: {sorted(unknown)[:5]}"
        )
    return events, rows, reserved


def check_everything(
    cluster: Cluster, services: Mapping[str, str], conversations: Sequence[Conversation]
) -> Tuple[Findings, Dict[str, int]]:
    from addons.channels.turns import TURN_TIMEOUT_S, degraded_text  # imports Rasa: only here

    notices = [degraded_text()]
    total = Findings()
    db_events, case_rows, reserved = read_databases(services, [c.sender for c in conversations])
    signatures: Dict[Tuple[str, str], Dict[str, Tuple]] = defaultdict(dict)
    expected: Dict[str, ExpectedCase] = {}
    for index, conversation in enumerate(conversations):
        groups = [[(t.message, t.replies) for t in group] for group in conversation.results]
        errors = [t for t in conversation.sent if t.error]
        # Read back from either server: both must see the same conversation.
        api_events = cluster.tracker_events(conversation.sender, SERVERS[index % 2])
        found = check_turns(groups, api_events, notices)
        found.add(check_api_against_db(api_events, db_events.get(conversation.sender, [])))
        found.request_errors = len(errors)
        if errors:
            found.problems.append(f"{len(errors)} request(s) failed, e.g. {errors[0].error}")
        slow = [t for t in conversation.sent if t.latency_s >= TURN_TIMEOUT_S]
        found.slow_turns = len(slow)
        if slow:
            found.problems.append(f"{slow[0].message!r} to {slow[0].server} took {slow[0].latency_s:.0f} s")
        for problem in found.problems:
            total.problems.append(f"{conversation.sender}: {problem}")
        found.problems = []
        total.add(found)
        # A degraded turn is counted once, above, not again as a divergent conversation.
        answered = [[(m, [r for r in replies if r not in notices]) for m, replies in g] for g in groups]
        group_key = (conversation.phase, conversation.scenario.name)
        signatures[group_key][conversation.sender] = reply_signature(answered)
        scenario = conversation.scenario
        expected[conversation.sender] = ExpectedCase(
            scenario.trouble_type, scenario.eligible, tuple(conversation.references())
        )
    for group in signatures.values():
        total.add(check_divergence(group))
    total.add(check_cases(expected, case_rows, reserved))
    figures = {
        "events": sum(len(v) for v in db_events.values()),
        "cases": len(case_rows),
        "reservations": len(reserved),
    }
    return total, figures


def write_transcripts(path: Path, conversations: Sequence[Conversation]) -> None:
    path.write_text(json.dumps([
        {"sender": c.sender, "scenario": c.scenario.name, "phase": c.phase,
         "turns": [[asdict(turn) for turn in group] for group in c.results]}
        for c in conversations
    ], ensure_ascii=False, indent=1), encoding="utf-8")


def summary(conversations: Sequence[Conversation], seconds: float) -> str:
    turns = [t for c in conversations for t in c.sent]
    latencies = [t.latency_s for t in turns if not t.error]
    together = sum(1 for c in conversations for g in c.results if len(g) > 1)
    per_server = Counter(t.server for t in turns)
    return (
        f"{len(conversations)} conversations, {len(turns)} turns ({per_server['A']} to A, "
        f"{per_server['B']} to B{f', {together} pairs sent to both at once' if together else ''}) "
        f"in {seconds:.1f} s; reply latency p50 {percentile(latencies, 0.5):.2f} s, "
        f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies, default=0):.2f} s"
    )


# ---- the capacity phase ---------------------------------------------------------------------

def capacity_phone(run: int, n: int) -> str:
    """A docomo number of conversation ``n`` of capacity run ``run``: an 080 number, apart
    from phases 1 and 2's 090 numbers, so that every conversation has its own free consultation."""
    return f"080-{run}{n // 10000:03d}-{n % 10000:04d}"


def window_figures(turns: Sequence[Sent], start: float, end: float) -> Dict[str, float]:
    """Rate and reply times of the turns answered between ``start`` and ``end``
    (time.monotonic()), while every sender was busy, unlike when they finish their last
    conversations."""
    answered = [t.latency_s for t in turns if not t.error and start <= t.finished_at <= end]
    seconds = end - start
    return {
        "window_s": round(seconds, 2),
        "turns_in_window": len(answered),
        "turns_per_s": round(len(answered) / seconds, 3) if seconds > 0 else 0.0,
        "reply_p50_s": round(percentile(answered, 0.5), 3),
        "reply_p95_s": round(percentile(answered, 0.95), 3),
        "reply_max_s": round(max(answered, default=0.0), 3),
    }


def conversation_maker(
    run_id: str, run: int, label: str, servers: Sequence[str]
) -> Callable[[], Conversation]:
    """Makes the conversations of capacity run ``run``: the scenarios in turn, each with a new
    sender id and phone number, its turns going to ``servers`` in turn."""
    numbers = itertools.count()  # next() of a count is atomic: the senders share it

    def start() -> Conversation:
        n = next(numbers)
        scenario = SCENARIOS[n % len(SCENARIOS)]
        turns = scenario.turns(capacity_phone(run, n))
        plan = alternating_plan(turns, first=n % len(servers), servers=servers)
        return Conversation(f"scaleout-{run_id}-c{run}-{n:04d}", scenario, f"capacity, {label}", plan)

    return start


@dataclass
class CapacityRun:
    """One run of the capacity phase: its conversations, checked with all others at the end,
    and its figures (capacity_lib.report.run_record)."""

    label: str
    conversations: List[Conversation]
    seconds: float  # from the first turn to the last reply
    record: Dict[str, object]


def measure_capacity(
    cluster: Cluster, services: Mapping[str, str], run_id: str, senders: int, seconds: float
) -> List[CapacityRun]:
    """Each of CAPACITY_RUNS with ``senders`` users at once for ``seconds``, and what every
    process and shared service did per turn (scripts/capacity_lib)."""
    try:
        probes = Probes(services, {service.name: service.process.pid for service in cluster.services()})
    except PROBE_ERRORS as error:
        raise RuntimeError(f"capacity phase: cannot read PostgreSQL, Redis or /proc: {error}") from error
    runs: List[CapacityRun] = []
    try:
        probes.analyze()
        # The earlier phases' last counts must reach pg_stat_database before the first reading.
        time.sleep(PG_STATS_SETTLE_S)
        databases = probes.database_usage()
        for run, (label, servers) in enumerate(CAPACITY_RUNS, start=1):
            print(f"scaleout: capacity, {label}: {senders} senders for {seconds:g} s",
                  file=sys.stderr, flush=True)
            before = probes.usage()
            start = conversation_maker(run_id, run, label, servers)
            conversations, window_start, window_end = play_for(seconds, senders, start)
            after = probes.usage()
            time.sleep(PG_STATS_SETTLE_S)
            settled = probes.database_usage()
            turns = [t for c in conversations for t in c.sent]
            traffic = {
                "servers": list(servers),
                "senders": senders,
                "conversations": len(conversations),
                "turns": len(turns),
                "turns_by_server": dict(Counter(t.server for t in turns)),
                "errors": sum(1 for t in turns if t.error),
                **window_figures(turns, window_start, window_end),
            }
            record = run_record(traffic, len(turns), (before, after), (databases, settled),
                                probes.statements_unavailable)
            runs.append(CapacityRun(label, conversations, after.at - before.at, record))
            databases = settled
    except PROBE_ERRORS as error:
        raise RuntimeError(f"capacity phase: reading PostgreSQL, Redis or /proc failed: {error}") from error
    finally:
        probes.close()
    return runs


def write_capacity(
    path: Path, runs: Sequence[CapacityRun], model: Path, seconds_per_run: float, passed: bool
) -> List[str]:
    """Writes the capacity figures to ``path`` and returns the table to print."""
    records = {run.label: run.record for run in runs}
    ratio = throughput_ratio(records, CAPACITY_RUNS[1][0], CAPACITY_RUNS[0][0])
    machine = machine_description()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "model": model.name,
        "seconds_per_run": seconds_per_run,
        "runs": records,
        "throughput_ratio_2_to_1": ratio,
        "note": cpu_note(int(machine["cpus"])),
        "checks": "passed" if passed else "FAILED",
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    return format_table(records, ratio, int(machine["cpus"]))


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=60, help="phase 1 conversations (default 60)")
    parser.add_argument("--lock-conversations", type=int, default=21,
                        help="phase 2 conversations sent to both servers at once (default 21)")
    parser.add_argument("--model", type=Path,
                        help="model to serve (default: the current one, trained if needed)")
    parser.add_argument("--transcripts", type=Path,
                        help="write every conversation (sent, received, server, latency) to this JSON file")
    parser.add_argument("--endpoints", default=ENDPOINTS,
                        help=f"endpoints file of the servers (default {ENDPOINTS}), "
                             f"e.g. to try another lock store")
    parser.add_argument("--capacity-senders", type=int, default=16,
                        help="users at once in the capacity phase (default 16; 0 leaves the phase out)")
    parser.add_argument("--capacity-seconds", type=float, default=20.0,
                        help="seconds of each capacity run, 1 and 2 servers (default 20)")
    parser.add_argument("--capacity-output", type=Path, default=CAPACITY_OUTPUT,
                        help=f"where the capacity figures go "
                             f"(default {CAPACITY_OUTPUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.lock_conversations < 0:
        parser.error("--conversations must be 1 or more and --lock-conversations 0 or more")
    if args.capacity_senders < 0 or args.capacity_seconds <= 0:
        parser.error("--capacity-senders must be 0 or more and --capacity-seconds more than 0")

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        model = args.model.resolve() if args.model else train.train_if_needed()
    except subprocess.CalledProcessError:
        print("scaleout: training the model failed (see above)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if not model.is_file():
        print(f"scaleout: no model at {model}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="nettrouble-scaleout-test-"))
    # PostgreSQL runs as the postgres user when this runs as root: it must reach its directory.
    workdir.chmod(0o711)
    services = Services(workdir / "services")
    cluster: Optional[Cluster] = None
    try:
        print("scaleout: starting PostgreSQL and Redis", file=sys.stderr, flush=True)
        services.start()
        cluster = Cluster(model, args.endpoints, services.env, workdir / "logs")
        print(f"scaleout: starting 2 action servers and 2 Rasa servers with {model.name}",
              file=sys.stderr, flush=True)
        started = time.monotonic()
        cluster.start()
        print(f"scaleout: servers up in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

        run_id = secrets.token_hex(3)
        first, second = build_conversations(args.conversations, args.lock_conversations, run_id)
        first_s = play_all(first)
        second_s = play_all(second) if second else 0.0
        capacity = (
            measure_capacity(cluster, services.env, run_id, args.capacity_senders, args.capacity_seconds)
            if args.capacity_senders else []
        )
        everything = first + second + [c for run in capacity for c in run.conversations]
        findings, figures = check_everything(cluster, services.env, everything)
        if args.transcripts:
            write_transcripts(args.transcripts, everything)
        errors = cluster.log_errors()

        latencies = [t.latency_s for c in first + second for t in c.sent if not t.error]
        print("\nscale-out check: 2 Rasa servers, 2 action servers, PostgreSQL (tracker store and cases), "
              "Redis lock store")
        print(f"  phase 1 (turns alternate between servers): {summary(first, first_s)}")
        if second:
            print(f"  phase 2 (same conversation on both servers at once): {summary(second, second_s)}")
        for run in capacity:
            print(f"  capacity, {run.label} ({args.capacity_senders} senders): "
                  f"{summary(run.conversations, run.seconds)}")
        print(f"  stored: {figures['events']} events, {figures['cases']} cases, "
              f"{figures['reservations']} free-consultation reservations")
        print(f"  phases 1 and 2, all turns: p50 {percentile(latencies, 0.5):.2f} s, "
              f"p95 {percentile(latencies, 0.95):.2f} s")
        print("  " + " ".join(f"{name}={value}" for name, value in findings.counts().items()))
        print(f"  server log errors: {len(errors)}")
        for line in errors[:20]:
            print(f"    {line}")
        if capacity:
            table = write_capacity(args.capacity_output, capacity, model, args.capacity_seconds,
                                   passed=not findings.failed)
            print(f"\ncapacity ({args.capacity_senders} senders, {args.capacity_seconds:g} s per run; "
                  f"written to {args.capacity_output}):")
            for line in table:
                print(f"  {line}")
        for problem in findings.problems[:40]:
            print(f"  FAIL {problem}")
        print("result: " + ("FAILED" if findings.failed else "passed"))
        return 1 if findings.failed else 0
    except KeyboardInterrupt:
        print("scaleout: interrupted; stopping everything", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"scaleout: {error}", file=sys.stderr)
        if cluster is not None:
            for line in cluster.log_errors()[:20]:
                print(f"    {line}", file=sys.stderr)
        return 1
    finally:
        # Ctrl-C during the clean-up must not leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if cluster is not None:
            cluster.stop()
        services.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
