"""The hardened REST channel, with a scripted agent instead of a model."""
import json

import pytest
from rasa.core import run

from addons.channels import rest
from addons.channels.rest import RestInput
from tests.fakes.agent import FakeAgent


@pytest.fixture
def agent():
    return FakeAgent()


@pytest.fixture
def app(agent):
    app = run.configure_app([RestInput()], port=5005)
    app.ctx.agent = agent
    return app


def post(app, body):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return app.test_client.post("/webhooks/rest/webhook", data=raw)[1]


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


def test_oversized_message_is_answered_politely(app, agent):
    answer = post(app, {"sender": "bob", "message": "あ" * (rest.MAX_MESSAGE_CHARS + 1)})
    assert answer.status == 200 and "20000文字まで" in answer.json[0]["text"]
    assert agent.received == []


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
