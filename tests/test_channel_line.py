"""The LINE channel: signed webhook fixtures through Sanic's test client, the LINE API replaced by
a local recording HTTP server (LINE_API_BASE points at it), the deliveries handled kept in the
test's service database."""

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid

import pytest
from rasa.core import run

from addons.channels import render_line, turns
from addons.channels.line import LineInput
from addons.channels.messages import TEXT_ONLY
from nettrouble.core import limits
from nettrouble.core.settings import settings
from tests.fakes.agent import FakeAgent
from tests.fakes.http_recorder import platform_apis

SECRET = "line-channel-secret"
ACCESS_TOKEN = "line-access-token"
USER = "U4af4980629a0b0c0d0e0f0a0b0c0d0e0f"
CONVERSATION = "line-" + USER
REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"


@pytest.fixture
def line_api(env, service_database):
    with platform_apis(env, service_database, ["LINE_API_BASE"]) as server:
        yield server


@pytest.fixture
def agent():
    return FakeAgent()


def make_app(agent, channel=None):
    channel = channel or LineInput.from_credentials({"channel_secret": SECRET, "access_token": ACCESS_TOKEN})
    app = run.configure_app([channel], port=5005)
    app.ctx.agent = agent
    return app


@pytest.fixture
def app(line_api, agent):
    return make_app(agent)


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def now_ms() -> int:
    return int(time.time() * 1000)


def event(kind="message", redelivery=False, event_id=None, source=None, **fields):
    return {
        "type": kind,
        "mode": "active",
        "timestamp": now_ms(),
        "source": source or {"type": "user", "userId": USER},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": uuid.uuid4().hex,
        **fields,
    }


def text_event(text, **kwargs):
    return event(message={"type": "text", "id": "468789577898262530", "quoteToken": "q", "text": text}, **kwargs)


def webhook_body(*events) -> bytes:
    return json.dumps({"destination": "Uxxxxxxxx", "events": list(events)}, ensure_ascii=False).encode()


def post(app, body: bytes, signature="sign"):
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Line-Signature"] = sign(body)
    elif signature is not None:
        headers["X-Line-Signature"] = signature.encode("utf-8")  # raw bytes, as a forger may send
    return app.test_client.post("/webhooks/line/webhook", data=body, headers=headers)[1]


# ---- signature and delivery ----------------------------------------------------------------


def test_console_verify_call_gets_200_and_nothing_is_sent(app, line_api, agent):
    answer = post(app, webhook_body())
    assert answer.status == 200
    assert line_api.requests == [] and agent.received == []


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "not base64 at all",
        "署名です",
        "sign-with-another-secret",
        "sign-reserialised-json",
    ],
)
def test_bad_or_missing_signature_is_401_and_nothing_is_processed(app, line_api, agent, signature):
    body = webhook_body(text_event("誹謗中傷されています"))
    if signature == "sign-with-another-secret":
        signature = sign(body, "another-secret")
    elif signature == "sign-reserialised-json":
        # what a connector that re-serialises the parsed body would compute
        signature = sign(json.dumps(json.loads(body)).encode())
    answer = post(app, body, signature)
    assert answer.status == 401
    assert agent.received == [] and line_api.requests == []


def test_malformed_or_odd_body_with_valid_signature_is_400(app, line_api, agent):
    deep = b'{"events": [], "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for body in (
        b"{not json",
        b"[]",
        b'{"events": {}}',
        b'{"events": [NaN]}',
        deep,
        b'{"events": [' + b",".join([b"{}"] * 5000) + b"]}",
        b'{"events": []}\xff',
    ):
        assert post(app, body).status == 400
    assert agent.received == [] and line_api.requests == []


def test_text_message_gets_one_reply_call_with_quick_replies(app, line_api, agent):
    incoming = text_event("ＳＮＳで誹謗中傷されています")
    assert post(app, webhook_body(incoming)).status == 200
    assert agent.texts == ["SNSで誹謗中傷されています"]
    assert agent.received[0].sender_id == CONVERSATION and agent.received[0].input_channel == "line"
    assert agent.received[0].metadata == {limits.CLIENT: limits.client_key("line", USER)}
    [call] = line_api.requests
    assert call.path == REPLY and call.method == "POST"
    assert call.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    sent = call.json()
    assert sent["replyToken"] == incoming["replyToken"]
    assert [m["text"] for m in sent["messages"]] == [
        "SNSなどでの誹謗中傷についてのご相談ですね。おつらい状況の中、ご相談いただきありがとうございます。",
        "書き込みの画面は保存されていますか。",
    ]
    items = sent["messages"][-1]["quickReply"]["items"]
    assert [i["action"] for i in items] == [
        {"type": "postback", "label": "はい", "data": "/affirm", "displayText": "はい"},
        {"type": "postback", "label": "いいえ", "data": "/deny", "displayText": "いいえ"},
    ]


def test_replayed_request_and_redelivered_event_are_dropped(app, line_api, agent):
    first = text_event("誹謗中傷の相談です")
    body = webhook_body(first)
    assert post(app, body).status == 200
    assert post(app, body).status == 200  # the same signed request again
    redelivered = dict(first, deliveryContext={"isRedelivery": True}, replyToken=uuid.uuid4().hex)
    assert post(app, webhook_body(redelivered)).status == 200
    assert agent.texts == ["誹謗中傷の相談です"]
    assert len(line_api.to(REPLY)) == 1


def test_redelivery_of_an_event_never_handled_is_answered(app, line_api, agent):
    assert post(app, webhook_body(text_event("初めて届きました", redelivery=True))).status == 200
    assert agent.texts == ["初めて届きました"]
    assert len(line_api.to(REPLY)) == 1


def test_an_event_without_an_id_delivered_twice_is_handled_once(app, line_api, agent):
    first = text_event("IDのないイベント")
    del first["webhookEventId"]
    assert post(app, webhook_body(first)).status == 200
    assert post(app, webhook_body(dict(first, replyToken=uuid.uuid4().hex))).status == 200
    # the same text at another moment is another message
    assert post(app, webhook_body(dict(first, timestamp=first["timestamp"] + 1000))).status == 200
    assert agent.texts == ["IDのないイベント", "IDのないイベント"]


def test_handled_events_are_remembered_across_a_restart(line_api, agent):
    incoming = text_event("再起動の前")
    post(make_app(agent), webhook_body(incoming))
    post(make_app(agent), webhook_body(dict(incoming, deliveryContext={"isRedelivery": True})))
    assert agent.texts == ["再起動の前"]


@pytest.mark.parametrize(
    "moment",
    [
        lambda: now_ms() - 3 * 365 * 24 * 3600 * 1000,  # years ago
        lambda: now_ms() - 3601 * 1000,  # just past LINE_EVENT_MAX_AGE_S
        lambda: now_ms() + 3600 * 1000,  # an hour ahead
        lambda: None,
        lambda: "1752000000000",
        lambda: True,
    ],
)
def test_events_too_old_in_the_future_or_undated_are_dropped(app, line_api, agent, moment):
    incoming = text_event("古いイベント")
    incoming["timestamp"] = moment()
    assert post(app, webhook_body(incoming)).status == 200
    assert agent.received == [] and line_api.requests == []


def test_standby_events_are_ignored(app, line_api, agent):
    assert post(app, webhook_body(dict(text_event("待機中"), mode="standby"))).status == 200
    assert agent.received == [] and line_api.requests == []


# ---- event types ---------------------------------------------------------------------------


def test_follow_greets(app, line_api, agent):
    post(app, webhook_body(event("follow", follow={"isUnblocked": False})))
    assert agent.texts == ["/greet"]
    [call] = line_api.to(REPLY)
    assert call.json()["messages"][0]["text"].startswith("こんにちは。")


@pytest.mark.parametrize(
    "message",
    [
        {"type": "sticker", "id": "1", "packageId": "446", "stickerId": "1988"},
        {"type": "image", "id": "2", "contentProvider": {"type": "line"}},
        {"type": "location", "id": "3", "latitude": 35.68, "longitude": 139.76},
        {"type": "video", "id": "4"},
        {"type": "audio", "id": "5"},
        {"type": "file", "id": "6"},
    ],
)
def test_non_text_messages_get_a_polite_text_only_reply_without_the_bot(app, line_api, agent, message):
    post(app, webhook_body(event(message=message)))
    assert agent.received == []
    [call] = line_api.to(REPLY)
    assert call.json()["messages"] == [{"type": "text", "text": TEXT_ONLY}]


def test_postback_sends_the_button_payload(app, line_api, agent):
    post(app, webhook_body(event("postback", postback={"data": '/ask_articles{"article_topic":"privacy"}'})))
    assert agent.texts == ['/ask_articles{"article_topic":"privacy"}']
    assert len(line_api.to(REPLY)) == 1


@pytest.mark.parametrize("kind", ["unfollow", "join", "leave", "unsend", "somethingNew"])
def test_events_without_anything_to_say_send_nothing(app, line_api, agent, kind):
    assert post(app, webhook_body(event(kind))).status == 200
    assert agent.received == [] and line_api.requests == []


def test_group_conversation_is_the_group(app, line_api, agent):
    source = {"type": "group", "groupId": "Ca56f94637cc4347f90a25382909b24b9", "userId": USER}
    post(app, webhook_body(text_event("グループから", source=source)))
    assert agent.received[0].sender_id == "line-Ca56f94637cc4347f90a25382909b24b9"
    assert agent.received[0].metadata[limits.CLIENT] == limits.client_key("line", USER)
    [call] = line_api.to(REPLY)
    assert call.json()["replyToken"]


def test_several_events_are_answered_in_order(app, line_api, agent):
    post(app, webhook_body(text_event("ひとつめ"), text_event("ふたつめ")))
    assert agent.texts == ["ひとつめ", "ふたつめ"]
    assert [c.json()["messages"][0]["text"] for c in line_api.to(REPLY)] == [
        "「ひとつめ」について承りました。",
        "「ふたつめ」について承りました。",
    ]


# ---- batching, reply and push --------------------------------------------------------------


def test_more_than_five_bot_messages_go_in_one_call(app, line_api, agent):
    post(app, webhook_body(text_event("たくさん")))
    [call] = line_api.requests
    messages = call.json()["messages"]
    assert len(messages) == 5
    joined = "\n\n".join(m["text"] for m in messages)
    assert all(f"{n}番目のご案内です。" in joined for n in range(1, 8))


def test_rejected_reply_token_falls_back_to_push_with_a_retry_key(app, line_api, agent):
    line_api.answer(REPLY, (400, {"message": "Invalid reply token"}))
    line_api.answer(PUSH, (500, {"message": "busy"}), (200, {"sentMessages": []}))
    post(app, webhook_body(text_event("誹謗中傷の相談です")))
    reply, first_push, second_push = line_api.requests
    assert reply.path == REPLY and first_push.path == second_push.path == PUSH
    assert first_push.json() == {"to": USER, "messages": reply.json()["messages"]}
    key = first_push.headers["X-Line-Retry-Key"]
    assert uuid.UUID(key).version == 4 and second_push.headers["X-Line-Retry-Key"] == key


def test_push_accepted_earlier_is_not_repeated(app, line_api, agent):
    line_api.answer(REPLY, (400, {"message": "Invalid reply token"}))
    line_api.answer(PUSH, (409, {"message": "The retry key is already accepted"}))
    post(app, webhook_body(text_event("こんにちは")))
    assert [r.path for r in line_api.requests] == [REPLY, PUSH]


def test_rejected_access_token_does_not_push(app, line_api, agent, caplog):
    line_api.answer(REPLY, (401, {"message": "Authentication failed"}))
    with caplog.at_level(logging.ERROR):
        post(app, webhook_body(text_event("こんにちは")))
    assert [r.path for r in line_api.requests] == [REPLY]
    assert "LINE_CHANNEL_ACCESS_TOKEN" in caplog.text


def test_turn_longer_than_the_reply_window_is_pushed(line_api):
    agent = FakeAgent(delay_s=0.3)
    channel = LineInput(SECRET, ACCESS_TOKEN, reply_window_s=0.2)
    app = make_app(agent, channel)
    post(app, webhook_body(text_event("こんにちは")))
    [call] = line_api.requests
    assert call.path == PUSH and call.json()["to"] == USER and call.headers["X-Line-Retry-Key"]


def test_failing_bot_still_answers_with_the_fallback(line_api):
    app = make_app(FakeAgent(error=RuntimeError("action server down")))
    post(app, webhook_body(text_event("こんにちは")))
    [call] = line_api.to(REPLY)
    assert "0120-221-360" in call.json()["messages"][0]["text"]


def test_webhook_answers_before_the_turn_is_done(line_api):
    agent = FakeAgent(delay_s=1.0)
    app = make_app(agent)
    moments = {}

    @app.middleware("response")
    async def answered(request, response):
        moments["calls when answered"] = len(line_api.requests)

    assert post(app, webhook_body(text_event("ゆっくり"))).status == 200
    # Answered before the turn (a second long) had replied: said by what had happened by then,
    # not by a stopwatch that a loaded machine can fail.
    assert moments["calls when answered"] == 0
    # the turn went on after the answer and was replied to once it was done
    assert [r.path for r in line_api.requests] == [REPLY]


def test_unreachable_api_is_logged_not_raised(env, agent, caplog):
    env(LINE_API_BASE="http://127.0.0.1:9")  # discard port: connection refused
    app = make_app(agent)
    with caplog.at_level(logging.ERROR):
        assert post(app, webhook_body(text_event("こんにちは"))).status == 200
    assert "LINE push failed after 3 attempts" in caplog.text


def test_a_long_text_is_cut_and_the_user_told(app, line_api, agent):
    limit = settings().max_message_chars
    post(app, webhook_body(text_event("あ" * 4000)))
    assert agent.texts == ["あ" * limit]
    [call] = line_api.to(REPLY)
    assert call.json()["messages"][0]["text"] == turns.CUT.format(limit=limit)


def test_past_the_messages_per_minute_the_user_gets_a_polite_answer(monkeypatch, env, line_api, agent):
    monkeypatch.setattr(turns.UserTurns, "LIMITED_PAUSE_S", 0.0)
    env(MESSAGES_PER_MINUTE="2")
    app = make_app(agent)
    post(app, webhook_body(text_event("その1"), text_event("その2"), text_event("その3")))
    assert agent.texts == ["その1", "その2"]
    last = line_api.to(REPLY)[-1].json()["messages"]
    assert [m["text"] for m in last] == [turns.limited_text()] and "0120-221-360" in last[0]["text"]


def test_oversized_body_is_refused_before_anything_else(app, line_api, agent):
    body = webhook_body(text_event("あ" * 400_000))
    assert post(app, body).status == 413
    assert agent.received == [] and line_api.requests == []


# ---- cards -----------------------------------------------------------------------------------


def card_replies(text):
    from nettrouble.triage import guidance
    from tests.fakes.dispatcher import filled

    urgency = ["danger"]
    response, values = guidance.guidance_response("account", {}, urgency)
    return [
        {
            "text": filled({"response": response, **values})["text"],
            "custom": {"card": guidance.guidance_card("account", {}, urgency)},
        },
        {"text": "ほかにご質問はありますか。", "buttons": [{"title": "はい", "payload": "/affirm"}]},
    ]


def test_first_steps_are_sent_as_flex_bubbles_with_call_buttons(line_api):
    app = make_app(FakeAgent(replies=card_replies))
    post(app, webhook_body(text_event("乗っ取られました")))
    [call] = line_api.to(REPLY)
    messages = call.json()["messages"]
    assert [m["type"] for m in messages] == ["flex", "flex", "text"]
    assert render_line.reply_problems(messages) == []
    steps, bodies, question = messages
    assert steps["altText"].startswith("まず、次のことをおすすめします。")
    assert "#9110" in bodies["altText"]
    assert '"uri": "tel:%239110"' in json.dumps(bodies["contents"], ensure_ascii=False)
    assert question["quickReply"]["items"][0]["action"]["data"] == "/affirm"


def test_a_pushed_answer_carries_the_same_cards(line_api):
    line_api.answer(REPLY, (400, {"message": "Invalid reply token"}))
    app = make_app(FakeAgent(replies=card_replies))
    post(app, webhook_body(text_event("乗っ取られました")))
    reply, push = line_api.requests
    assert push.path == PUSH and push.json()["messages"] == reply.json()["messages"]
