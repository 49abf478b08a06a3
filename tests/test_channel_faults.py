"""When the action server is down, every channel turn still carries the centre's number."""

import asyncio
import json

import pytest
from rasa.core import run

from addons.channels import turns
from addons.channels.rest import RestInput
from tests.fakes.agent import FakeAgent
from tests.fakes.local import free_port


@pytest.fixture
def action_server_down(env, monkeypatch):
    env(ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook")
    monkeypatch.setattr(turns, "action_server", turns.ActionServerProbe())


def test_probe_reports_an_unreachable_action_server(action_server_down):
    assert asyncio.run(turns.action_server.reachable()) is False


def test_probe_reads_the_health_address_from_the_settings(env):
    env(ACTION_SERVER_URL="http://actions.internal:6055/webhook")
    assert turns.ActionServerProbe.health_url() == "http://actions.internal:6055/health"


def test_static_answers_get_the_apology_and_number_while_actions_are_down(action_server_down):
    app = run.configure_app([RestInput()], port=5005)
    app.ctx.agent = FakeAgent()
    _, answer = app.test_client.post(
        "/webhooks/rest/webhook", data=json.dumps({"sender": "carol", "message": "こんにちは"})
    )
    texts = [m["text"] for m in answer.json]
    assert texts[0] == "「こんにちは」について承りました。"
    assert "不具合" in texts[-1] and "0120-221-360" in texts[-1]
