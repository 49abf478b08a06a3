#!/usr/bin/env bash
# Lint, format and types of the whole project, settings in pyproject.toml. Stops at the first
# failing check. `ruff format` (without --check) fixes the formatting.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "ruff check"
.venv/bin/ruff check .
echo "ruff format --check"
.venv/bin/ruff format --check .
echo "mypy (strict for nettrouble/)"
.venv/bin/mypy nettrouble actions addons console
