"""Secrets and settings (issue 13, point 6): generated secrets, the production checks, no token
on any command line, Rasa's API token still required, servers on the loopback only, private
files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import ensure_env  # noqa: E402

from nettrouble.core import settings as settings_module  # noqa: E402
from nettrouble.core.settings import SettingsError, check_production  # noqa: E402
from tests.security.test_action_server import listening_addresses  # noqa: E402

GOOD = "g" * 43
SECRETS = [
    "RASA_API_TOKEN",
    "ACTION_SERVER_TOKEN",
    "PERSON_KEY_SECRET",
    "CONSOLE_PASSWORD",
    "CONSOLE_API_TOKEN",
    "WEB_CHAT_SECRET",
]


# ---- generated secrets --------------------------------------------------------------------


def test_generated_secrets_never_begin_with_a_dash_and_are_long():
    values = [ensure_env.new_secret() for _ in range(20_000)]
    assert not [v for v in values if v.startswith("-")]
    assert min(map(len, values)) >= 32 and len(set(values)) == len(values)


def test_ensure_env_fills_placeholders_and_never_changes_a_value(tmp_path):
    example, target = tmp_path / ".env.example", tmp_path / ".env"
    example.write_text("A=<generated>\nB=<generated>\nC=plain\n", encoding="utf-8")
    target.write_text("A=-kept-as-it-was\n", encoding="utf-8")
    assert ensure_env.ensure(example, target) == ["B", "C"]
    lines = dict(line.split("=", 1) for line in target.read_text(encoding="utf-8").splitlines() if "=" in line)
    assert lines["A"] == "-kept-as-it-was" and lines["C"] == "plain"
    assert len(lines["B"]) >= 32 and not lines["B"].startswith("-")


# ---- production checks --------------------------------------------------------------------


@pytest.fixture
def production(env):
    """Production settings with good secrets (tests/conftest.py's env, which it returns)."""
    env(
        APP_ENV="production",
        HANDOFF_WEBHOOK_URL="",
        CLOCK_OVERRIDE="",
        **{name: GOOD for name in SECRETS + ["HANDOFF_WEBHOOK_SECRET"]},
    )
    return env


def refusal(production, **values) -> str:
    production(**values)
    with pytest.raises(SettingsError) as raised:
        check_production()
    return str(raised.value)


def test_production_accepts_long_random_secrets(production):
    check_production()


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize(
    "value, problem",
    [
        ("<generated>", "is still <generated>"),
        ("", "is empty"),
        ("s" * 31, "is shorter than 32"),
    ],
)
def test_production_refuses_a_weak_secret_naming_it(production, name, value, problem):
    message = refusal(production, **{name: value})
    assert f"{name} {problem}" in message
    if value and value != "<generated>":
        assert value not in message  # the message names the setting, never its value


def test_the_webhook_secret_is_required_only_with_the_webhook(production):
    production(HANDOFF_WEBHOOK_SECRET="short")
    check_production()
    assert "HANDOFF_WEBHOOK_SECRET" in refusal(production, HANDOFF_WEBHOOK_URL="https://hooks.example/handoff")


def test_production_refuses_a_pinned_clock(production):
    assert "CLOCK_OVERRIDE" in refusal(production, CLOCK_OVERRIDE="2020-07-15T11:00:00+09:00")


def test_development_is_not_checked(production):
    production(APP_ENV="development", CONSOLE_PASSWORD="<generated>")
    check_production()
    assert "CONSOLE_PASSWORD" in refusal(production, APP_ENV="production")


@pytest.mark.parametrize("mode", ["actions", "rasa"])
def test_the_launcher_stops_in_production_naming_the_setting(mode):
    env = dict(os.environ, APP_ENV="production", CLOCK_OVERRIDE="2020-07-15T11:00:00+09:00", HANDOFF_WEBHOOK_URL="")
    env.update({name: GOOD for name in SECRETS}, CONSOLE_PASSWORD="<generated>")
    arguments = [mode] + (["--model", "models"] if mode == "rasa" else [])
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "launch.py"), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "CONSOLE_PASSWORD is still <generated>" in done.stderr and "CLOCK_OVERRIDE" in done.stderr
    assert GOOD not in done.stderr + done.stdout


def test_files_are_made_private(tmp_path, monkeypatch):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    for name in ("tracker.db", "nettrouble.core.db", "server.log", "notes.txt"):
        (var / name).write_text("x")
        (var / name).chmod(0o644)
    monkeypatch.setattr(settings_module, "VAR_DIR", var)
    previous = os.umask(0o022)
    try:
        settings_module.protect_files()
        (var / "new.db").write_text("x")
        assert stat.S_IMODE((var / "new.db").stat().st_mode) == 0o600
    finally:
        os.umask(previous)
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for name in ("tracker.db", "nettrouble.core.db", "server.log"):
        assert stat.S_IMODE((var / name).stat().st_mode) == 0o600


# ---- the running assistant ----------------------------------------------------------------


def process_tree(pid: int) -> list:
    """``pid`` and every process below it."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def test_no_secret_is_on_any_command_line(assistant):
    secrets_ = [assistant.token, assistant.env["ACTION_SERVER_TOKEN"], assistant.env["PERSON_KEY_SECRET"]]
    seen = 0
    for service in (assistant.rasa, assistant.actions):
        for pid in process_tree(service.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            seen += 1
            assert "launch.py" in cmdline or pid != service.process.pid
            for secret in secrets_:
                assert secret not in cmdline, f"a secret is on the command line of process {pid}"
    assert seen >= 2


def test_rasa_api_still_needs_the_token(assistant):
    def status(query: str) -> int:
        try:
            with urllib.request.urlopen(f"{assistant.base}/conversations/x/tracker{query}", timeout=30) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert status(f"?token={assistant.token}") == 200
    for wrong in ("", "?token=", "?token=wrong", f"?token={assistant.token[:-1]}", f"?token={assistant.token}x"):
        assert status(wrong) == 401
    # Rasa reads the token from the query string only: no access log line may carry it.
    assert assistant.token not in (assistant.workdir / "rasa.log").read_text(encoding="utf-8", errors="replace")


def test_the_servers_listen_on_the_loopback_only(assistant):
    assert listening_addresses(assistant.rasa_port) == {"127.0.0.1"}
    assert listening_addresses(assistant.actions_port) == {"127.0.0.1"}


def test_the_servers_logs_are_private(assistant):
    for log in ("rasa.log", "actions.log"):
        assert stat.S_IMODE((assistant.workdir / log).stat().st_mode) == 0o600
    for database in ("tracker.db", "cases.db"):
        path = assistant.workdir / database
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
