"""The conversations the scale-out check sends: triages that end in a handoff, the plans that
send their turns to the servers (in turn, or to both at once), and what came back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

from scripts.scaleout.servers import SERVERS

# A case reference as the bot writes it (nettrouble/cases/reference.py).
REFERENCE = re.compile(r"NT-[0-9]{4}-[0-9]{5}-[0-9]")

GREETING = "こんにちは"
STAFF = "スタッフと話したいです"
HOURS = "営業時間を教えてください"
THANKS = "ありがとうございました"


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
    Scenario(
        "defamation",
        "defamation",
        (
            "ツイッターで悪口を書かれて困っています",
            "自分です",
            "まだ続いています",
            "スクショは保存してあります",
            "はい",
            "はい",
            "入っていません",
            "{phone}",
            STAFF,
            THANKS,
        ),
        eligible=True,
    ),
    Scenario(
        "privacy",
        "privacy",
        (
            GREETING,
            "インスタに住所と本名を晒されました",
            "住所と本名",
            "ないです",
            "スクショは保存してあります",
            "はい",
            STAFF,
            HOURS,
            THANKS,
        ),
        eligible=False,
    ),
    Scenario(
        "payment_fraud",
        "payment_fraud",
        (
            GREETING,
            "PayPayで身に覚えのない支払いがありました",
            "3万円です",
            "まだです",
            "はい",
            STAFF,
            HOURS,
            THANKS,
        ),
        eligible=False,
    ),
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
    middle = turns[1 if turns[0] == GREETING else 0 : scenario.handoff]
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


def build_conversations(count: int, lock_count: int, run_id: str) -> Tuple[List[Conversation], List[Conversation]]:
    """Phase 1's ``count`` conversations (turns alternating between the servers) and phase 2's
    ``lock_count`` (turns also sent to both at once), the scenarios in turn, each with a 090
    number of its own."""

    def phone(n: int) -> str:
        return f"090-6100-{n:04d}"

    first = [
        Conversation(
            f"scaleout-{run_id}-p1-{i:03d}",
            SCENARIOS[i % len(SCENARIOS)],
            "phase 1",
            alternating_plan(SCENARIOS[i % len(SCENARIOS)].turns(phone(i)), first=i % 2),
        )
        for i in range(count)
    ]
    second = [
        Conversation(
            f"scaleout-{run_id}-p2-{i:03d}",
            SCENARIOS[i % len(SCENARIOS)],
            "phase 2",
            lock_plan(SCENARIOS[i % len(SCENARIOS)], phone(count + i)),
        )
        for i in range(lock_count)
    ]
    return first, second
