"""Slack alerts and helpdesk tickets through the outbox, against local fakes of Slack's incoming
webhook and of Zendesk's tickets API that are down at first: each case reaches each outlet
exactly once, a Zendesk answer lost after the ticket was made does not make a second ticket,
non-urgent cases make no Slack post, and outlets switched off get no rows."""

import base64
import json
import socket
import struct
import sys
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sanic import Sanic
from sqlalchemy import select

from console import __main__ as console_main
from nettrouble.cases import store
from nettrouble.cases.schema import CaseDraft
from nettrouble.notify import outbox, outlets
from nettrouble.notify.slack_alerts import SLACK, SlackAlerts
from nettrouble.notify.ticketing import TICKETS, Tickets
from tests.fakes.local import FixedPortServer, wait_until
from tests.test_case_document import check_document

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import requeue  # noqa: E402  (scripts/requeue.py)

EMAIL, TOKEN = "agent@example.jp", "zendesk-api-token"
SUMMARY = "中学生の娘がXで悪口を書かれています"


class Fake(FixedPortServer):
    """A real HTTP server on 127.0.0.1; nothing listens on its port until ``start``."""

    def __init__(self):
        super().__init__()
        self.status = None  # an error status to answer every request with, while set
        self.requests = []

    def handle(self, handler, method, body):
        raise NotImplementedError

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append((method, self.path, dict(self.headers), body))
                if fake.status is not None:
                    return self._answer(fake.status, {"error": "unavailable"})
                fake.handle(self, method, body)

            def _answer(self, status, value):
                data = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _reset(self):
                # An RST instead of an answer: the client learns nothing of what happened.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def log_message(self, *args):
                pass

        self.serve(Handler)
        return self


class FakeSlack(Fake):
    def __init__(self):
        super().__init__()
        self.posts = []

    def handle(self, handler, method, body):
        if method != "POST" or handler.path != "/services/T0/B0/secret":
            return handler._answer(404, {"error": "no_service"})
        self.posts.append(json.loads(body))
        handler._answer(200, "ok")


class FakeZendesk(Fake):
    """Tickets by id; checks the API-token basic auth; ``lose_answers`` tickets are made but
    their answer is replaced by a connection reset."""

    def __init__(self):
        super().__init__()
        self.tickets = {}
        self.lose_answers = 0

    def handle(self, handler, method, body):
        expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        if handler.headers.get("Authorization") != expected:
            return handler._answer(401, {"error": "Couldn't authenticate you"})
        parts = urlsplit(handler.path)
        if parts.path != "/api/v2/tickets.json":
            return handler._answer(404, {"error": "InvalidEndpoint"})
        if method == "GET":
            wanted = parse_qs(parts.query).get("external_id", [None])[0]
            found = [t for t in self.tickets.values() if t["external_id"] == wanted]
            return handler._answer(200, {"tickets": found, "count": len(found)})
        ticket = {**json.loads(body)["ticket"], "id": 1000 + len(self.tickets)}
        self.tickets[ticket["id"]] = ticket
        if self.lose_answers:
            self.lose_answers -= 1
            return handler._reset()
        handler._answer(201, {"ticket": ticket})


@pytest.fixture
def fakes():
    made = [FakeSlack(), FakeZendesk()]
    yield made
    for fake in made:
        fake.stop()


@pytest.fixture
def engine(service_database, env, clock, fakes):
    slack, zendesk = fakes
    env(
        PERSON_KEY_SECRET="test-secret",
        HANDOFF_WEBHOOK_URL="",
        SLACK_WEBHOOK_URL=f"{slack.url}/services/T0/B0/secret",
        CONSOLE_PUBLIC_URL="https://console.example.jp/",
        TICKETS_API_URL=zendesk.url,
        TICKETS_API_EMAIL=EMAIL,
        TICKETS_API_TOKEN=TOKEN,
    )
    clock("")
    return service_database


def open_case(engine, conversation, urgency=(), **extra):
    draft = CaseDraft(
        conversation_id=conversation,
        channel="line",
        trouble_type="bullying",
        urgency=list(urgency),
        summary=SUMMARY,
        triage_answers={"grade": "中2"},
        person_key="c" * 64,
        **extra,
    )
    return store.open_case(engine, draft)[0]


def rows(engine, outlet=None):
    query = select(outbox.outbox).order_by(outbox.outbox.c.created_at)
    if outlet:
        query = query.where(outbox.outbox.c.outlet == outlet)
    with engine.connect() as connection:
        return connection.execute(query).all()


def senders():
    slack, tickets = outlets.configured()
    assert isinstance(slack, SlackAlerts) and isinstance(tickets, Tickets)
    return slack, tickets


def test_outlets_down_then_up_get_each_case_exactly_once_even_when_an_answer_is_lost(engine, fakes):
    slack_fake, zendesk = fakes
    urgent = open_case(engine, "urgent-1", urgency=["self_harm", "minor"])
    calm = open_case(engine, "calm-1")
    assert {row.outlet for row in rows(engine)} == {SLACK, TICKETS}
    assert [row.case_id for row in rows(engine, SLACK)] == [urgent.id]
    assert sorted(row.case_id for row in rows(engine, TICKETS)) == sorted([urgent.id, calm.id])
    slack, tickets = senders()
    at = outbox.wall_clock()

    # Down: Slack does not listen at all, Zendesk answers 503.
    zendesk.status = 503
    zendesk.start()
    assert outbox.deliver_pending(engine, slack, now=at) == outbox.DeliveryReport(0, 1)
    assert outbox.deliver_pending(engine, tickets, now=at) == outbox.DeliveryReport(0, 2)
    assert "ConnectionRefused" in rows(engine, SLACK)[0].last_error
    assert {row.last_error for row in rows(engine, TICKETS)} == {"HTTP 503"}

    # Up, but Zendesk makes the first ticket and resets the connection instead of answering.
    slack_fake.start()
    zendesk.status = None
    zendesk.lose_answers = 1
    at += timedelta(minutes=1)
    assert outbox.deliver_pending(engine, slack, now=at) == outbox.DeliveryReport(1, 0)
    assert outbox.deliver_pending(engine, tickets, now=at) == outbox.DeliveryReport(1, 1)
    assert len(zendesk.tickets) == 2

    # The retry finds the ticket by its external id instead of making a second one.
    for minutes in (2, 10, 120, 600):
        outbox.deliver_pending(engine, slack, now=at + timedelta(minutes=minutes))
        outbox.deliver_pending(engine, tickets, now=at + timedelta(minutes=minutes))
    assert len(slack_fake.posts) == 1
    assert len(zendesk.tickets) == 2
    assert sorted(t["external_id"] for t in zendesk.tickets.values()) == sorted([urgent.reference, calm.reference])
    posts = [r for r in zendesk.requests if r[0] == "POST"]
    assert len(posts) == 4  # two refused with 503, the lost one, the other case's
    by_reference = {t["external_id"]: t for t in zendesk.tickets.values()}
    for row in rows(engine, TICKETS):
        assert row.delivered_at is not None and row.failed_at is None
        assert row.remote_id == str(by_reference[row.payload["reference"]]["id"])
    assert rows(engine, SLACK)[0].delivered_at is not None


def test_the_ticket_maps_urgency_to_priority_and_carries_the_case_document(engine, fakes):
    _, zendesk = fakes
    zendesk.start()
    urgent = open_case(engine, "urgent-2", urgency=["danger"])
    calm = open_case(engine, "calm-2")
    _, tickets = senders()
    assert outbox.deliver_pending(engine, tickets) == outbox.DeliveryReport(2, 0)
    by_reference = {t["external_id"]: t for t in zendesk.tickets.values()}
    assert by_reference[urgent.reference]["priority"] == "urgent"
    assert by_reference[calm.reference]["priority"] == "normal"
    assert by_reference[urgent.reference]["tags"] == ["nettrouble", "trouble_bullying", "urgency_danger"]
    assert by_reference[calm.reference]["tags"] == ["nettrouble", "trouble_bullying"]
    for case in (urgent, calm):
        comment = by_reference[case.reference]["comment"]
        assert comment["public"] is False and case.reference in by_reference[case.reference]["subject"]
        document = json.loads(comment["body"][comment["body"].index("\n{") + 1 :])
        check_document(document)
        assert document["reference"] == case.reference and document["summary"] == SUMMARY
        assert "c" * 64 not in comment["body"]
    # The first attempt posts without looking up: nothing could exist yet.
    assert [r[0] for r in zendesk.requests] == ["POST", "POST"]


def test_the_slack_alert_shows_what_the_list_shows_and_not_the_users_words(engine, fakes):
    slack_fake, _ = fakes
    slack_fake.start()
    case = open_case(engine, "urgent-3", urgency=["minor", "danger"])
    slack, _ = senders()
    assert outbox.deliver_pending(engine, slack) == outbox.DeliveryReport(1, 0)
    [post] = slack_fake.posts
    text = post["text"]
    assert case.reference in text and "身の危険、未成年" in text and "子どものネットいじめ" in text
    assert "LINE" in text and case.created_at.strftime("%Y-%m-%d %H:%M") in text
    assert f"<https://console.example.jp/cases/{case.reference}|" in text
    for private in (SUMMARY, "中2", "urgent-3", case.conversation_id, "c" * 64):
        assert private not in json.dumps(post, ensure_ascii=False)
    # The row holds no more than the alert needs.
    assert set(rows(engine, SLACK)[0].payload) == {"reference", "urgency", "trouble_type", "channel", "created_at"}


def test_without_the_console_address_the_alert_has_no_link(engine, fakes, env):
    slack_fake, _ = fakes
    slack_fake.start()
    env(CONSOLE_PUBLIC_URL="")
    open_case(engine, "urgent-4", urgency=["sexual_image"])
    slack, _ = senders()
    assert outbox.deliver_pending(engine, slack) == outbox.DeliveryReport(1, 0)
    assert "<http" not in slack_fake.posts[0]["text"] and "性的画像の被害" in slack_fake.posts[0]["text"]


def test_a_revoked_slack_webhook_is_refused_for_good_not_retried_for_ever(engine, fakes):
    slack_fake, _ = fakes
    slack_fake.start()
    open_case(engine, "urgent-5", urgency=["danger"])
    revoked = SlackAlerts(f"{slack_fake.url}/services/T0/B0/revoked")
    at = outbox.wall_clock()
    assert outbox.deliver_pending(engine, revoked, now=at) == outbox.DeliveryReport(0, 0, 1)
    assert outbox.deliver_pending(engine, revoked, now=at + timedelta(days=1)) == outbox.DeliveryReport(0, 0, 0)
    [row] = rows(engine, SLACK)
    assert row.failed_at is not None and row.last_error == "HTTP 404" and len(slack_fake.requests) == 1


def test_make_outbox_requeue_sends_a_refused_alert_again_once_the_webhook_is_fixed(engine, fakes, env, capsys):
    slack_fake, _ = fakes
    slack_fake.start()
    open_case(engine, "urgent-6", urgency=["danger"])
    revoked = SlackAlerts(f"{slack_fake.url}/services/T0/B0/revoked")
    assert outbox.deliver_pending(engine, revoked).refused == 1
    # The operator corrects SLACK_WEBHOOK_URL, then runs the command (scripts/requeue.py).
    env(DATABASE_URL=engine.url.render_as_string(hide_password=False))
    assert requeue.main([SLACK]) == 0
    assert "1 notification(s) for slack" in capsys.readouterr().out
    fixed = SlackAlerts(f"{slack_fake.url}/services/T0/B0/secret")
    assert outbox.deliver_pending(engine, fixed).delivered == 1
    [row] = rows(engine, SLACK)
    assert row.delivered_at is not None and row.failed_at is None
    with pytest.raises(SystemExit):
        requeue.main(["pager"])  # not an outlet: argparse's usage error


def test_wrong_helpdesk_credentials_are_refused_for_good(engine, fakes):
    _, zendesk = fakes
    zendesk.start()
    open_case(engine, "calm-6")
    wrong = Tickets(zendesk.url, EMAIL, "not-the-token")
    assert outbox.deliver_pending(engine, wrong) == outbox.DeliveryReport(0, 0, 1)
    assert rows(engine, TICKETS)[0].last_error == "HTTP 401" and zendesk.tickets == {}
    assert outbox.requeue_failed(engine, TICKETS) == 1
    _, tickets = senders()
    # A requeued row has had an attempt: it is looked up first, then posted.
    assert outbox.deliver_pending(engine, tickets) == outbox.DeliveryReport(1, 0)
    assert [r[0] for r in zendesk.requests] == ["POST", "GET", "POST"] and len(zendesk.tickets) == 1


def test_outlets_switched_off_get_no_rows(engine, env):
    env(SLACK_WEBHOOK_URL="", TICKETS_API_URL="", HANDOFF_WEBHOOK_URL="")
    assert outlets.switched_on() == () and outlets.configured() == []
    open_case(engine, "off-1", urgency=["danger"])
    assert rows(engine) == []

    env(TICKETS_API_URL="https://example.zendesk.com")
    open_case(engine, "off-2", urgency=["danger"])
    assert [row.outlet for row in rows(engine)] == [TICKETS]
    # A repeated handoff of the same trouble notifies nobody again.
    open_case(engine, "off-2", urgency=["minor"])
    assert len(rows(engine)) == 1


def test_tickets_switched_on_without_credentials_stop_the_start(engine, env):
    from nettrouble.core.settings import SettingsError

    env(TICKETS_API_TOKEN="")
    with pytest.raises(SettingsError, match="TICKETS_API_TOKEN"):
        outlets.configured()
    env(SLACK_WEBHOOK_URL="file:///etc/passwd")
    with pytest.raises(ValueError, match="SLACK_WEBHOOK_URL"):
        outlets.configured()


def test_one_console_worker_per_outlet_delivers_and_is_listed_for_the_health_check(engine, fakes):
    slack_fake, zendesk = fakes
    slack_fake.start()
    zendesk.start()
    workers = [console_main.DeliveryWorker(engine, outlet, interval=0.05) for outlet in outlets.configured()]
    app = Sanic("outlets_test_workers")
    console_main.attach_workers(app, workers)
    assert [(w.name, w.running) for w in app.ctx.delivery_workers] == [(SLACK, False), (TICKETS, False)]
    for worker in workers:
        worker.start()
    try:
        case = open_case(engine, "urgent-7", urgency=["danger"])
        assert all(worker.running for worker in app.ctx.delivery_workers)
        assert wait_until(
            lambda: slack_fake.posts and zendesk.tickets and all(row.delivered_at for row in rows(engine))
        )
    finally:
        assert all(worker.stop() for worker in workers)
    assert not any(worker.running for worker in workers)
    assert len(slack_fake.posts) == 1 and [t["external_id"] for t in zendesk.tickets.values()] == [case.reference]
