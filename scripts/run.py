"""Starts the assistant on this machine: trains if needed, starts the action server and the Rasa
server, prints where to talk to the bot, and stops everything on Ctrl-C.

    python scripts/run.py           # servers in the foreground until Ctrl-C
    python scripts/run.py --shell   # action server plus `rasa shell` in this terminal

Both servers go through scripts/launch.py, so no secret is on a command line, and listen on
BIND_HOST (127.0.0.1 by default).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import train  # noqa: E402  (scripts/train.py, next to this file)

from nettrouble.core.settings import SettingsError, check_production, protect_files, settings  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
LAUNCH = [PYTHON, str(ROOT / "scripts" / "launch.py")]
START_TIMEOUT_S = 300


# Test and benchmark traffic all comes from 127.0.0.1, one client to the per-client limits:
# the system checks, the typed conversations, the scale-out test and bench raise them
# (tests/security/ runs with the limits of .env.example).
LOAD_TEST_LIMITS = {
    "MESSAGES_PER_MINUTE": "100000",
    "CASES_PER_HOUR": "100000",
    "NUMBER_CHECKS_PER_HOUR": "100000",
}


def service_env() -> dict:
    """The environment every server process gets: .env values plus derived defaults."""
    current = settings()
    env = dict(os.environ)
    env["ACTION_SERVER_URL"] = current.action_server_url
    env["TRACKER_DB"] = current.tracker_db
    # No usage reports leave the machine, and Rasa 3.6's SQLAlchemy 1.4 banner stays quiet.
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def local_address(bind_host: str) -> str:
    """Where this machine reaches a server that listens on ``bind_host``."""
    return "127.0.0.1" if bind_host in ("0.0.0.0", "::", "") else bind_host


class Service:
    def __init__(self, name: str, command: list, health_url: str) -> None:
        self.name, self.command, self.health_url = name, command, health_url
        self.process: subprocess.Popen | None = None

    def start(self, env: dict) -> None:
        # A session of its own: Ctrl-C reaches only this script, which then stops the
        # services in order instead of having them all die at once.
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, start_new_session=True)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wait_until_healthy(services: list) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = list(services)
    while pending:
        for service in list(pending):
            if service.exited():
                raise RuntimeError(f"{service.name} exited while starting (see its log above)")
            if service.healthy():
                pending.remove(service)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{', '.join(s.name for s in pending)} did not start within {START_TIMEOUT_S} s")
        time.sleep(0.5)


def main(argv: list) -> int:
    shell = "--shell" in argv
    try:
        current = settings()
        check_production(current)
        for name in ("rasa_api_token", "action_server_token"):
            current.require(name)
    except SettingsError as error:
        print(f"run: {error}", file=sys.stderr)
        return 2
    (ROOT / "var").mkdir(exist_ok=True)
    # Inherited by the servers: their databases and logs are readable by this user only.
    protect_files()
    model = train.train_if_needed()
    env = service_env()
    host = local_address(current.bind_host)

    actions = Service(
        "action server",
        [*LAUNCH, "actions"],
        f"http://{host}:{current.actions_port}/health",
    )
    services = [actions]
    if not shell:
        services.append(
            Service(
                "Rasa server",
                [*LAUNCH, "rasa", "--model", str(model)],
                # /status answers only once the model is loaded. The token stays in this process.
                f"http://{host}:{current.rasa_port}/status?token={current.rasa_api_token}",
            )
        )
        services.append(
            Service(
                "agent console",
                [PYTHON, "-m", "console"],
                f"http://{host}:{current.console_port}/health",
            )
        )

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    started = time.monotonic()
    try:
        for service in services:
            service.start(env)
        wait_until_healthy(services)
        if shell:
            print("run: action server is up; starting rasa shell (type /stop to leave)", file=sys.stderr)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            return subprocess.call(
                [*LAUNCH, "shell", "--model", str(model)],
                cwd=ROOT,
                env=env,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        base = f"http://localhost:{current.rasa_port}"
        print(
            f"\nThe assistant is ready ({time.monotonic() - started:.0f} s).\n"
            f"  Web chat:       {base}/webhooks/web/\n"
            f"  REST:           curl -s {base}/webhooks/rest/webhook -H 'Content-Type: application/json' \\\n"
            f'                    -d \'{{"sender": "me", "message": "こんにちは"}}\'\n'
            f"  Tracker (API):  {base}/conversations/me/tracker?token=$RASA_API_TOKEN (token in .env)\n"
            f"  Agent console:  http://localhost:{current.console_port}/ "
            f"(first supervisor: CONSOLE_USER / CONSOLE_PASSWORD from .env; "
            f"add agents with make agent-add NAME ROLE)\n"
            f"  Action server:  http://localhost:{current.actions_port}/health\n"
            f"Press Ctrl-C to stop.\n",
            file=sys.stderr,
            flush=True,
        )
        while not stopping:
            dead = [s for s in services if s.exited()]
            if dead:
                print(f"run: {dead[0].name} stopped unexpectedly; stopping the others", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as error:
        print(f"run: {error}", file=sys.stderr)
        return 1
    finally:
        for service in reversed(services):
            service.stop()
        print("run: stopped", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
