"""Times masking (nettrouble/core/masking.py) on ordinary messages and on hostile input built to make
its patterns backtrack, and fails past the limits below. A timing judged on a stopwatch belongs
here, run on its own by `make test`, not inside pytest, where a loaded machine fails it; the
tests check what the masking does with the same input (tests/test_masking.py).

    .venv/bin/python scripts/bench_masking.py

Exit status 1 when a limit is passed. The last line printed is meant for the README.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Each input (100,000 to 380,000 characters) masked once: seconds at most. A pattern that
# backtracks takes minutes on these; a linear one a fraction of a second.
HOSTILE_LIMIT_S = 2.0
HOSTILE = [
    "a" * 200_000,
    "0" * 200_000,
    "@" * 100_000,
    ("a" * 60 + "@") * 5000,
    "0-" * 100_000,
    ("0 " * 9 + "a") * 20_000,
    ("a." * 50 + "@") * 3000,
]
# Ordinary messages, the mean of several rounds: milliseconds at most per message (a turn masks
# each user message before the tracker store writes it).
SHORT = "ツイッターで悪口を書かれて困っています。電話は090-1234-5678です"
LONG = ("昨日から知らないアカウントに悪口を書かれています。どうしたらいいですか。" * 60)[:2000]
ORDINARY: List[Tuple[str, int, float]] = [(SHORT, 200, 0.001), (LONG, 20, 0.01)]  # text, rounds, limit (s)


def seconds(work: Callable[[], object], rounds: int = 1) -> float:
    """The mean time of one run of ``work`` over ``rounds`` runs."""
    started = time.perf_counter()
    for _ in range(rounds):
        work()
    return (time.perf_counter() - started) / rounds


def main() -> int:
    from nettrouble.core.masking import mask_text

    mask_text(SHORT)  # patterns and the number matcher are built on first use
    failures = 0
    ordinary_ms = []
    for text, rounds, limit in ORDINARY:
        took = seconds(lambda text=text: mask_text(text), rounds)
        ordinary_ms.append(took * 1000)
        failures += took > limit
        print(f"{len(text):>7,} characters, ordinary: {took * 1000:.3f} ms (limit {limit * 1000:.0f} ms)")
    for text in HOSTILE:
        took = seconds(lambda text=text: mask_text(text))
        failures += took > HOSTILE_LIMIT_S
        print(f"{len(text):>7,} characters, hostile {text[:12]!r}…: {took:.3f} s (limit {HOSTILE_LIMIT_S:.0f} s)")
    print(
        f"Masking a message: {ordinary_ms[0]:.3f} ms for {len(SHORT)} characters with a number, "
        f"{ordinary_ms[1]:.2f} ms for {len(LONG):,} characters; hostile input of up to "
        f"{max(map(len, HOSTILE)):,} characters within {HOSTILE_LIMIT_S:.0f} s each"
        f"{f'; {failures} over a limit' if failures else ''}."
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
