"""The review list: user messages the assistant did not understand, grouped, labelled by a
supervisor with the intent they meant, and exported as Rasa NLU training data.

Which messages: the user turns that ``nettrouble.staff.analytics`` counts as not understood
(fallback) or answered with "did you mean", with their text as the tracker store keeps it
(phone numbers and e-mail addresses already masked). Button payloads (``/inform{...}``) name
their intent and are left out.

Grouping: each text is normalised (NFKC, lower case, then its reading in hiragana from
``japanese.reading``, so that 悪口 and わるぐち, スクショ and すくしょ are the same; spaces,
punctuation and symbols dropped) and turned into its set of character bigrams. Distinct
normalised texts are taken most frequent first; each joins the group whose first text (its
representative) it resembles most, when their Jaccard similarity (shared bigrams over all
bigrams) is at least ``SIMILARITY``, or else starts a group of its own. Comparing with the
representative only keeps a group from drifting through a chain of each-a-bit-different texts.
0.4 puts 「パスワードを忘れました」 and 「ぱすわーど忘れた」 (0.46) together and keeps texts that
share one word and nothing else apart. Groups come most frequent first.

Labels: a supervisor assigns an intent of ``domain.yml`` (or a FAQ key, ``faq/<key>``, one with
a response) to a group; each distinct text of the group gets a row in ``review_labels``, keyed
by the SHA-256 of the text, so that labelling the same text again replaces its intent.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Tuple

import yaml
from sqlalchemy import Column, DateTime, String, Table, Text, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from nettrouble.cases import tracker_events
from nettrouble.core import japanese
from nettrouble.core.clock import in_japan, now, start_of_day
from nettrouble.core.masking import mask_text
from nettrouble.core.settings import ROOT
from nettrouble.core.sql_metadata import metadata
from nettrouble.staff import analytics

SIMILARITY = 0.4
MAX_WHO = 100
MAX_INTENT = 100
# A retrieval intent is trained as <intent>/<key>; its keys are those with a response.
RETRIEVAL_INTENTS = ("faq",)

review_labels = Table(
    "review_labels",
    metadata,
    Column("text_hash", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("intent", String(MAX_INTENT), nullable=False),
    Column("assigned_by", String(MAX_WHO), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)


class ReviewError(ValueError):
    """A label the store refuses; ``code`` says why (for the console to translate)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ReviewMessage:
    text: str
    kind: str
    at: datetime
    sender_id: str


@dataclass(frozen=True)
class ReviewGroup:
    """Similar messages, the most frequent text first; ``intent`` is the label most of its
    texts carry, if any does."""

    representative: str
    messages: Tuple[ReviewMessage, ...]
    texts: Tuple[str, ...]
    intent: Optional[str] = None

    @property
    def count(self) -> int:
        return len(self.messages)


@dataclass(frozen=True)
class Assignment:
    text_hash: str
    text: str
    intent: str
    assigned_by: str
    assigned_at: datetime


# --- the messages ----------------------------------------------------------------------------


def messages(stream: Iterable[Tuple[str, Sequence[Any]]]) -> Iterator[ReviewMessage]:
    """The not-understood and "did you mean" messages of (sender id, events) pairs."""
    for found in analytics.conversations(stream):
        for turn in found.turns:
            text = turn.text.strip()
            if turn.kind != analytics.UNDERSTOOD and text and not text.startswith("/"):
                yield ReviewMessage(text, turn.kind, turn.at, found.sender_id)


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(char for char in japanese.reading(folded) if unicodedata.category(char)[0] not in "PSZC")


def bigrams(normalised: str) -> FrozenSet[str]:
    if len(normalised) < 2:
        return frozenset([normalised]) if normalised else frozenset()
    return frozenset(normalised[i : i + 2] for i in range(len(normalised) - 1))


def similarity(first: FrozenSet[str], second: FrozenSet[str]) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 1.0


def group(
    found: Iterable[ReviewMessage], labels: Optional[Dict[str, str]] = None, threshold: float = SIMILARITY
) -> List[ReviewGroup]:
    """Groups messages by similarity (see the module docstring); ``labels`` maps text hashes
    to intents already assigned."""
    by_form: Dict[str, List[ReviewMessage]] = {}
    for message in found:
        by_form.setdefault(normalise(message.text), []).append(message)
    # Most frequent first; among equals the earliest seen, so that the result is stable.
    forms = sorted(by_form, key=lambda form: (-len(by_form[form]), min(m.at for m in by_form[form]), form))
    groups: List[Tuple[FrozenSet[str], List[ReviewMessage]]] = []
    for form in forms:
        grams = bigrams(form)
        scores = [(similarity(grams, representative), -index) for index, (representative, _) in enumerate(groups)]
        # The most similar group; among equally similar ones the earlier (more frequent) one.
        best = max(scores, default=(0.0, 0))
        if scores and best[0] >= threshold:
            groups[-best[1]][1].extend(by_form[form])
        else:
            groups.append((grams, list(by_form[form])))
    result = []
    for _, members in groups:
        counts = Counter(m.text for m in members)
        first_seen: Dict[str, datetime] = {}
        for member in members:
            first_seen[member.text] = min(member.at, first_seen.get(member.text, member.at))
        texts = tuple(sorted(counts, key=lambda t: (-counts[t], first_seen[t], t)))
        intents = Counter(labels[text_hash(t)] for t in texts if labels and text_hash(t) in labels)
        intent = intents.most_common(1)[0][0] if intents else None
        ordered = tuple(sorted(members, key=lambda m: (m.at, m.text)))
        result.append(ReviewGroup(texts[0], ordered, texts, intent))
    return sorted(result, key=lambda g: -g.count)


def review_list(service_engine: Engine, tracker_engine: Engine, start: date, end: date) -> List[ReviewGroup]:
    """The groups of ``start`` to ``end`` (Japan dates, both included), with their labels."""
    stream = tracker_events.conversations_between(
        tracker_engine, start_of_day(start), start_of_day(end + timedelta(days=1))
    )
    found = [m for m in messages(stream) if start <= in_japan(m.at).date() <= end]
    labels = {a.text_hash: a.intent for a in assignments(service_engine)}
    return group(found, labels)


# --- labels ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def intents() -> FrozenSet[str]:
    """The intents a message may be labelled with: those of domain.yml, a retrieval intent by
    its keys (``faq/price``), which are the ones with an ``utter_faq/<key>`` response."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    names = {name for name in domain.get("intents") or [] if isinstance(name, str)}
    for retrieval in RETRIEVAL_INTENTS:
        if retrieval in names:
            names.discard(retrieval)
            prefix = f"utter_{retrieval}/"
            names.update(key[len("utter_") :] for key in domain.get("responses") or {} if key.startswith(prefix))
    return frozenset(names)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _assignment(row: Any) -> Assignment:
    return Assignment(row.text_hash, row.text, row.intent, row.assigned_by, in_japan(row.assigned_at))


def assign(
    engine: Engine, texts: Iterable[str], intent: str, who: str, at: Optional[datetime] = None
) -> List[Assignment]:
    """Labels every text with ``intent`` (replacing an earlier label of the same text). Texts
    are masked again before they are stored. Raises ReviewError 'unknown_intent' or
    'invalid'."""
    if intent not in intents():
        raise ReviewError("unknown_intent", f"{intent!r} is not an intent of domain.yml")
    who = who.strip()[:MAX_WHO] if isinstance(who, str) else ""
    if not who:
        raise ReviewError("invalid", "assigned_by must not be empty")
    cleaned = []
    for text in texts:
        masked = mask_text(text.strip()) if isinstance(text, str) else ""
        if masked and masked not in cleaned:
            cleaned.append(masked)
    if not cleaned:
        raise ReviewError("invalid", "no text to label")
    at = at or now()
    done = []
    for text in cleaned:
        values = dict(text=text, intent=intent, assigned_by=who, assigned_at=at)
        key = text_hash(text)
        # Update first, insert when there is nothing to update; a concurrent insert of the same
        # text makes ours fail, and the update then finds its row.
        for _ in range(2):
            try:
                with engine.begin() as connection:
                    changed = connection.execute(
                        update(review_labels).where(review_labels.c.text_hash == key).values(**values)
                    )
                    if not changed.rowcount:
                        connection.execute(review_labels.insert().values(text_hash=key, **values))
                break
            except IntegrityError:
                continue
        done.append(Assignment(key, text, intent, who, at))
    return done


def assignments(engine: Engine) -> List[Assignment]:
    """Every label, by intent and then text."""
    query = select(review_labels).order_by(review_labels.c.intent, review_labels.c.text)
    with engine.connect() as connection:
        return [_assignment(row) for row in connection.execute(query)]


# --- export ----------------------------------------------------------------------------------


def _example(text: str) -> str:
    """One training example as a line of a YAML literal block: masked again (a label made
    before a masking rule existed must not leak a number), on one line (every kind of line
    break and space run becomes one space; characters YAML cannot hold are dropped), and with
    ASCII brackets made full-width, since Rasa reads ``[text](entity)`` as an entity."""
    masked = mask_text(text)
    line = " ".join(masked.split())
    line = "".join(char for char in line if char.isprintable())
    return line.replace("[", "［").replace("]", "］").strip()


def export_nlu_yaml(labels: Iterable[Assignment]) -> str:
    """Rasa 3.x NLU training data of the labels: intents in name order, each text once."""
    by_intent: Dict[str, List[str]] = {}
    for label in labels:
        example = _example(label.text)
        if example and example not in by_intent.setdefault(label.intent, []):
            by_intent[label.intent].append(example)
    lines = ['version: "3.1"', "", "nlu:"]
    for intent in sorted(by_intent):
        if intent not in intents():
            raise ReviewError("unknown_intent", f"{intent!r} is not an intent of domain.yml")
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in by_intent[intent]]
    if lines[-1] == "nlu:":
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"
