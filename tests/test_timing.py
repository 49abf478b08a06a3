"""The timers of a turn (nettrouble/monitoring/timing.py, addons/turn_timing.py, addons/action_client.py):
figures go to the record of the request they belong to, and the action client keeps Rasa's
contract while it measures."""

import asyncio
import json

import pytest
import sqlalchemy
from aiohttp import web
from prometheus_client import REGISTRY
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from addons import action_client, turn_timing
from nettrouble.monitoring import metrics, timing


@pytest.fixture
def timings_file(tmp_path, env):
    path = tmp_path / "timings.jsonl"
    env(TURN_TIMINGS_FILE=str(path))
    return path


def test_spans_of_concurrent_requests_never_mix():
    async def request(name: str, go_on: asyncio.Event, finished: asyncio.Event):
        record = timing.begin("rasa", f"/{name}")
        with timing.span("nlu"):
            await go_on.wait()
        timing.add("tracker_events", len(name))
        finished.set()
        return timing.finish(record)

    async def both():
        # The slow request's span opens first and closes only once the fast request has
        # finished: the fast span lies inside the slow one, however busy the machine is.
        at_once, fast_done, slow_done = asyncio.Event(), asyncio.Event(), asyncio.Event()
        at_once.set()
        return await asyncio.gather(request("slow", fast_done, slow_done), request("fast-one", at_once, fast_done))

    slow, fast = asyncio.run(both())
    assert slow["spans_ms"]["nlu"] > fast["spans_ms"]["nlu"]
    assert slow["counts"] == {"nlu": 1, "tracker_events": 4}
    assert fast["counts"] == {"nlu": 1, "tracker_events": 8}


def test_only_records_of_a_user_message_go_to_the_file(timings_file):
    record = timing.begin("rasa", "/model/parse")
    timing.finish(record)
    record = timing.begin("rasa", "/webhooks/rest/webhook")
    timing.set_conversation("bench-1")
    with timing.span("turn"):
        pass
    timing.finish(record)
    lines = [json.loads(line) for line in timings_file.read_text().splitlines()]
    assert [line["path"] for line in lines] == ["/webhooks/rest/webhook"]
    assert lines[0]["conversation"] == "bench-1"
    assert lines[0]["spans_ms"]["channel"] == pytest.approx(
        lines[0]["spans_ms"]["request"] - lines[0]["spans_ms"]["turn"], abs=0.01
    )


def test_a_phone_number_as_conversation_id_is_recorded_as_its_keyed_hash(timings_file):
    record = timing.begin("rasa", "/webhooks/sms/webhook")
    timing.set_conversation("+819012345678")
    with timing.span("turn"):
        pass
    timing.finish(record)
    text = timings_file.read_text()
    assert "9012345678" not in text and "12345678" not in text


def test_nothing_is_recorded_outside_a_request():
    with timing.span("nlu"):
        pass
    timing.add("tracker_events", 3)
    assert timing.current() is None


def test_sql_statements_are_counted_by_kind_with_the_rows_written(tmp_path):
    timing.install_sql_timers()
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    record = timing.begin("actions", "/webhook")
    with engine.begin() as connection:
        connection.exec_driver_sql("create table t (n integer)")
        connection.exec_driver_sql("insert into t values (1), (2), (3)")
        connection.exec_driver_sql("select * from t").fetchall()
    figures = timing.finish(record)
    assert figures["db"]["insert"] == 1 and figures["db"]["select"] == 1
    assert figures["db"]["rows_written"] == 3 and figures["db"]["statements"] >= 3


def test_the_action_servers_figures_survive_the_header():
    record = timing.begin("actions", "/webhook")
    timing.finish(record)
    figures = record.as_dict()
    figures["spans_ms"]["request"] = 12.5
    figures["db"] = {"statements": 4, "ms": 1.25, "rows_written": 2}
    parsed = timing.parse_server_timing(timing.server_timing_header(figures))
    assert parsed["server_ms"] == 12.5 and parsed["server_db_statements"] == 4
    assert parsed["server_db_rows"] == 2 and parsed["server_db_ms"] == 1.25
    assert timing.parse_server_timing("garbage;;, app;dur=x") == {}


def test_histograms_are_rendered_for_prometheus():
    def turns_counted():
        return REGISTRY.get_sample_value("nettrouble_span_seconds_count", {"process": "rasa", "span": "turn"}) or 0

    before = turns_counted()
    record = timing.begin("rasa", "/webhooks/rest/webhook")
    with timing.span("turn"):
        pass
    timing.finish(record)
    assert turns_counted() == before + 1
    text = metrics.render().decode()
    assert "# TYPE nettrouble_span_seconds histogram" in text
    assert 'nettrouble_span_seconds_bucket{le="+Inf",process="rasa",span="turn"}' in text


class FakeProcessor:
    async def handle_message(self, message):
        await self.parse_message(message)
        self._predict_next_with_tracker(None)
        await self.get_tracker(message.sender_id)
        await self.save_tracker(None)
        return ["reply"]

    async def parse_message(self, message, tracker=None):
        return {}

    def _predict_next_with_tracker(self, tracker):
        return None

    async def get_tracker(self, conversation_id):
        class Tracker:
            events = [1, 2, 3]

        return Tracker()

    async def save_tracker(self, tracker):
        return None


class Message:
    sender_id = "bench-7"
    input_channel = "rest"


def test_a_message_handled_outside_a_request_gets_a_record_of_its_own(timings_file):
    turn_timing.time_processor(FakeProcessor)
    assert asyncio.run(FakeProcessor().handle_message(Message())) == ["reply"]
    line = json.loads(timings_file.read_text())
    assert line["conversation"] == "bench-7" and line["path"] == "message:rest"
    assert {"turn", "nlu", "policy", "tracker_load", "tracker_save"} <= set(line["spans_ms"])
    assert line["counts"]["tracker_events"] == 3


@pytest.fixture
def fake_action_server():
    """An aiohttp server answering /webhook like rasa_sdk, with its Server-Timing figures."""
    seen = []

    async def webhook(request):
        body = await request.read()
        seen.append((dict(request.headers), json.loads(body), dict(request.query)))
        if json.loads(body)["next_action"] == "action_rejected":
            return web.json_response({"action_name": "action_rejected", "error": "no"}, status=400)
        return web.json_response(
            {"events": [], "responses": [{"text": "こんにちは"}]},
            headers={"Server-Timing": "app;dur=3.5, db;dur=1.0, sql;desc=2, rows;desc=1"},
        )

    async def start():
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]

    return start, seen


def test_an_action_call_keeps_rasas_contract_and_is_measured(fake_action_server):
    start, seen = fake_action_server
    action_client.install()

    async def scenario():
        runner, port = await start()
        endpoint = EndpointConfig(
            f"http://127.0.0.1:{port}/webhook", headers={"X-Action-Token": "secret"}, params={"a": "b"}
        )
        record = timing.begin("rasa", "/webhooks/rest/webhook")
        try:
            answer = await endpoint.request(
                json={"next_action": "action_x", "tracker": {"text": "悪口"}}, method="post", timeout=30, compress=False
            )
            with pytest.raises(ClientResponseError) as rejected:
                await endpoint.request(json={"next_action": "action_rejected"}, method="post", timeout=30)
        finally:
            await runner.cleanup()
        return answer, rejected.value, timing.finish(record)

    answer, rejected, figures = asyncio.run(scenario())
    assert answer == {"events": [], "responses": [{"text": "こんにちは"}]}
    assert rejected.status == 400 and json.loads(rejected.text)["action_name"] == "action_rejected"
    headers, body, query = seen[0]
    assert headers["X-Action-Token"] == "secret" and headers["Content-Type"] == "application/json"
    assert body["tracker"]["text"] == "悪口" and query == {"a": "b"}
    first = figures["actions"][0]
    assert first["name"] == "action_x" and first["request_bytes"] > 20 and first["response_bytes"] > 20
    assert first["server_ms"] == 3.5 and first["server_db_statements"] == 2
    assert figures["counts"]["actions"] == 2


def test_an_action_servers_answer_is_checked_against_rasas_schema():
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    action_client.install()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": [{"text": "x"}]}
    )
    with pytest.raises(ValidationError) as refused:
        action._validate_action_result({"events": [{"event": "no such event"}], "responses": []})
    assert "Failed to validate Action server response" in refused.value.message
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})


ANSWERS = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "a", "value": 1}, {"event": "followup", "name": "x"}],
        "responses": [{"text": "x"}],
    },
    {"events": [{"event": "slot", "value": 1}]},  # a slot without its name
    {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": "now"}]},
    {"events": [{"event": "no such event"}]},
    {"events": [{"name": "a"}]},
    {"events": ["not an event"]},
    {"events": "not a list"},
    {"responses": [1]},
    {"events": [{"event": "user", "text": 3}]},
    {"events": [{"event": "bot", "text": "x", "metadata": []}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "restart"}, {"event": "session_started"}]},
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_split_schema_accepts_exactly_what_rasas_schema_accepts(answer):
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    rasas = validators.validator_for(schema)(schema).is_valid(answer)
    assert action_client.answer_validators().valid(answer) == rasas
