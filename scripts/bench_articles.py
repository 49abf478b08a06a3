"""Measures the article search: index build time, per-query latency (p50, p95) over the
labelled queries of tests/article_queries.yml, the cost of a very long message, and hit@3.

    .venv/bin/python scripts/bench_articles.py [--runs 20]

The last line printed is meant for the README.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from nettrouble.content import articles  # noqa: E402
from nettrouble.core.clock import JST  # noqa: E402

QUERIES = ROOT / "tests" / "article_queries.yml"
# After every shipped article was published, so that all of them compete.
AT = datetime(2026, 11, 1, 12, 0, tzinfo=JST)
LONG_MESSAGE = "フリマアプリで買った商品が届かず、出品者とも連絡が取れません。" * 650


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="passes over the labelled queries")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")

    queries = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))["queries"]
    articles.query_terms("辞書を読み込む")  # Sudachi's dictionary loads once per process
    started = time.perf_counter()
    index = articles.Index(articles.load())
    build_ms = (time.perf_counter() - started) * 1000

    samples = []
    hits = 0
    for run in range(options.runs):
        for entry in queries:
            started = time.perf_counter()
            found = index.search(entry["query"], entry.get("trouble_type"), AT)
            samples.append((time.perf_counter() - started) * 1000)
            if run == 0:
                hits += bool(set(entry["expected"]) & {a.id for a in found})
    started = time.perf_counter()
    index.search(LONG_MESSAGE, "shopping", AT)
    long_ms = (time.perf_counter() - started) * 1000

    p50, p95 = percentile(samples, 0.50), percentile(samples, 0.95)
    print(f"articles: {len(index.articles)}, index built in {build_ms:.0f} ms")
    print(
        f"queries: {len(queries)} x {options.runs} runs = {len(samples)} searches, "
        f"mean {statistics.mean(samples):.2f} ms, max {max(samples):.2f} ms"
    )
    print(
        f"a {len(LONG_MESSAGE):,}-character message: {long_ms:.1f} ms "
        f"(only the first {articles.MAX_QUERY_CHARS:,} characters are searched)"
    )
    print(
        f"Article search ({len(index.articles)} articles, {len(queries)} labelled queries): "
        f"hit@3 {hits / len(queries):.2f}, latency p50 {p50:.2f} ms, p95 {p95:.2f} ms per query "
        f"(index built once at start-up in {build_ms:.0f} ms)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
