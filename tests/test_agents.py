"""Staff accounts (nettrouble/staff/agents.py) and their command line (scripts/agents.py, make
agent-*): password hashing, names, add / remove / reset / list, sign-in checks, the session
generation and the first-start supervisor."""

import base64
import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from nettrouble.cases import schema
from nettrouble.core import db
from nettrouble.staff import agents

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine(service_database):
    return service_database


# --- passwords -------------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_with_their_parameters():
    stored = agents.hash_password("correct horse")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert base64.b64decode(digest) == hashlib.scrypt(
        b"correct horse", salt=base64.b64decode(salt), n=16384, r=8, p=1, dklen=32
    )
    assert agents.verify_password("correct horse", stored)
    assert not agents.verify_password("correct horse ", stored)
    assert agents.hash_password("correct horse") != stored  # a new salt each time


def test_stored_parameters_are_the_ones_used():
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"pw", salt=salt, n=1024, r=4, p=2, dklen=32)
    stored = f"scrypt$1024$4$2${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert agents.verify_password("pw", stored)
    assert not agents.verify_password("pw", stored.replace("$1024$", "$2048$"))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "md5$1$2$3$YQ==$YQ==",
        "scrypt$x$8$1$YQ==$YQ==",
        "scrypt$16384$8$1$not base64!$YQ==",
        f"scrypt${2**30}$8$1$YQ==$YQ==",
        "scrypt$16384$8$1$YQ==$",
    ],
)
def test_damaged_hashes_sign_nobody_in(stored):
    assert not agents.verify_password("pw", stored)


def test_one_time_passwords_read_well_over_the_phone():
    made = {agents.new_password() for _ in range(200)}
    assert len(made) == 200
    for password in made:
        assert len(password) == 16
        assert not set(password) & set("0O1lI")
        assert set(password) <= set(agents.PASSWORD_ALPHABET)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "A.Sato", "s_ito-2", "x", "a" * 40])
def test_good_names(name):
    assert agents.check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "a" * 41, "佐藤", "ali ce", "alice@example", "al/ice", None, 7, "assistant", "Assistant"]
)
def test_bad_names_are_refused(name):
    with pytest.raises(agents.AgentError):
        agents.check_name(name)


def test_roles_are_agent_or_supervisor(engine):
    with pytest.raises(agents.AgentError, match="role"):
        agents.add(engine, "alice", "admin")
    assert agents.list_agents(engine) == []


# --- operations ------------------------------------------------------------------------------


def test_add_then_sign_in_whatever_the_case_of_the_name(engine):
    password = agents.add(engine, "Alice", agents.SUPERVISOR)
    agent = agents.authenticate(engine, "alice", password)
    assert agent is not None and agent.name == "Alice" and agent.supervisor and agent.active
    assert agents.authenticate(engine, "ALICE", password).name == "Alice"
    assert agents.authenticate(engine, "alice", password + "x") is None
    assert agents.authenticate(engine, "alice", "") is None
    assert agents.authenticate(engine, "alice", None) is None
    assert agents.authenticate(engine, "bob", password) is None
    with engine.connect() as connection:
        row = connection.execute(select(agents.agents)).one()
    assert password not in row.password_hash and row.password_hash.startswith("scrypt$")


def test_names_are_unique_without_regard_to_case(engine):
    agents.add(engine, "alice")
    with pytest.raises(agents.AgentError, match="exists already"):
        agents.add(engine, "ALICE", agents.SUPERVISOR)
    assert [(a.name, a.role) for a in agents.list_agents(engine)] == [("alice", agents.AGENT)]


def test_removed_agents_cannot_sign_in_and_keep_their_name(engine):
    password = agents.add(engine, "alice")
    signed_in = agents.authenticate(engine, "alice", password)
    removed = agents.remove(engine, "Alice")
    assert not removed.active and removed.generation == signed_in.generation + 1
    assert agents.authenticate(engine, "alice", password) is None
    assert agents.session_agent(engine, "alice", signed_in.generation) is None
    with pytest.raises(agents.AgentError, match="removed agent"):
        agents.add(engine, "alice")
    with pytest.raises(agents.AgentError, match="removed"):
        agents.reset(engine, "alice")
    with pytest.raises(agents.AgentError, match="removed"):
        agents.remove(engine, "alice")
    assert [a.name for a in agents.list_agents(engine)] == ["alice"]


def test_reset_replaces_the_password_and_ends_sessions(engine):
    first = agents.add(engine, "bob")
    before = agents.authenticate(engine, "bob", first)
    assert agents.session_agent(engine, "bob", before.generation) == before
    second = agents.reset(engine, "bob")
    assert second != first
    assert agents.authenticate(engine, "bob", first) is None
    after = agents.authenticate(engine, "bob", second)
    assert after.generation == before.generation + 1
    assert agents.session_agent(engine, "bob", before.generation) is None
    assert agents.session_agent(engine, "bob", after.generation) == after


def test_unknown_agents_are_named_in_the_error(engine):
    for operation in (agents.remove, agents.reset):
        with pytest.raises(agents.UnknownAgent, match="carol"):
            operation(engine, "carol")


def test_unknown_and_removed_names_cost_a_hash_too(engine, monkeypatch):
    password = agents.add(engine, "alice")
    agents.add(engine, "gone")
    agents.remove(engine, "gone")
    verified = []
    real = agents.verify_password
    monkeypatch.setattr(agents, "verify_password", lambda *args: verified.append(args) or real(*args))
    for name in ("alice", "nobody", "gone", "not a valid name!"):
        agents.authenticate(engine, name, password)
    assert len(verified) == 4


def test_throttle_keys_are_accounts_or_one_shared_bucket(engine):
    agents.add(engine, "Alice")
    agents.add(engine, "gone")
    agents.remove(engine, "gone")
    assert agents.throttle_key(engine, " ALICE ") == "alice"
    keys = {agents.throttle_key(engine, name) for name in ("nobody", "gone", "x" * 500, "", None)}
    assert keys == {agents.UNKNOWN_NAME}


# --- the first supervisor --------------------------------------------------------------------


def test_the_env_account_becomes_the_first_supervisor_once(engine):
    assert agents.bootstrap(engine, "agent", "env-password")
    first = agents.authenticate(engine, "agent", "env-password")
    assert first.supervisor
    with engine.connect() as connection:
        assert "env-password" not in connection.execute(select(agents.agents.c.password_hash)).scalar()
    # Later starts leave it alone, even with another .env password.
    assert not agents.bootstrap(engine, "agent", "changed")
    assert agents.authenticate(engine, "agent", "changed") is None
    assert agents.authenticate(engine, "agent", "env-password") is not None


def test_without_any_supervisor_the_env_account_is_restored(engine):
    agents.add(engine, "agent")
    agents.add(engine, "boss", agents.SUPERVISOR)
    assert not agents.bootstrap(engine, "agent", "env-password")
    agents.remove(engine, "boss")
    agents.remove(engine, "agent")
    assert agents.bootstrap(engine, "agent", "env-password")
    restored = agents.authenticate(engine, "agent", "env-password")
    assert restored.supervisor and restored.active
    assert agents.authenticate(engine, "boss", "anything") is None


def test_the_assistants_audit_name_cannot_be_an_agent(engine):
    with pytest.raises(agents.AgentError, match="reserved"):
        agents.bootstrap(engine, schema.SYSTEM, "pw")


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def script_database(tmp_path, env):
    url = f"sqlite:///{tmp_path / 'agents.db'}"
    env(DATABASE_URL=url)
    yield url
    db.dispose_all()


@pytest.fixture
def script():
    from scripts import agents

    return agents


def password_in(output):
    return output.split("one-time password ")[1].split()[0]


def test_the_script_adds_lists_resets_and_removes(script_database, script, capsys):
    assert script.main(["add", "alice", "supervisor"]) == 0
    password = password_in(capsys.readouterr().out)
    engine = db.prepare(script_database)
    assert agents.authenticate(engine, "alice", password).supervisor
    assert script.main(["add", "bob"]) == 0
    assert agents.get(engine, "bob").role == agents.AGENT
    capsys.readouterr()
    assert script.main(["list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in listed] == [["alice", "supervisor", "active"], ["bob", "agent", "active"]]
    assert script.main(["reset", "BOB"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("bob: one-time password ")
    assert agents.authenticate(engine, "bob", password_in(output)) is not None
    assert script.main(["remove", "bob"]) == 0
    assert "removed" in capsys.readouterr().out
    assert agents.authenticate(engine, "bob", password_in(output)) is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["remove", "carol"], "no agent is named 'carol'"),
        (["reset", "carol"], "no agent is named 'carol'"),
        (["add", "bad name"], "a name is 1 to 40"),
    ],
)
def test_the_script_refuses_with_status_2(script_database, script, capsys, argv, message):
    assert script.main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [[], ["add"], ["add", "alice", "admin"], ["remove"], ["list", "x"], ["add", "alice", "agent", "extra"]]
)
def test_usage_errors_exit_with_2(script_database, script, argv):
    with pytest.raises(SystemExit) as stopped:
        script.main(argv)
    assert stopped.value.code == 2


def make(script_database, *words):
    env = dict(os.environ, DATABASE_URL=script_database)
    return subprocess.run(["make", "-s", *words], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.system  # runs make, which starts the script in processes of its own
def test_make_takes_name_and_role_as_words_or_variables(script_database):
    added = make(script_database, "agent-add", "alice", "supervisor")
    assert added.returncode == 0, added.stderr
    password = password_in(added.stdout)
    assert make(script_database, "agent-add", "NAME=bob", "ROLE=supervisor").returncode == 0
    assert make(script_database, "agent-add", "carol").returncode == 0
    assert make(script_database, "agent-add", "dave", "ROLE=supervisor").returncode == 0
    listed = make(script_database, "agent-list")
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [
        ["alice", "supervisor"],
        ["bob", "supervisor"],
        ["carol", "agent"],
        ["dave", "supervisor"],
    ]
    engine = db.prepare(script_database)
    assert agents.authenticate(engine, "alice", password).supervisor
    reset = make(script_database, "agent-reset", "alice")
    assert reset.returncode == 0 and agents.authenticate(engine, "alice", password_in(reset.stdout))
    assert make(script_database, "agent-remove", "NAME=carol").returncode == 0
    assert not agents.get(engine, "carol").active
    unknown = make(script_database, "agent-remove", "zoe")
    assert unknown.returncode == 2 and "no agent is named 'zoe'" in unknown.stderr
    assert make(script_database, "agent-add").returncode == 2
