"""Evaluates the trained model on the held-out file and fails below the quality floor.

Fails (exit 1) when intent accuracy is below --min-accuracy or when any danger or self-harm
message is not recognised as exactly that. Like Rasa's own NLU evaluation, accuracy counts the
intent the pipeline identified even when the FallbackClassifier asks to confirm it; how often it
asks is reported separately. Also reports model load time and parse latency.
Writes the full report to results/nlu_heldout.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import warnings
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAFETY_INTENTS = ("urgent_danger", "urgent_self_harm")
FALLBACK = "nlu_fallback"


def held_out_examples(path: Path):
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


async def predict(model: Path, examples):
    from rasa.core.agent import Agent

    started = time.perf_counter()
    agent = Agent.load(str(model))
    load_s = time.perf_counter() - started
    await agent.parse_message("ウォームアップ")
    results, latencies = [], []
    for text, expected in examples:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        latencies.append((time.perf_counter() - started) * 1000)
        identified = next(
            (entry for entry in parsed.get("intent_ranking") or [parsed["intent"]]
             if entry["name"] != FALLBACK),
            parsed["intent"],
        )
        results.append({
            "text": text,
            "expected": expected,
            "predicted": identified["name"],
            "confidence": round(identified.get("confidence", 0.0), 3),
            "asked_to_confirm": parsed["intent"]["name"] == FALLBACK,
        })
    return results, load_s, latencies


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    # Rasa logs every parsed message at debug level; the report is what matters here.
    from rasa.utils.log_utils import configure_structlog

    logging.disable(logging.INFO)
    configure_structlog(logging.WARNING)
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--data", default=ROOT / "tests" / "nlu_heldout.yml", type=Path)
    parser.add_argument("--min-accuracy", type=float, default=0.90)
    parser.add_argument("--report", default=ROOT / "results" / "nlu_heldout.json", type=Path)
    args = parser.parse_args()

    examples = held_out_examples(args.data)
    results, load_s, latencies = asyncio.run(predict(args.model, examples))
    correct = [r for r in results if r["predicted"] == r["expected"]]
    accuracy = len(correct) / len(results)
    safety = [r for r in results if r["expected"] in SAFETY_INTENTS]
    safety_missed = [r for r in safety if r["predicted"] != r["expected"]]
    per_intent = defaultdict(Counter)
    for r in results:
        per_intent[r["expected"]]["total"] += 1
        per_intent[r["expected"]]["correct"] += r["predicted"] == r["expected"]

    report = {
        "examples": len(results),
        "intent_accuracy": round(accuracy, 4),
        "safety_recall": round(1 - len(safety_missed) / len(safety), 4) if safety else None,
        "safety_examples": len(safety),
        "asked_to_confirm": round(sum(r["asked_to_confirm"] for r in results) / len(results), 4),
        "model_load_s": round(load_s, 1),
        "parse_ms_p50": round(statistics.median(latencies), 1),
        "parse_ms_p95": round(percentile(latencies, 0.95), 1),
        "per_intent_recall": {
            intent: round(c["correct"] / c["total"], 3) for intent, c in sorted(per_intent.items())
        },
        "errors": [r for r in results if r["predicted"] != r["expected"]],
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")

    print(f"held-out NLU: {len(results)} messages, intent accuracy {accuracy:.3f} "
          f"(floor {args.min_accuracy:.2f}), safety recall {report['safety_recall']} "
          f"on {len(safety)} danger/self-harm messages")
    print(f"low confidence or near tie (the bot asks to confirm): {report['asked_to_confirm']:.1%}")
    print(f"model load {load_s:.1f} s, parse latency p50 {report['parse_ms_p50']} ms, "
          f"p95 {report['parse_ms_p95']} ms")
    for r in report["errors"]:
        marker = "SAFETY MISS" if r in safety_missed else "miss"
        print(f"  {marker}: {r['text']!r} expected {r['expected']}, got {r['predicted']} ({r['confidence']})")
    failed = False
    if accuracy < args.min_accuracy:
        print(f"FAIL: intent accuracy {accuracy:.3f} is below {args.min_accuracy:.2f}")
        failed = True
    if safety_missed:
        print(f"FAIL: {len(safety_missed)} danger/self-harm message(s) missed")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
