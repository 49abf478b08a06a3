"""The scale-out check's checks, pure: what was sent and what was stored in, counts out."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

from addons.tracker_store import public_numbers
from nettrouble.core.masking import mask_text
from nettrouble.eligibility.rules import ELIGIBLE
from scripts.scaleout.scenarios import REFERENCE


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
        event.get("event"),
        event.get("timestamp"),
        event.get("text"),
        event.get("name"),
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
        window = turns[position : position + len(group)]
        position += len(group)
        if Counter(m for m, _ in group) != Counter(turn.text for turn in window):
            found.out_of_order += 1
            found.problems.append(f"turn {position}: sent {[m for m, _ in group]}, stored {[t.text for t in window]}")
            continue
        missing = Counter(group) - Counter((turn.text, turn.bot_texts) for turn in window)
        if missing:
            found.reply_mismatch += sum(missing.values())
            message, received = next(iter(missing))
            recorded = next(t.bot_texts for t in window if t.text == message)
            found.problems.append(
                f"turn {position}: the reply to {message!r} differs from the tracker: "
                f"{first_difference(received, recorded)}"
            )
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
        tuple(
            sorted((mask_text(m), tuple(REFERENCE.sub("NT-…", mask_text(r)) for r in replies)) for m, replies in group)
        )
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
        if (row["eligibility"] == ELIGIBLE) != case.eligible:
            found.wrong_eligibility += 1
            found.problems.append(f"{sender}: eligibility {row['eligibility']!r}")
        if case.eligible and reservations[row["reference"]] != 1:
            found.ledger_mismatch += 1
            found.problems.append(f"{sender}: {reservations[row['reference']]} ledger rows for {row['reference']}")
    known = {(sender, case.trouble_type) for sender, case in expected.items()}
    extra = [row for row in cases if (row["conversation_id"], row["trouble_type"]) not in known]
    found.unexpected_cases = len(extra)
    if extra:
        found.problems.append(f"cases nobody asked for: {[r['reference'] for r in extra][:10]}")
    if found.duplicate_cases or found.duplicate_references:
        found.problems.append(
            f"{found.duplicate_cases} duplicated case(s), {found.duplicate_references} duplicated reference(s)"
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
