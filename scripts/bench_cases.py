"""Case-creation latency: p50 / p95 / max of ``open_case`` on a temporary SQLite database.

Measures three kinds of handoff, each ``--count`` times:
  new        a new case with its status event and notification outbox row
  eligible   the same plus the free-consultation reservation in the ledger
  repeat     asking again in the same conversation (the existing case is found and updated)
A PostgreSQL (or other) database can be measured instead with --database-url; it must be empty
or disposable, since the benchmark writes cases into it.

    .venv/bin/python scripts/bench_cases.py --count 300
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(label, count, make_call):
    samples = []
    for index in range(count):
        call = make_call(index)
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    print(
        f"{label:<9} n={count:<5} p50={percentile(samples, 0.5):7.2f} ms  "
        f"p95={percentile(samples, 0.95):7.2f} ms  max={max(samples):7.2f} ms  "
        f"mean={statistics.fmean(samples):7.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300, help="handoffs per kind (default 300)")
    parser.add_argument("--database-url", help="measure this database instead of a temporary SQLite file")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")

    from nettrouble.cases import schema, store, summary
    from nettrouble.core import db

    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{Path(directory) / 'bench.db'}"
        engine = db.prepare(url)
        run_id = hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:8]
        draft = dict(
            channel="bench",
            trouble_type="defamation",
            urgency=["danger"],
            triage_answers={"platform": "X", "ongoing": True, "evidence_saved": True},
            articles_shown=["retweet-defamation", "anonymous-slander"],
            summary=summary.summarise(["Xで毎日悪口を書かれています", "相手から090-1234-5678に電話が来ました"]),
        )

        def new(index):
            item = schema.CaseDraft(conversation_id=f"{run_id}-new-{index}", **draft)
            return lambda: store.open_case(engine, item, notify=True)

        def eligible(index):
            key = hashlib.sha256(f"{run_id}-{index}".encode()).hexdigest()
            item = schema.CaseDraft(
                conversation_id=f"{run_id}-eligible-{index}",
                eligibility="eligible",
                eligibility_campaign="bench",
                person_key=key,
                **draft,
            )
            return lambda: store.open_case(engine, item, notify=True)

        def repeat(index):
            item = schema.CaseDraft(conversation_id=f"{run_id}-new-{index}", **draft)
            return lambda: store.open_case(engine, item, notify=True)

        print(f"database: {engine.url.render_as_string(hide_password=True)}")
        measure("new", args.count, new)
        measure("eligible", args.count, eligible)
        measure("repeat", args.count, repeat)
        db.dispose_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
