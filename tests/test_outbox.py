"""Notification outbox and its webhook outlet: delivered exactly once to a real local HTTP
receiver, even when it was down at first; retried with backoff; a request refused for good is
marked failed until requeued; never sent twice by two workers; signed so that a receiver can
refuse forged and replayed notifications."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import select

from nettrouble.cases import store
from nettrouble.cases.schema import CaseDraft
from nettrouble.core import db
from nettrouble.notify import outbox
from tests.fakes.local import FixedPortServer, free_port, wait_until

SECRET = "test-webhook-secret-of-32-characters!"


def verify_signature(secret, header, body, now=None, tolerance_s=300):
    """The receiver of the README's "Security" section: True when ``header`` (the value of
    X-NetTrouble-Signature) signs ``body`` (the raw bytes received) under ``secret`` and its
    time is within five minutes of ours."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp, given = int(parts["t"]), parts["v1"]
    except (AttributeError, KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


@pytest.fixture
def engine(service_database, env, clock):
    env(PERSON_KEY_SECRET="test-secret", HANDOFF_WEBHOOK_SECRET=SECRET)
    clock("")
    return service_database


class Receiver(FixedPortServer):
    """A real HTTP server on 127.0.0.1 that records every request it gets."""

    def __init__(self, port, status=200, delay=0.0, location=None, secret=None):
        super().__init__(port)
        self.status, self.delay, self.location = status, delay, location
        # With a secret it answers 401 to a request whose signature does not verify.
        self.secret = secret
        self.requests = []

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, dict(self.headers), body))
                time.sleep(receiver.delay)
                signed = receiver.secret is None or verify_signature(
                    receiver.secret, self.headers.get("X-NetTrouble-Signature"), body
                )
                self.send_response(receiver.status if signed else 401)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.serve(Handler)
        return self


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs):
        made.append(Receiver(free_port(), **kwargs))
        return made[-1]

    yield make
    for item in made:
        item.stop()


def new_case(engine, conversation="conv-1", **extra):
    draft = CaseDraft(
        conversation_id=conversation,
        trouble_type="defamation",
        summary="Xで悪口を書かれました",
        person_key="a" * 64,
        **extra,
    )
    return store.open_case(engine, draft, notify=[outbox.WEBHOOK])[0]


def rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(outbox.outbox).order_by(outbox.outbox.c.created_at)).all()


def test_receiver_down_then_up_delivered_exactly_once(engine, receiver):
    case = new_case(engine)
    hook = receiver()
    webhook = outbox.Webhook(f"http://127.0.0.1:{hook.port}/hooks/handoff", timeout=2)
    start = outbox.wall_clock()

    # Down: nothing listens on the port yet.
    assert outbox.deliver_pending(engine, webhook, now=start) == outbox.DeliveryReport(0, 1)
    [row] = rows(engine)
    assert row.attempts == 1 and row.delivered_at is None and "ConnectionRefused" in row.last_error
    # Not due again before the backoff has passed.
    assert outbox.deliver_pending(engine, webhook, now=start + timedelta(seconds=10)) == outbox.DeliveryReport(0, 0)

    hook.start()
    later = start + timedelta(seconds=31)
    assert outbox.deliver_pending(engine, webhook, now=later) == outbox.DeliveryReport(1, 0)
    for minutes in (1, 60, 600):
        assert outbox.deliver_pending(engine, webhook, now=later + timedelta(minutes=minutes)) == (
            outbox.DeliveryReport(0, 0)
        )

    assert len(hook.requests) == 1
    path, headers, body = hook.requests[0]
    assert path == "/hooks/handoff"
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == row.id
    sent = json.loads(body.decode("utf-8"))
    assert sent["id"] == row.id and sent["event"] == "case_created"
    assert sent["case"]["reference"] == case.reference and sent["case"]["summary"] == "Xで悪口を書かれました"
    assert "person_key" not in sent["case"] and "a" * 64 not in body.decode("utf-8")
    [done] = rows(engine)
    assert done.delivered_at is not None and done.attempts == 2 and done.last_error is None


def test_error_status_is_retried_with_growing_backoff(engine, receiver):
    new_case(engine)
    hook = receiver(status=503).start()
    webhook = outbox.Webhook(f"http://127.0.0.1:{hook.port}/")
    at = outbox.wall_clock()
    waits = []
    for _ in range(4):
        assert outbox.deliver_pending(engine, webhook, now=at) == outbox.DeliveryReport(0, 1)
        [row] = rows(engine)
        waits.append(outbox.in_japan(row.next_attempt_at) - at)
        at = outbox.in_japan(row.next_attempt_at)
    assert waits == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert rows(engine)[0].last_error == "HTTP 503" and len(hook.requests) == 4
    hook.status = 204
    assert outbox.deliver_pending(engine, webhook, now=at) == outbox.DeliveryReport(1, 0)


def test_backoff_is_capped():
    assert outbox.backoff(1) == timedelta(seconds=30)
    assert outbox.backoff(8) == timedelta(hours=1)
    assert outbox.backoff(10_000) == timedelta(hours=1)


def test_redirect_is_a_failure_not_a_silent_get(engine, receiver):
    new_case(engine)
    target = receiver().start()
    hook = receiver(status=302, location=f"http://127.0.0.1:{target.port}/").start()
    assert outbox.deliver_pending(engine, outbox.Webhook(f"http://127.0.0.1:{hook.port}/")) == (
        outbox.DeliveryReport(0, 1)
    )
    assert rows(engine)[0].last_error == "HTTP 302" and target.requests == []


def test_slow_receiver_times_out(engine, receiver):
    new_case(engine)
    hook = receiver(delay=3).start()
    assert outbox.deliver_pending(engine, outbox.Webhook(f"http://127.0.0.1:{hook.port}/", timeout=0.5)) == (
        outbox.DeliveryReport(0, 1)
    )
    # The client's timeout ended the wait, not the receiver's late answer (which would have been
    # a delivery); no stopwatch, so that a loaded machine cannot fail it.
    assert "timed out" in rows(engine)[0].last_error


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "ftp://example.com/", "http://", "example.com/hook"])
def test_only_http_urls(engine, url):
    with pytest.raises(ValueError, match="HANDOFF_WEBHOOK_URL"):
        outbox.Webhook(url)


def test_two_workers_send_each_row_once(engine, receiver):
    for number in range(5):
        new_case(engine, conversation=f"conv-{number}")
    hook = receiver(delay=0.2).start()
    webhook = outbox.Webhook(f"http://127.0.0.1:{hook.port}/")
    barrier = threading.Barrier(3)
    reports = []

    def work():
        barrier.wait()
        reports.append(outbox.deliver_pending(engine, webhook))

    workers = [threading.Thread(target=work) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(report.delivered for report in reports) == 5
    keys = [headers["Idempotency-Key"] for _, headers, _ in hook.requests]
    assert len(keys) == 5 and len(set(keys)) == 5


def test_run_forever_delivers_and_stops(engine, receiver, monkeypatch):
    runs = []
    deliver = outbox.deliver_pending
    monkeypatch.setattr(outbox, "deliver_pending", lambda *args: runs.append(1) or deliver(*args))
    hook = receiver()
    webhook = outbox.Webhook(f"http://127.0.0.1:{hook.port}/")
    stop = threading.Event()
    worker = threading.Thread(target=outbox.run_forever, args=(engine, webhook, stop), kwargs={"interval": 0.05})
    worker.start()
    try:
        new_case(engine)
        # Down: the first attempt fails and is scheduled 30 s later.
        assert wait_until(lambda: rows(engine)[0].last_error is not None)
        assert rows(engine)[0].attempts == 1 and hook.requests == []
        hook.start()
        # Make the retry due now rather than waiting 30 s.
        with engine.begin() as connection:
            connection.execute(outbox.outbox.update().values(next_attempt_at=outbox.wall_clock()))
        assert wait_until(lambda: hook.requests and rows(engine)[0].delivered_at is not None)
        delivered_after = len(runs)
        assert wait_until(lambda: len(runs) >= delivered_after + 3)  # more runs, which must not send it again
    finally:
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive()
    assert len(hook.requests) == 1 and rows(engine)[0].delivered_at is not None


def test_run_forever_survives_a_database_failure(tmp_path, receiver, caplog):
    broken = db.engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")  # no tables
    stop = threading.Event()
    worker = threading.Thread(
        target=outbox.run_forever, args=(broken, outbox.Webhook("http://127.0.0.1:9/"), stop), kwargs={"interval": 0.05}
    )
    worker.start()
    assert wait_until(lambda: "webhook notification run failed" in caplog.text)
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive()
    db.dispose_all()


def test_notifications_are_signed_and_a_verifying_receiver_accepts_only_the_right_key(engine, receiver):
    new_case(engine)
    hook = receiver(secret=SECRET).start()
    url = f"http://127.0.0.1:{hook.port}/"
    at = outbox.wall_clock()
    # Signed under another key: the receiver refuses it, for good (a 4xx): the row is marked
    # failed with the reason and not sent again, however long one waits.
    wrong = outbox.Webhook(url, secret="another-secret-of-32-characters!!")
    assert outbox.deliver_pending(engine, wrong, now=at) == outbox.DeliveryReport(0, 0, 1)
    [row] = rows(engine)
    assert row.last_error == "HTTP 401" and row.failed_at is not None and row.delivered_at is None
    assert outbox.deliver_pending(engine, wrong, now=at + timedelta(days=1)) == outbox.DeliveryReport(0, 0)
    assert len(hook.requests) == 1
    # The key corrected, the failed row is requeued and goes out under HANDOFF_WEBHOOK_SECRET.
    assert outbox.requeue_failed(engine, outbox.WEBHOOK, at=at) == 1
    before = int(time.time())
    assert outbox.deliver_pending(engine, outbox.Webhook(url), now=at + timedelta(minutes=1)) == (
        outbox.DeliveryReport(1, 0)
    )
    after = int(time.time())
    _, headers, body = hook.requests[-1]
    # Header names are case-insensitive (urllib sends it as X-nettrouble-signature).
    header = {name.lower(): value for name, value in headers.items()}["x-nettrouble-signature"]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert before <= timestamp <= after  # signed when sent, whatever the machine's speed
    assert header == outbox.signature(SECRET, body, timestamp)
    # The same request is worthless later or altered: the time is inside the signature.
    assert verify_signature(SECRET, header, body)
    assert not verify_signature(SECRET, header, body, now=timestamp + 301)
    assert not verify_signature(SECRET, header, body.replace(b"defamation", b"fraud"))
    assert not verify_signature(SECRET, header.replace(f"t={timestamp}", f"t={timestamp + 1}"), body)
    for malformed in (None, "", "v1=00", "t=x,v1=00", f"t={timestamp}"):
        assert not verify_signature(SECRET, malformed, body)


def test_delivery_without_a_signing_key_is_refused(engine, receiver, env):
    from nettrouble.core.settings import SettingsError

    new_case(engine)
    env(HANDOFF_WEBHOOK_SECRET="")
    hook = receiver().start()
    with pytest.raises(SettingsError, match="HANDOFF_WEBHOOK_SECRET"):
        outbox.Webhook(f"http://127.0.0.1:{hook.port}/")
    assert hook.requests == []


@pytest.mark.parametrize(
    "status, refused",
    [
        (400, True),
        (403, True),
        (404, True),
        (410, True),
        (422, True),
        (408, False),
        (429, False),
        (500, False),
        (503, False),
    ],
)
def test_a_client_error_is_refused_for_good_except_timeout_and_rate_limit(engine, receiver, status, refused):
    new_case(engine)
    hook = receiver(status=status).start()
    webhook = outbox.Webhook(f"http://127.0.0.1:{hook.port}/")
    at = outbox.wall_clock()
    report = outbox.deliver_pending(engine, webhook, now=at)
    [row] = rows(engine)
    assert row.last_error == f"HTTP {status}" and row.attempts == 1 and row.delivered_at is None
    if refused:
        assert report == outbox.DeliveryReport(0, 0, 1) and row.failed_at is not None
    else:
        assert report == outbox.DeliveryReport(0, 1, 0) and row.failed_at is None
        assert outbox.in_japan(row.next_attempt_at) == at + outbox.backoff(1)


def test_an_attempt_is_counted_when_claimed_so_a_worker_that_dies_mid_send_is_known(engine, receiver):
    new_case(engine)
    hook = receiver().start()
    seen = []

    class Dying(outbox.Webhook):
        def send(self, row):
            seen.append(row.attempts)
            raise SystemExit("the worker's process ends while the request is in flight")

    at = outbox.wall_clock()
    with pytest.raises(SystemExit):
        outbox.deliver_pending(engine, Dying(f"http://127.0.0.1:{hook.port}/"), now=at)
    [row] = rows(engine)
    assert seen == [0] and row.attempts == 1 and row.delivered_at is None and row.failed_at is None
    # Nobody sends it while the lease runs; after it the next worker sees one earlier attempt.
    webhook = outbox.Webhook(f"http://127.0.0.1:{hook.port}/")
    assert outbox.deliver_pending(engine, webhook, now=at + timedelta(seconds=10)) == outbox.DeliveryReport(0, 0)
    assert outbox.deliver_pending(engine, webhook, now=at + timedelta(minutes=2)) == outbox.DeliveryReport(1, 0)
    assert rows(engine)[0].attempts == 2 and len(hook.requests) == 1
