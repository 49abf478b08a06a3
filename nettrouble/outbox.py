"""Notifications of new cases to ``HANDOFF_WEBHOOK_URL``, through an outbox table.

The row is written in the same transaction as the case, so neither a receiver that is down nor
a crash right after the handoff loses a notification: a worker (``run_forever``, run by the
console process) POSTs pending rows and retries failures with exponential backoff, forever.
Each row is claimed with a lease before it is sent, so several workers never send it at the
same moment; a receiver may still see a row twice when its answer was lost, which the
``Idempotency-Key`` header (the row id) lets it recognise.

Every POST is signed: ``X-NetTrouble-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 under HANDOFF_WEBHOOK_SECRET of ``f"{t}.{body}"`` (the body as sent, UTF-8 JSON).
A receiver recomputes it over the raw body, compares in constant time and refuses a ``t`` more
than five minutes from its own clock, so that a recorded request cannot be replayed later
(README, "Security", has a receiver). ``t`` is the time of each attempt, not of the case.

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
from typing import Any, Dict, Optional
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
    select,
)
from sqlalchemy.engine import Connection, Engine

from nettrouble.clock import JST, in_japan
from nettrouble.db import metadata
from nettrouble.settings import settings

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
DEFAULT_TIMEOUT = 10.0
BATCH = 50
MAX_ERROR_CHARS = 300
SIGNATURE_HEADER = "X-NetTrouble-Signature"

outbox = Table(
    "outbox",
    metadata,
    # A random id, sent as Idempotency-Key, so that a receiver can drop a redelivery even
    # across database restores where integer ids would repeat.
    Column("id", String(36), primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
)


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int


def wall_clock() -> datetime:
    return datetime.now(timezone.utc).astimezone(JST)


def enqueue(connection: Connection, case_id: int, kind: str, payload: Dict[str, Any]) -> str:
    """Adds a notification inside the caller's transaction; returns its id."""
    created = wall_clock()
    outbox_id = str(uuid.uuid4())
    connection.execute(
        outbox.insert().values(
            id=outbox_id, case_id=case_id, kind=kind, payload=payload,
            created_at=created, attempts=0, next_attempt_at=created,
        )
    )
    return outbox_id


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, … up to an hour."""
    return min(FIRST_RETRY * (2 ** max(0, min(attempts - 1, 20))), MAX_RETRY)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would arrive as a GET without its body: count it as a failure instead.
    def redirect_request(self, *args, **kwargs):
        return None


def check_url(url: str) -> str:
    """``url`` if it is an http(s) address; urllib would also open file: and ftp: addresses."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("HANDOFF_WEBHOOK_URL must be an http:// or https:// address")
    return url


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The value of SIGNATURE_HEADER for ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _post(url: str, outbox_id: str, body: bytes, timeout: float, secret: str) -> Optional[str]:
    """None when the receiver accepted the notification (2xx), else a short reason."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": outbox_id,
            "User-Agent": "nettrouble-handoff/1",
            SIGNATURE_HEADER: signature(secret, body, int(time.time())),
        },
    )
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as response:
            response.read(65536)
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
    except (OSError, ValueError) as error:
        # Connection refused, DNS failure, timeout (socket.timeout is an OSError), TLS errors;
        # urllib wraps most of them in URLError, whose reason is the informative part.
        cause = error.reason if isinstance(error, urllib.error.URLError) else error
        return f"{type(cause).__name__}: {cause}"[:MAX_ERROR_CHARS]
    return None if 200 <= status < 300 else f"HTTP {status}"


def _claim(engine: Engine, row: Any, at: datetime, lease: timedelta) -> bool:
    """Pushes the row's next attempt past the lease, if nobody else did first; a worker that
    dies while sending leaves the row to be retried when the lease runs out."""
    with engine.begin() as connection:
        return connection.execute(
            outbox.update()
            .where(
                outbox.c.id == row.id,
                outbox.c.delivered_at.is_(None),
                outbox.c.next_attempt_at == row.next_attempt_at,
            )
            .values(next_attempt_at=at + lease)
        ).rowcount == 1


def deliver_pending(
    engine: Engine,
    url: str,
    now: Optional[datetime] = None,
    timeout: float = DEFAULT_TIMEOUT,
    batch: int = BATCH,
    secret: Optional[str] = None,
) -> DeliveryReport:
    """POSTs every notification that is due at ``now``, oldest first, at most ``batch``, signed
    with ``secret`` (default HANDOFF_WEBHOOK_SECRET, which must then be set)."""
    check_url(url)
    secret = secret or settings().require("handoff_webhook_secret")
    at = in_japan(now) if now else wall_clock()
    due = (
        select(outbox)
        .where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= at)
        .order_by(outbox.c.created_at, outbox.c.id)
        .limit(batch)
    )
    with engine.connect() as connection:
        rows = connection.execute(due).all()
    delivered = failed = 0
    lease = timedelta(seconds=timeout) + FIRST_RETRY
    for row in rows:
        if not _claim(engine, row, at, lease):
            continue
        body = json.dumps(
            {"id": row.id, "event": row.kind, "created_at": in_japan(row.created_at).isoformat(),
             "case": row.payload},
            ensure_ascii=False,
        ).encode("utf-8")
        error = _post(url, row.id, body, timeout, secret)
        attempts = row.attempts + 1
        with engine.begin() as connection:
            if error is None:
                connection.execute(
                    outbox.update().where(outbox.c.id == row.id)
                    .values(delivered_at=at, attempts=attempts, last_error=None)
                )
                delivered += 1
            else:
                connection.execute(
                    outbox.update().where(outbox.c.id == row.id)
                    .values(attempts=attempts, next_attempt_at=at + backoff(attempts), last_error=error)
                )
                failed += 1
                log.warning("handoff notification %s failed (attempt %d): %s", row.id, attempts, error)
    return DeliveryReport(delivered, failed)


def run_forever(
    engine: Engine,
    url: str,
    stop_event: threading.Event,
    interval: float = 5.0,
    timeout: float = DEFAULT_TIMEOUT,
    secret: Optional[str] = None,
) -> None:
    """Delivers pending notifications every ``interval`` seconds until ``stop_event`` is set.
    For a worker thread or process; a database or network failure is logged and retried."""
    check_url(url)
    secret = secret or settings().require("handoff_webhook_secret")
    while not stop_event.is_set():
        try:
            deliver_pending(engine, url, timeout=timeout, secret=secret)
        except Exception:  # noqa: BLE001 — the worker must outlive a database outage
            log.exception("handoff notification run failed; retrying in %.0f s", interval)
        stop_event.wait(interval)
