"""GET /metrics on the three servers (the console, the action server, the Rasa server's route):
Prometheus' text format, public, and the counters move when what they count happens."""

import asyncio
import types

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rasa.shared.core.events import ActionExecuted, BotUttered
from rasa_sdk import Action
from rasa_sdk.endpoint import create_app as create_action_app

import rasa_sdk_plugins
from addons import operations
from console.app import create_app
from nettrouble.cases import store
from nettrouble.cases.schema import CaseDraft
from nettrouble.monitoring import metrics
from tests.test_console import Client, set_env

ACTION_TOKEN = "metrics-test-action-token-0123456789"


def sample(text, name, labels=None):
    """The value of one sample in a /metrics answer (None when absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == (labels or {}):
                return found.value
    return None


def now_value(name, labels=None):
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.fixture
def console(tmp_path, env):
    from nettrouble.core import db

    set_env(env)
    engine = db.prepare(f"sqlite:///{tmp_path / 'console.db'}")
    yield create_app(engine), engine
    db.dispose_all()


def test_console_metrics_count_sign_in_failures_and_show_the_outbox_backlog(console):
    app, engine = console
    store.open_case(engine, CaseDraft(conversation_id="metrics-1", trouble_type="account"), notify=True)
    client = Client(app)
    before = now_value("nettrouble_sign_in_failures_total")
    assert client.sign_in(password="wrong password").status == 200
    answer = client.get("/metrics")  # no session: public like /health
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert sample(answer.text, "nettrouble_sign_in_failures_total") == before + 1
    assert sample(answer.text, "nettrouble_outbox_pending", {"outlet": "webhook"}) == 1
    assert sample(answer.text, "nettrouble_outbox_oldest_pending_seconds", {"outlet": "webhook"}) >= 0
    assert "metrics-1" not in answer.text


class ActionProbe(Action):
    def name(self):
        return "action_metrics_probe"

    async def run(self, dispatcher, tracker, domain):
        return []


@pytest.fixture
def action_app(tmp_path, env):
    from nettrouble.core import db

    env(ACTION_SERVER_TOKEN=ACTION_TOKEN, DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}")
    actions = types.ModuleType("metrics_test_actions")
    actions.ActionProbe = ActionProbe
    app = create_action_app(actions)
    app.config.REGISTER = False
    rasa_sdk_plugins.attach_sanic_app_extensions(app)
    yield app
    db.dispose_all()


def action_call(name):
    return {
        "next_action": name,
        "sender_id": "metrics-2",
        "version": "3.6.0",
        "domain": {},
        "tracker": {
            "sender_id": "metrics-2",
            "slots": {},
            "latest_message": {},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
    }


def test_action_server_metrics_time_each_action_by_name_and_need_no_token(action_app):
    labels = {"action": "action_metrics_probe"}
    before, unknown_before = (
        now_value("nettrouble_action_seconds_count", labels),
        now_value("nettrouble_action_seconds_count", {"action": metrics.OTHER}),
    )
    headers = {"X-Action-Token": ACTION_TOKEN}
    _, answer = action_app.test_client.post("/webhook", json=action_call("action_metrics_probe"), headers=headers)
    assert answer.status == 200
    _, answer = action_app.test_client.post("/webhook", json=action_call("action_made_up_by_caller"), headers=headers)
    assert answer.status == 404
    _, scraped = action_app.test_client.get("/metrics")
    assert scraped.status == 200 and scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert sample(scraped.text, "nettrouble_action_seconds_count", labels) == before + 1
    # A name the caller made up is never a label.
    assert sample(scraped.text, "nettrouble_action_seconds_count", {"action": metrics.OTHER}) == unknown_before + 1
    assert "action_made_up_by_caller" not in scraped.text and "metrics-2" not in scraped.text


def test_rasa_metrics_count_safety_answers_and_fallbacks_from_the_responses_sent():
    sent = []

    async def execute_side_effects(self, events, tracker, output_channel):
        sent.extend(events)

    counted = operations._counted_side_effects(execute_side_effects)
    danger = {"kind": "danger"}
    fallback = {"response": "utter_did_you_mean"}
    before_danger = now_value("nettrouble_safety_answers_total", danger)
    before_fallback = now_value("nettrouble_fallbacks_total", fallback)
    events = [
        ActionExecuted("utter_urgent_danger"),
        BotUttered("110番へ", metadata={"utter_action": "utter_urgent_danger"}),
        BotUttered("もしかして", metadata={"utter_action": "utter_did_you_mean"}),
        BotUttered("an action's own text"),
    ]
    asyncio.run(counted(None, events, None, None))
    assert sent == events
    answer = asyncio.run(operations.metrics_route(None))
    assert answer.status == 200 and answer.content_type == metrics.CONTENT_TYPE
    text = answer.body.decode()
    assert sample(text, "nettrouble_safety_answers_total", danger) == before_danger + 1
    assert sample(text, "nettrouble_fallbacks_total", fallback) == before_fallback + 1


def test_rasa_turn_latency_is_by_channel_and_an_unknown_channel_is_other():
    class Processor:
        async def handle_message(self, message):
            return ["reply"]

    Processor.handle_message = operations._observed_turn(Processor.handle_message)
    before = now_value("nettrouble_turn_seconds_count", {"channel": "sms"})
    other = now_value("nettrouble_turn_seconds_count", {"channel": metrics.OTHER})
    for channel in ("sms", "free text from somewhere"):
        message = types.SimpleNamespace(sender_id="metrics-3", input_channel=channel)
        assert asyncio.run(Processor().handle_message(message)) == ["reply"]
    assert now_value("nettrouble_turn_seconds_count", {"channel": "sms"}) == before + 1
    assert now_value("nettrouble_turn_seconds_count", {"channel": metrics.OTHER}) == other + 1


def test_a_new_case_is_counted_by_trouble_type_and_an_odd_type_is_other():
    before = now_value("nettrouble_cases_created_total", {"trouble_type": "phishing"})
    metrics.case_created("phishing")
    metrics.case_created("<script>")
    assert now_value("nettrouble_cases_created_total", {"trouble_type": "phishing"}) == before + 1
    assert REGISTRY.get_sample_value("nettrouble_cases_created_total", {"trouble_type": "<script>"}) is None
