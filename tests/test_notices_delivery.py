"""make notify-new-articles end to end against the local stand-ins for LINE's Messaging API and
Twilio (tests/fakes/http_recorder.py, as scripts/system_test.py uses them): users subscribe and
stop through the real LINE and SMS webhooks, whose turns run the real actions on the test's
service database; then a run sends, holds or leaves out, and after a crash a rerun sends what is
left, once."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import date, datetime
from urllib.parse import urlencode

import pytest
from rasa.core import run as rasa_run
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from actions.notices import ActionStopArticleNotices, ActionSubscribeArticleNotices
from addons.channels.line import LineInput
from addons.channels.sms import SmsInput
from nettrouble.content import articles, service
from nettrouble.content.articles import Article, Catalogue
from nettrouble.core.clock import JST
from nettrouble.notices import records, runner, senders, subscriptions
from tests.fakes.agent import FakeAgent
from tests.fakes.dispatcher import RenderingDispatcher
from tests.fakes.http_recorder import platform_apis
from tests.tracker_states import message, tracker

pytestmark = pytest.mark.system  # Sanic test clients and a local HTTP server on ports

LINE_SECRET, LINE_TOKEN = "line-channel-secret", "line-access-token"
ACCOUNT, TWILIO_TOKEN = "AC0123456789abcdef0123456789abcdef", "twilio-auth-token"
PUBLIC_URL = "https://chat.example.jp/webhooks/sms/webhook"
OUR_NUMBER = "+815012345678"
PUSH = "/v2/bot/message/push"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
USERS = ["U" + f"{n:032x}" for n in (1, 2, 3)]
PHONES = ["+819012345601", "+819012345602"]
CONSENT = "2026-03-02T11:00:00+09:00"
DAY = date(2026, 3, 5)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=JST)


def article(article_id, category="defamation", published=DAY):
    return Article(
        id=article_id,
        title=f"新着記事 {article_id}",
        category=category,
        tags=("タグ",),
        summary="新しい記事の要約です。",
        url=f"https://nettrouble.docomo.ne.jp/article/{article_id}/",
        published=published,
        access="members",
        free_windows=(),
    )


def catalogue(*found):
    return Catalogue(articles=tuple(found), topic_labels=articles.load().topic_labels)


@pytest.fixture
def platform(env, service_database, clock):
    clock(CONSENT)
    with platform_apis(
        env,
        service_database,
        ["LINE_API_BASE", "SMS_API_BASE"],
        LINE_CHANNEL_SECRET=LINE_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        SMS_PUBLIC_URL=PUBLIC_URL,
        SMS_FROM_NUMBER=OUR_NUMBER,
    ) as server:
        yield server


# ---- the assistant's side: the real channels, and the real actions behind them ----------------


class ActionAgent(FakeAgent):
    """The assistant as far as notices go: the user's はい to the offer of defamation notices
    runs action_subscribe_article_notices, /stop_article_notices (LINE's 「配信停止」) runs
    action_stop_article_notices, on the conversation the channel names."""

    ACTIONS = {"はい": ActionSubscribeArticleNotices, "/stop_article_notices": ActionStopArticleNotices}

    async def handle_message(self, message_: object) -> None:
        self.received.append(message_)
        intent = "affirm" if message_.text == "はい" else "stop_article_notices"
        latest = tracker(
            message(message_.text, intent), slots={"article_notice_topic": "defamation"}, sender_id=message_.sender_id
        )
        dispatcher = RenderingDispatcher()
        await self.ACTIONS[message_.text]().run(dispatcher, latest, {})
        for sent in dispatcher.messages:
            await message_.output_channel.send_response(message_.sender_id, {"text": sent["text"]})


def line_app(agent):
    app = rasa_run.configure_app(
        [LineInput.from_credentials({"channel_secret": LINE_SECRET, "access_token": LINE_TOKEN})], port=5005
    )
    app.ctx.agent = agent
    return app


def sms_app(agent):
    app = rasa_run.configure_app([SmsInput.from_credentials({"account_sid": ACCOUNT, "auth_token": TWILIO_TOKEN})])
    app.ctx.agent = agent
    return app


def line_says(app, user, text):
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {"type": "text", "id": str(uuid.uuid4().int)[:18], "text": text},
    }
    body = json.dumps({"destination": "Uxxxxxxxx", "events": [event]}, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {"Content-Type": "application/json", "X-Line-Signature": signature}
    assert app.test_client.post("/webhooks/line/webhook", data=body, headers=headers)[1].status == 200


def sms_says(app, phone, text):
    sid = "SM" + uuid.uuid4().hex
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": phone, "To": OUR_NUMBER, "Body": text}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL, form),
    }
    assert app.test_client.post("/webhooks/sms/webhook", data=urlencode(form), headers=headers)[1].status == 200


def subscribe_on_line(platform, *users):
    app = line_app(ActionAgent())
    for user in users:
        line_says(app, user, "はい")
    return app


def subscribe_on_sms(platform, *phones):
    app = sms_app(ActionAgent())
    for phone in phones:
        sms_says(app, phone, "はい")
    return app


# ---- the run ----------------------------------------------------------------------------------


class Crash(BaseException):
    """The process dying (not an error the run would catch)."""


A1 = article("a1")


def notify(database, when, found=(A1,), dry_run=False, progress=None, senders_=None):
    return asyncio.run(
        runner.run(
            database,
            catalogue(*found),
            service.facts(),
            senders.configured() if senders_ is None else senders_,
            when,
            dry_run,
            progress,
        )
    )


def pushes(platform):
    return [
        (r.json()["to"], r.json()["messages"][0]["text"], r.headers.get("X-Line-Retry-Key")) for r in platform.to(PUSH)
    ]


def texts_to(platform):
    return [(r.form()["To"], r.form()["Body"]) for r in platform.to(MESSAGES)]


def statuses(database):
    with database.connect() as connection:
        table = records.article_notices
        return {
            row.conversation_id: row.status
            for row in connection.execute(select(table.c.conversation_id, table.c.status))
        }


# ---- subscribing and stopping ---------------------------------------------------------------------


def test_subscribed_on_line_the_user_gets_the_new_articles_by_push_with_a_retry_key(platform, service_database):
    subscribe_on_line(platform, USERS[0])
    (reply,) = platform.to("/v2/bot/message/reply")
    assert (
        "「SNSでの誹謗中傷」の新しい記事が公開されたら、こちらでお知らせします。" in reply.json()["messages"][0]["text"]
    )
    (stored,) = subscriptions.every(service_database)
    assert (stored.channel, stored.address, stored.consented_at) == ("line", USERS[0], datetime.fromisoformat(CONSENT))

    report = notify(service_database, at(6, 10), found=(article("a1"), article("a2"), article("other", "phishing")))
    ((to, text, key),) = pushes(platform)
    assert to == USERS[0] and uuid.UUID(key)
    assert platform.to(PUSH)[0].headers["Authorization"] == f"Bearer {LINE_TOKEN}"
    # several new articles, one message
    assert "新着記事 a1" in text and "新着記事 a2" in text and "other" not in text
    assert report.count(runner.SENT) == 1


def test_subscribed_on_sms_the_number_is_kept_sealed_and_the_text_goes_to_it(platform, service_database):
    subscribe_on_sms(platform, PHONES[0])
    ((to, confirmation),) = texts_to(platform)
    assert to == PHONES[0] and "こちらでお知らせします" in confirmation
    (stored,) = subscriptions.every(service_database)
    assert stored.channel == "sms" and stored.address and PHONES[0][3:] not in stored.address
    platform.requests.clear()

    notify(service_database, at(6, 10))
    ((to, text),) = texts_to(platform)
    assert to == PHONES[0] and text.startswith(f"【{service.facts().name}】")
    assert "https://nettrouble.docomo.ne.jp/article/a1/" in text and text.endswith("「配信停止」とお送りください。")


def test_haishin_teishi_on_line_ends_the_notices_at_once(platform, service_database):
    app = subscribe_on_line(platform, USERS[0], USERS[1])
    line_says(app, USERS[0], "配信停止")
    assert "お知らせを停止しました" in platform.to("/v2/bot/message/reply")[-1].json()["messages"][0]["text"]
    assert [s.address for s in subscriptions.every(service_database)] == [USERS[1]]

    notify(service_database, at(6, 10))
    assert [to for to, _, _ in pushes(platform)] == [USERS[1]]


def test_stop_on_sms_ends_the_notices_and_what_was_waiting_is_cancelled(platform, service_database):
    app = subscribe_on_sms(platform, PHONES[0], PHONES[1])
    notify(service_database, at(5, 22))  # planned, held by the quiet hours
    sms_says(app, PHONES[0], "STOP")
    platform.requests.clear()

    report = notify(service_database, at(6, 9))
    assert [to for to, _ in texts_to(platform)] == [PHONES[1]]
    assert [o.reason for o in report.outcomes if o.result == runner.CANCELLED] == ["the sender sent STOP"]


# ---- the rules ------------------------------------------------------------------------------------


def test_nothing_goes_in_the_quiet_hours_and_the_next_run_in_the_day_sends_it(platform, service_database):
    subscribe_on_line(platform, USERS[0])
    subscribe_on_sms(platform, PHONES[0])
    platform.requests.clear()
    for when in (at(5, 21), at(5, 23, 59), at(6, 7, 59)):
        report = notify(service_database, when)
        assert platform.requests == [] and report.count(runner.HELD) == 2
        assert all("quiet hours" in o.reason and "2026-03-06 08:00" in o.reason for o in report.outcomes)
    notify(service_database, at(6, 8))
    assert [to for to, _, _ in pushes(platform)] == [USERS[0]] and [to for to, _ in texts_to(platform)] == [PHONES[0]]


def test_one_message_a_day_later_articles_wait_for_the_next_day_together(platform, service_database):
    subscribe_on_line(platform, USERS[0])
    notify(service_database, at(6, 9), found=(article("a1"),))
    later = (article("a1"), article("a2", published=date(2026, 3, 6)), article("a3", published=date(2026, 3, 6)))
    report = notify(service_database, at(6, 15), found=later)
    assert len(pushes(platform)) == 1
    assert [(o.result, o.reason) for o in report.outcomes] == [
        (runner.HELD, "already notified today: goes on a later day")
    ]
    notify(service_database, at(6, 20), found=later)
    assert len(pushes(platform)) == 1

    notify(service_database, at(7, 8, 30), found=later)
    first, second = pushes(platform)
    assert "a1" in first[1] and "新着記事 a2" in second[1] and "新着記事 a3" in second[1] and "a1" not in second[1]
    assert first[2] != second[2]
    notify(service_database, at(8, 10), found=later)
    assert len(pushes(platform)) == 2  # nothing twice


def test_a_dry_run_prints_what_would_go_and_sends_and_records_nothing(platform, service_database):
    subscribe_on_line(platform, USERS[0])
    subscribe_on_sms(platform, PHONES[0])
    platform.requests.clear()
    printed = []
    report = notify(service_database, at(6, 10), dry_run=True, progress=printed.append)
    assert platform.requests == []
    assert statuses(service_database) == {}
    with service_database.connect() as connection:
        assert records.last_through_day(connection) is None
    assert [(o.channel, o.result) for o in printed] == [("line", runner.SENT), ("sms", runner.SENT)]
    lines = runner.outcome_lines(printed[0], dry_run=True)
    assert lines[0] == f"would send: line-{USERS[0]} (LINE; articles: a1)"
    assert "    1. 新着記事 a1" in lines and runner.summary(report).startswith("notify-new-articles: 2 would be sent,")
    assert all(PHONES[0][3:] not in line for o in printed for line in runner.outcome_lines(o, True))

    notify(service_database, at(6, 10))
    assert len(pushes(platform)) == 1 and len(texts_to(platform)) == 1


# ---- a crash mid-run ------------------------------------------------------------------------------


def test_a_crash_after_the_first_recipient_then_a_rerun_sends_to_the_rest_once(platform, service_database):
    subscribe_on_line(platform, *USERS)
    subscribe_on_sms(platform, *PHONES)
    platform.requests.clear()

    def die_after_the_first(outcome):
        raise Crash

    with pytest.raises(Crash):
        notify(service_database, at(6, 10), progress=die_after_the_first)
    assert len(platform.requests) == 1

    notify(service_database, at(6, 10, 5))
    notify(service_database, at(6, 10, 10))  # and again: nothing more
    assert sorted(to for to, _, _ in pushes(platform)) == sorted(USERS)
    assert sorted(to for to, _ in texts_to(platform)) == sorted(PHONES)
    assert set(statuses(service_database).values()) == {records.SENT}


class SendsThenDies:
    """A sender whose process dies once the platform has the message, before it is recorded."""

    def __init__(self, sender):
        self.sender = sender

    async def send(self, address, text, retry_key):
        await self.sender.send(address, text, retry_key)
        raise Crash


def test_a_line_push_cut_off_by_a_crash_is_pushed_again_with_the_same_retry_key(platform, service_database):
    subscribe_on_line(platform, USERS[0])
    platform.requests.clear()
    line = senders.configured()["line"]
    with pytest.raises(Crash):
        notify(service_database, at(6, 10), senders_={"line": SendsThenDies(line)})
    assert statuses(service_database) == {f"line-{USERS[0]}": records.SENDING}

    platform.answer(PUSH, (409, {"message": "The retry key is already accepted"}))  # what LINE answers
    report = notify(service_database, at(6, 10, 5))
    (first, second) = pushes(platform)
    assert first == second  # same user, text and X-Line-Retry-Key: LINE delivers it once
    assert [(o.result, o.reason) for o in report.outcomes] == [(runner.SENT, "again with the same LINE retry key")]
    assert statuses(service_database) == {f"line-{USERS[0]}": records.SENT}


def test_an_sms_cut_off_by_a_crash_is_never_sent_again(platform, service_database):
    subscribe_on_sms(platform, PHONES[0])
    platform.requests.clear()
    sms = senders.configured()["sms"]
    with pytest.raises(Crash):
        notify(service_database, at(6, 10), senders_={"sms": SendsThenDies(sms)})

    report = notify(service_database, at(6, 10, 5))
    assert len(texts_to(platform)) == 1
    assert [o.result for o in report.outcomes] == [runner.UNKNOWN]
    notify(service_database, at(7, 10))
    assert len(texts_to(platform)) == 1


def test_a_message_cut_off_by_a_crash_then_stopped_is_neither_resent_nor_called_cancelled(platform, service_database):
    app = subscribe_on_line(platform, USERS[0])
    platform.requests.clear()
    with pytest.raises(Crash):
        notify(service_database, at(6, 10), senders_={"line": SendsThenDies(senders.configured()["line"])})
    line_says(app, USERS[0], "配信停止")
    platform.requests.clear()

    report = notify(service_database, at(6, 10, 5))
    assert platform.requests == []
    assert [(o.result, o.reason) for o in report.outcomes] == [(runner.UNKNOWN, "the subscription has ended")]
