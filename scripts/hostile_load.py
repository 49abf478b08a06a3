"""Load test: does a hostile client sending long messages slow down everyone else?

Starts the assistant (scripts/system_test.py's ``System``), then measures the REST reply time of
short messages from unrelated users (each its own address and conversation, one every PACE_S
seconds), first at idle, then while a hostile client (one address, several connections, each in
a process of its own) sends 20,000-character messages as fast as the server answers. The attack
phase outlasts a minute, so the hostile client's messages-per-minute limit gives it a second
round. Prints p50 and p95 of both phases, their p95 ratio, and how many hostile messages were
read (cut to MAX_MESSAGE_CHARS) or refused by the limit. Exit status 1 when the p95 under attack
is more than twice the idle p95.

Every request comes from 127.0.0.1, so this run alone sets TRUSTED_PROXIES=127.0.0.1 and gives
each client its own address in X-Forwarded-For, as a proxy would (ENV).

    python scripts/hostile_load.py [--turns 30] [--workers 4] [--chars 20000] [--pace 2.2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import system_test  # noqa: E402  (scripts/system_test.py)
import train  # noqa: E402  (scripts/train.py)
from load_clients import Client, HostileClient  # noqa: E402  (scripts/load_clients.py)

MAX_RATIO = 2.0
# Short first messages, as unrelated users write them.
SHORT_MESSAGES = ["こんにちは", "相談したいことがあります", "ツイッターで悪口を書かれて困っています"]
# One short message every this many seconds, so that the attack phase outlasts the minute of
# the hostile client's message limit and the limit gives it a second round.
PACE_S = 2.2
# The settings this measurement is about, whatever .env says (tests/security/conftest.py
# starts the suite's assistant with them too).
ENV = {"TRUSTED_PROXIES": "127.0.0.1", "MESSAGES_PER_MINUTE": "20"}


@dataclass
class Phase:
    times_s: List[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.times_s)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times_s, n=20, method="inclusive")[18]


@dataclass
class Result:
    idle: Phase
    attack: Phase
    hostile: Dict[str, int]

    @property
    def ratio(self) -> float:
        return self.attack.p95 / self.idle.p95

    def report(self) -> str:
        return "\n".join(
            [
                f"idle:         p50 {self.idle.p50 * 1000:6.0f} ms   p95 {self.idle.p95 * 1000:6.0f} ms"
                f"   ({len(self.idle.times_s)} turns)",
                f"under attack: p50 {self.attack.p50 * 1000:6.0f} ms   p95 {self.attack.p95 * 1000:6.0f} ms"
                f"   ({len(self.attack.times_s)} turns)",
                f"p95 ratio:    {self.ratio:.2f} (limit {MAX_RATIO:.1f})",
                "hostile messages meanwhile: " + ", ".join(f"{n} {kind}" for kind, n in self.hostile.items()),
            ]
        )


# Each phase's unrelated users come from addresses of their own.
NETWORKS = {"warm": "198.51.100", "idle": "198.51.101", "attack": "198.51.102"}


def unrelated_turns(base: str, count: int, label: str, pace_s: float) -> Phase:
    """``count`` short first messages, each from its own address and conversation, one every
    ``pace_s`` seconds (as people write); the time of each until its whole reply has arrived."""
    times = []
    for index in range(count):
        started = time.perf_counter()
        client = Client(base, f"{NETWORKS[label]}.{index + 1}")
        message = SHORT_MESSAGES[index % len(SHORT_MESSAGES)]
        replies = client.say(f"load-{label}-{index}", message)
        times.append(time.perf_counter() - started)
        client.close()
        if not replies or not replies[0].get("text"):
            raise RuntimeError(f"no reply to {message!r}")
        time.sleep(max(0.0, pace_s - (time.perf_counter() - started)))
    return Phase(times)


def measure(base: str, turns: int = 30, workers: int = 4, chars: int = 20_000, pace_s: float = PACE_S) -> Result:
    """Idle, then under attack, on an assistant already running at ``base`` with ENV. The
    attack starts with the measured turns and lasts as long as they do; its messages are
    counted as read (cut to MAX_MESSAGE_CHARS) or refused by the messages-per-minute limit."""
    from addons.channels.turns import limited_text  # imports Rasa: only here

    unrelated_turns(base, 3, "warm", 0.0)  # the first turns after start-up load what they need
    idle = unrelated_turns(base, turns, "idle", pace_s)
    hostile = HostileClient(base, workers, chars, limited_text())
    hostile.start()
    try:
        attack = unrelated_turns(base, turns, "attack", pace_s)
    finally:
        counts = hostile.stop()
    if not counts["read (cut)"]:
        raise RuntimeError("no hostile message reached the bot during the attack")
    return Result(idle, attack, counts)


def start_system(workdir: Path, model: Path) -> system_test.System:
    system = system_test.System(workdir, model)
    system.env.update(ENV)
    system.start()
    return system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--chars", type=int, default=20_000)
    parser.add_argument("--pace", type=float, default=PACE_S, help="seconds between the unrelated turns")
    args = parser.parse_args()
    model = train.model_path()
    if not model.exists():
        print(f"hostile load: no model {model.name}; run `make train` first", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="nettrouble-load-"))
    system: Optional[system_test.System] = None
    try:
        system = start_system(workdir, model)
        result = measure(system.base, args.turns, args.workers, args.chars, args.pace)
    finally:
        if system is not None:
            system.stop()
    print(result.report())
    shutil.rmtree(workdir, ignore_errors=True)
    if result.ratio > MAX_RATIO:
        print(
            f"hostile load: p95 under attack is {result.ratio:.2f}x the idle p95 (limit {MAX_RATIO:.1f}x)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
