"""The console with named accounts: the first supervisor from .env, each agent's name in the
audit trail, sessions that end when the account is removed or reset, the sign-in throttle per
account with a ceiling across accounts, and the supervisor-only guard."""

import re

import pytest
from sanic.response import text

from console import auth
from console.app import create_app
from nettrouble.cases import schema, store
from nettrouble.core import db
from nettrouble.core.settings import SettingsError
from nettrouble.staff import agents
from tests.test_console import PASSWORD, USER, Client, change, open_case, set_env


@pytest.fixture
def engine(tmp_path, env):
    set_env(env)
    created = db.prepare(f"sqlite:///{tmp_path / 'accounts.db'}")
    yield created
    db.dispose_all()


@pytest.fixture
def app(engine):
    created = create_app(engine)

    @auth.supervisor_only
    async def supervisors_page(request):
        return text(f"only for {request.ctx.session.user}")

    created.add_route(supervisors_page, "/supervisors-only", methods=["GET"], name="supervisors_only")
    return created


def signed_in(app, name, password):
    client = Client(app)
    answer = client.sign_in(name, password)
    assert answer.status == 303, (name, answer.status)
    return client


def test_the_env_account_is_the_first_supervisor(engine, app):
    first = agents.get(engine, USER)
    assert first.supervisor and first.active
    supervisor = signed_in(app, USER, PASSWORD)
    assert supervisor.get("/supervisors-only").text == f"only for {USER}"


def test_each_agent_signs_their_own_changes(engine, app):
    alice = signed_in(app, "ALICE", agents.add(engine, "Alice"))
    bob = signed_in(app, "bob", agents.add(engine, "bob"))
    case = open_case(engine)
    assert change(alice, case.reference, schema.IN_PROGRESS).status == 303
    closing = {"csrf_token": bob.csrf(f"/cases/{case.reference}"), "reason": "duplicate"}
    assert bob.post(f"/cases/{case.reference}/close", closing).status == 303
    history = store.status_history(engine, case.reference)
    assert [(e.by, e.to_status) for e in history] == [
        (schema.SYSTEM, schema.NEW),
        ("Alice", schema.IN_PROGRESS),
        ("bob", schema.CLOSED),
    ]
    assert store.get_case(engine, case.reference).status_changed_by == "bob"
    assert "Alice" in alice.get("/").text


def test_removing_an_agent_ends_their_open_session(engine, app):
    alice = signed_in(app, "alice", agents.add(engine, "alice"))
    bob = signed_in(app, "bob", agents.add(engine, "bob"))
    assert alice.get("/").status == 200
    agents.remove(engine, "alice")
    refused = alice.get("/")
    assert refused.status == 302 and refused.headers["location"].startswith("/login")
    # The sign-in page is offered again, not a redirect loop back to the list.
    assert alice.get("/login").status == 200
    case = open_case(engine)
    csrf = bob.csrf(f"/cases/{case.reference}")
    assert bob.get("/").status == 200
    assert (
        alice.post(f"/cases/{case.reference}/status", {"csrf_token": csrf, "status": schema.IN_PROGRESS}).status == 302
    )
    assert store.get_case(engine, case.reference).status == schema.NEW


def test_a_password_reset_ends_the_old_sessions(engine, app):
    first = agents.add(engine, "alice")
    old = signed_in(app, "alice", first)
    second = agents.reset(engine, "alice")
    assert old.get("/").status == 302
    assert Client(app).sign_in("alice", first).status == 200
    assert signed_in(app, "alice", second).get("/").status == 200


def test_agents_get_403_on_supervisor_pages(engine, app):
    alice = signed_in(app, "alice", agents.add(engine, "alice"))
    refused = alice.get("/supervisors-only")
    assert refused.status == 403 and "スーパーバイザーのみ" in refused.text
    boss = signed_in(app, "boss", agents.add(engine, "boss", agents.SUPERVISOR))
    assert boss.get("/supervisors-only").text == "only for boss"
    assert Client(app).get("/supervisors-only").status == 302


def test_one_accounts_failures_do_not_slow_another_down(engine, app):
    clock = [1000.0]
    app.ctx.throttle = auth.SignInThrottle(free=3, clock=lambda: clock[0])
    alice_password = agents.add(engine, "alice")
    bob_password = agents.add(engine, "bob")
    # Every test client request comes from the same address, like staff behind one proxy.
    guesser = Client(app)
    for _ in range(4):
        assert guesser.sign_in("alice", "guess").status == 200
    assert guesser.sign_in("Alice", alice_password).status == 429
    assert guesser.sign_in("bob", bob_password).status == 303
    assert Client(app).sign_in("bob", bob_password).status == 303
    clock[0] += 1.5
    assert Client(app).sign_in("alice", alice_password).status == 303


def test_made_up_names_share_one_bucket(engine, app):
    clock = [1000.0]
    app.ctx.throttle = auth.SignInThrottle(free=3, ceiling=1000, clock=lambda: clock[0])
    bob_password = agents.add(engine, "bob")
    guesser = Client(app)
    for number in range(4):
        assert guesser.sign_in(f"made-up-{number}", "guess").status == 200
    # A fifth, never tried name is already waiting: the names are one bucket, not four.
    assert guesser.sign_in("made-up-new", "guess").status == 429
    assert guesser.sign_in("bob", bob_password).status == 303


def test_the_ceiling_across_accounts_holds_under_a_spray(engine, app):
    clock = [1000.0]
    app.ctx.throttle = auth.SignInThrottle(free=5, ceiling=6, ceiling_window=60.0, clock=lambda: clock[0])
    real = {name: agents.add(engine, name) for name in ("alice", "bob", "carol")}
    sprayer = Client(app)
    refused = 0
    # One wrong guess per account and a stream of made-up names: no single key passes its
    # free failures, yet after six failures in the minute every sign-in waits.
    for number in range(16):
        name = ("alice", "bob", "carol", f"user{number}")[number % 4]
        answer = sprayer.sign_in(name, "guess")
        refused += answer.status == 429
    assert refused == 10
    blocked = Client(app).sign_in("bob", real["bob"])
    assert blocked.status == 429 and 0 < int(blocked.headers["retry-after"]) <= 60
    clock[0] += 61
    assert Client(app).sign_in("bob", real["bob"]).status == 303


def test_the_throttle_counts_failures_in_a_sliding_minute():
    clock = [0.0]
    throttle = auth.SignInThrottle(free=100, ceiling=3, ceiling_window=60.0, clock=lambda: clock[0])
    for at in (0.0, 20.0, 40.0):
        clock[0] = at
        assert throttle.wait_for("x") == 0
        throttle.failed(f"key{at}")
    assert throttle.wait_for("anyone") == pytest.approx(20.0)
    clock[0] = 60.5  # the failure at 0 has left the window
    assert throttle.wait_for("anyone") == 0
    throttle.failed("key")
    assert throttle.wait_for("anyone") == pytest.approx(19.5)


def test_a_bad_console_user_stops_the_console_with_its_name(tmp_path, env):
    set_env(env, CONSOLE_USER="not valid!")
    engine = db.prepare(f"sqlite:///{tmp_path / 'bad.db'}")
    try:
        with pytest.raises(SettingsError, match="CONSOLE_USER"):
            create_app(engine)
    finally:
        db.dispose_all()


# --- the supervisors' page -------------------------------------------------------------------

ONE_TIME = re.compile(r"仮パスワード：<strong class=\"reference\">([^<]+)</strong>")


def post_form(client, path, **fields):
    return client.post(path, {"csrf_token": client.csrf("/agents"), **fields})


def test_supervisors_manage_accounts_on_their_page(engine, app):
    boss = signed_in(app, USER, PASSWORD)
    page = boss.get("/agents")
    assert page.status == 200 and USER in page.text and "スーパーバイザー" in page.text
    added = post_form(boss, "/agents", name="Carol", role=agents.AGENT)
    assert added.status == 200 and "Carol さんを追加しました。" in added.text
    first = ONE_TIME.search(added.text).group(1)
    carol = signed_in(app, "carol", first)
    assert carol.get("/").status == 200
    reset = post_form(boss, "/agents/reset", name="carol")
    second = ONE_TIME.search(reset.text).group(1)
    assert second != first and carol.get("/").status == 302
    carol = signed_in(app, "carol", second)
    removed = post_form(boss, "/agents/remove", name="carol")
    assert removed.status == 200 and "削除しました" in removed.text
    assert carol.get("/").status == 302
    assert "削除済み" in boss.get("/agents").text
    assert agents.get(engine, "carol").removed_at is not None


def test_the_page_refuses_bad_names_taken_names_and_unknown_agents(engine, app):
    boss = signed_in(app, USER, PASSWORD)
    for name in ("bad name", "assistant", "<b>x</b>"):
        refused = post_form(boss, "/agents", name=name, role=agents.AGENT)
        assert refused.status == 400 and "<b>x" not in refused.text
    assert post_form(boss, "/agents", name="dave", role="admin").status == 400
    assert post_form(boss, "/agents", name="dave", role=agents.SUPERVISOR).status == 200
    assert post_form(boss, "/agents", name="DAVE", role=agents.AGENT).status == 409
    assert post_form(boss, "/agents/reset", name="nobody").status == 404
    assert post_form(boss, "/agents/remove", name="nobody").status == 404
    assert [a.name for a in agents.list_agents(engine)] == [USER, "dave"]


def test_agents_cannot_use_the_page(engine, app):
    alice = signed_in(app, "alice", agents.add(engine, "alice"))
    assert alice.get("/agents").status == 403
    csrf = alice.csrf("/")
    for path, fields in (
        ("/agents", {"name": "eve", "role": agents.SUPERVISOR}),
        ("/agents/reset", {"name": USER}),
        ("/agents/remove", {"name": USER}),
    ):
        assert alice.post(path, {"csrf_token": csrf, **fields}).status == 403
    assert agents.get(engine, "eve") is None and agents.get(engine, USER).active
    assert agents.authenticate(engine, USER, PASSWORD) is not None
