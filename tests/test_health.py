"""GET /health on the three servers: 200 with every check named when all is well, 503 naming the
check that failed (database unreachable, no model, a dead notification worker), nothing secret."""

import asyncio
import json
import socket
import types

import pytest
import sqlalchemy

import rasa_sdk_plugins
from addons import operations
from console.app import create_app
from nettrouble.monitoring import health
from tests.test_console import set_env
from tests.test_metrics import ACTION_TOKEN, ActionProbe


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# A PostgreSQL server that is not there (as scripts/system_test.py's cases-db-down check).
UNREACHABLE_URL = f"postgresql://nettrouble:db-password-1234@127.0.0.1:{closed_port()}/none?connect_timeout=2"


def unreachable_engine():
    return sqlalchemy.create_engine(UNREACHABLE_URL, future=True)


def assert_nothing_secret(body):
    text = json.dumps(body)
    assert "db-password-1234" not in text and "127.0.0.1" not in text and "postgresql" not in text


# --- the console ------------------------------------------------------------------------


@pytest.fixture
def console(tmp_path, env):
    from nettrouble.core import db

    set_env(env)
    app = create_app(db.prepare(f"sqlite:///{tmp_path / 'console.db'}"))
    yield app
    db.dispose_all()


class Worker:
    def __init__(self, name, running):
        self.name, self.running = name, running


def console_health(app):
    _, answer = app.test_client.get("/health")
    return answer.status, answer.json


def test_console_is_healthy_with_its_database_and_no_worker_configured(console):
    assert console_health(console) == (200, {"status": "ok", "checks": {"database": "ok"}})
    console.ctx.delivery_workers = []
    assert console_health(console)[0] == 200


def test_console_names_an_unreachable_database(console):
    console.ctx.engine = unreachable_engine()
    status, body = console_health(console)
    assert status == 503 and body["failing"] == ["database"] and body["checks"]["database"] == health.UNREACHABLE
    assert_nothing_secret(body)


def test_console_names_a_dead_notification_worker(console):
    console.ctx.delivery_workers = [Worker("webhook", True), Worker("slack", False)]
    status, body = console_health(console)
    assert status == 503 and body["failing"] == ["worker:slack"]
    assert body["checks"] == {"database": "ok", "worker:webhook": "ok", "worker:slack": "stopped"}


# --- the Rasa server ----------------------------------------------------------------------


class Agent:
    def __init__(self, ready, engine):
        self.ready = ready
        # As Rasa holds it: the SQL store inside its fail-safe wrapper.
        self.tracker_store = types.SimpleNamespace(_tracker_store=types.SimpleNamespace(engine=engine))

    def is_ready(self):
        return self.ready


def rasa_health(agent):
    request = types.SimpleNamespace(app=types.SimpleNamespace(ctx=types.SimpleNamespace(agent=agent)))
    answer = asyncio.run(operations.health_route(request))
    return answer.status, json.loads(answer.body)


def test_rasa_is_healthy_with_a_model_and_its_tracker_store(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    assert rasa_health(Agent(True, engine)) == (200, {"status": "ok", "checks": {"model": "ok", "tracker_store": "ok"}})


def test_rasa_without_a_model_is_503_naming_the_model(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    status, body = rasa_health(Agent(False, engine))
    assert status == 503 and body["failing"] == ["model"] and body["checks"]["model"] == operations.NOT_LOADED
    # Before Rasa has loaded anything there is no agent at all.
    status, body = rasa_health(None)
    assert status == 503 and body["failing"] == ["model", "tracker_store"]


def test_rasa_names_an_unreachable_tracker_store():
    status, body = rasa_health(Agent(True, unreachable_engine()))
    assert status == 503 and body["failing"] == ["tracker_store"]
    assert_nothing_secret(body)


# --- the action server --------------------------------------------------------------------


def action_app(env, database_url):
    from rasa_sdk.endpoint import create_app as create_action_app

    env(ACTION_SERVER_TOKEN=ACTION_TOKEN, DATABASE_URL=database_url)
    actions = types.ModuleType("health_test_actions")
    actions.ActionProbe = ActionProbe
    app = create_action_app(actions)
    app.config.REGISTER = False
    rasa_sdk_plugins.attach_sanic_app_extensions(app)
    return app


@pytest.fixture
def cleanup():
    from nettrouble.core import db

    yield
    db.dispose_all()


def test_action_server_is_healthy_with_its_case_database_and_needs_no_token(tmp_path, env, cleanup):
    app = action_app(env, f"sqlite:///{tmp_path / 'cases.db'}")
    _, answer = app.test_client.get("/health")
    assert answer.status == 200 and answer.json == {"status": "ok", "checks": {"case_database": "ok"}}


def test_action_server_names_an_unreachable_case_database(env, cleanup):
    app = action_app(env, UNREACHABLE_URL)
    _, answer = app.test_client.get("/health")
    assert answer.status == 503 and answer.json["failing"] == ["case_database"]
    assert_nothing_secret(answer.json)
    # Still a running server: the channels' probe keeps sending it actions.
    assert health.answered_by_server(answer.status, answer.body)
    assert not health.answered_by_server(503, b"<html>Service Unavailable</html>")
