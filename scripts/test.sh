#!/usr/bin/env bash
# Every check of the project, in the order a failure is cheapest to find. Stops at the first
# failing check with its exit status. The model is trained only when its inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# Rasa reads ${ACTION_SERVER_URL} and ${TRACKER_DB} from endpoints.yml even in tests.
eval "$($PY scripts/print_env.py)"

step() { echo; echo "== $* ($(date +%H:%M:%S))"; }

step "browser for the end-to-end tests"
scripts/install_chromium.sh

step "unit and integration tests (pytest)"
$PY -m pytest -q tests

step "training data and domain (rasa data validate)"
.venv/bin/rasa data validate --config config.yml --domain domain.yml --data data

step "model"
MODEL=$($PY scripts/train.py)

step "held-out NLU: intent accuracy floor 0.90 and every danger/self-harm message"
$PY scripts/evaluate_nlu.py --model "$MODEL"

step "conversation tests (rasa test --fail-on-prediction-errors)"
.venv/bin/rasa test core --model "$MODEL" --stories tests/conversations \
  --endpoints endpoints.yml --fail-on-prediction-errors --out results/conversations

step "system checks on the running assistant (REST, web chat, faults, hostile input)"
$PY scripts/system_test.py

echo; echo "all checks passed"
