"""The web chat channel through Sanic's test client, with a scripted agent instead of a model."""

import asyncio
import json
import logging
import re
from pathlib import Path

import pytest
from rasa.core import run

from addons.channels import turns
from addons.channels.web import WebChatInput
from nettrouble.core import limits
from nettrouble.core.settings import SettingsError, allowed_origins, settings
from tests.fakes.agent import REFERENCE, FakeAgent

ROOT = Path(__file__).resolve().parent.parent
SECRET = "web-test-secret"


def make_app(agent=None, secret=SECRET):
    app = run.configure_app([WebChatInput.from_credentials({"secret": secret})], port=5005)
    app.ctx.agent = agent or FakeAgent()
    return app


@pytest.fixture
def agent():
    return FakeAgent()


@pytest.fixture
def app(agent):
    return make_app(agent)


def new_token(app):
    _, answer = app.test_client.post("/webhooks/web/session")
    assert answer.status == 200
    return answer.json["token"]


def say(app, token, message):
    return app.test_client.post("/webhooks/web/webhook", data=json.dumps({"token": token, "message": message}))[1]


# ---- the page ------------------------------------------------------------------------------


def test_page_and_assets_are_served_with_a_strict_policy(app):
    _, page = app.test_client.get("/webhooks/web/")
    assert page.status == 200 and page.content_type.startswith("text/html")
    assert 'src="static/chat.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    _, script = app.test_client.get("/webhooks/web/static/chat.js")
    assert script.status == 200 and script.content_type.startswith("text/javascript")
    _, style = app.test_client.get("/webhooks/web/static/chat.css")
    assert style.status == 200 and style.content_type.startswith("text/css")


def test_page_without_trailing_slash_is_redirected(app):
    _, answer = app.test_client.get("/webhooks/web", allow_redirects=False)
    assert answer.status == 308 and answer.headers["location"] == "/webhooks/web/"


@pytest.mark.parametrize("name", ["index.html", "..%2Fweb.py", "chat.min.js", "%2E%2E"])
def test_only_the_two_assets_are_served(app, name):
    _, answer = app.test_client.get(f"/webhooks/web/static/{name}")
    assert answer.status == 404


def test_static_files_load_nothing_from_outside():
    for path in (ROOT / "addons/channels/web_static").iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), path
        assert "@import" not in text and "url(" not in text, path
    for name in ("chat.js", "launcher.js"):
        script = (ROOT / "addons/channels/web_static" / name).read_text(encoding="utf-8")
        assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "eval(" not in script
        # A site's CSP refuses style attributes: the launcher styles through element.style only.
        assert 'setAttribute("style"' not in script and "cssText" not in script


# ---- framing by the service's site and the launcher ---------------------------------------


@pytest.fixture
def allowed(env):
    """A web chat app made with WEB_CHAT_ALLOWED_ORIGINS set to the given value."""

    def made(value):
        env(WEB_CHAT_ALLOWED_ORIGINS=value)
        return make_app()

    return made


def frame_ancestors(answer):
    [directive] = [
        d.strip()
        for d in answer.headers["content-security-policy"].split(";")
        if d.strip().startswith("frame-ancestors")
    ]
    return directive


def test_without_allowed_origins_nothing_may_frame_the_page(allowed):
    app = allowed("")
    _, page = app.test_client.get("/webhooks/web/")
    assert frame_ancestors(page) == "frame-ancestors 'none'"
    assert page.headers["x-frame-options"] == "DENY"


def test_allowed_origins_may_frame_the_page_and_only_the_page(allowed):
    app = allowed(" https://www.Example.jp ,http://localhost:8000,https://www.example.jp,https://a.example.jp:8443")
    _, page = app.test_client.get("/webhooks/web/")
    assert (
        frame_ancestors(page)
        == "frame-ancestors https://www.example.jp http://localhost:8000 https://a.example.jp:8443"
    )
    assert "x-frame-options" not in page.headers
    assert "script-src 'self'" in page.headers["content-security-policy"]  # the rest of the policy stays
    token = new_token(app)
    for path in (
        "/webhooks/web/static/chat.js",
        "/webhooks/web/static/chat.css",
        "/webhooks/web/launcher.js",
        f"/webhooks/web/history?token={token}",
    ):
        _, other = app.test_client.get(path)
        assert frame_ancestors(other) == "frame-ancestors 'none'", path
        assert other.headers["x-frame-options"] == "DENY", path


@pytest.mark.parametrize(
    "entry",
    [
        "http://www.example.jp",  # plain http off this machine
        "https://www.example.jp/",  # a path, even "/"
        "https://www.example.jp/chat",
        "https://*.example.jp",  # wildcards: every subdomain could frame the chat
        "*",
        "https:",
        "'self'",
        "'none'",
        "'unsafe-inline'",
        "www.example.jp",  # no scheme
        "javascript://x",
        "data://x",
        "https://www.example.jp:0",
        "https://www.example.jp:99999",
        "https://user@www.example.jp",
        "https://www.example.jp?x=1",
        "https://exämple.jp",  # IDN: write its xn-- form
        "https://[::1]",
        "https://-bad.example.jp",
        "https://www.example.jp; script-src *",  # directive injection
        "https://www.example.jp;frame-ancestors *",
        "https://www.example.jp 'unsafe-inline'",
        "https://www.example.jp\tdata:",
        "https://www.example.jp\nX-Injected: 1",
        "https://www.example.jp\r\nSet-Cookie: a=b",
        '"https://www.example.jp"',
    ],
)
def test_an_invalid_origin_stops_the_channel_at_start_naming_it(allowed, entry):
    with pytest.raises(SettingsError) as refused:
        allowed(f"https://ok.example.jp,{entry}")
    message = str(refused.value)
    assert message.startswith("WEB_CHAT_ALLOWED_ORIGINS: ") and repr(entry.strip()) in message
    assert "ok.example.jp" not in message  # only the wrong entry is named


def test_every_invalid_origin_is_named_at_once():
    with pytest.raises(SettingsError) as refused:
        allowed_origins(["https://a.example.jp/", "https://ok.example.jp", "http://b.example.jp"])
    message = str(refused.value)
    assert "'https://a.example.jp/' is not an origin" in message
    assert "'http://b.example.jp' must be https" in message


def test_local_origins_may_use_http():
    assert allowed_origins(["http://localhost:8000", "http://127.0.0.1", "HTTPS://WWW.EXAMPLE.JP:443"]) == (
        "http://localhost:8000",
        "http://127.0.0.1",
        "https://www.example.jp:443",
    )


def test_the_launcher_is_a_small_script_with_the_centres_number(app):
    _, script = app.test_client.get("/webhooks/web/launcher.js")
    assert script.status == 200
    assert script.content_type == "text/javascript; charset=utf-8"
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.headers["cache-control"] == "public, max-age=3600"
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    assert len(script.body) < 10 * 1024  # commented source; about 3 KB gzipped
    assert "__CENTRE_LINE__" not in script.text
    assert f"var CENTRE_LINE = {json.dumps(turns.urgent_call_line(), ensure_ascii=False)};" in script.text
    assert "0120-221-360" in script.text


def test_the_launcher_is_revalidated_by_its_etag(app):
    _, first = app.test_client.get("/webhooks/web/launcher.js")
    etag = first.headers["etag"]
    _, again = app.test_client.get("/webhooks/web/launcher.js", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag
    _, changed = app.test_client.get("/webhooks/web/launcher.js", headers={"If-None-Match": '"old"'})
    assert changed.status == 200 and changed.body == first.body


def test_the_launcher_is_not_served_while_the_chat_is_off():
    _, script = make_app(secret="").test_client.get("/webhooks/web/launcher.js")
    assert script.status == 503  # a browser runs no script of an error answer: no button


# ---- sessions and messages -----------------------------------------------------------------


def test_tokens_are_new_and_signed(app):
    first, second = new_token(app), new_token(app)
    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{43}", first)


def test_a_message_reaches_the_bot_under_the_token_sender(app, agent):
    token = new_token(app)
    answer = say(app, token, "SNSで誹謗中傷されています")
    assert answer.status == 200 and answer.json["accepted"] is True
    texts = [m["text"] for m in answer.json["messages"]]
    assert texts[0].startswith("SNSなどでの誹謗中傷についてのご相談ですね。")
    assert answer.json["messages"][1]["buttons"] == [
        {"title": "はい", "payload": "/affirm"},
        {"title": "いいえ", "payload": "/deny"},
    ]
    [received] = agent.received
    assert received.sender_id == "web-" + token.split(".")[0]
    assert received.input_channel == "web"


def test_case_reference_and_link_come_as_parts(app):
    token = new_token(app)
    [message] = say(app, token, "/affirm").json["messages"]
    assert message["references"] == [REFERENCE]
    kinds = [part["type"] for part in message["parts"]]
    assert "reference" in kinds and "link" in kinds


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t.split(".")[0] + "." + "A" * 43,  # made-up signature
        lambda t: "B" * 24 + "." + t.split(".")[1],  # someone else's id
        lambda t: t + "x",
        lambda t: t.replace(".", ""),
        lambda t: None,
        lambda t: 12345,
        lambda t: "a.b.c",
        lambda t: t.split(".")[0] + ".署名",
    ],
)
def test_forged_or_missing_tokens_are_refused_and_nothing_is_processed(app, agent, forge):
    answer = say(app, forge(new_token(app)), "こんにちは")
    assert answer.status == 401 and answer.json["error"] == "bad_token"
    assert agent.received == []


def test_a_token_signed_with_another_secret_is_refused(agent):
    foreign = new_token(make_app(FakeAgent(), secret="another-secret"))
    answer = say(make_app(agent), foreign, "こんにちは")
    assert answer.status == 401 and agent.received == []


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (json.dumps({"message": "こんにちは"}).encode(), 401),
    ],
)
def test_malformed_requests_get_a_clear_answer(app, agent, body, status):
    _, answer = app.test_client.post("/webhooks/web/webhook", data=body)
    assert answer.status == status and answer.json["message"]
    assert agent.received == []


@pytest.mark.parametrize("message", ["", "   \n ", None, ["こんにちは"], "\u0000\u200b"])
def test_empty_or_non_text_messages_are_refused(app, agent, message):
    answer = say(app, new_token(app), message)
    assert answer.status == 400 and answer.json["error"] == "no_message"
    assert agent.received == []


def test_huge_body_is_refused(app, agent):
    answer = say(app, new_token(app), "あ" * 30_000)
    assert answer.status == 413 and agent.received == []


def test_a_long_message_is_cut_and_the_user_told(app, agent):
    limit = settings().max_message_chars
    answer = say(app, new_token(app), "誹" * (limit + 1))
    assert answer.status == 200 and answer.json["accepted"] is True
    assert answer.json["messages"][0]["text"] == turns.CUT.format(limit=limit)
    assert agent.texts == ["誹" * limit]


def test_a_long_message_with_self_harm_at_the_end_gets_the_safety_intent(app, agent):
    answer = say(app, new_token(app), "つらい。" * 2000 + "もう死にたい")
    assert answer.status == 200 and agent.texts == ["/urgent_self_harm"]


def test_odd_json_is_refused(app, agent):
    token = new_token(app)
    for raw in (
        '{"token": "%s", "message": "x", "n": NaN}' % token,
        '{"token": "%s", "message": "x", "a": %s%s}' % (token, "[" * 5000, "]" * 5000),
        '{"token": "%s", "message": "x", "a": %s%s}' % (token, '{"a":' * 40, "}" * 40),
    ):
        _, answer = app.test_client.post("/webhooks/web/webhook", data=raw)
        assert answer.status == 400 and answer.json["error"] == "bad_request"
    assert agent.received == []


def test_the_client_address_is_the_only_metadata(app, agent):
    say(app, new_token(app), "こんにちは")
    assert agent.received[0].metadata == {limits.CLIENT: limits.client_key("web", "127.0.0.1")}


def test_past_the_messages_per_minute_the_message_is_not_accepted(monkeypatch, env, agent):
    monkeypatch.setattr(turns.UserTurns, "LIMITED_PAUSE_S", 0.0)
    env(MESSAGES_PER_MINUTE="2")
    app = make_app(agent)
    token = new_token(app)
    answers = [say(app, token, f"その{n}") for n in range(3)]
    assert agent.texts == ["その0", "その1"]
    assert answers[2].json["accepted"] is False  # the page gives the text back to the input
    [notice] = answers[2].json["messages"]
    assert notice["text"] == turns.limited_text() and "0120-221-360" in notice["text"]


def test_text_is_nfkc_normalised(app, agent):
    say(app, new_token(app), "ＬＩＮＥで１２３円　ﾃｽﾄ")
    assert agent.texts == ["LINEで123円 テスト"]


@pytest.mark.parametrize("agent", [FakeAgent(error=RuntimeError("model not loaded")), FakeAgent()])
def test_a_turn_without_an_answer_gets_the_fallback(app, agent):
    answer = say(app, new_token(app), "だまって")
    assert answer.status == 200
    [message] = answer.json["messages"]
    assert message["text"].startswith("申し訳ございません。")
    assert "0120-221-360" in message["text"]


# ---- history -------------------------------------------------------------------------------


def test_history_rebuilds_the_conversation_with_button_titles(app):
    token = new_token(app)
    say(app, token, "/greet")  # sent by the page when it opens, never shown as the user's
    say(app, token, "誹謗中傷の相談です")
    say(app, token, "/affirm")
    _, answer = app.test_client.get(f"/webhooks/web/history?token={token}")
    entries = answer.json["messages"]
    assert [e["from"] for e in entries] == ["bot", "user", "bot", "bot", "user", "bot"]
    assert entries[0]["text"].startswith("こんにちは。")
    assert entries[1]["text"] == "誹謗中傷の相談です"
    assert entries[3]["buttons"][0] == {"title": "はい", "payload": "/affirm"}
    assert entries[4]["text"] == "はい"  # the payload is shown as the title the user pressed
    assert entries[5]["references"] == [REFERENCE]


def test_history_is_only_for_the_tokens_own_conversation(app):
    mine = new_token(app)
    say(app, mine, "私の相談です")
    _, other = app.test_client.get(f"/webhooks/web/history?token={new_token(app)}")
    assert other.status == 200 and other.json["messages"] == []
    _, forged = app.test_client.get(f"/webhooks/web/history?token={mine.split('.')[0]}.{'A' * 43}")
    assert forged.status == 401
    _, missing = app.test_client.get("/webhooks/web/history")
    assert missing.status == 401


# ---- configuration -------------------------------------------------------------------------


def test_without_a_secret_the_channel_is_off_with_one_log_line(caplog):
    with caplog.at_level(logging.INFO, logger="addons.channels"):
        app = make_app(secret="")
    assert [r.getMessage() for r in caplog.records] == ["Web chat off: WEB_CHAT_SECRET not set"]
    for method, path in (
        ("get", "/webhooks/web/"),
        ("post", "/webhooks/web/session"),
        ("post", "/webhooks/web/webhook"),
    ):
        _, answer = getattr(app.test_client, method)(path)
        assert answer.status == 503


def test_credentials_file_starts_every_channel_with_empty_secrets(env, caplog):
    env(
        **dict.fromkeys(
            (
                "LINE_CHANNEL_SECRET",
                "LINE_CHANNEL_ACCESS_TOKEN",
                "TWILIO_ACCOUNT_SID",
                "TWILIO_AUTH_TOKEN",
                "SMS_PUBLIC_URL",
                "SMS_FROM_NUMBER",
            ),
            "",
        ),
        WEB_CHAT_SECRET="from-the-environment",
        RASA_PORT="5005",
    )
    with caplog.at_level(logging.INFO, logger="addons.channels"):
        channels = run.create_http_input_channels(None, str(ROOT / "credentials.yml"))
    assert [c.name() for c in channels] == ["rest", "web", "line", "sms"]
    assert sorted(r.getMessage() for r in caplog.records) == [
        "LINE channel off: LINE_CHANNEL_SECRET / LINE_CHANNEL_ACCESS_TOKEN not set",
        "SMS channel off: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN / SMS_PUBLIC_URL / SMS_FROM_NUMBER not set",
    ]
    web_channel = channels[1]
    assert web_channel.tokens.sender_id(web_channel.tokens.issue()).startswith("web-")
    app = run.configure_app(channels, port=5005)
    app.ctx.agent = FakeAgent()
    assert app.test_client.post("/webhooks/line/webhook", data="{}")[1].status == 503
    assert app.test_client.post("/webhooks/sms/webhook", data="")[1].status == 503
    assert app.test_client.get("/webhooks/web/")[1].status == 200


# ---- the shared fallback -------------------------------------------------------------------


def test_a_turn_that_outlives_its_timeout_is_answered_with_the_fallback(caplog):
    agent = FakeAgent(delay_s=5.0)
    with caplog.at_level(logging.ERROR):
        messages = asyncio.run(turns.bot_turn(agent.handle_message, "こんにちは", "web-x", "web", timeout=0.2))
    [message] = messages
    assert message.text == turns.fallback_text() and "0120-221-360" in message.text
    assert "took longer than" in caplog.text
    assert "こんにちは" not in caplog.text  # the user's words stay out of the logs
