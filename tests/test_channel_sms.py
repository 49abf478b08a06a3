"""The SMS channel: Twilio-format signed form posts through Sanic's test client, Twilio's
Messages API replaced by a local recording HTTP server (SMS_API_BASE points at it), the
deliveries handled kept in the test's service database."""
import base64
import logging
from urllib.parse import urlencode

import pytest
from rasa.core import run
from twilio.request_validator import RequestValidator

from addons.channels import render, render_sms, sms, turns
from addons.channels.sms import SmsInput
from nettrouble import identity, limits
from nettrouble.settings import settings
from tests.fakes.agent import FakeAgent

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token"
PUBLIC_URL = "https://chat.example.jp/webhooks/sms/webhook"
OUR_NUMBER = "+815012345678"
PHONE = "+819012345678"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


@pytest.fixture
def twilio_api(monkeypatch, service_database):
    from tests.fakes.http_recorder import platform_apis

    with platform_apis(monkeypatch, service_database, ["SMS_API_BASE"],
                       SMS_PUBLIC_URL=PUBLIC_URL, SMS_FROM_NUMBER=OUR_NUMBER) as server:
        yield server


@pytest.fixture
def agent():
    return FakeAgent()


def make_app(agent):
    app = run.configure_app([SmsInput.from_credentials({"account_sid": ACCOUNT, "auth_token": TOKEN})], port=5005)
    app.ctx.agent = agent
    return app


@pytest.fixture
def app(twilio_api, agent):
    return make_app(agent)


_sids = iter(range(1, 10_000))


def twilio_form(body="こんにちは", sender=PHONE, **extra):
    sid = f"SM{next(_sids):032x}"
    form = {
        "ToCountry": "JP", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": body, "FromCountry": "JP", "To": OUR_NUMBER, "ToZip": "", "NumSegments": "1",
        "MessageSid": sid, "AccountSid": ACCOUNT, "From": sender, "ApiVersion": "2010-04-01",
    }
    form.update(extra)
    return {k: v for k, v in form.items() if v is not None}


def post(app, form, signature="sign", url=PUBLIC_URL, token=TOKEN):
    body = urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "sign":
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, form)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature.encode("utf-8")  # raw bytes, as a forger may send
    return app.test_client.post("/webhooks/sms/webhook", data=body, headers=headers)[1]


def sent_texts(twilio_api):
    return [request.form()["Body"] for request in twilio_api.to(MESSAGES)]


# ---- signature -----------------------------------------------------------------------------

def test_signed_message_is_answered_through_the_provider(app, twilio_api, agent):
    answer = post(app, twilio_form("ＳＮＳで誹謗中傷されています"))
    assert answer.status == 200
    assert answer.content_type.startswith("text/xml") and answer.text.endswith("<Response/>")
    assert agent.texts == ["SNSで誹謗中傷されています"]
    assert agent.received[0].metadata == {
        limits.CLIENT: limits.client_key("sms", PHONE),
        limits.SENDER_PERSON_KEY: identity.key_for("09012345678", settings().require("person_key_secret")),
    }
    calls = twilio_api.to(MESSAGES)
    assert len(calls) >= 1
    assert calls[0].headers["Authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    form = calls[0].form()
    assert form["To"] == PHONE and form["From"] == OUR_NUMBER
    texts = sent_texts(twilio_api)
    assert texts[0].startswith("SNSなどでの誹謗中傷についてのご相談ですね。")
    assert all(render_sms.ucs2_length(t) <= 70 for t in texts)
    assert "1: はい" in "\n".join(texts) and "2: いいえ" in "\n".join(texts)


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "non-ascii", "other token", "request url",
                                  "tampered"])
def test_bad_signature_is_403_and_nothing_is_processed(app, twilio_api, agent, case):
    form = twilio_form("誹謗中傷されています")
    if case == "missing":
        answer = post(app, form, signature=None)
    elif case == "empty":
        answer = post(app, form, signature="")
    elif case == "garbage":
        answer = post(app, form, signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    elif case == "non-ascii":
        answer = post(app, form, signature="署名")
    elif case == "other token":
        answer = post(app, form, token="someone-elses-token")
    elif case == "request url":
        # signed over the address the server sees behind a proxy, not the configured one
        answer = post(app, form, url="http://127.0.0.1/webhooks/sms/webhook")
    else:
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL, form)
        answer = post(app, dict(form, Body="別の内容"), signature=signature)
    assert answer.status == 403
    assert agent.received == [] and twilio_api.requests == []


def test_replayed_message_is_processed_once_even_after_a_restart(app, twilio_api, agent):
    form = twilio_form("一度だけ")
    assert post(app, form).status == 200
    assert post(app, form).status == 200
    assert post(make_app(agent), form).status == 200
    assert agent.texts == ["一度だけ"]
    assert len(twilio_api.to(MESSAGES)) == 1


@pytest.mark.parametrize("sid", [None, ""])
def test_signed_message_without_a_message_sid_is_400_and_not_processed(app, twilio_api, agent, sid):
    form = twilio_form("IDなし", MessageSid=sid)  # SmsSid alone is not enough
    assert post(app, form).status == 400
    assert agent.received == [] and twilio_api.requests == []


@pytest.mark.parametrize("sender", ["+815012345678", "+12025550123", "0312345678"])
def test_only_a_japanese_mobile_sender_gets_a_person_key(app, twilio_api, agent, sender):
    post(app, twilio_form("こんにちは", sender=sender))
    assert agent.received[0].metadata == {limits.CLIENT: limits.client_key("sms", sender)}


def test_a_long_message_is_cut_and_the_user_told(app, twilio_api, agent):
    limit = settings().max_message_chars
    post(app, twilio_form("あ" * (limit + 500)))
    assert agent.texts == ["あ" * limit]
    assert sent_texts(twilio_api)[0] == turns.CUT.format(limit=limit)


def test_non_utf8_body_is_refused(app, twilio_api, agent):
    _, answer = app.test_client.post("/webhooks/sms/webhook", data=b"Body=\xff\xfe",
                                     headers={"X-Twilio-Signature": "x"})
    assert answer.status == 403 and agent.received == []


# ---- menus ---------------------------------------------------------------------------------

def test_a_numbered_reply_sends_that_buttons_payload(app, twilio_api, agent):
    post(app, twilio_form("メニュー"))
    menu = "\n".join(sent_texts(twilio_api))
    assert "1: SNSでの誹謗中傷" in menu and "11: 記事を読みたい" in menu
    assert render_sms.SMS_MENU_HINT in menu
    for reply in ("99", "メニュー", "１", "1", "1", "メニュー", "11"):
        post(app, twilio_form(reply))
    assert agent.texts == [
        "メニュー",
        "99",                                        # out of range: the text itself
        "メニュー",
        "/trouble_defamation",                       # full-width 1 of the trouble menu
        "/affirm",                                   # 1 of that turn's yes/no menu
        "1",                                         # that turn had no menu
        "メニュー",
        '/ask_articles{"article_topic":"privacy"}',
    ]


def test_menus_are_per_sender(app, twilio_api, agent):
    post(app, twilio_form("メニュー", sender="+819011111111"))
    post(app, twilio_form("1", sender="+819022222222"))
    assert agent.texts == ["メニュー", "1"]
    assert agent.received[0].sender_id != agent.received[1].sender_id


# ---- what arrives --------------------------------------------------------------------------

def test_missing_body_gets_a_polite_answer_without_the_bot(app, twilio_api, agent):
    form = twilio_form()
    del form["Body"]
    assert post(app, form).status == 200
    assert agent.received == []
    assert sent_texts(twilio_api) == render_sms.sms_texts([render.BotMessage(sms.EMPTY_MESSAGE)])


def test_picture_message_gets_the_text_only_answer(app, twilio_api, agent):
    form = twilio_form("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                       MediaContentType0="image/jpeg")
    post(app, form)
    assert agent.received == []
    assert "".join(sent_texts(twilio_api)) == turns.TEXT_ONLY.replace("\n", "")


def test_message_without_a_sender_is_ignored(app, twilio_api, agent):
    form = twilio_form("こんにちは")
    del form["From"]
    assert post(app, form).status == 200
    assert agent.received == [] and twilio_api.requests == []


def test_failing_bot_still_answers_with_the_fallback(twilio_api):
    app = run.configure_app([SmsInput.from_credentials({"account_sid": ACCOUNT, "auth_token": TOKEN})], port=5005)
    app.ctx.agent = FakeAgent(error=RuntimeError("action server down"))
    post(app, twilio_form("こんにちは"))
    assert "0120-221-360" in "".join(sent_texts(twilio_api))


def test_a_long_answer_is_capped(app, twilio_api, agent):
    agent.replies = lambda text: [{"text": "落ち着いて、ひとつずつ確認してまいりましょう。" * 40}]
    post(app, twilio_form("長い説明をください"))
    texts = sent_texts(twilio_api)
    assert len(texts) == render_sms.SMS_MAX_PER_TURN
    assert all(render_sms.ucs2_length(t) <= 70 for t in texts)


# ---- privacy and the provider --------------------------------------------------------------

def test_phone_number_is_neither_logged_nor_the_conversation_id(app, twilio_api, agent, caplog):
    twilio_api.answer(MESSAGES, (400, {"code": 21211, "message": f"The 'To' number {PHONE} is not valid"}))
    with caplog.at_level(logging.DEBUG):
        post(app, twilio_form("誹謗中傷されています"))
        post(app, twilio_form("1"))
    sender = agent.received[0].sender_id
    assert sender.startswith("sms-") and "9012345678" not in sender
    assert limits.client_key("sms", PHONE) == agent.received[0].metadata[limits.CLIENT]
    assert agent.received[1].text == "/affirm"
    assert "21211" in caplog.text  # the provider error was logged ...
    assert "9012345678" not in caplog.text  # ... without the number


def test_provider_error_stops_the_remaining_parts(app, twilio_api, agent):
    twilio_api.answer(MESSAGES, (400, {"code": 21610, "message": "unsubscribed recipient"}))
    post(app, twilio_form("誹謗中傷されています"))  # an answer of several SMS
    assert len(twilio_api.to(MESSAGES)) == 1


def test_provider_retries_when_twilio_is_busy(app, twilio_api, agent):
    twilio_api.answer(MESSAGES, (503, {"code": 20503}), (201, {"sid": "SM1"}))
    post(app, twilio_form("こんにちは"))
    calls = twilio_api.to(MESSAGES)
    assert len(calls) == 2 and calls[0].form() == calls[1].form()


# ---- the delivery log ----------------------------------------------------------------------

def test_deliveries_are_per_channel_hashed_and_pruned_after_a_while(service_database):
    from datetime import datetime, timedelta, timezone

    from nettrouble import deliveries

    long_ago = datetime.now(timezone.utc) - deliveries.KEEP - timedelta(minutes=1)
    assert deliveries.first_time(service_database, "sms", "SM1", at=long_ago) is True
    assert deliveries.first_time(service_database, "sms", "SM1", at=long_ago) is False
    assert deliveries.first_time(service_database, "line", "SM1") is True  # another channel's id
    # the next delivery prunes what is older than KEEP: a replay that late counts as new
    assert deliveries.first_time(service_database, "sms", "SM2") is True
    assert deliveries.first_time(service_database, "sms", "SM1") is True
    with service_database.connect() as connection:
        keys = [row.delivery_key for row in connection.execute(deliveries.deliveries.select())]
    assert "SM1" not in keys and all(len(key) == deliveries.KEY_LENGTH for key in keys)
