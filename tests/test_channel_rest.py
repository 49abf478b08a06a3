"""The hardened REST channel, with a scripted agent instead of a model."""

import json

import pytest
from rasa.core import run

from addons.channels import turns
from addons.channels.rest import RestInput
from nettrouble.core import limits
from nettrouble.core.settings import settings
from tests.fakes.agent import FakeAgent


@pytest.fixture
def agent():
    return FakeAgent()


def make_app(agent):
    app = run.configure_app([RestInput()], port=5005)
    app.ctx.agent = agent
    return app


@pytest.fixture
def app(agent):
    return make_app(agent)


def post(app, body, headers=None):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return app.test_client.post("/webhooks/rest/webhook", data=raw, headers=headers)[1]


def test_same_route_and_reply_format_as_rasas_rest_channel(app, agent):
    answer = post(app, {"sender": "alice", "message": "メニュー"})
    assert answer.status == 200
    [reply] = answer.json
    assert reply["recipient_id"] == "alice" and reply["text"] == "近いものをお選びください。"
    assert reply["buttons"][0] == {"title": "SNSでの誹謗中傷", "payload": "/trouble_defamation"}
    assert agent.received[0].sender_id == "alice" and agent.received[0].input_channel == "rest"


@pytest.mark.parametrize(
    "body, status, code",
    [
        ("{not json", 400, "bad_request"),
        ("[1, 2]", 400, "bad_request"),
        ({"message": "こんにちは"}, 400, "bad_sender"),
        ({"sender": "", "message": "こんにちは"}, 400, "bad_sender"),
        ({"sender": "x" * 500, "message": "こんにちは"}, 400, "bad_sender"),
        ({"sender": 12, "message": "こんにちは"}, 400, "bad_sender"),
        ({"sender": "bob"}, 400, "no_message"),
        ({"sender": "bob", "message": {"text": "x"}}, 400, "no_message"),
        # odd JSON
        ('{"sender": "bob", "message": "x", "n": NaN}', 400, "bad_request"),
        ('{"sender": "bob", "message": "x", "n": -Infinity}', 400, "bad_request"),
        ('{"sender": "bob", "message": "x", "n": ' + "9" * 5000 + "}", 400, "bad_request"),
        ('{"sender": "bob", "message": "x", "a": ' + "[" * 40 + "]" * 40 + "}", 400, "bad_request"),
        ('{"sender": "bob", "message": "x", "a": ' + "[" * 100_000 + "]" * 100_000 + "}", 400, "bad_request"),
        ({"sender": "bob", "message": "x", "a": list(range(5000))}, 400, "bad_request"),
        ('"just a string"', 400, "bad_request"),
        (b'{"sender": "bob", "message": "\xff"}', 400, "bad_request"),
        # conversations of the other channels
        ({"sender": "web-AbCdEfGhIjKlMnOpQrStUvWx", "message": "こんにちは"}, 400, "bad_sender"),
        ({"sender": "sms-0123456789abcdef0123456789abcdef", "message": "こんにちは"}, 400, "bad_sender"),
        ({"sender": "line-U4af4980629a0b0c0d0e0f0a0b0c0d0e0f", "message": "こんにちは"}, 400, "bad_sender"),
        ({"sender": " WEB-x", "message": "こんにちは"}, 400, "bad_sender"),
    ],
)
def test_malformed_requests_get_a_clear_answer_and_nothing_is_processed(app, agent, body, status, code):
    answer = post(app, body)
    assert answer.status == status and answer.json["error"] == code and answer.json["message"]
    assert agent.received == []


def test_huge_body_is_refused(app, agent):
    answer = post(app, {"sender": "bob", "message": "あ" * 200_000})
    assert answer.status == 413 and agent.received == []


@pytest.mark.parametrize("message", ["", "   ", "\u200b\u0000\t"])
def test_empty_message_gets_a_polite_answer(app, agent, message):
    answer = post(app, {"sender": "bob", "message": message})
    assert answer.status == 200 and "空" in answer.json[0]["text"]
    assert agent.received == []


def test_a_long_message_is_cut_and_the_user_told(app, agent):
    limit = settings().max_message_chars
    answer = post(app, {"sender": "bob", "message": "誹" * limit + "ここは読まれない"})
    assert answer.status == 200
    assert answer.json[0]["text"] == turns.CUT.format(limit=limit)
    assert [m.text for m in agent.received] == ["誹" * limit]
    assert answer.json[1]["text"] == f"「{'誹' * limit}」について承りました。"


def test_oversized_message_with_self_harm_still_reaches_the_safety_rules(app, agent):
    text = "ネットで叩かれてつらい。" * 3000 + "もう死にたい"
    answer = post(app, {"sender": "bob", "message": text})
    assert answer.status == 200
    assert [m.text for m in agent.received] == ["/urgent_self_harm"]


def test_control_characters_are_removed_and_text_normalised(app, agent):
    post(app, {"sender": "bob", "message": "ＬＩＮＥ\u0000で\u200b乗っ取り"})
    assert agent.received[0].text == "LINEで乗っ取り"


@pytest.mark.parametrize("agent", [FakeAgent(error=RuntimeError("model not loaded")), FakeAgent()])
def test_a_silent_or_failing_bot_still_gives_the_phone_number(app, agent):
    answer = post(app, {"sender": "bob", "message": "だまって"})
    assert answer.status == 200 and "0120-221-360" in answer.json[0]["text"]


def test_health(app):
    assert app.test_client.get("/webhooks/rest/")[1].json == {"status": "ok"}


def test_a_reasonable_nesting_is_accepted(app, agent):
    body = {"sender": "bob", "message": "こんにちは", "extra": json.loads("[" * 30 + "]" * 30)}
    assert post(app, body).status == 200 and agent.texts == ["こんにちは"]


def test_the_client_sends_no_metadata_only_the_server_sets_its_key(app, agent):
    post(
        app,
        {
            "sender": "bob",
            "message": "こんにちは",
            "metadata": {limits.CLIENT: "rest:forged", limits.SENDER_PERSON_KEY: "0" * 64},
        },
    )
    assert agent.received[0].metadata == {limits.CLIENT: limits.client_key("rest", "127.0.0.1")}


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(env, agent):
    forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.20"}
    post(make_app(agent), {"sender": "bob", "message": "こんにちは"}, forwarded)
    env(TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1")
    post(make_app(agent), {"sender": "bob", "message": "こんにちは"}, forwarded)
    post(
        make_app(agent),
        {"sender": "bob", "message": "こんにちは"},
        {"X-Forwarded-For": "198.51.100.7, 203.0.113.20, 10.1.2.3"},
    )
    assert [m.metadata[limits.CLIENT] for m in agent.received] == [
        limits.client_key("rest", "127.0.0.1"),  # not a proxy of ours: the header is the client's
        limits.client_key("rest", "203.0.113.20"),  # the last hop the proxy did not add itself
        limits.client_key("rest", "203.0.113.20"),  # ... behind two trusted proxies
    ]


def test_past_the_messages_per_minute_a_client_gets_a_polite_answer(env, agent, monkeypatch):
    monkeypatch.setattr(turns.UserTurns, "LIMITED_PAUSE_S", 0.0)
    env(MESSAGES_PER_MINUTE="3", TRUSTED_PROXIES="127.0.0.1")
    app = make_app(agent)
    flooder = {"X-Forwarded-For": "203.0.113.66"}
    answers = [post(app, {"sender": f"flood-{n}", "message": f"その{n}"}, flooder) for n in range(5)]
    assert agent.texts == ["その0", "その1", "その2"]
    for answer in answers[3:]:
        assert answer.status == 200
        [reply] = answer.json
        assert reply["text"] == turns.limited_text() and "0120-221-360" in reply["text"]
    # another client is not affected
    assert post(app, {"sender": "calm", "message": "こんにちは"}, {"X-Forwarded-For": "198.51.100.1"}).status == 200
    assert agent.texts[-1] == "こんにちは"


@pytest.mark.parametrize("where", [0, 1997, 1998, 5000])
def test_a_wish_to_die_anywhere_in_a_long_message_reaches_the_safety_rules(app, agent, where):
    text = "あ" * where + "死にたい" + "い" * 6000
    post(app, {"sender": "bob", "message": text})
    [received] = agent.received
    # Rasa's own safety guard reads what it is given; the part cut off is searched here.
    assert received.text == "/urgent_self_harm" or "死にたい" in received.text


def test_a_long_message_weighs_as_many_messages_as_it_holds_the_processing_limit(env, agent, monkeypatch):
    monkeypatch.setattr(turns.UserTurns, "LIMITED_PAUSE_S", 0.0)
    env(MESSAGES_PER_MINUTE="5")
    app = make_app(agent)
    limit = settings().max_message_chars
    assert post(app, {"sender": "bob", "message": "あ" * (limit * 3)}).json[0]["text"] == turns.CUT.format(limit=limit)
    assert post(app, {"sender": "bob", "message": "あ" * (limit * 3)}).json[0]["text"] == turns.limited_text()
    for n in range(2):
        assert post(app, {"sender": "bob", "message": f"短い{n}"}).json[0]["text"] == f"「短い{n}」について承りました。"
    assert len(agent.received) == 3


def test_message_rate_is_a_sliding_minute_and_bounded():
    moment = [0.0]
    rate = turns.MessageRate(capacity=2, clock=lambda: moment[0])
    assert [rate.allow("a", 2) for _ in range(3)] == [True, True, False]
    moment[0] = 59.9
    assert rate.allow("a", 2) is False
    moment[0] = 60.0
    assert rate.allow("a", 2) is True
    assert rate.allow("a", 2, weight=50) is False  # one left, and a heavy message counts as the limit
    rate.allow("b", 2), rate.allow("c", 2)  # "a" is the least recent: forgotten
    assert rate.allow("a", 2, weight=2) is True
