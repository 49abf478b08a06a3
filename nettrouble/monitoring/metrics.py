"""The project's Prometheus metrics, defined once for all three processes.

Every process (the Rasa server, the action server, the agent console) imports this module and
serves ``render()`` at ``GET /metrics``; a metric that a process never moves stays at zero
there, so each is read on the process named in its help text. The metrics live in
prometheus_client's default registry, which also carries the Python process metrics (CPU,
memory, open files) of each server.

Label values are never personal data or free text: channels, actions, safety kinds, trouble
types and response names are each limited to a fixed set here, and anything else becomes
``other``. Conversation ids and messages never become labels (they would also make a new
series per user).

The outbox backlog is read from the service database when the console is scraped
(``OutboxBacklog``), so that it is right even when no worker runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Dict, Iterable, Iterator, Optional, Tuple

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from nettrouble.core.clock import JST
from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.staff import responses

log = logging.getLogger(__name__)

# The format Prometheus asks for by default; prometheus_client's "latest" is OpenMetrics 1.0.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
OTHER = "other"

# The channels of credentials.yml (their ``name()``), and Rasa's own command-line one.
CHANNELS = ("rest", "web", "line", "sms", "cmdline")

# Seconds; a turn or an action call above 5 s is an incident whatever its exact time.
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)

SPAN_SECONDS = Histogram(
    "nettrouble_span_seconds",
    "Time of each part of a request (nettrouble.monitoring.timing), per process and span.",
    ["process", "span"],
    buckets=(0.001, 0.002) + LATENCY_BUCKETS,
)
TURN_SECONDS = Histogram(
    "nettrouble_turn_seconds",
    "Rasa server: time to handle one user message, per channel.",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
ACTION_SECONDS = Histogram(
    "nettrouble_action_seconds",
    "Action server: time to run one action call, per action.",
    ["action"],
    buckets=LATENCY_BUCKETS,
)
FALLBACKS = Counter(
    "nettrouble_fallbacks",
    "Rasa server: replies that ask to rephrase or ask 'did you mean', per response.",
    ["response"],
)
SAFETY_ANSWERS = Counter(
    "nettrouble_safety_answers",
    "Rasa server: helpline or police answers given, per kind (self_harm, danger).",
    ["kind"],
)
CASES_CREATED = Counter(
    "nettrouble_cases_created", "Action server: new cases opened by a handoff, per trouble type.", ["trouble_type"]
)
# How an outbox attempt failed: retried later, or refused for good by the other side (a 4xx),
# which waits for an operator (``outbox.requeue_failed``).
RETRIED, REFUSED = "retried", "refused"
OUTBOX_FAILURES = Counter(
    "nettrouble_outbox_failures",
    "Console: notification attempts that failed, per outlet and outcome (retried, refused).",
    ["outlet", "outcome"],
)
# What an SMS reply of the channel was: the bot's answer, the notice that replaces it past the
# conversation's segment budget, or the channel's own answer to HELP, STOP or START.
SMS_REPLIES = ("answer", "budget_notice", "keyword")
SMS_SEGMENTS = Counter(
    "nettrouble_sms_segments", "Rasa server: SMS segments sent, per reply (answer, budget_notice, keyword).", ["reply"]
)
# A turn of one segment is a short answer; past ten, a budget of 80 lasts a handful of turns.
SMS_TURN_SEGMENTS = Histogram(
    "nettrouble_sms_turn_segments",
    "Rasa server: SMS segments of one turn's reply.",
    buckets=(1, 2, 3, 4, 6, 8, 10, 15, 20, 30),
)
SIGN_IN_FAILURES = Counter(
    "nettrouble_sign_in_failures", "Console: sign-ins refused for a wrong user name or password."
)


def known(value: Optional[str], allowed: Iterable[str]) -> str:
    """``value`` when it is one of ``allowed``, else ``other``: a label never carries free text."""
    return value if value is not None and value in allowed else OTHER


def observe_turn(channel: Optional[str], seconds: float) -> None:
    TURN_SECONDS.labels(known(channel, CHANNELS)).observe(seconds)


def observe_action(action: Optional[str], known_actions: Iterable[str], seconds: float) -> None:
    """An action call; the name comes from the caller, so only a registered action is a label."""
    ACTION_SECONDS.labels(known(action, known_actions)).observe(seconds)


def count_responses(names: Iterable[Optional[str]]) -> None:
    """Counts the safety answers and the fallbacks among the responses the bot sent."""
    for name in names:
        if name in responses.SAFETY:
            SAFETY_ANSWERS.labels(responses.SAFETY[name]).inc()
        elif name in responses.CONFUSED:
            FALLBACKS.labels(name).inc()


def sms_turn(reply: str, segments: int) -> None:
    """One SMS turn's reply and the segments it cost."""
    SMS_SEGMENTS.labels(known(reply, SMS_REPLIES)).inc(segments)
    SMS_TURN_SEGMENTS.observe(segments)


def case_created(trouble_type: Optional[str]) -> None:
    CASES_CREATED.labels(known(trouble_type, TROUBLE_TYPES)).inc()


@dataclass(frozen=True)
class Backlog:
    """One outlet's undelivered rows: due or retrying (pending, with the oldest one's age in
    seconds) and refused for good (waiting for an operator)."""

    pending: int = 0
    oldest_pending_s: float = 0.0
    refused: int = 0


def outbox_backlog(engine: Engine, at: Optional[datetime] = None) -> Dict[str, Backlog]:
    """The backlog of every outlet that has undelivered rows."""
    # Imported here: nettrouble.notify.outbox counts its failures with this module.
    from nettrouble.notify.outbox import outbox

    refused = outbox.c.failed_at.is_not(None)
    query = (
        select(outbox.c.outlet, refused.label("refused"), func.count(), func.min(outbox.c.created_at))
        .where(outbox.c.delivered_at.is_(None))
        .group_by(outbox.c.outlet, refused)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    at = at or datetime.now(timezone.utc)
    found: Dict[str, Backlog] = {}
    for outlet, is_refused, count, oldest in rows:
        current = found.get(outlet, Backlog())
        if is_refused:
            found[outlet] = replace(current, refused=int(count))
            continue
        if oldest.tzinfo is None:  # SQLite gives back naive datetimes; they were written in JST
            oldest = oldest.replace(tzinfo=JST)
        found[outlet] = replace(current, pending=int(count), oldest_pending_s=max((at - oldest).total_seconds(), 0.0))
    return found


class OutboxBacklog(Collector):
    """The outbox's pending rows and the age of the oldest, read at scrape time. A database
    that cannot be read leaves both out of the answer (health says why) instead of failing it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            backlog = outbox_backlog(self.engine)
        except Exception as error:  # noqa: BLE001 — any driver error: the scrape still answers
            log.warning("metrics: outbox backlog unreadable (%s)", type(error).__name__)
            return
        families = (
            (
                "nettrouble_outbox_pending",
                "Console: notifications not yet delivered and still tried, per outlet.",
                "pending",
            ),
            (
                "nettrouble_outbox_oldest_pending_seconds",
                "Console: age of the oldest notification still tried, per outlet (0 when none).",
                "oldest_pending_s",
            ),
            (
                "nettrouble_outbox_refused",
                "Console: notifications refused for good, waiting to be requeued, per outlet.",
                "refused",
            ),
        )
        for name, help_text, field_name in families:
            family = GaugeMetricFamily(name, help_text, labels=["outlet"])
            for outlet, figures in sorted(backlog.items()):
                family.add_metric([outlet], getattr(figures, field_name))
            yield family


class _Together(Collector):
    def __init__(self, collectors: Tuple[Collector, ...]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def render(*extra: Collector) -> bytes:
    """This process's metrics in Prometheus' text format (``CONTENT_TYPE``), with ``extra``
    collectors that belong to one app rather than the process (the console's database)."""
    return generate_latest(_Together((REGISTRY, *extra)))
