"""Attacks on the channels (issue 13), replayed through Sanic's test client with correctly
signed requests, a scripted agent in place of the model and the test's service database for
the deliveries handled. Each test fails if the attack succeeds."""

import json
import re
import time
import uuid
from pathlib import Path

import pytest
from rasa.core import run
from twilio.request_validator import RequestValidator

from addons.channels import turns
from addons.channels.line import LineInput
from addons.channels.rest import RestInput
from addons.channels.sms import SmsInput
from addons.channels.web import WebChatInput
from nettrouble.core.settings import settings
from tests.fakes.agent import FakeAgent, scripted_replies
from tests.fakes.http_recorder import platform_apis
from tests.test_channel_line import ACCESS_TOKEN, SECRET, sign, text_event, webhook_body
from tests.test_channel_sms import ACCOUNT, OUR_NUMBER, PUBLIC_URL, TOKEN, twilio_form

HELPLINE = "いのちの電話 0120-783-556"
CENTRE = "0120-221-360"


def replies(text):
    # The safety intents get their helplines, as the model's rules answer them.
    return [{"text": HELPLINE}] if text == "/urgent_self_harm" else scripted_replies(text)


@pytest.fixture
def platform(env, service_database):
    """The LINE and Twilio APIs (one recording server) and the service database."""
    with platform_apis(
        env,
        service_database,
        ["LINE_API_BASE", "SMS_API_BASE"],
        SMS_PUBLIC_URL=PUBLIC_URL,
        SMS_FROM_NUMBER=OUR_NUMBER,
    ) as server:
        yield server


@pytest.fixture
def agent():
    return FakeAgent(replies)


@pytest.fixture
def app(platform, agent):
    channels = [
        RestInput(),
        WebChatInput.from_credentials({"secret": "web-secret"}),
        LineInput.from_credentials({"channel_secret": SECRET, "access_token": ACCESS_TOKEN}),
        SmsInput.from_credentials({"account_sid": ACCOUNT, "auth_token": TOKEN}),
    ]
    app = run.configure_app(channels, port=5005)
    app.ctx.agent = agent
    return app


def line(app, body: bytes):
    return app.test_client.post("/webhooks/line/webhook", data=body, headers={"X-Line-Signature": sign(body)})[1]


def sms(app, form):
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL, form)
    return app.test_client.post("/webhooks/sms/webhook", data=form, headers={"X-Twilio-Signature": signature})[1]


def rest(app, sender, message):
    return app.test_client.post("/webhooks/rest/webhook", data=json.dumps({"sender": sender, "message": message}))[1]


def web_token(app):
    return app.test_client.post("/webhooks/web/session")[1].json["token"]


# ---- LINE ----------------------------------------------------------------------------------


def test_line_event_without_webhook_event_id_delivered_twice_is_processed_once(app, agent):
    incoming = text_event("二度届くイベント")
    del incoming["webhookEventId"]
    assert line(app, webhook_body(incoming)).status == 200
    # the same event again, as a redelivery with a new reply token
    again = dict(incoming, replyToken=uuid.uuid4().hex, deliveryContext={"isRedelivery": True})
    assert line(app, webhook_body(again)).status == 200
    assert agent.texts == ["二度届くイベント"]


def test_line_event_dated_years_ago_is_dropped(app, agent, platform):
    incoming = text_event("昔のイベント")
    incoming["timestamp"] -= 3 * 365 * 24 * 3600 * 1000
    assert line(app, webhook_body(incoming)).status == 200
    assert agent.received == [] and platform.requests == []


def test_deeply_nested_signed_line_body_is_400(app, agent):
    body = b'{"events": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert line(app, body).status == 400
    assert agent.received == []


# ---- SMS -----------------------------------------------------------------------------------


def test_sms_without_message_sid_is_400_and_not_processed(app, agent, platform):
    form = twilio_form("IDのないSMS", MessageSid=None, SmsSid=None, SmsMessageSid=None)
    assert sms(app, form).status == 400
    assert agent.received == [] and platform.requests == []


def test_sms_replayed_is_processed_once(app, agent):
    form = twilio_form("一度だけのSMS")
    for _ in range(3):
        assert sms(app, form).status == 200
    assert agent.texts == ["一度だけのSMS"]


# ---- conversations of another channel ------------------------------------------------------


def test_rest_cannot_write_into_web_chat_sms_or_line_conversations(app, agent):
    token = web_token(app)
    app.test_client.post("/webhooks/web/webhook", data=json.dumps({"token": token, "message": "ウェブから"}))
    sms(app, twilio_form("SMSから"))
    line(app, webhook_body(text_event("LINEから")))
    owned = [message.sender_id for message in agent.received]
    assert [sender[:4] for sender in owned] == ["web-", "sms-", "line"]
    for sender in owned + [sender.upper() for sender in owned]:
        answer = rest(app, sender, "/request_human")
        assert answer.status == 400 and answer.json["error"] == "bad_sender"
    assert len(agent.received) == 3


# ---- processing and message limits ---------------------------------------------------------


def test_a_20000_character_message_is_cut_before_the_bot(app, agent):
    answer = rest(app, "long-1", "ネットで悪口を書かれています。" * 1334)
    limit = settings().max_message_chars
    assert answer.status == 200 and answer.json[0]["text"] == turns.CUT.format(limit=limit)
    assert [len(message.text) for message in agent.received] == [limit]


def test_a_20000_character_message_ending_in_shinitai_still_gets_the_helplines(app, agent):
    answer = rest(app, "long-2", "ネットで叩かれてつらい。" * 1666 + "もう死にたい")
    assert answer.status == 200
    assert agent.texts == ["/urgent_self_harm"]
    assert HELPLINE in [reply["text"] for reply in answer.json]


def test_a_message_flood_gets_the_polite_limit_answer_with_the_phone_number(app, agent):
    limit = settings().messages_per_minute
    for n in range(limit):
        rest(app, "flood", f"{n}回目です")
    started = time.monotonic()
    answers = [rest(app, "flood", "まだ送ります"), rest(app, "another-conversation", "同じ送り手です")]
    # refused after a pause, so that a script sending as fast as it is answered slows down
    assert time.monotonic() - started >= 2 * turns.UserTurns.LIMITED_PAUSE_S
    assert len(agent.received) == limit
    for answer in answers:
        [reply] = answer.json
        assert reply["text"] == turns.limited_text() and CENTRE in reply["text"]
        assert "1分ほどおいて" in reply["text"]


# ---- the scale-out profile's edge ----------------------------------------------------------


def test_nginx_limits_requests_and_body_size_of_every_public_webhook():
    conf = (Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    zones = set(re.findall(r"limit_req_zone \$binary_remote_addr zone=(\w+):\d+m rate=\d+r/[sm];", conf))
    for location in ("/webhooks/line/", "/webhooks/sms/", "= /webhooks/web/webhook", "= /webhooks/web/session"):
        block = re.search(rf"location {re.escape(location)} \{{(.*?)\}}", conf, re.DOTALL).group(1)
        zone = re.search(r"limit_req zone=(\w+) burst=\d+ nodelay;", block)
        assert zone and zone.group(1) in zones, location
    assert re.search(r"^\s*client_max_body_size 1m;", conf, re.MULTILINE)
    assert "limit_req_status 429;" in conf
