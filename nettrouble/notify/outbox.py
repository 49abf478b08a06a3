"""Notifications of new cases to the outside, through an outbox table: the signed handoff
webhook (here), Slack alerts (``nettrouble.notify.slack_alerts``) and helpdesk tickets
(``nettrouble.notify.ticketing``); ``nettrouble.notify.outlets`` says which are switched on.

One row per (case, outlet, event) is written in the same transaction as the case, so neither an
outlet that is down nor a crash right after the handoff loses a notification. A worker
(``run_forever``, run by the console process, one per outlet) sends the outlet's pending rows
and retries failures with exponential backoff. Each row is claimed with a lease before it is
sent, so several workers never send it at the same moment; the claim also counts the attempt,
so an outlet knows that an earlier attempt may have reached the other side even when the
worker died before it could record the answer (the ticket outlet then looks the ticket up
instead of creating a second one).

What is retried and what is not: no answer (connection refused or reset, timeout), a redirect,
408, 429 and 5xx are retried, for ever, at most an hour apart; any other 4xx is the other side
refusing this very request (a bad payload, a revoked token, a wrong address), which sending it
again cannot fix: the row is marked failed with the reason, logged as an error, and left for
``requeue_failed`` once the setting is corrected.

The webhook: every POST is signed, ``X-NetTrouble-Signature: t=<unix seconds>,v1=<hex>``,
where ``v1`` is HMAC-SHA256 under HANDOFF_WEBHOOK_SECRET of ``f"{t}.{body}"`` (the body as
sent, UTF-8 JSON). A receiver recomputes it over the raw body, compares in constant time and
refuses a ``t`` more than five minutes from its own clock, so that a recorded request cannot be
replayed later (README, "Security", has a receiver). ``t`` is the time of each attempt. A
receiver may see a row twice when its answer was lost, which the ``Idempotency-Key`` header
(the row id) lets it recognise.

Retry times follow the real clock, not ``CLOCK_OVERRIDE``: a demo pinned to one moment must
still retry, and delivery is plumbing rather than a business rule.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.client import HTTPException, HTTPMessage
from typing import IO, Any, Dict, Mapping, Optional, Protocol
from urllib.parse import urlsplit

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Connection, Engine

from nettrouble.core.clock import JST, in_japan
from nettrouble.core.settings import Settings, settings
from nettrouble.core.sql_metadata import metadata
from nettrouble.monitoring import metrics

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
DEFAULT_TIMEOUT = 10.0
BATCH = 50
MAX_ERROR_CHARS = 300
MAX_ANSWER_BYTES = 65536
# The most requests an outlet makes for one row (the ticket outlet: a lookup, then the post);
# a claim's lease covers all of them.
MAX_REQUESTS_PER_ROW = 2
SIGNATURE_HEADER = "X-NetTrouble-Signature"
# Client errors that say "later", not "never".
RETRIED_CLIENT_ERRORS = (408, 429)

WEBHOOK = "webhook"

outbox = Table(
    "outbox",
    metadata,
    # A random id, sent as Idempotency-Key, so that a receiver can drop a redelivery even
    # across database restores where integer ids would repeat.
    Column("id", String(36), primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    # The event (cases.CASE_CREATED); the webhook sends it as "event".
    Column("kind", String(40), nullable=False),
    # Where the row goes (WEBHOOK, slack_alerts.SLACK, ticketing.TICKETS); rows written
    # before there were several outlets were all for the webhook.
    Column("outlet", String(20), nullable=False, server_default=WEBHOOK),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Attempts started: counted when a worker claims the row, before it sends.
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    # Set when the outlet refused the row for good; it is not sent again unless requeued.
    Column("failed_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    # What the other side calls the thing it created (the helpdesk's ticket id).
    Column("remote_id", String(100), nullable=True),
    UniqueConstraint("case_id", "outlet", "kind", name="uq_outbox_case_outlet_kind"),
    Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
)


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int
    # Rows refused for good in this run (not counted in ``failed``, which will be retried).
    refused: int = 0


@dataclass(frozen=True)
class Outcome:
    """What an outlet made of one row: delivered (with the other side's id of what it
    created, if any), or not, with the reason and whether trying again can help."""

    delivered: bool
    error: Optional[str] = None
    permanent: bool = False
    remote_id: Optional[str] = None


def done(remote_id: Optional[str] = None) -> Outcome:
    return Outcome(True, remote_id=remote_id)


class Outlet(Protocol):
    """An external system that gets rows of the outbox."""

    name: str
    timeout: float

    def send(self, row: Any) -> Outcome:
        """Delivers one claimed row (its ``attempts`` are the attempts started before this
        one); never raises for a network or HTTP failure."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, or its absence: ``status`` None and ``error`` the reason."""

    status: Optional[int]
    body: bytes = b""
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def failure(self) -> Outcome:
        """The outcome of an answer that is not a success."""
        if self.status is None:
            return Outcome(False, self.error)
        reason = f"HTTP {self.status}"
        permanent = 400 <= self.status < 500 and self.status not in RETRIED_CLIENT_ERRORS
        return Outcome(False, reason, permanent=permanent)


def wall_clock() -> datetime:
    return datetime.now(timezone.utc).astimezone(JST)


def enqueue(connection: Connection, case_id: int, kind: str, payload: Dict[str, Any], outlet: str = WEBHOOK) -> str:
    """Adds a notification for ``outlet`` inside the caller's transaction; returns its id."""
    created = wall_clock()
    outbox_id = str(uuid.uuid4())
    connection.execute(
        outbox.insert().values(
            id=outbox_id,
            case_id=case_id,
            kind=kind,
            outlet=outlet,
            payload=payload,
            created_at=created,
            attempts=0,
            next_attempt_at=created,
        )
    )
    return outbox_id


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, … up to an hour."""
    factor: int = 2 ** max(0, min(attempts - 1, 20))
    return min(FIRST_RETRY * factor, MAX_RETRY)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would arrive as a GET without its body: count it as a failure instead.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> Optional[urllib.request.Request]:
        return None


def check_url(url: str, setting: str) -> str:
    """``url`` if it is an http(s) address; urllib would also open file: and ftp: addresses."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{setting} must be an http:// or https:// address")
    return url


def http(
    url: str,
    method: str = "POST",
    body: Optional[bytes] = None,
    headers: Optional[Mapping[str, str]] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Answer:
    """One HTTP request without redirects; never raises for a network failure."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as response:
            return Answer(response.status, response.read(MAX_ANSWER_BYTES))
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.read(MAX_ANSWER_BYTES))
    except (OSError, ValueError, HTTPException) as error:
        # Connection refused or reset, DNS failure, timeout (socket.timeout is an OSError), TLS
        # errors, an answer cut off (http.client's errors); urllib wraps most of them in
        # URLError, whose reason is the informative part.
        cause = error.reason if isinstance(error, urllib.error.URLError) else error
        return Answer(None, error=f"{type(cause).__name__}: {cause}"[:MAX_ERROR_CHARS])


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The value of SIGNATURE_HEADER for ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class Webhook:
    """HANDOFF_WEBHOOK_URL: every row POSTed as ``{"id", "event", "created_at", "case"}`` (the
    case document), signed with HANDOFF_WEBHOOK_SECRET (or ``secret``), which must be set."""

    name = WEBHOOK

    def __init__(self, url: str, secret: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT):
        self.url = check_url(url, "HANDOFF_WEBHOOK_URL")
        self.secret = secret or settings().require("handoff_webhook_secret")
        self.timeout = timeout

    @staticmethod
    def switched_on(config: Settings) -> bool:
        return bool(config.handoff_webhook_url)

    @classmethod
    def from_settings(cls, config: Settings) -> "Webhook":
        return cls(config.handoff_webhook_url)

    @staticmethod
    def concerns(document: Dict[str, Any]) -> bool:
        return True

    @staticmethod
    def payload(document: Dict[str, Any]) -> Dict[str, Any]:
        return document

    def send(self, row: Any) -> Outcome:
        body = json.dumps(
            {"id": row.id, "event": row.kind, "created_at": in_japan(row.created_at).isoformat(), "case": row.payload},
            ensure_ascii=False,
        ).encode("utf-8")
        answer = http(
            self.url,
            body=body,
            timeout=self.timeout,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": row.id,
                "User-Agent": "nettrouble-handoff/1",
                SIGNATURE_HEADER: signature(self.secret, body, int(time.time())),
            },
        )
        return done() if answer.ok else answer.failure()


def _claim(engine: Engine, row: Any, at: datetime, lease: timedelta) -> bool:
    """Pushes the row's next attempt past the lease and counts the attempt, if nobody else did
    first; a worker that dies while sending leaves the row to be retried when the lease runs
    out, with the attempt counted."""
    with engine.begin() as connection:
        return (
            connection.execute(
                outbox.update()
                .where(
                    outbox.c.id == row.id,
                    outbox.c.delivered_at.is_(None),
                    outbox.c.failed_at.is_(None),
                    outbox.c.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=at + lease, attempts=row.attempts + 1)
            ).rowcount
            == 1
        )


def _record(engine: Engine, outlet: Outlet, row: Any, outcome: Outcome, at: datetime) -> None:
    attempts = row.attempts + 1
    if outcome.delivered:
        values = dict(delivered_at=at, last_error=None, remote_id=outcome.remote_id)
    elif outcome.permanent:
        values = dict(failed_at=at, last_error=outcome.error)
        log.error(
            "%s notification %s refused for good (attempt %d): %s; it stays failed until requeued",
            outlet.name,
            row.id,
            attempts,
            outcome.error,
        )
        metrics.OUTBOX_FAILURES.labels(outlet.name, metrics.REFUSED).inc()
    else:
        values = dict(next_attempt_at=at + backoff(attempts), last_error=outcome.error)
        log.warning("%s notification %s failed (attempt %d): %s", outlet.name, row.id, attempts, outcome.error)
        metrics.OUTBOX_FAILURES.labels(outlet.name, metrics.RETRIED).inc()
    with engine.begin() as connection:
        connection.execute(outbox.update().where(outbox.c.id == row.id).values(**values))


def deliver_pending(
    engine: Engine, outlet: Outlet, now: Optional[datetime] = None, batch: int = BATCH
) -> DeliveryReport:
    """Sends every row of ``outlet`` that is due at ``now``, oldest first, at most ``batch``."""
    at = in_japan(now) if now else wall_clock()
    due = (
        select(outbox)
        .where(
            outbox.c.outlet == outlet.name,
            outbox.c.delivered_at.is_(None),
            outbox.c.failed_at.is_(None),
            outbox.c.next_attempt_at <= at,
        )
        .order_by(outbox.c.created_at, outbox.c.id)
        .limit(batch)
    )
    with engine.connect() as connection:
        rows = connection.execute(due).all()
    delivered = failed = refused = 0
    lease = timedelta(seconds=outlet.timeout * MAX_REQUESTS_PER_ROW) + FIRST_RETRY
    for row in rows:
        if not _claim(engine, row, at, lease):
            continue
        outcome = outlet.send(row)
        _record(engine, outlet, row, outcome, at)
        if outcome.delivered:
            delivered += 1
        elif outcome.permanent:
            refused += 1
        else:
            failed += 1
    return DeliveryReport(delivered, failed, refused)


def requeue_failed(engine: Engine, outlet: str, at: Optional[datetime] = None) -> int:
    """Makes the rows ``outlet`` refused for good due again (after the setting that made it
    refuse them is corrected); returns how many."""
    at = in_japan(at) if at else wall_clock()
    with engine.begin() as connection:
        return connection.execute(
            outbox.update()
            .where(outbox.c.outlet == outlet, outbox.c.failed_at.is_not(None), outbox.c.delivered_at.is_(None))
            .values(failed_at=None, next_attempt_at=at)
        ).rowcount


def run_forever(engine: Engine, outlet: Outlet, stop_event: threading.Event, interval: float = 5.0) -> None:
    """Delivers ``outlet``'s pending rows every ``interval`` seconds until ``stop_event`` is
    set. For a worker thread; a database failure is logged and retried."""
    while not stop_event.is_set():
        try:
            deliver_pending(engine, outlet)
        except Exception:  # noqa: BLE001 — the worker must outlive a database outage
            log.exception("%s notification run failed; retrying in %.0f s", outlet.name, interval)
        stop_event.wait(interval)
