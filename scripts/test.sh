#!/usr/bin/env bash
# Every check of the project, in the order a failure is cheapest to find. Stops at the first
# failing check with its exit status. The model is trained only when its inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
# What Rasa's own commands need (endpoints.yml's variables, the repository on PYTHONPATH), as
# the README's `source scripts/env.sh` gives it to a terminal.
source scripts/env.sh

step() { echo; echo "== $* ($(date +%H:%M:%S))"; }

step "lint, format and types (scripts/lint.sh: ruff check, ruff format --check, mypy)"
scripts/lint.sh

step "browser for the end-to-end tests"
scripts/install_chromium.sh

# Each test runs once: here every tier (unit, browser, system; pyproject.toml) outside the two
# folders that start the whole assistant, which run after training below.
step "unit, system and end-to-end tests (pytest)"
$PY -m pytest -q tests --ignore=tests/security --ignore=tests/browser

step "speed of masking on hostile input (scripts/bench_masking.py)"
$PY scripts/bench_masking.py

step "training data and domain (rasa data validate)"
.venv/bin/rasa data validate --config config.yml --domain domain.yml --data data

step "model"
MODEL=$($PY scripts/train.py)

step "held-out NLU: kanji accuracy >= 0.90, kana within 0.03 of it, FAQ >= 0.90, every danger/self-harm message, no false alarm"
$PY scripts/evaluate_nlu.py --model "$MODEL"

step "conversation tests (rasa test --fail-on-prediction-errors)"
.venv/bin/rasa test core --model "$MODEL" --stories tests/conversations \
  --endpoints endpoints.yml --fail-on-prediction-errors --out results/conversations

step "typed conversations on the running assistant (>= 95 % fully right, <= 2 % of turns confused)"
$PY scripts/typed_conversations.py --model "$MODEL"

step "attack suite (tests/security): every attack of issue 13 replayed against the running assistant"
NETTROUBLE_MODEL="$MODEL" $PY -m pytest -q tests/security
cat results/hostile_load.txt

step "web chat on the service's site (tests/browser): docs/embed-example.html in Chromium, phone and desktop"
NETTROUBLE_MODEL="$MODEL" $PY -m pytest -q tests/browser

step "system checks on the running assistant (REST, web chat, faults, hostile input)"
$PY scripts/system_test.py

echo; echo "all checks passed"
