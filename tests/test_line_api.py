"""The LINE API client (nettrouble/channels/line_api.py) against local recording servers: which host gets
which call, the push's retry policy, and errors that never carry the access token."""

import asyncio
import logging
import uuid

import pytest

from nettrouble.channels import line_api
from nettrouble.channels.line_api import LineApi, LineApiError
from tests.fakes.http_recorder import RecordingServer

TOKEN = "api-test-token"
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"
MESSAGES = [{"type": "text", "text": "こんにちは"}]


@pytest.fixture
def server():
    recording = RecordingServer().start()
    yield recording
    recording.stop()


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch):
    monkeypatch.setattr(line_api, "PUSH_RETRY_DELAYS_S", (0.0, 0.0))


def call(server, method, *args, data_server=None):
    async def go():
        async with LineApi(TOKEN, server.url, (data_server or server).url) as api:
            return await getattr(api, method)(*args)

    return asyncio.run(go())


def test_both_hosts_come_from_the_settings(env):
    env(LINE_API_BASE="http://api.example.test/", LINE_DATA_API_BASE="http://data.example.test")
    api = LineApi(TOKEN)
    assert (api.api_base, api.data_api_base) == ("http://api.example.test", "http://data.example.test")


def test_reply_returns_the_status(server):
    server.answer(REPLY, (400, {"message": "Invalid reply token"}))
    assert call(server, "reply", "token-1", MESSAGES) == 400
    assert call(server, "reply", "token-2", MESSAGES) == 200
    assert server.requests[1].json() == {"replyToken": "token-2", "messages": MESSAGES}


def test_push_retries_busy_answers_with_one_retry_key(server):
    server.answer(PUSH, (429, {}), (503, {}), (200, {}))
    assert call(server, "push", "U1", MESSAGES) is True
    keys = {r.headers["X-Line-Retry-Key"] for r in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1 and uuid.UUID(keys.pop()).version == 4


def test_push_stops_on_a_refusal(server, caplog):
    server.answer(PUSH, (400, {"message": "bad"}))
    with caplog.at_level(logging.ERROR):
        assert call(server, "push", "U1", MESSAGES) is False
    assert len(server.requests) == 1 and "LINE push refused (HTTP 400)" in caplog.text


def test_push_already_accepted_counts_as_delivered(server):
    server.answer(PUSH, (500, {}), (409, {"message": "The retry key is already accepted"}))
    assert call(server, "push", "U1", MESSAGES) is True
    assert len(server.requests) == 2


def test_push_gives_up_after_three_attempts(server, caplog):
    server.answer(PUSH, (500, {}), (500, {}), (500, {}), (200, {}))
    with caplog.at_level(logging.ERROR):
        assert call(server, "push", "U1", MESSAGES) is False
    assert len(server.requests) == 3 and "after 3 attempts" in caplog.text


def test_upload_goes_to_the_data_host_only(server):
    data = RecordingServer().start()
    try:
        call(server, "upload_rich_menu_image", "richmenu-1", b"\x89PNG...", "image/png", data_server=data)
    finally:
        data.stop()
    assert server.requests == []
    [upload] = data.requests
    assert upload.path == "/v2/bot/richmenu/richmenu-1/content" and upload.body == b"\x89PNG..."


def test_a_menu_id_cannot_reach_another_path(server):
    call(server, "delete_rich_menu", "../message/push")
    # sent percent-encoded as one path segment (the recorder shows it decoded, not resolved)
    assert server.requests[0].path == "/v2/bot/richmenu/../message/push"


def test_errors_carry_lines_answer_but_never_the_token(server):
    server.answer("/v2/bot/richmenu", (401, {"message": "Authentication failed"}))
    with pytest.raises(LineApiError) as raised:
        call(server, "create_rich_menu", {"size": {}})
    assert raised.value.status == 401
    assert "Authentication failed" in str(raised.value) and TOKEN not in str(raised.value)


def test_an_answer_without_an_id_is_an_error(server):
    server.answer("/v2/bot/richmenu", (200, {}))
    with pytest.raises(LineApiError, match="no richMenuId"):
        call(server, "create_rich_menu", {"size": {}})


def test_a_list_without_richmenus_is_an_error(server):
    server.answer("/v2/bot/richmenu/list", (200, {"menus": []}))
    with pytest.raises(LineApiError, match="no richmenus list"):
        call(server, "rich_menus")
