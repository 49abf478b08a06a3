"""The SMS channel: Twilio-format signed form posts through Sanic's test client, Twilio's
Messages API replaced by a local recording HTTP server (SMS_API_BASE points at it), the
deliveries handled kept in the test's service database."""

import base64
import logging
from urllib.parse import urlencode

import pytest
from rasa.core import run
from twilio.request_validator import RequestValidator

from addons.channels import render_sms, sms, turns
from addons.channels.messages import SMS_EMPTY, TEXT_ONLY
from addons.channels.sms import SmsInput
from nettrouble.channels import sms_segments
from nettrouble.channels.sms_providers import TwilioSmsProvider
from nettrouble.core import limits
from nettrouble.core.settings import settings
from nettrouble.eligibility import identity
from tests.fakes.agent import FakeAgent

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token"
PUBLIC_URL = "https://chat.example.jp/webhooks/sms/webhook"
OUR_NUMBER = "+815012345678"
PHONE = "+819012345678"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


@pytest.fixture
def twilio_api(env, service_database):
    from tests.fakes.http_recorder import platform_apis

    with platform_apis(
        env, service_database, ["SMS_API_BASE"], SMS_PUBLIC_URL=PUBLIC_URL, SMS_FROM_NUMBER=OUR_NUMBER
    ) as server:
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
        "ToCountry": "JP",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "JP",
        "To": OUR_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": sender,
        "ApiVersion": "2010-04-01",
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
    # one body for the turn: both messages in order, the menu and its hint at the end
    assert sent_texts(twilio_api) == [
        "SNSなどでの誹謗中傷についてのご相談ですね。おつらい状況の中、ご相談いただきありがとうございます。\n\n"
        "書き込みの画面は保存されていますか。\n1: はい\n2: いいえ\n" + render_sms.SMS_MENU_HINT
    ]


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "non-ascii", "other token", "request url", "tampered"])
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
    _, answer = app.test_client.post(
        "/webhooks/sms/webhook", data=b"Body=\xff\xfe", headers={"X-Twilio-Signature": "x"}
    )
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
        "99",  # out of range: the text itself
        "メニュー",
        "/trouble_defamation",  # full-width 1 of the trouble menu
        "/affirm",  # 1 of that turn's yes/no menu
        "1",  # that turn had no menu
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
    assert sent_texts(twilio_api) == [SMS_EMPTY]


def test_picture_message_gets_the_text_only_answer(app, twilio_api, agent):
    form = twilio_form("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1", MediaContentType0="image/jpeg")
    post(app, form)
    assert agent.received == []
    assert sent_texts(twilio_api) == [TEXT_ONLY]


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


def test_a_turn_of_several_messages_is_one_body_in_their_order(app, twilio_api, agent):
    post(app, twilio_form("たくさん"))
    assert sent_texts(twilio_api) == ["\n\n".join(f"{number}番目のご案内です。" for number in range(1, 8))]


def test_an_answer_past_the_providers_limit_comes_whole_in_bodies_within_it(app, twilio_api, agent):
    paragraph = "落ち着いて、ひとつずつ確認してまいりましょう。" * 20
    agent.replies = lambda text: [{"text": paragraph} for _ in range(5)]
    post(app, twilio_form("長い説明をください"))
    texts = sent_texts(twilio_api)
    # 460 characters a message: three fit in 1,600, the other two come in the next body
    assert texts == ["\n\n".join([paragraph] * 3), "\n\n".join([paragraph] * 2)]
    assert all(sms_segments.length(t) <= TwilioSmsProvider.body_limit for t in texts)


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


def test_provider_error_stops_the_remaining_bodies(app, twilio_api, agent):
    twilio_api.answer(MESSAGES, (400, {"code": 21610, "message": "unsubscribed recipient"}))
    agent.replies = lambda text: [{"text": "落ち着いて、ひとつずつ確認してまいりましょう。" * 20} for _ in range(5)]
    post(app, twilio_form("長い説明をください"))  # an answer of several bodies
    assert len(twilio_api.to(MESSAGES)) == 1


def test_provider_retries_when_twilio_is_busy(app, twilio_api, agent):
    twilio_api.answer(MESSAGES, (503, {"code": 20503}), (201, {"sid": "SM1"}))
    post(app, twilio_form("こんにちは"))
    calls = twilio_api.to(MESSAGES)
    assert len(calls) == 2 and calls[0].form() == calls[1].form()


# ---- the delivery log ----------------------------------------------------------------------


def test_deliveries_are_per_channel_hashed_and_pruned_after_a_while(service_database):
    from datetime import datetime, timedelta, timezone

    from nettrouble.channels import deliveries

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


# ---- segments and the budget ---------------------------------------------------------------


def segments_metric(reply):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("nettrouble_sms_segments_total", {"reply": reply}) or 0.0


def usage_of(database, sender):
    from nettrouble.channels import sms_usage

    return sms_usage.current(database, sender, expiry=None)


def budget(env, segments):
    env(SMS_SEGMENT_BUDGET=str(segments))


def test_segments_are_counted_per_conversation_and_in_the_metric(app, twilio_api, agent, service_database):
    answers_before = segments_metric("answer")
    post(app, twilio_form("誹謗中傷されています"))
    post(app, twilio_form("こんにちは"))
    sender = agent.received[0].sender_id
    cost = sum(sms_segments.segments(text) for text in sent_texts(twilio_api))
    assert cost == 3  # 2 for the question and its menu, 1 for the short answer
    assert usage_of(service_database, sender) == sms_usage_of(segments=3, turns=2)
    assert segments_metric("answer") == answers_before + 3


def sms_usage_of(**figures):
    from nettrouble.channels import sms_usage

    return sms_usage.Usage(**figures)


def test_past_the_budget_the_answer_becomes_the_notice_but_rasa_still_reads_the_message(
    app, twilio_api, agent, service_database, env
):
    budget(env, 3)
    notices_before = segments_metric("budget_notice")
    post(app, twilio_form("誹謗中傷されています"))  # 2 segments
    post(app, twilio_form("こんにちは"))  # 1: exactly the budget
    post(app, twilio_form("まだあります"))  # 1 more would pass it
    texts = sent_texts(twilio_api)
    assert texts[1] == "「こんにちは」について承りました。"
    assert texts[2] == render_sms.budget_notice()
    assert agent.texts == ["誹謗中傷されています", "こんにちは", "まだあります"]
    notice = sms_segments.segments(render_sms.budget_notice())
    assert segments_metric("budget_notice") == notices_before + notice
    # the notice is counted too
    assert usage_of(service_database, agent.received[0].sender_id) == sms_usage_of(segments=3 + notice, turns=3)


def test_past_the_budget_a_case_reference_and_a_danger_answer_still_come(app, twilio_api, agent, env):
    budget(env, 1)
    post(app, twilio_form("誹謗中傷されています"))  # 2 segments: past the budget already
    post(app, twilio_form("1"))  # the yes of the menu Rasa answered with
    post(app, twilio_form("もう死にたい"))  # a self-harm message, whatever the bot made of it
    texts = sent_texts(twilio_api)
    assert agent.texts == ["誹謗中傷されています", "/affirm", "もう死にたい"]
    assert texts[0] == render_sms.budget_notice()
    assert "NT-2507-12345-6" in texts[1] and "0120-221-360" in texts[1]
    assert texts[2] == "「もう死にたい」について承りました。"


def test_past_the_budget_an_answer_with_a_helpline_number_still_comes(app, twilio_api, agent, env):
    budget(env, 1)
    answer = "命に関わるときは、ためらわずに 110 に電話してください。" * 3  # 2 segments
    agent.replies = lambda text: [{"text": answer}]
    post(app, twilio_form("こんにちは"))  # no danger word: the number alone keeps the answer
    assert sent_texts(twilio_api) == [answer]


def test_the_conversation_starts_again_after_rasas_session_expiry(app, twilio_api, agent, service_database, env):
    from datetime import timedelta

    from sqlalchemy import update

    from nettrouble.channels import sms_usage

    budget(env, 2)
    post(app, twilio_form("誹謗中傷されています"))  # 2 segments: the whole budget
    sender = agent.received[0].sender_id
    expiry = sms.session_expiry(agent)
    assert expiry == timedelta(minutes=60)  # Rasa's default, which the fake agent's domain keeps
    # the last turn was a session expiry ago, plus a minute
    with service_database.begin() as connection:
        row = connection.execute(sms_usage.sms_conversations.select()).one()
        connection.execute(
            update(sms_usage.sms_conversations).values(
                last_at=row.last_at - expiry - timedelta(minutes=1), started_at=row.started_at - expiry
            )
        )
    post(app, twilio_form("こんにちは"))
    assert sent_texts(twilio_api)[1] == "「こんにちは」について承りました。"
    assert usage_of(service_database, sender) == sms_usage_of(segments=1, turns=1)


def test_the_session_expiry_comes_from_the_models_domain():
    from datetime import timedelta

    from rasa.shared.core.domain import Domain

    agent = FakeAgent()
    agent.tracker_store.domain = Domain.from_dict({"session_config": {"session_expiration_time": 15}})
    assert sms.session_expiry(agent) == timedelta(minutes=15)
    agent.tracker_store.domain = Domain.from_dict({"session_config": {"session_expiration_time": 0}})
    assert sms.session_expiry(agent) is None  # sessions that never expire


def test_an_unreachable_usage_store_still_sends_the_answer(app, twilio_api, agent, monkeypatch, env):
    from nettrouble.channels import sms_usage

    def down(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(sms_usage, "current", down)
    monkeypatch.setattr(sms_usage, "add", down)
    budget(env, 1)
    post(app, twilio_form("誹謗中傷されています"))  # 2 segments
    assert sent_texts(twilio_api)[0].startswith("SNSなどでの誹謗中傷")


# ---- HELP, STOP and START ------------------------------------------------------------------


def test_help_is_answered_by_the_channel_without_rasa(app, twilio_api, agent):
    keywords_before = segments_metric("keyword")
    post(app, twilio_form("ﾍﾙﾌﾟ"))
    post(app, twilio_form("help!"))
    assert agent.received == []
    assert sent_texts(twilio_api) == [render_sms.help_text()] * 2
    assert segments_metric("keyword") == keywords_before + 2 * sms_segments.segments(render_sms.help_text())


def test_a_flood_of_keywords_counts_towards_the_message_limit(app, twilio_api, agent, env, monkeypatch):
    # Each HELP costs us an SMS: a script repeating it must not get an answer per message.
    monkeypatch.setattr(turns.UserTurns, "LIMITED_PAUSE_S", 0.0)
    env(MESSAGES_PER_MINUTE="2")
    for _ in range(4):
        post(app, twilio_form("ヘルプ"))
    assert sent_texts(twilio_api) == [render_sms.help_text()] * 2 + [turns.limited_text()] * 2
    assert agent.received == []


def test_stop_is_recorded_confirmed_and_later_messages_are_still_answered(
    app, twilio_api, agent, service_database, caplog
):
    from nettrouble.channels import sms_usage

    with caplog.at_level(logging.DEBUG):
        post(app, twilio_form("停止"))
    sender = sms.SmsInput(TOKEN, PUBLIC_URL, None).sender_id(PHONE)
    assert sms_usage.is_opted_out(service_database, sender)
    assert not sms_usage.is_opted_out(
        service_database, sms.SmsInput(TOKEN, PUBLIC_URL, None).sender_id("+819099999999")
    )
    assert "9012345678" not in caplog.text and "STOP recorded" in caplog.text
    post(app, twilio_form("誹謗中傷されています"))
    post(app, twilio_form("ＳＴＯＰ"))  # twice: still one opt-out
    post(app, twilio_form("開始"))
    texts = sent_texts(twilio_api)
    assert texts[0] == render_sms.stop_text() and texts[2] == render_sms.stop_text()
    assert texts[1].startswith("SNSなどでの誹謗中傷")
    assert texts[3] == render_sms.start_text()
    assert agent.texts == ["誹謗中傷されています"]
    assert not sms_usage.is_opted_out(service_database, sender)


def test_keywords_are_answered_past_the_budget(app, twilio_api, agent, env):
    budget(env, 1)  # each of these answers is longer
    for text in ("ヘルプ", "停止", "START", "こんにちは"):
        post(app, twilio_form(text))
    assert sent_texts(twilio_api) == [
        render_sms.help_text(),
        render_sms.stop_text(),
        render_sms.start_text(),
        render_sms.budget_notice(),
    ]


def test_a_stop_that_cannot_be_recorded_is_not_confirmed(app, twilio_api, agent, monkeypatch):
    from nettrouble.channels import sms_usage

    def down(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(sms_usage, "opt_out", down)
    post(app, twilio_form("停止"))
    assert sent_texts(twilio_api) == [render_sms.keyword_failed_text()]
    assert "0120-221-360" in render_sms.keyword_failed_text()
