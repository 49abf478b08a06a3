"""Evaluates the trained model on the held-out files and fails below the quality floors.

Three sets, none ever trained on:
  kanji  tests/nlu_heldout.yml                       messages as most people type them
  kana   tests/nlu_heldout_kana.yml (the kanji set in kana, scripts/kana_heldout.py) and
         tests/nlu_heldout_kana_natural.yml (kana messages written as such)
  faq    tests/faq_heldout.yml                       questions about the service

Fails (exit 1) when the kanji intent accuracy is below --min-accuracy, when the kana accuracy is
more than --max-kana-gap below it, when the FAQ accuracy (intent faq and the right key) is below
--min-faq, when any danger or self-harm message of any set is not recognised as exactly that,
or when an ordinary message of any set is taken for one (a false alarm). Like Rasa's own NLU
evaluation, accuracy counts the intent the pipeline identified even when the FallbackClassifier
asks to confirm it; how often it asks is reported separately. Also reports model load time and
parse latency. Writes the full report to results/nlu_heldout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAFETY_INTENTS = ("urgent_danger", "urgent_self_harm")
FALLBACK = "nlu_fallback"
FAQ = "faq"
TESTS = ROOT / "tests"
SETS = {
    "kanji": [TESTS / "nlu_heldout.yml"],
    "kana": [TESTS / "nlu_heldout_kana.yml", TESTS / "nlu_heldout_kana_natural.yml"],
    "faq": [TESTS / "faq_heldout.yml"],
}


def held_out_examples(path: Path):
    """(text, label) pairs; a retrieval label keeps its key: faq/price."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent_response_key") or m.get("intent")) for m in data.intent_examples]


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
            (entry for entry in parsed.get("intent_ranking") or [parsed["intent"]] if entry["name"] != FALLBACK),
            parsed["intent"],
        )
        selected = ((parsed.get("response_selector") or {}).get(FAQ) or {}).get("response") or {}
        results.append(
            {
                "text": text,
                "expected": expected.split("/")[0],
                "expected_key": expected if "/" in expected else None,
                "predicted": identified["name"],
                "predicted_key": selected.get("intent_response_key"),
                "also_asked": parsed.get("also_asked") or [],
                "confidence": round(identified.get("confidence", 0.0), 3),
                "asked_to_confirm": parsed["intent"]["name"] == FALLBACK,
            }
        )
    return results, load_s, latencies


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summarise(results):
    correct = [r for r in results if r["predicted"] == r["expected"]]
    safety = [r for r in results if r["expected"] in SAFETY_INTENTS]
    per_intent = defaultdict(Counter)
    for r in results:
        per_intent[r["expected"]]["total"] += 1
        per_intent[r["expected"]]["correct"] += r["predicted"] == r["expected"]
    return {
        "examples": len(results),
        "intent_accuracy": round(len(correct) / len(results), 4) if results else None,
        "safety_examples": len(safety),
        "safety_missed": [r for r in safety if r["predicted"] != r["expected"]],
        "false_alarms": [
            r for r in results if r["expected"] not in SAFETY_INTENTS and r["predicted"] in SAFETY_INTENTS
        ],
        "asked_to_confirm": round(sum(r["asked_to_confirm"] for r in results) / len(results), 4),
        "per_intent_recall": {intent: round(c["correct"] / c["total"], 3) for intent, c in sorted(per_intent.items())},
        "errors": [r for r in results if r["predicted"] != r["expected"]],
    }


def faq_accuracy(results):
    """Share of FAQ questions answered with the right key: the message's intent is faq, or it
    reports a trouble and asks the question too (the answer then comes before the triage)."""
    keyed = [r for r in results if r["expected_key"]]
    right = [
        r
        for r in keyed
        if r["predicted_key"] == r["expected_key"] and (r["predicted"] == FAQ or FAQ in r["also_asked"])
    ]
    return (len(right) / len(keyed) if keyed else None), [r for r in keyed if r not in right]


def main() -> int:
    # Rasa logs every parsed message at debug level; the report is what matters here.
    from rasa.utils.log_utils import configure_structlog

    logging.disable(logging.INFO)
    configure_structlog(logging.WARNING)
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--min-accuracy", type=float, default=0.90)
    parser.add_argument("--max-kana-gap", type=float, default=0.03)
    parser.add_argument("--min-faq", type=float, default=0.90)
    parser.add_argument("--report", default=ROOT / "results" / "nlu_heldout.json", type=Path)
    args = parser.parse_args()

    examples = {name: [e for path in paths for e in held_out_examples(path)] for name, paths in SETS.items()}
    flat = [(text, label) for name in SETS for text, label in examples[name]]
    results, load_s, latencies = asyncio.run(predict(args.model, flat))
    by_set, start = {}, 0
    for name in SETS:
        by_set[name] = results[start : start + len(examples[name])]
        start += len(examples[name])
    report = {name: summarise(by_set[name]) for name in SETS}
    faq_right, faq_errors = faq_accuracy(by_set["faq"])
    report["faq"]["faq_key_accuracy"] = round(faq_right, 4)
    report["faq"]["faq_key_errors"] = faq_errors
    report["model_load_s"] = round(load_s, 1)
    report["parse_ms_p50"] = round(statistics.median(latencies), 1)
    report["parse_ms_p95"] = round(percentile(latencies, 0.95), 1)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")

    kanji, kana = report["kanji"]["intent_accuracy"], report["kana"]["intent_accuracy"]
    for name in SETS:
        part = report[name]
        print(
            f"held-out {name}: {part['examples']} messages, intent accuracy {part['intent_accuracy']:.3f}, "
            f"{part['safety_examples']} danger/self-harm messages with {len(part['safety_missed'])} missed, "
            f"{len(part['false_alarms'])} false alarms, asked to confirm {part['asked_to_confirm']:.1%}"
        )
    print(
        f"kana accuracy is {kanji - kana:+.3f} below kanji (at most {args.max_kana_gap:.2f} allowed); "
        f"FAQ accuracy (intent and key) {faq_right:.3f} (floor {args.min_faq:.2f})"
    )
    print(f"model load {load_s:.1f} s, parse latency p50 {report['parse_ms_p50']} ms, p95 {report['parse_ms_p95']} ms")
    failed = False
    for name in SETS:
        for r in report[name]["safety_missed"]:
            print(f"  SAFETY MISS ({name}): {r['text']!r} expected {r['expected']}, got {r['predicted']}")
        for r in report[name]["false_alarms"]:
            print(f"  FALSE ALARM ({name}): {r['text']!r} expected {r['expected']}, got {r['predicted']}")
        for r in report[name]["errors"]:
            if r not in report[name]["safety_missed"] and r not in report[name]["false_alarms"]:
                print(
                    f"  miss ({name}): {r['text']!r} expected {r['expected']}, got {r['predicted']} ({r['confidence']})"
                )
    for r in faq_errors:
        print(f"  faq key miss: {r['text']!r} expected {r['expected_key']}, got {r['predicted']} {r['predicted_key']}")
    checks = [
        (kanji < args.min_accuracy, f"kanji intent accuracy {kanji:.3f} is below {args.min_accuracy:.2f}"),
        (
            kanji - kana > args.max_kana_gap,
            f"kana accuracy {kana:.3f} is more than {args.max_kana_gap:.2f} below kanji",
        ),
        (faq_right < args.min_faq, f"FAQ accuracy {faq_right:.3f} is below {args.min_faq:.2f}"),
        (any(report[n]["safety_missed"] for n in SETS), "danger/self-harm message(s) missed"),
        (any(report[n]["false_alarms"] for n in SETS), "ordinary message(s) taken for danger or self-harm"),
    ]
    for failing, why in checks:
        if failing:
            print(f"FAIL: {why}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
