"""How the assistant is doing: the figures of the supervisors' analytics page, per day and per
week in Japan time, from the tracker store (every conversation's events) and the case store.

A **conversation** is one Rasa session of one sender: the events of a sender are cut at each
``session_started`` event (a user who comes back after the session expired starts a new one).
A session without any user message (a web chat opened, nothing typed) is not a conversation.
Conversation figures belong to the Japan day of the conversation's first user message, and a
conversation whose first user message lies outside the range is left out.

A **user turn** is a user message with the bot events up to the next user message. It is:

- *not understood* (fallback) when the bot answered it with Rasa's core fallback
  (``action_default_fallback``) or with one of the responses that say the bot could not read
  it (``FALLBACK_RESPONSES``: 「うまく読み取れませんでした」 and its kin). The intent
  ``nlu_fallback`` alone does not count: inside the triage the answer reader still reads such a
  message (「うん」, 「わかんない」) and the conversation goes on as meant. These are the responses
  that ``scripts/typed_conversations.py`` counts as confusion.
- *did you mean* when the bot answered it with ``utter_did_you_mean`` (the likeliest trouble
  types offered as buttons by ``action_read_answer``); such a turn is not also a fallback.

Each conversation has exactly one **outcome**, decided in this order:

1. ``handed_off``: a case reference was issued (a ``case_reference`` slot set to a value).
2. ``abandoned``: the user left mid-flow. At the conversation's last event a form was active
   (the latest ``active_loop`` event names a form: a triage or eligibility question was
   waiting), or the bot's last message was an offer waiting for yes or no (``utter_offer_*``).
3. ``unresolved``: the last user turn was not understood, got a "did you mean" that the user
   did not answer, or got no bot message at all.
4. ``contained``: everything else: the bot answered the last user message with an answer of
   its own (a first step, an FAQ answer, a referral, a safety message, ...), no handoff.

Time to reference: from the conversation's first user message to the event that set its case
reference; the median and the 90th percentile (nearest rank) over the handed-off
conversations of the period.

Case figures (eligibility outcomes) come from the case store alone and belong to the Japan day
the case was created, so that they agree with the console's case list; a case without an
eligibility decision counts as ``none``. Weeks run Monday to Sunday and are cut at the ends of
the range.

Conversations are streamed (``tracker_events.conversations_between``) and reduced to a few
numbers each as they come, and the cases of the range are read in one query, so a month of
data is one pass over each store.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.engine import Engine

from nettrouble.cases import tracker_events
from nettrouble.cases.schema import cases
from nettrouble.core.clock import in_japan, start_of_day
from nettrouble.staff import responses

# The outcomes of a conversation (see the module docstring), in the order of the page.
HANDED_OFF = "handed_off"
CONTAINED = "contained"
ABANDONED = "abandoned"
UNRESOLVED = "unresolved"
OUTCOMES = (HANDED_OFF, CONTAINED, ABANDONED, UNRESOLVED)

# The kinds of a user turn.
UNDERSTOOD = "understood"
FALLBACK = "fallback"
DID_YOU_MEAN = "did_you_mean"

FALLBACK_ACTION = "action_default_fallback"
FALLBACK_RESPONSES = frozenset(responses.NOT_UNDERSTOOD)
DID_YOU_MEAN_RESPONSE = responses.DID_YOU_MEAN
OFFER_PREFIX = "utter_offer_"
REFERENCE_SLOT = "case_reference"
TROUBLE_SLOT = "trouble_type"
# The value of a mix for a conversation without it (no trouble type named, no channel known,
# no eligibility decision).
NONE = "none"
UNKNOWN_CHANNEL = "unknown"
# The channels of addons/channels, in the order of the page; others keep their own name.
CHANNELS = ("web", "line", "sms", "rest")


@dataclass(frozen=True)
class Turn:
    """One user message and how the bot took it."""

    text: str
    at: datetime
    intent: Optional[str]
    kind: str


@dataclass(frozen=True)
class Conversation:
    """One session reduced to what the figures need."""

    sender_id: str
    started_at: datetime
    channel: str
    trouble_type: str
    outcome: str
    turns: Tuple[Turn, ...]
    reference: Optional[str] = None
    seconds_to_reference: Optional[float] = None


def _ratio(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


@dataclass(frozen=True)
class Period:
    """The figures of one day, one week or the whole range (``start`` to ``end``, both
    included). Rates are None when there is nothing to divide by."""

    start: date
    end: date
    conversations: int = 0
    outcomes: Dict[str, int] = field(default_factory=dict)
    trouble_types: Dict[str, int] = field(default_factory=dict)
    channels: Dict[str, int] = field(default_factory=dict)
    user_turns: int = 0
    fallback_turns: int = 0
    did_you_mean_turns: int = 0
    eligibility: Dict[str, int] = field(default_factory=dict)
    cases: int = 0
    median_seconds_to_reference: Optional[float] = None
    p90_seconds_to_reference: Optional[float] = None

    @property
    def handed_off(self) -> int:
        return self.outcomes.get(HANDED_OFF, 0)

    @property
    def handoff_rate(self) -> Optional[float]:
        return _ratio(self.handed_off, self.conversations)

    @property
    def containment_rate(self) -> Optional[float]:
        return _ratio(self.outcomes.get(CONTAINED, 0), self.conversations)

    @property
    def abandonment_rate(self) -> Optional[float]:
        return _ratio(self.outcomes.get(ABANDONED, 0), self.conversations)

    @property
    def fallback_rate(self) -> Optional[float]:
        """Not-understood turns per user turn."""
        return _ratio(self.fallback_turns, self.user_turns)

    @property
    def did_you_mean_rate(self) -> Optional[float]:
        return _ratio(self.did_you_mean_turns, self.user_turns)


@dataclass(frozen=True)
class Report:
    """The figures of ``start`` to ``end`` (Japan dates, both included)."""

    start: date
    end: date
    total: Period
    days: List[Period]
    weeks: List[Period]


# --- one conversation ------------------------------------------------------------------------


def _response(event: Any) -> Optional[str]:
    """The response name of a bot message (Rasa records it as ``utter_action``)."""
    metadata = event.data.get("metadata") if isinstance(event.data, dict) else None
    name = metadata.get("utter_action") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def _turn_kind(answers: Sequence[Any]) -> str:
    """How the bot took a user message, from the events that answered it."""
    kind = UNDERSTOOD
    for event in answers:
        if event.type_name == "bot":
            name = _response(event)
            if name == DID_YOU_MEAN_RESPONSE:
                return DID_YOU_MEAN
            if name in FALLBACK_RESPONSES:
                kind = FALLBACK
        elif event.type_name == "action" and event.action_name == FALLBACK_ACTION:
            kind = FALLBACK
    return kind


def turns(events: Sequence[Any]) -> List[Turn]:
    """The user turns of a conversation's events (``StoredEvent``s, oldest first)."""
    found: List[Turn] = []
    user: Optional[Any] = None
    answers: List[Any] = []

    def close() -> None:
        if user is not None:
            text = user.data.get("text") if isinstance(user.data, dict) else None
            found.append(
                Turn(text if isinstance(text, str) else "", user.timestamp, user.intent_name, _turn_kind(answers))
            )

    for event in events:
        if event.type_name == "user":
            close()
            user, answers = event, []
        elif user is not None:
            answers.append(event)
    close()
    return found


def sessions(events: Iterable[Any]) -> Iterator[List[Any]]:
    """The events of one sender cut into sessions at each ``session_started`` event."""
    current: List[Any] = []
    for event in events:
        if event.type_name == "session_started" and current:
            yield current
            current = []
        current.append(event)
    if current:
        yield current


def conversation(sender_id: str, events: Sequence[Any]) -> Optional[Conversation]:
    """One session's figures, or None when the user never wrote in it."""
    user_turns = turns(events)
    if not user_turns:
        return None
    first = user_turns[0].at
    channel = UNKNOWN_CHANNEL
    trouble_type = NONE
    reference: Optional[str] = None
    reference_at: Optional[datetime] = None
    active_form: Optional[str] = None
    last_bot: Optional[Any] = None
    last_user_index = -1
    for index, event in enumerate(events):
        if event.type_name == "user":
            last_user_index = index
            if channel == UNKNOWN_CHANNEL and event.data.get("input_channel"):
                channel = str(event.data["input_channel"])
        elif event.type_name == "bot":
            last_bot = event
        elif event.type_name == "active_loop":
            active_form = event.data.get("name") or None
        elif event.type_name == "slot":
            name, value = event.data.get("name"), event.data.get("value")
            if name == TROUBLE_SLOT and isinstance(value, str) and value:
                trouble_type = value
            elif name == REFERENCE_SLOT and isinstance(value, str) and value and reference is None:
                reference, reference_at = value, event.timestamp
    answered = any(e.type_name == "bot" for e in events[last_user_index + 1 :])
    if reference is not None:
        outcome = HANDED_OFF
    elif active_form or (last_bot is not None and (_response(last_bot) or "").startswith(OFFER_PREFIX)):
        outcome = ABANDONED
    elif not answered or user_turns[-1].kind != UNDERSTOOD:
        outcome = UNRESOLVED
    else:
        outcome = CONTAINED
    seconds = (reference_at - first).total_seconds() if reference_at is not None else None
    return Conversation(sender_id, first, channel, trouble_type, outcome, tuple(user_turns), reference, seconds)


def conversations(stream: Iterable[Tuple[str, Sequence[Any]]]) -> Iterator[Conversation]:
    """Every conversation of a stream of (sender id, events oldest first)."""
    for sender_id, events in stream:
        for session in sessions(events):
            found = conversation(sender_id, session)
            if found is not None:
                yield found


# --- adding up -------------------------------------------------------------------------------


def nearest_rank(values: Sequence[float], share: float) -> Optional[float]:
    """The nearest-rank percentile: the smallest value with at least ``share`` of the values at
    or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


class _Tally:
    def __init__(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        self.conversations = 0
        self.outcomes: Counter[str] = Counter()
        self.trouble_types: Counter[str] = Counter()
        self.channels: Counter[str] = Counter()
        self.user_turns = self.fallback_turns = self.did_you_mean_turns = 0
        self.eligibility: Counter[str] = Counter()
        self.cases = 0
        self.seconds: List[float] = []

    def add(self, found: Conversation) -> None:
        self.conversations += 1
        self.outcomes[found.outcome] += 1
        self.trouble_types[found.trouble_type] += 1
        self.channels[found.channel] += 1
        self.user_turns += len(found.turns)
        self.fallback_turns += sum(1 for turn in found.turns if turn.kind == FALLBACK)
        self.did_you_mean_turns += sum(1 for turn in found.turns if turn.kind == DID_YOU_MEAN)
        if found.seconds_to_reference is not None:
            self.seconds.append(found.seconds_to_reference)

    def add_case(self, eligibility: Optional[str]) -> None:
        self.cases += 1
        self.eligibility[eligibility or NONE] += 1

    def period(self) -> Period:
        def ordered(counter: Counter[str], first: Sequence[str] = ()) -> Dict[str, int]:
            keys = [k for k in first if k in counter] + sorted(k for k in counter if k not in first)
            return {key: counter[key] for key in keys}

        return Period(
            start=self.start,
            end=self.end,
            conversations=self.conversations,
            outcomes={outcome: self.outcomes[outcome] for outcome in OUTCOMES},
            trouble_types=ordered(self.trouble_types),
            channels=ordered(self.channels, CHANNELS),
            user_turns=self.user_turns,
            fallback_turns=self.fallback_turns,
            did_you_mean_turns=self.did_you_mean_turns,
            eligibility=ordered(self.eligibility),
            cases=self.cases,
            median_seconds_to_reference=statistics.median(self.seconds) if self.seconds else None,
            p90_seconds_to_reference=nearest_rank(self.seconds, 0.9),
        )


def _days(start: date, end: date) -> List[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def summarise(
    start: date,
    end: date,
    stream: Iterable[Tuple[str, Sequence[Any]]],
    case_rows: Iterable[Tuple[datetime, Optional[str]]],
) -> Report:
    """The report of ``start`` to ``end`` from conversations as (sender id, events) and cases
    as (created_at, eligibility); either may hold more than the range (it is left out)."""
    if end < start:
        raise ValueError("end must not be before start")
    days = {day: _Tally(day, day) for day in _days(start, end)}
    weeks: Dict[date, _Tally] = {}
    for day in days:
        monday = day - timedelta(days=day.weekday())
        if monday not in weeks:
            weeks[monday] = _Tally(max(monday, start), min(monday + timedelta(days=6), end))
    total = _Tally(start, end)

    def tallies(moment: datetime) -> List[_Tally]:
        day = in_japan(moment).date()
        if day not in days:
            return []
        return [days[day], weeks[day - timedelta(days=day.weekday())], total]

    for found in conversations(stream):
        for tally in tallies(found.started_at):
            tally.add(found)
    for created_at, eligibility in case_rows:
        for tally in tallies(created_at):
            tally.add_case(eligibility)
    return Report(start, end, total.period(), [t.period() for t in days.values()], [t.period() for t in weeks.values()])


def report(case_engine: Engine, tracker_engine: Engine, start: date, end: date) -> Report:
    """The report of ``start`` to ``end`` (Japan dates, both included) from the two stores."""
    begin, finish = start_of_day(start), start_of_day(end + timedelta(days=1))
    query = select(cases.c.created_at, cases.c.eligibility).where(
        cases.c.created_at >= begin, cases.c.created_at < finish
    )
    with case_engine.connect() as connection:
        case_rows = [(row.created_at, row.eligibility) for row in connection.execute(query)]
    return summarise(start, end, tracker_events.conversations_between(tracker_engine, begin, finish), case_rows)
