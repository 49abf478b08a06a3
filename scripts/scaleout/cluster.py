"""The processes of the scale-out check: throwaway PostgreSQL and Redis
(scripts/scaleout_services.sh) and the two action servers and two Rasa servers, each with an
environment of its own that never reads the repository's .env."""

from __future__ import annotations

import os
import secrets
import shlex
import socket
import subprocess
import urllib.parse
from pathlib import Path
from typing import Dict, List, Mapping

from run import LAUNCH, LOAD_TEST_LIMITS, Service, wait_until_healthy  # scripts/run.py

from nettrouble.core.settings import setting_names
from scripts.scaleout.checks import log_errors
from scripts.scaleout.client import http_json
from scripts.scaleout.servers import PORTS, SERVERS, rasa_url

ROOT = Path(__file__).resolve().parent.parent.parent
SERVICES_SCRIPT = ROOT / "scripts" / "scaleout_services.sh"
CLOCK = "2020-07-15T11:00:00+09:00"


class Services:
    """PostgreSQL and Redis from scripts/scaleout_services.sh, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env: Dict[str, str] = {}

    def start(self) -> None:
        done = subprocess.run([str(SERVICES_SCRIPT), "start", str(self.directory)], stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError("PostgreSQL and Redis could not be started (see above)")
        for line in done.stdout.splitlines():
            words = shlex.split(line)
            if len(words) == 2 and words[0] == "export" and "=" in words[1]:
                name, value = words[1].split("=", 1)
                self.env[name] = value

    def stop(self) -> None:
        if self.directory.exists():
            subprocess.run([str(SERVICES_SCRIPT), "stop", str(self.directory)], check=False)


def server_env(services: Mapping[str, str], secrets_: Mapping[str, str], server: str) -> Dict[str, str]:
    """A server's environment: every setting given here, so that nothing of the repository's
    .env applies (python-dotenv never overrides a variable that is set, even to "")."""
    rasa_port, actions_port = PORTS[server]
    env = dict(os.environ)
    env.update({name: "" for name in setting_names()})
    env.update(services)
    env.update(secrets_)
    env.update(
        {
            # Not "production", which refuses the pinned clock this test needs.
            "APP_ENV": "test",
            "BIND_HOST": "127.0.0.1",
            "RASA_PORT": str(rasa_port),
            "ACTIONS_PORT": str(actions_port),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "CLOCK_OVERRIDE": CLOCK,
            "RASA_TELEMETRY_ENABLED": "false",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **LOAD_TEST_LIMITS,
        }
    )
    return env


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Cluster:
    """The two action servers and the two Rasa servers, logging into ``logs``."""

    def __init__(self, model: Path, endpoints: str, services: Mapping[str, str], logs: Path) -> None:
        self.logs = logs
        self.token = secrets.token_urlsafe(32)
        shared = {
            "RASA_API_TOKEN": self.token,
            "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
            "PERSON_KEY_SECRET": secrets.token_urlsafe(32),
            "WEB_CHAT_SECRET": secrets.token_urlsafe(32),
            "CONSOLE_PASSWORD": secrets.token_urlsafe(32),
            "CONSOLE_API_TOKEN": secrets.token_urlsafe(32),
        }
        self.envs = {server: server_env(services, shared, server) for server in SERVERS}
        self.actions = {
            server: Service(f"action server {server}", [*LAUNCH, "actions"], f"http://127.0.0.1:{actions_port}/health")
            for server, (_, actions_port) in PORTS.items()
        }
        self.rasa = {
            server: Service(
                f"Rasa server {server}",
                # Through scripts/launch.py: ports from RASA_PORT and ACTIONS_PORT,
                # the token from the environment, never the command line.
                [*LAUNCH, "rasa", "--model", str(model), "--endpoints", endpoints],
                f"http://127.0.0.1:{rasa_port}/status?token={self.token}",
            )
            for server, (rasa_port, _) in PORTS.items()
        }

    def services(self) -> List[Service]:
        return list(self.actions.values()) + list(self.rasa.values())

    def start(self) -> None:
        taken = [port for pair in PORTS.values() for port in pair if port_taken(port)]
        if taken:
            raise RuntimeError(f"port(s) {taken} are in use; stop whatever listens there first")
        self.logs.mkdir(parents=True, exist_ok=True)
        for group in (self.actions, self.rasa):
            for server, service in group.items():
                path = self.logs / f"{service.name.replace(' ', '-')}.log"
                # Logs may hold what users typed: readable by this user only.
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
                    service.process = subprocess.Popen(
                        service.command, cwd=ROOT, env=self.envs[server], stdout=log, stderr=log, start_new_session=True
                    )
        wait_until_healthy(self.services())

    def stop(self) -> None:
        for service in reversed(self.services()):
            service.stop()

    def log_errors(self) -> List[str]:
        return [
            f"{path.stem}: {line}"
            for path in sorted(self.logs.glob("*.log"))
            for line in log_errors(path.read_text(encoding="utf-8", errors="replace"))
        ]

    def tracker_events(self, sender: str, server: str) -> List[dict]:
        quoted = urllib.parse.quote(sender, safe="")
        status, tracker = http_json(
            f"{rasa_url(server)}/conversations/{quoted}/tracker?token={self.token}&include_events=ALL"
        )
        if status != 200 or not isinstance(tracker, dict):
            raise RuntimeError(f"tracker API for {sender} on {server}: HTTP {status}")
        return list(tracker.get("events") or [])
