"""The agent console over a real (temporary) case database, through Sanic's test client: nothing
readable without sign-in, lookup with check-digit messages, filters, escaping, status audit
trail, caller check, CSV export, CSRF, the JSON API, and the notification worker of
``python -m console``."""

import csv
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote

import pytest
from jinja2 import UndefinedError
from sqlalchemy.exc import OperationalError

from console import __main__ as console_main
from console import auth, templates, views
from console.app import PUBLIC_PATHS, create_app
from nettrouble.cases import schema, store
from nettrouble.cases.reference import damm, format_reference
from nettrouble.cases.schema import CaseDraft
from nettrouble.core import db
from nettrouble.core.clock import JST, now
from nettrouble.core.settings import SettingsError
from nettrouble.eligibility import identity, ledger
from nettrouble.notify import outbox
from tests.fakes.http_recorder import RecordingServer
from tests.fakes.local import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
SECRET = "console-test-person-key-secret"
USER = "agent"
PASSWORD = "correct horse battery staple"
TOKEN = "console-test-api-token-0123456789"
NUMBER = "090-1234-5678"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def jst(*args):
    return datetime(*args, tzinfo=JST)


CONSOLE_SETTINGS = dict(
    PERSON_KEY_SECRET=SECRET,
    CONSOLE_USER=USER,
    CONSOLE_PASSWORD=PASSWORD,
    CONSOLE_API_TOKEN=TOKEN,
    HANDOFF_WEBHOOK_URL="",
    CLOCK_OVERRIDE="",
    APP_ENV="development",
)


def set_env(env, **values):
    """The console's settings for a test (``env``: the fixture of tests/conftest.py), with
    ``values`` instead of the defaults."""
    env(**{**CONSOLE_SETTINGS, **values})


@pytest.fixture
def engine(tmp_path, env):
    set_env(env)
    created = db.prepare(f"sqlite:///{tmp_path / 'console.db'}")
    yield created
    db.dispose_all()


@pytest.fixture
def app(engine):
    return create_app(engine)


class Client:
    """Sanic's test client with a cookie jar, redirects not followed."""

    def __init__(self, app):
        self.app = app
        self.cookies = {}

    def _remember(self, response):
        for header in response.headers.get_list("set-cookie"):
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, method, path, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        _, response = getattr(self.app.test_client, method)(path, cookies=dict(self.cookies), **kwargs)
        self._remember(response)
        return response

    def get(self, path, **kwargs):
        return self.request("get", path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.request("post", path, data=data or {}, **kwargs)

    def csrf(self, path="/login"):
        return CSRF.search(self.get(path).text).group(1)

    def sign_in(self, user=USER, password=PASSWORD, next_path="/"):
        token = self.csrf("/login")
        return self.post("/login", {"csrf_token": token, "username": user, "password": password, "next": next_path})


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def agent(app):
    signed_in = Client(app)
    answer = signed_in.sign_in()
    assert answer.status == 303 and answer.headers["location"] == "/"
    return signed_in


def open_case(engine, conversation="conv-1", at=None, **overrides):
    values = dict(
        conversation_id=conversation,
        channel="web",
        trouble_type="defamation",
        triage_answers={"platform": "X", "ongoing": "yes", "evidence_saved": "no"},
        urgency=[],
        articles_shown=["retweet-defamation"],
        summary="Xで悪口を書かれています",
    )
    values.update(overrides)
    case, created = store.open_case(engine, CaseDraft(**values), at=at or jst(2026, 7, 15, 11, 0), notify=False)
    assert created
    return case


def wrong_check_digit(reference):
    digits = reference.replace("NT-", "").replace("-", "")
    return format_reference(digits[:9] + str((int(digits[9]) + 1) % 10))


# --- nothing readable without sign-in ----------------------------------------------------------


def route_examples(app, reference):
    """Every (method, path) the app serves, with a real reference in the parameters."""
    found = set()
    for route in app.router.routes:
        path = "/" + route.path if not route.path.startswith("/") else route.path
        path = re.sub(r"<reference(:str)?>", reference, path)
        if "<" in path:
            pytest.fail(f"no example value for route parameters of {path}")
        for method in route.methods:
            found.add((method, path))
    return found


def test_every_route_needs_sign_in_or_the_api_token(engine, app, client):
    case = open_case(engine)
    examples = route_examples(app, case.reference)
    public = {(method, path) for method, path in examples if path in PUBLIC_PATHS}
    assert public == {
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/health"),
        ("GET", "/metrics"),
        ("GET", "/static/console.css"),
        ("HEAD", "/static/console.css"),
    }
    checked = 0
    for method, path in sorted(examples - public):
        answer = client.request(method.lower(), path)
        if path.startswith("/api/"):
            assert answer.status == 401, path
            assert answer.json == {"error": "unauthorized", "message": "有効なAPIトークンが必要です。"}
            assert answer.headers["www-authenticate"].startswith("Bearer")
        else:
            assert answer.status == 302, (method, path)
            assert answer.headers["location"].startswith("/login"), path
        assert case.reference not in answer.text and "悪口" not in answer.text
        checked += 1
    assert checked == 27  # with POST /cases/<reference>/callback (console/callback_views.py)
    # Where the agent was going survives the sign-in, as a path on this console only.
    answer = client.get(f"/cases/{case.reference}?notice=x")
    assert answer.headers["location"] == "/login?next=" + quote(f"/cases/{case.reference}?notice=x", safe="")


def test_public_routes_reveal_no_case(engine, client):
    open_case(engine)
    assert client.get("/health").json == {"status": "ok", "checks": {"database": "ok"}}
    assert "NT-" not in client.get("/metrics").text
    sheet = client.get("/static/console.css")
    assert sheet.status == 200 and sheet.headers["content-type"].startswith("text/css")
    login = client.get("/login")
    assert login.status == 200 and "サインイン" in login.text and "NT-" not in login.text


def test_unknown_paths_are_404_with_the_security_headers(client, agent):
    for who in (client, agent):
        answer = who.get("/wp-admin.php")
        assert answer.status == 404 and "ページが見つかりません" in answer.text
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store"
    assert agent.get("/login", headers={}).status == 303  # signed in already: on to the list
    assert agent.request("put", "/").status == 405


# --- sign-in -----------------------------------------------------------------------------------


def test_sign_in_sets_a_strict_http_only_session_cookie(client):
    answer = client.sign_in(next_path="/cases/lookup?reference=x")
    assert answer.status == 303 and answer.headers["location"] == "/cases/lookup?reference=x"
    cookie = [h for h in answer.headers.get_list("set-cookie") if h.startswith(auth.COOKIE)][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert f"Max-Age={auth.SESSION_SECONDS}" in cookie or f"Max-Age={auth.SESSION_SECONDS - 1}" in cookie
    assert "Secure" not in cookie  # development over http://localhost
    page = client.get("/")
    assert page.status == 200 and "相談ケース一覧" in page.text and USER in page.text


def test_outside_development_the_cookie_is_secure_and_setup_is_not_told(engine, client, env):
    assert "CONSOLE_PASSWORD" in client.get("/login").text
    env(APP_ENV="production")
    production = Client(create_app(engine))
    assert ".env" not in production.get("/login").text
    cookie = production.sign_in().headers.get_list("set-cookie")[0]
    assert "Secure" in cookie


@pytest.mark.parametrize(
    "user, password",
    [
        (USER, "wrong"),
        ("someone", PASSWORD),
        (USER, ""),
        ("", ""),
        (USER, PASSWORD + " "),
        (USER, PASSWORD[:-1]),
    ],
)
def test_wrong_credentials_are_refused(client, user, password):
    answer = client.sign_in(user, password)
    assert answer.status == 200
    assert "ユーザー名またはパスワードが違います。" in answer.text
    assert client.get("/").status == 302


def test_sign_in_goes_nowhere_but_this_console(client):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        fresh = Client(client.app)
        assert fresh.sign_in(next_path=target).headers["location"] == "/"


def test_repeated_failures_slow_sign_in_down(app, client):
    clock = [1000.0]
    app.ctx.throttle = auth.SignInThrottle(free=5, clock=lambda: clock[0])
    for _ in range(5):
        assert client.sign_in(password="guess").status == 200
    assert client.sign_in(password="guess").status == 200  # the 6th failure starts the wait
    blocked = client.sign_in()  # even the right password is not checked while blocked
    assert blocked.status == 429 and blocked.headers["retry-after"] == "1"
    assert "一時的に受け付けを止めています" in blocked.text
    assert client.get("/").status == 302
    clock[0] += 1.5
    assert client.sign_in(password="guess").status == 200
    clock[0] += 1.0
    assert client.sign_in().status == 429  # the 7th failure doubled the wait
    clock[0] += 1.5
    assert client.sign_in().status == 303
    assert client.get("/").status == 200


def test_sign_out_ends_the_session_for_good(agent):
    stolen = dict(agent.cookies)
    token = agent.csrf("/")
    answer = agent.post("/logout", {"csrf_token": token})
    assert answer.status == 303 and answer.headers["location"] == "/login"
    assert auth.COOKIE not in agent.cookies
    replay = Client(agent.app)
    replay.cookies = stolen
    assert replay.get("/").status == 302


def test_forged_or_tampered_cookies_are_refused(app, agent):
    value = agent.cookies[auth.COOKIE]
    payload, mac = value.split(".")
    forged = [
        payload + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"),
        payload[:-2] + "." + mac,
        auth.Sessions().encode(auth.Session("sid", USER, "csrf", time.time() + 3600)),  # another key
        "x" * 5000,
        "a.b.c",
        "%E3%83%86.x",
        "",
    ]
    for cookie in forged:
        other = Client(app)
        other.cookies = {auth.COOKIE: cookie}
        assert other.get("/").status == 302, cookie[:40]


def test_sessions_expire_after_a_shift():
    clock = [1_000_000.0]
    sessions = auth.Sessions(clock=lambda: clock[0])
    signed_in = sessions.encode(sessions.new(USER))
    anonymous = sessions.encode(sessions.new())
    clock[0] += auth.SIGN_IN_FORM_SECONDS + 1
    assert sessions.decode(anonymous) is None
    assert sessions.decode(signed_in).user == USER
    clock[0] += auth.SESSION_SECONDS
    assert sessions.decode(signed_in) is None


def test_bearer_checks():
    assert auth.bearer_problem(f"Bearer {TOKEN}", TOKEN) is None
    assert auth.bearer_problem(f"bearer   {TOKEN} ", TOKEN) is None
    assert auth.bearer_problem(None, TOKEN) == auth.MISSING
    assert auth.bearer_problem(f"Basic {TOKEN}", TOKEN) == auth.INVALID
    assert auth.bearer_problem("Bearer ", TOKEN) == auth.INVALID
    assert auth.bearer_problem(f"Bearer {TOKEN}x", TOKEN) == auth.INVALID


def test_missing_secrets_stop_the_console_with_their_name(engine, env):
    for name in ("CONSOLE_PASSWORD", "CONSOLE_API_TOKEN", "CONSOLE_USER", "PERSON_KEY_SECRET"):
        set_env(env, **{name: ""})
        with pytest.raises(SettingsError, match=name):
            create_app(engine)


# --- lookup ------------------------------------------------------------------------------------


def test_lookup_finds_a_reference_however_it_was_typed(engine, agent):
    case = open_case(engine)
    digits = case.reference.replace("NT-", "").replace("-", "")
    full_width = "ＮＴ" + "".join(chr(ord(d) + 0xFEE0) for d in digits)
    for typed in (case.reference, case.reference.lower(), digits, full_width, f" nt {digits[:4]} {digits[4:]} "):
        answer = agent.get("/cases/lookup?" + f"reference={quote(typed)}")
        assert answer.status == 303, typed
        assert answer.headers["location"] == f"/cases/{case.reference}"


def test_lookup_tells_a_typo_from_an_unknown_case(engine, agent):
    case = open_case(engine)
    typo = wrong_check_digit(case.reference)
    answer = agent.get(f"/cases/lookup?reference={typo}")
    assert answer.status == 400
    assert "最後の1桁（確認用の数字）が合いません" in answer.text and typo in answer.text
    # two adjacent digits swapped: Damm catches it too
    digits = case.reference.replace("NT-", "").replace("-", "")
    swapped = digits[:5] + digits[6] + digits[5] + digits[7:]
    if swapped != digits:
        assert agent.get(f"/cases/lookup?reference={swapped}").status == 400

    nine = "260799999"
    unknown = format_reference(nine + str(damm(nine)))
    answer = agent.get(f"/cases/lookup?reference={unknown}")
    assert answer.status == 404 and "見つかりませんでした" in answer.text

    for malformed in ("", "NT-12", "hello", "NT-2607-12345-1-9", "x" * 3000, "ＮＴ－２６０７"):
        answer = agent.get("/cases/lookup?reference=" + quote(malformed))
        assert answer.status == 400, malformed[:20]
        assert "受付番号の形式が正しくありません" in answer.text


def test_detail_path_canonicalises_or_refuses(engine, agent):
    case = open_case(engine)
    assert agent.get(f"/cases/{case.reference.lower()}").headers["location"] == f"/cases/{case.reference}"
    assert agent.get(f"/cases/{wrong_check_digit(case.reference)}").status == 400
    assert agent.get("/cases/NT-9999").status == 400


# --- list and filters --------------------------------------------------------------------------


@pytest.fixture
def several(engine):
    made = {
        "old_defamation": open_case(
            engine,
            "c1",
            at=jst(2026, 7, 1, 9, 0),
            eligibility="eligible",
            eligibility_campaign="sns-2026",
            person_key=identity.person_key(NUMBER),
        ),
        "danger": open_case(
            engine,
            "c2",
            at=jst(2026, 7, 10, 23, 59),
            trouble_type="privacy",
            urgency=["danger"],
            summary="家に来ると脅されています",
        ),
        "phishing": open_case(
            engine,
            "c3",
            at=jst(2026, 7, 11, 0, 0),
            trouble_type="phishing",
            eligibility="topic_not_covered",
            summary="偽SMSのリンクを押しました",
        ),
        "minor": open_case(
            engine,
            "c4",
            at=jst(2026, 7, 20, 15, 0),
            trouble_type="bullying",
            urgency=["minor", "self_harm"],
            summary="娘がクラスでいじめられています",
        ),
    }
    store.change_status(engine, made["phishing"].reference, schema.IN_PROGRESS, "someone")
    return made


def listed(answer):
    return re.findall(r'class="reference" href="/cases/(NT-[0-9-]+)"', answer.text)


def test_list_is_newest_first_with_urgent_rows_marked(agent, several):
    answer = agent.get("/")
    assert answer.status == 200
    assert listed(answer) == [several[k].reference for k in ("minor", "phishing", "danger", "old_defamation")]
    assert answer.text.count('<tr class="urgent">') == 2
    assert "自傷・自殺の恐れ" in answer.text and "子どものネットいじめ" in answer.text
    # life-threatening flags first, whatever order they were recorded in
    minor_row = re.search(
        f"<tr[^>]*>\\s*<td><a[^>]*>{several['minor'].reference}</a>.*?</tr>", answer.text, re.S
    ).group()
    assert minor_row.index("自傷・自殺の恐れ") < minor_row.index("未成年")


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=in_progress", ["phishing"]),
        ("status=new", ["minor", "danger", "old_defamation"]),
        ("trouble_type=privacy", ["danger"]),
        ("date_from=2026-07-10&date_to=2026-07-10", ["danger"]),  # a Japan day, both ends included
        ("date_from=2026-07-11", ["minor", "phishing"]),
        ("date_to=2026-07-01", ["old_defamation"]),
        ("eligibility=eligible", ["old_defamation"]),
        ("eligibility=topic_not_covered", ["phishing"]),
        ("eligibility=none", ["minor", "danger"]),
        ("urgency=danger", ["danger"]),
        ("urgency=self_harm", ["minor"]),
        ("urgency=none", ["phishing", "old_defamation"]),
        ("status=new&urgency=minor&trouble_type=bullying", ["minor"]),
        ("trouble_type=shopping", []),
    ],
)
def test_list_filters(agent, several, query, expected):
    answer = agent.get("/?" + query)
    assert answer.status == 200
    assert listed(answer) == [several[name].reference for name in expected]
    if not expected:
        assert "条件に合う案件はありません。" in answer.text
    # the form shows the filters in force
    for name, value in (part.split("=") for part in query.split("&")):
        assert f'value="{value}" selected' in answer.text or f'name="{name}" value="{value}"' in answer.text


@pytest.mark.parametrize(
    "query, message",
    [
        ("status=open", "状態の指定が正しくありません"),
        ("trouble_type=%3Cscript%3E", "種類の指定が正しくありません"),
        ("urgency=panic", "緊急度の指定が正しくありません"),
        ("eligibility=maybe", "無料相談の指定が正しくありません"),
        ("date_from=2026-13-01", "受付日（から）は 2026-07-01 の形の日付でご指定ください。"),
        ("date_to=yesterday", "受付日（まで）は"),
        ("date_from=2026-07-20&date_to=2026-07-01", "「から」が「まで」より後"),
        ("page=0", "page は 1 から"),
        ("page=abc", "page は 1 から"),
        ("page=99999999999999999999", "page は 1 から"),
    ],
)
def test_bad_filters_get_a_clear_answer(agent, several, query, message):
    answer = agent.get("/?" + query)
    assert answer.status == 400
    assert message in answer.text
    assert "<script>" not in answer.text
    assert listed(answer) == []


def test_list_pages(agent, several, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    first = agent.get("/")
    assert len(listed(first)) == 3 and 'rel="prev"' not in first.text
    assert 'rel="next" href="/?page=2"' in first.text
    exactly_one_page = agent.get("/?status=new")
    assert len(listed(exactly_one_page)) == 3 and 'rel="next"' not in exactly_one_page.text
    assert 'href="/?status=in_progress&amp;page=2"' not in agent.get("/?status=in_progress").text
    filtered = agent.get("/?eligibility=none&urgency=danger")
    assert listed(filtered) == [several["danger"].reference]
    second = agent.get("/?page=2")
    assert listed(second) == [several["old_defamation"].reference]
    assert 'rel="prev" href="/"' in second.text and 'rel="next"' not in second.text
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    middle = agent.get("/?status=new&page=2")
    assert 'rel="prev" href="/?status=new"' in middle.text
    assert 'rel="next" href="/?status=new&amp;page=3"' in middle.text


# --- detail and escaping -----------------------------------------------------------------------


def test_detail_shows_everything_staff_need(engine, agent, several):
    case = several["old_defamation"]
    store.open_case(
        engine,
        CaseDraft(conversation_id="c1", trouble_type="defamation", urgency=["sexual_image", "danger"]),
        notify=False,
    )
    page = agent.get(f"/cases/{case.reference}")
    assert page.status == 200
    text = page.text
    for expected in (
        case.reference,
        "2026-07-01 09:00",
        "新規",
        "ウェブ",
        "SNSでの誹謗中傷",
        "無料相談の対象",
        "sns-2026",
        "照合できます",
        "Xで悪口を書かれています",
        "サービス",
        "X",
        "今も続いているか",
        "続いている",
        "証拠の保存",
        "まだ",
        "リツイートだけでも？SNSでの投稿が名誉毀損になるケース",
        "身の安全に関わる可能性があります",
        "対応を開始する",
        "照合する",
    ):
        assert expected in text, expected
    assert text.index("身の危険") < text.index("性的画像の被害")  # danger first
    assert case.person_key not in text and "person_key" not in text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in text and "style=" not in text  # nothing the CSP would block


def test_markup_in_a_case_is_shown_as_text(engine, agent):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    case = open_case(
        engine,
        conversation='conv"><script>alert(2)</script>',
        channel="<b>web</b>",
        summary=f"悪口 {attack}",
        triage_answers={"platform": attack, "<i>key</i>": "v"},
        articles_shown=["<svg onload=alert(3)>"],
        eligibility="<script>e</script>",
    )
    for path in (f"/cases/{case.reference}", "/"):
        text = agent.get(path).text
        assert "<script" not in text and "<img" not in text and "<svg" not in text and "<b>web" not in text
        # Jinja2's autoescape writes a double quote as &#34;
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    detail = agent.get(f"/cases/{case.reference}").text
    assert "&lt;i&gt;key&lt;/i&gt;" in detail and "&lt;svg onload=alert(3)&gt;" in detail
    echoed = agent.get("/cases/lookup?reference=" + quote('"><script>alert(4)</script>')).text
    assert "<script" not in echoed and "&#34;&gt;&lt;script&gt;" in echoed


def test_page_templates_escape_everything_and_keep_to_the_policy(engine, agent):
    """The rules of every page template, those added later too: each extends the layout, none
    switches escaping off or marks a value safe, none carries what the CSP blocks."""
    pages = ROOT / "console" / "pages"
    names = sorted(path.name for path in pages.glob("*.html"))
    assert {"layout.html", "macros.html", "list.html", "detail.html"} <= set(names)
    unsafe = re.compile(r"<script|<style|\sstyle=|\son[a-z]+=|\|\s*safe\b|autoescape\s+false|markup\(", re.I)
    for name in names:
        text = (pages / name).read_text(encoding="utf-8")
        assert not unsafe.search(text), name
        # A partial (_name.html) is included by a page: it extends nothing itself.
        if name not in ("layout.html", "macros.html") and not name.startswith("_"):
            assert text.startswith('{% extends "layout.html" %}'), name
    page = templates.render("error.html", session=None, title="<b>t</b>", text="<i>x</i>")
    assert "<b>" not in page and "&lt;b&gt;t&lt;/b&gt;" in page and "&lt;i&gt;x&lt;/i&gt;" in page
    with pytest.raises(UndefinedError):  # a value a page forgot to pass is an error, not a blank
        templates.render("error.html", session=None, title="t")
    # the navigation marks the page staff are on
    assert '<a href="/" aria-current="page">一覧</a>' in agent.get("/").text
    assert "aria-current" not in agent.get(f"/cases/{open_case(engine).reference}").text


def test_triage_answers_of_any_shape_are_shown(engine, agent):
    case = open_case(
        engine,
        trouble_type="phishing",
        triage_answers={
            "entered_info": "password,card",
            "money_lost": True,
            "money_amount": 30000,
            "exposed_info": ["住所", "顔写真"],
            "unexpected": {"a": 1},
        },
    )
    text = agent.get(f"/cases/{case.reference}").text
    assert "ID・パスワード、カード・口座の情報" in text and "30,000円" in text
    assert "住所、顔写真" in text and "お金の被害" in text


# --- status changes ------------------------------------------------------------------------------


def change(agent, reference, status, reopen=False):
    data = {"csrf_token": agent.csrf(f"/cases/{reference}"), "status": status}
    if reopen:
        data["reopen"] = "1"
    return agent.post(f"/cases/{reference}/status", data)


def test_status_changes_leave_an_audit_trail(engine, agent, clock):
    case = open_case(engine)
    moments = ["2026-07-15T11:05:00+09:00", "2026-07-15T13:30:00+09:00", "2026-07-16T09:00:00+09:00"]
    steps = [(schema.IN_PROGRESS, False), (schema.CLOSED, False), (schema.IN_PROGRESS, True)]
    for moment, (status, reopen) in zip(moments, steps):
        clock(moment)
        if status == schema.CLOSED:
            # closing needs a reason: the close form, not the status buttons
            answer = agent.post(
                f"/cases/{case.reference}/close",
                {"csrf_token": agent.csrf(f"/cases/{case.reference}"), "reason": "resolved_by_phone"},
            )
            assert answer.status == 303
            assert answer.headers["location"] == f"/cases/{case.reference}?notice=closed"
            continue
        answer = change(agent, case.reference, status, reopen)
        assert answer.status == 303
        assert answer.headers["location"] == f"/cases/{case.reference}?notice=status_changed"
    history = store.status_history(engine, case.reference)
    assert [(e.by, e.from_status, e.to_status) for e in history] == [
        (schema.SYSTEM, None, "new"),
        (USER, "new", "in_progress"),
        (USER, "in_progress", "closed"),
        (USER, "closed", "in_progress"),
    ]
    assert [e.at.isoformat() for e in history[1:]] == moments
    page = agent.get(f"/cases/{case.reference}?notice=status_changed").text
    assert "状態を変更しました。" in page
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", page)
    assert rows == [
        ("2026-07-15 11:00", "新規", "assistant"),
        ("2026-07-15 11:05", "新規 → 対応中", USER),
        ("2026-07-15 13:30", "対応中 → 完了（理由: 電話で対応済み）", USER),
        ("2026-07-16 09:00", "完了 → 対応中", USER),
    ]


def test_status_changes_the_rules_forbid_are_explained(engine, agent):
    case = open_case(engine)
    answer = change(agent, case.reference, schema.NEW)
    assert answer.headers["location"] == f"/cases/{case.reference}?error=not_allowed"
    assert "その変更はできません" in agent.get(answer.headers["location"]).text
    assert change(agent, case.reference, "archived").headers["location"].endswith("?error=invalid")
    change(agent, case.reference, schema.IN_PROGRESS)
    # the status buttons never close: a closed case carries its reason
    refused = change(agent, case.reference, schema.CLOSED)
    assert refused.headers["location"] == f"/cases/{case.reference}?error=needs_reason"
    assert "対応終了の理由を選んで" in agent.get(refused.headers["location"]).text
    assert store.get_case(engine, case.reference).status == schema.IN_PROGRESS
    store.close(engine, case.reference, "duplicate", USER, now())
    # closed is final unless reopened on purpose
    assert change(agent, case.reference, schema.IN_PROGRESS).headers["location"].endswith("?error=not_allowed")
    assert store.get_case(engine, case.reference).status == schema.CLOSED
    assert agent.get(f"/cases/{case.reference}?error=<b>x</b>").text.count("message error") == 0


def test_status_change_of_an_unknown_case_is_404(agent):
    token = agent.csrf("/")
    nine = "260700000"
    answer = agent.post(
        f"/cases/{format_reference(nine + str(damm(nine)))}/status", {"csrf_token": token, "status": "in_progress"}
    )
    assert answer.status == 404


# --- caller check -------------------------------------------------------------------------------


def check(agent, reference, phone):
    return agent.post(
        f"/cases/{reference}/check-caller", {"csrf_token": agent.csrf(f"/cases/{reference}"), "phone": phone}
    )


def test_check_caller_number(engine, agent, caplog):
    caplog.set_level(logging.DEBUG)
    case = open_case(engine, person_key=identity.person_key(NUMBER))
    unchecked = open_case(engine, "conv-2")
    results = {
        "+81 90-1234-5678": (200, "一致しました"),
        "０９０１２３４５６７８": (200, "一致しました"),
        "080-1234-5678": (200, "一致しません"),
        "03-1234-5678": (400, "読み取れませんでした"),
        "": (400, "読み取れませんでした"),
        "9" * 5000: (400, "読み取れませんでした"),
    }
    for phone, (status, expected) in results.items():
        answer = check(agent, case.reference, phone)
        assert answer.status == status, phone[:20]
        assert expected in answer.text
        digits = re.sub(r"\D", "", phone)[-8:]
        assert not digits or digits not in answer.text, "the typed number is not shown back"
    assert "照合できません" in check(agent, unchecked.reference, NUMBER).text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "1234-5678" not in logged and "12345678" not in logged


def test_a_matching_caller_confirms_the_pending_free_consultation(engine, agent):
    key = identity.person_key(NUMBER)
    claim = dict(person_key=key, eligibility="eligible", eligibility_campaign="sns-defamation-2020")
    typed_by_another = open_case(engine, "web-someone-else", at=now(), **claim)
    owner = open_case(engine, "web-owner", at=now(), **claim)
    assert owner.eligibility == "already_used"  # the number was held by the first, unproved
    assert "確認待ち" in agent.get(f"/cases/{typed_by_another.reference}").text
    answer = check(agent, owner.reference, "090-1234-5678")
    assert answer.status == 200 and "無料相談の枠をこの受付で確定しました" in answer.text
    assert "確定（ご本人の番号を確認済み）" in answer.text
    assert "解除" in agent.get(f"/cases/{typed_by_another.reference}").text
    # the other caller, with the same number (say, the number was shared): held elsewhere, named for staff
    again = check(agent, typed_by_another.reference, NUMBER)
    assert "別の受付（" + owner.reference + "）で確定" in again.text


def test_staff_release_a_pending_claim_and_the_number_is_free_again(engine, agent):
    key = identity.person_key(NUMBER)
    case = open_case(
        engine, person_key=key, eligibility="eligible", eligibility_campaign="sns-defamation-2020", at=now()
    )
    page = agent.get(f"/cases/{case.reference}").text
    assert "枠を解除する" in page
    answer = agent.post(
        f"/cases/{case.reference}/release-claim", {"csrf_token": agent.csrf(f"/cases/{case.reference}")}
    )
    assert answer.status == 303 and "claim_released" in answer.headers["location"]
    assert store.get_case(engine, case.reference).claim_state == ledger.RELEASED
    assert ledger.holder(engine, "sns-defamation-2020", key) is None
    again = agent.post(f"/cases/{case.reference}/release-claim", {"csrf_token": agent.csrf(f"/cases/{case.reference}")})
    assert "claim_not_pending" in again.headers["location"]
    # without the CSRF token nothing happens
    assert agent.post(f"/cases/{case.reference}/release-claim", {}).status in (400, 403)


def test_a_pending_claim_past_its_time_shows_expired(engine, agent):
    case = open_case(
        engine,
        person_key=identity.person_key(NUMBER),
        eligibility="eligible",
        eligibility_campaign="sns-defamation-2020",
        at=jst(2026, 7, 15, 11, 0),
    )
    assert "期限切れ" in agent.get(f"/cases/{case.reference}").text


# --- CSV export ---------------------------------------------------------------------------------


def test_csv_export(engine, agent, several):
    formula = open_case(
        engine,
        "c9",
        at=jst(2026, 7, 25, 10, 0),
        summary='=HYPERLINK("http://x")',
        person_key=identity.person_key("080-1111-2222"),
    )
    answer = agent.get("/export.csv")
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="nettrouble-cases-\d{8}-\d{6}\.csv"', answer.headers["content-disposition"]
    )
    assert answer.headers["cache-control"] == "no-store"
    assert answer.body.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.DictReader(io.StringIO(answer.body.decode("utf-8-sig"))))
    assert [row["reference"] for row in rows] == [formula.reference] + [
        several[k].reference for k in ("minor", "phishing", "danger", "old_defamation")
    ]
    assert rows[0]["summary"] == '\'=HYPERLINK("http://x")'
    danger = rows[3]
    assert danger["trouble_type"] == "privacy" and json.loads(danger["urgency"]) == ["danger"]
    assert danger["created_at"] == "2026-07-10T23:59:00+09:00" and danger["summary"] == "家に来ると脅されています"
    assert "person_key" not in rows[0]
    assert several["old_defamation"].person_key not in answer.body.decode("utf-8")

    filtered = agent.get("/export.csv?status=in_progress")
    assert [row["reference"] for row in csv.DictReader(io.StringIO(filtered.body.decode("utf-8-sig")))] == [
        several["phishing"].reference
    ]
    assert agent.get("/export.csv?urgency=<x>").status == 400


# --- CSRF -------------------------------------------------------------------------------------------


def test_forms_refuse_cross_site_requests(engine, app, agent):
    case = open_case(engine)
    token = agent.csrf(f"/cases/{case.reference}")
    path = f"/cases/{case.reference}/status"
    data = {"status": "in_progress"}
    other = Client(app)
    other.sign_in()
    others_token = other.csrf("/")
    refused = [
        ({}, {}),
        ({"csrf_token": ""}, {}),
        ({"csrf_token": token + "x"}, {}),
        ({"csrf_token": others_token}, {}),  # a token of another session
        ({"csrf_token": token}, {"Origin": "https://evil.example"}),
        ({"csrf_token": token}, {"Referer": "https://evil.example/page"}),
        ({"csrf_token": token}, {"Sec-Fetch-Site": "cross-site"}),
        ({"csrf_token": token}, {"Origin": "http://127.0.0.1:1"}),  # another port is another origin
    ]
    for extra, headers in refused:
        answer = agent.post(path, {**data, **extra}, headers=headers)
        assert answer.status == 403, (extra, headers)
        assert "受け付けませんでした" in answer.text
    assert store.get_case(engine, case.reference).status == schema.NEW
    assert agent.post("/logout", {}).status == 403
    assert agent.get("/").status == 200  # still signed in

    # What the console's own pages send: Origin null under Referrer-Policy no-referrer.
    answer = agent.post(
        path, {**data, "csrf_token": token}, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    )
    assert answer.status == 303
    assert store.get_case(engine, case.reference).status == schema.IN_PROGRESS


def test_sign_in_form_needs_its_token_too(client):
    answer = client.post("/login", {"username": USER, "password": PASSWORD})
    assert answer.status == 403 and "画面を開き直して" in answer.text
    # the refusal comes with a fresh form that works
    token = CSRF.search(answer.text).group(1)
    assert client.post("/login", {"csrf_token": token, "username": USER, "password": PASSWORD}).status == 303


def test_same_origin_rules():
    host = "console.example:5080"
    assert auth.same_origin({}, host)
    assert auth.same_origin({"origin": "http://console.example:5080"}, host)
    assert auth.same_origin({"origin": "null", "sec-fetch-site": "same-origin"}, host)
    assert auth.same_origin({"sec-fetch-site": "none"}, host)
    assert not auth.same_origin({"origin": "http://console.example"}, host)
    assert not auth.same_origin({"sec-fetch-site": "same-site"}, host)
    assert not auth.same_origin({"referer": "http://[::1"}, host)


def test_oversized_posts_are_refused(engine, agent):
    case = open_case(engine)
    # (Sanic's test client cannot serve again after a refused body: one request per test.)
    answer = agent.post(
        f"/cases/{case.reference}/check-caller", {"csrf_token": agent.csrf("/"), "phone": "0" * 100_000}
    )
    assert answer.status == 413 and "大きすぎる" in answer.text


def test_oversized_urls_are_refused(agent):
    answer = agent.get("/cases/lookup?reference=" + "x" * 20_000)
    assert answer.status == 413 and "大きすぎる" in answer.text


# --- JSON API ---------------------------------------------------------------------------------------


def api(app, path, token=TOKEN, cookies=None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    _, answer = app.test_client.get(path, headers=headers, cookies=cookies or {}, allow_redirects=False)
    return answer


def test_api_needs_the_token(app, agent, several):
    reference = several["danger"].reference
    for path in ("/api/cases", f"/api/cases/{reference}"):
        missing = api(app, path, token=None)
        assert missing.status == 401 and missing.headers["www-authenticate"] == 'Bearer realm="nettrouble-console"'
        wrong = api(app, path, token="nope")
        assert wrong.status == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
        assert reference not in wrong.text
        # a signed-in browser session is not an API token
        assert api(app, path, token=None, cookies=agent.cookies).status == 401
    _, basic = app.test_client.get("/api/cases", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status == 401
    # and the API token does not open the HTML pages
    _, page = app.test_client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}, allow_redirects=False)
    assert page.status == 302


def test_api_lists_and_filters(app, several):
    answer = api(app, "/api/cases")
    assert answer.status == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json
    assert [c["reference"] for c in body["cases"]] == [
        several[k].reference for k in ("minor", "phishing", "danger", "old_defamation")
    ]
    assert body["limit"] == 50 and body["offset"] == 0 and body["next_offset"] is None
    assert all("person_key" not in c and "id" not in c for c in body["cases"])
    assert SECRET not in answer.text and several["old_defamation"].person_key not in answer.text
    assert body["cases"][3]["caller_check_available"] is True

    assert [c["reference"] for c in api(app, "/api/cases?urgency=danger").json["cases"]] == [
        several["danger"].reference
    ]
    paged = api(app, "/api/cases?limit=2&offset=1").json
    assert [c["reference"] for c in paged["cases"]] == [several["phishing"].reference, several["danger"].reference]
    assert paged["next_offset"] == 3
    for bad in ("status=gone", "limit=0", "limit=501", "offset=-1", "date_from=07/01/2026"):
        refused = api(app, f"/api/cases?{bad}")
        assert refused.status == 400 and refused.json["error"] == "invalid", bad


def test_api_case_detail(app, several, engine):
    case = several["phishing"]
    answer = api(app, f"/api/cases/{case.reference}")
    assert answer.status == 200
    body = answer.json
    assert body["case"]["reference"] == case.reference
    assert body["case"]["summary"] == "偽SMSのリンクを押しました"  # UTF-8, not \u escapes
    assert "偽SMS" in answer.text
    assert body["case"]["status"] == "in_progress" and body["case"]["created_at"] == "2026-07-11T00:00:00+09:00"
    assert [(e["by"], e["from"], e["to"]) for e in body["status_history"]] == [
        ("assistant", None, "new"),
        ("someone", "new", "in_progress"),
    ]
    assert "person_key" not in answer.text

    nine = "260799999"
    unknown = api(app, f"/api/cases/{format_reference(nine + str(damm(nine)))}")
    assert unknown.status == 404 and unknown.json["error"] == "unknown"
    typo = api(app, f"/api/cases/{wrong_check_digit(case.reference)}")
    assert typo.status == 400 and typo.json["error"] == "bad_check_digit" and "確認用の数字" in typo.json["message"]
    malformed = api(app, "/api/cases/NT-1")
    assert malformed.status == 400 and malformed.json["error"] == "malformed"
    assert api(app, "/api/nothing").status == 404


# --- python -m console: the notification worker ------------------------------------------------------


@pytest.fixture
def recorder():
    server = RecordingServer().start()
    yield server
    server.stop()


def test_delivery_worker_posts_new_cases_and_stops_cleanly(engine, recorder):
    case, _ = store.open_case(
        engine, CaseDraft(conversation_id="w1", trouble_type="defamation", summary="通知のテスト"), notify=True
    )
    # An hour between runs: stop() ends the thread only if it wakes the loop from its wait
    # (it gives up after the requests' timeouts, about 9 s here), which no stopwatch has to judge.
    worker = console_main.DeliveryWorker(engine, outbox.Webhook(f"{recorder.url}/handoff", timeout=2), interval=3600)
    worker.start()
    try:
        assert wait_until(lambda: recorder.to("/handoff"))
    finally:
        assert worker.stop()
    assert not worker.running
    sent = recorder.to("/handoff")[0].json()
    assert sent["event"] == "case_created" and sent["case"]["reference"] == case.reference
    assert sent["case"]["summary"] == "通知のテスト" and "person_key" not in sent["case"]


def test_delivery_worker_refuses_a_non_http_url(engine):
    with pytest.raises(ValueError, match="HANDOFF_WEBHOOK_URL"):
        console_main.DeliveryWorker(engine, outbox.Webhook("file:///etc/passwd"))


@pytest.mark.parametrize(
    "env, message",
    [
        ({"CONSOLE_PASSWORD": ""}, "CONSOLE_PASSWORD is not set"),
        ({"HANDOFF_WEBHOOK_URL": "ftp://example.com/x"}, "HANDOFF_WEBHOOK_URL must be an http:// or https:// address"),
    ],
)
def test_start_up_errors_are_one_clear_line(tmp_path, env, message):
    # In a process of its own, as operators start it: main() sets up the process's logging,
    # which inside pytest would keep writing to a captured stream after the test closed it.
    started = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'start.db'}",
        "CONSOLE_USER": USER,
        "CONSOLE_PASSWORD": PASSWORD,
        "CONSOLE_API_TOKEN": TOKEN,
        "PERSON_KEY_SECRET": SECRET,
        "HANDOFF_WEBHOOK_URL": "",
        "CONSOLE_PORT": str(free_port()),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "console"], cwd=tmp_path, env=started, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_python_m_console_serves_and_notifies_until_stopped(tmp_path, recorder):
    port = free_port()
    url = f"sqlite:///{tmp_path / 'served.db'}"
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        DATABASE_URL=url,
        CONSOLE_PORT=str(port),
        CONSOLE_USER=USER,
        CONSOLE_PASSWORD=PASSWORD,
        CONSOLE_API_TOKEN=TOKEN,
        PERSON_KEY_SECRET=SECRET,
        CLOCK_OVERRIDE="",
        APP_ENV="development",
        HANDOFF_WEBHOOK_URL=f"{recorder.url}/handoff",
    )
    served = subprocess.Popen(
        [sys.executable, "-m", "console"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def healthy():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                    return answer.status == 200
            except OSError:
                return False

        assert wait_until(healthy, 30), "the console did not start"
        engine = db.engine(url)
        case, _ = store.open_case(engine, CaseDraft(conversation_id="served", trouble_type="account"), notify=True)
        # the worker polls every 5 seconds
        assert wait_until(lambda: recorder.to("/handoff"), 15), "no notification was delivered"
        assert recorder.to("/handoff")[0].json()["case"]["reference"] == case.reference
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/cases/{case.reference}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.load(answer)["case"]["trouble_type"] == "account"
    finally:
        served.send_signal(signal.SIGTERM)
        output, _ = served.communicate(timeout=30)
        db.dispose_all()
    assert served.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    assert "Traceback" not in output


def test_a_database_failure_is_a_plain_error_page(agent, app, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "list_cases", down)
    page = agent.get("/")
    assert page.status == 500 and "エラーが発生しました" in page.text
    assert "Traceback" not in page.text and "SELECT" not in page.text and "locked" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    answer = api(app, "/api/cases")
    assert answer.status == 500 and answer.json["error"] == "error" and "locked" not in answer.text
    assert any("console request GET / failed" in record.getMessage() for record in caplog.records)
