"""The processes a benchmark starts (training, Rasa servers, action servers): each in a session
of its own with its output in a log file, timed from its start, and always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

POLL_S = 0.1
STOP_WAIT_S = 15.0


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and shows the process log."""


class ManagedProcess:
    def __init__(self, name: str, command: List[str], cwd: Path, env: Dict[str, str], log: Path) -> None:
        self.name, self.command, self.cwd, self.env, self.log = name, command, cwd, env, log
        self.process: Optional[subprocess.Popen] = None
        self.started = 0.0
        self.stopped = False

    def start(self) -> None:
        with open(self.log, "ab") as log:
            # Its own session: Ctrl-C reaches only the benchmark, which then stops every
            # process group it started (Rasa's own children included).
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} was never started")
        return self.process.pid

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is None or self.stopped:
            return
        self.stopped = True
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            pass
        # The group may outlive its leader (a worker that ignores SIGTERM): end all of it.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def failure(self, what: str) -> BenchError:
        return BenchError(f"{self.name}: {what}\n--- last lines of {self.log.name} ---\n{self.log_tail()}")

    def run_to_end(self, timeout_s: float) -> float:
        """Starts the process, waits for it to exit successfully, returns its wall time in s."""
        self.start()
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise self.failure(f"did not finish within {timeout_s:.0f} s") from None
        elapsed = time.monotonic() - self.started
        if code != 0:
            raise self.failure(f"exited with status {code}")
        return elapsed

    def rss_mb(self) -> Optional[float]:
        """Resident memory of the process (not of its children), from /proc; None elsewhere."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until_ready(services: Sequence[Tuple[ManagedProcess, str]], timeout_s: float) -> Dict[str, float]:
    """For each (process, url): seconds from the start of the process until its url answered
    200. All are polled together, so that a quick one is not timed by a slow one's wait."""
    pending = list(services)
    ready: Dict[str, float] = {}
    while pending:
        for service, url in list(pending):
            if answers(url):
                ready[service.name] = time.monotonic() - service.started
                pending.remove((service, url))
            elif service.exited():
                raise service.failure("exited while starting")
            elif time.monotonic() > service.started + timeout_s:
                # The URL may carry the API token: only its path goes into the message.
                raise service.failure(f"did not answer {url.split('?')[0]} within {timeout_s:.0f} s")
        if pending:
            time.sleep(POLL_S)
    return ready


def ensure_free(port: int) -> None:
    """Refuses to start when something already listens on the port: its answers would be
    measured instead of ours."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise BenchError(f"port {port} is already in use; choose other ports with --base-port")
