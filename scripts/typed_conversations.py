"""Plays the typed conversations of tests/typed/ against the running assistant and checks them.

Every user turn is typed, as people do on SMS and LINE (tests/typed/README.md says what the
files hold and what the assistant is expected to do). For each clock the conversations use, the
action server and the Rasa server are started on free ports with temporary databases, the SMS
channel on and its provider replaced by a local recording server. Web conversations go through
the REST channel; SMS ones as signed Twilio requests, the replies read from what the bot sent.

Two figures, both printed, both with a floor:
  fully right   share of conversations whose every expectation holds and whose every turn
                (but those marked confusion_ok) was answered without confusion   (>= 0.95)
  confused      share of turns answered with "please rephrase", "I could not read that" or
                "did you mean"                                                   (<= 0.02)

    python scripts/typed_conversations.py [--only ID ...] [--model PATH]

Transcripts go to results/typed/<id>.txt, the figures to results/typed/summary.json.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train  # noqa: E402  (scripts/train.py)
from system_test import System, first_sentence, http  # noqa: E402  (scripts/system_test.py)
from twilio.request_validator import RequestValidator  # noqa: E402

from addons.channels.sms import SmsInput  # noqa: E402
from nettrouble.eligibility import identity, number_proof  # noqa: E402
from nettrouble.eligibility.messages import YES_NO_REASK  # noqa: E402
from nettrouble.staff import responses  # noqa: E402
from nettrouble.triage import answers  # noqa: E402
from tests.fakes.http_recorder import RecordingServer  # noqa: E402

SUITE = ROOT / "tests" / "typed"
RESULTS = ROOT / "results" / "typed"
CLOCKS = {
    "campaign": "2020-07-15T11:00:00+09:00",
    "after": "2026-12-02T11:00:00+09:00",
}
SMS_URL = "https://sms.example.test/webhooks/sms/webhook"
SMS_FROM = "+815000000000"
# The first sentence of each reply that means the bot did not understand: taken from the domain
# and the wording modules, so that a change of wording cannot silently hide confusion.
CONFUSION_RESPONSES = responses.CONFUSED


def confusion_markers() -> List[str]:
    markers = [first_sentence(name) for name in CONFUSION_RESPONSES]
    markers += [first_sentence(name).split("、", 1)[1] for name in YES_NO_REASK.values()]
    markers.append(first_sentence("utter_triage_explanation"))
    return markers


@dataclass
class Turn:
    say: str
    reply_has: List[str] = field(default_factory=list)
    reply_lacks: List[str] = field(default_factory=list)
    confusion_ok: bool = False

    @classmethod
    def of(cls, raw: Any) -> "Turn":
        if isinstance(raw, str):
            return cls(raw)
        return cls(
            str(raw["say"]),
            list(raw.get("reply_has") or []),
            list(raw.get("reply_lacks") or []),
            bool(raw.get("confusion_ok")),
        )


@dataclass
class Conversation:
    id: str
    about: str
    clock: str
    channel: str
    turns: List[Turn]
    expect: Dict[str, Any]
    source: str


@dataclass
class Played:
    conversation: Conversation
    replies: List[str] = field(default_factory=list)
    confused: List[bool] = field(default_factory=list)
    slots: Dict[str, Any] = field(default_factory=dict)
    failures: List[str] = field(default_factory=list)

    @property
    def right(self) -> bool:
        return not self.failures


def load(only: Optional[List[str]] = None) -> List[Conversation]:
    conversations, seen = [], set()
    for path in sorted(SUITE.glob("*.yml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            if raw["id"] in seen:
                raise ValueError(f"{path.name}: conversation id {raw['id']} used twice")
            seen.add(raw["id"])
            if only and raw["id"] not in only:
                continue
            clock = raw.get("clock", "campaign")
            if clock not in CLOCKS:
                raise ValueError(f"{path.name}: {raw['id']}: unknown clock {clock}")
            conversations.append(
                Conversation(
                    raw["id"],
                    raw.get("about", ""),
                    clock,
                    raw.get("channel", "web"),
                    [Turn.of(t) for t in raw["turns"]],
                    raw.get("expect") or {},
                    path.name,
                )
            )
    return conversations


class Assistant:
    """One running assistant (one clock) with the SMS channel pointed at a recording server."""

    def __init__(self, model: Path, clock: str) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"typed-{clock}-"))
        self.provider = RecordingServer().start()
        self.auth_token = secrets.token_urlsafe(24)
        self.system = System(self.workdir, model)
        self.system.env.update(
            {
                "CLOCK_OVERRIDE": CLOCKS[clock],
                "TWILIO_ACCOUNT_SID": "ACtyped",
                "TWILIO_AUTH_TOKEN": self.auth_token,
                "SMS_PUBLIC_URL": SMS_URL,
                "SMS_FROM_NUMBER": SMS_FROM,
                "SMS_API_BASE": self.provider.url,
            }
        )
        self.base = self.system.base

    def start(self) -> "Assistant":
        self.system.start()
        return self

    def stop(self) -> List[str]:
        """Stops everything; the predictions the window changed (none, or the suite fails)."""
        self.system.stop()
        self.provider.stop()
        mismatches = self.system.window_mismatches()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return mismatches

    def tracker(self, sender: str) -> Dict[str, Any]:
        status, body = http("GET", f"{self.base}/conversations/{sender}/tracker?token={self.system.token}")
        if status != 200:
            raise RuntimeError(f"tracker of {sender}: {status}")
        return body

    def web_turn(self, sender: str, text: str) -> str:
        status, replies = http("POST", f"{self.base}/webhooks/rest/webhook", {"sender": sender, "message": text})
        if status != 200:
            return f"(HTTP {status})"
        return "\n".join(_reply_text(reply) for reply in replies or [])

    def sms_turn(self, phone: str, sender: str, text: str, turn_index: int) -> str:
        sent_before = len(self._sent_to(phone))
        params = [
            ("AccountSid", "ACtyped"),
            ("MessageSid", "SM" + uuid.uuid4().hex),
            ("From", phone),
            ("To", SMS_FROM),
            ("Body", text),
            ("NumMedia", "0"),
        ]
        signature = RequestValidator(self.auth_token).compute_signature(SMS_URL, dict(params))
        request = urllib.request.Request(
            f"{self.base}/webhooks/sms/webhook",
            data=urlencode(params).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
        )
        urllib.request.urlopen(request, timeout=60).read()
        # The reply is sent in the background: wait for the turn to end, then for the sends.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            events = self.tracker(sender).get("events") or []
            users = sum(1 for e in events if e.get("event") == "user")
            if (
                users > turn_index
                and events
                and events[-1].get("event") == "action"
                and events[-1].get("name") == "action_listen"
            ):
                break
            time.sleep(0.05)
        # Every turn gets an SMS: wait for the first one (the channel checks the budget and the
        # sender's keywords before sending, which takes longer on a busy machine), then for quiet.
        while len(self._sent_to(phone)) == sent_before and time.monotonic() < deadline:
            time.sleep(0.05)
        stable_since, count = time.monotonic(), len(self._sent_to(phone))
        while time.monotonic() - stable_since < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
            now_count = len(self._sent_to(phone))
            if now_count != count:
                stable_since, count = time.monotonic(), now_count
        return "\n".join(self._sent_to(phone)[sent_before:])

    def _sent_to(self, phone: str) -> List[str]:
        return [
            r.form().get("Body", "")
            for r in list(self.provider.requests)
            if r.path.endswith("/Messages.json") and r.form().get("To") == phone
        ]

    def code_sent_to(self, typed: str) -> Optional[str]:
        """The one-time code last sent to the number the user typed (the SMS the user reads)."""
        try:
            to = number_proof.e164(identity.normalise(typed))
        except identity.InvalidNumber:
            return None
        sent = [
            r.form().get("Body") or ""
            for r in self.provider.requests
            if r.path.endswith("/Messages.json") and r.form().get("To") == to
        ]
        return number_proof.read_code(sent[-1]) if sent else None

    def sms_sender(self, phone: str) -> str:
        """The conversation id the SMS channel gives this number (a keyed hash of it)."""
        return SmsInput(self.auth_token, SMS_URL, None).sender_id(phone)


CODE_QUESTION = first_sentence("utter_ask_number_code")


def _reply_text(reply: Dict[str, Any]) -> str:
    parts = [reply.get("text") or ""]
    parts += [f"[{b.get('title')}]" for b in reply.get("buttons") or []]
    return " ".join(p for p in parts if p)


def _matches(slot: str, expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict) and "all_of" in expected:
        return sorted(answers.items_of(slot, actual)) == sorted(str(i) for i in expected["all_of"])
    if isinstance(expected, list):
        return any(_matches(slot, option, actual) for option in expected)
    if expected == "*":
        return actual not in (None, "", [])
    if expected is None:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    return str(expected) == str(actual)


def play(assistant: Assistant, conversation: Conversation, markers: List[str], number: int) -> Played:
    played = Played(conversation)
    if conversation.channel == "sms":
        phone = f"+8170{number:08d}"
        sender = assistant.sms_sender(phone)
    else:
        phone, sender = "", f"typed-{conversation.id}-{uuid.uuid4().hex[:8]}"
    sent_turns = 0

    def say(text: str) -> str:
        nonlocal sent_turns
        sent_turns += 1
        if conversation.channel == "sms":
            return assistant.sms_turn(phone, sender, text, sent_turns - 1)
        return assistant.web_turn(sender, text)

    typed_number = ""
    for index, turn in enumerate(conversation.turns):
        reply = say(turn.say)
        if sum(c.isdigit() for c in turn.say) >= 10:
            typed_number = turn.say
        # The SMS provider is configured, so a number typed in the chat gets a one-time code:
        # the user reads it on their phone and types it, as people do.
        code = assistant.code_sent_to(typed_number) if CODE_QUESTION in reply else None
        if code:
            reply += f"\n[確認コード {code} を入力]\n" + say(code)
        played.replies.append(reply)
        confused = any(marker in reply for marker in markers)
        played.confused.append(confused)
        where = f"turn {index + 1} 「{turn.say}」"
        if confused and not turn.confusion_ok:
            played.failures.append(f"{where}: answered with confusion")
        if not reply.strip():
            played.failures.append(f"{where}: no reply")
        for wanted in turn.reply_has:
            if str(wanted) not in reply:
                played.failures.append(f"{where}: reply lacks {wanted!r}")
        for unwanted in turn.reply_lacks:
            if str(unwanted) in reply:
                played.failures.append(f"{where}: reply has {unwanted!r}")
    played.slots = assistant.tracker(sender).get("slots") or {}
    expect = conversation.expect
    for slot, expected in (expect.get("slots") or {}).items():
        if not _matches(slot, expected, played.slots.get(slot)):
            played.failures.append(f"slot {slot}: expected {expected!r}, got {played.slots.get(slot)!r}")
    if "case" in expect and bool(played.slots.get("case_reference")) != bool(expect["case"]):
        played.failures.append(f"case: expected {expect['case']}, reference {played.slots.get('case_reference')!r}")
    urgency = played.slots.get("urgency") or []
    for flag in expect.get("urgency") or []:
        if flag not in urgency:
            played.failures.append(f"urgency: {flag} not recorded ({urgency})")
    for flag in expect.get("no_urgency") or []:
        if flag in urgency:
            played.failures.append(f"urgency: {flag} recorded ({urgency})")
    return played


def transcript(played: Played) -> str:
    c = played.conversation
    lines = [f"# {c.id} ({c.source}, {c.channel}, clock {c.clock})", f"# {c.about}", ""]
    for turn, reply, confused in zip(c.turns, played.replies, played.confused):
        lines.append(f"ユーザー: {turn.say}")
        for line in reply.splitlines() or [""]:
            lines.append(f"ボット: {line}")
        if confused:
            lines.append("  (confused)")
        lines.append("")
    lines.append(
        "slots: "
        + json.dumps(
            {k: v for k, v in played.slots.items() if v not in (None, [], False)}, ensure_ascii=False, sort_keys=True
        )
    )
    lines += [f"FAIL: {failure}" for failure in played.failures] or ["OK"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--min-right", type=float, default=0.95)
    parser.add_argument("--max-confused", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    conversations = load(args.only)
    model = args.model or train.train_if_needed()
    markers = confusion_markers()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: List[Played] = []
    mismatches: List[str] = []
    for clock in CLOCKS:
        group = [c for c in conversations if c.clock == clock]
        if not group:
            continue
        assistant = Assistant(model, clock).start()
        try:
            with ThreadPoolExecutor(args.workers) as pool:
                numbered = [(c, i) for i, c in enumerate(group, start=len(results) + 1)]
                results += list(
                    pool.map(lambda item, assistant=assistant: play(assistant, item[0], markers, item[1]), numbered)
                )
        finally:
            mismatches += assistant.stop()
    for played in results:
        (RESULTS / f"{played.conversation.id}.txt").write_text(transcript(played), encoding="utf-8")

    right = sum(p.right for p in results)
    turns = sum(len(p.confused) for p in results)
    confused = sum(sum(p.confused) for p in results)
    share_right = right / len(results) if results else 0.0
    share_confused = confused / turns if turns else 0.0
    for played in results:
        if not played.right:
            print(f"  {played.conversation.id}: " + "; ".join(played.failures))
    print(
        f"typed conversations: {right}/{len(results)} fully right ({share_right:.1%}, floor "
        f"{args.min_right:.0%}); {confused}/{turns} turns confused ({share_confused:.1%}, at most "
        f"{args.max_confused:.0%}); transcripts in {RESULTS.relative_to(ROOT)}/"
    )
    (RESULTS / "summary.json").write_text(
        json.dumps(
            {
                "conversations": len(results),
                "fully_right": right,
                "share_right": round(share_right, 4),
                "turns": turns,
                "confused": confused,
                "share_confused": round(share_confused, 4),
                "failures": {p.conversation.id: p.failures for p in results if p.failures},
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    failed = share_right < args.min_right or share_confused > args.max_confused
    if failed:
        print("FAIL: below the floors of the typed-conversation suite")
    if mismatches:
        failed = True
        print(
            f"FAIL: {len(mismatches)} predictions on the window of the session differ from the whole "
            f"session's (addons/prediction_window.py), first: {mismatches[0]}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
