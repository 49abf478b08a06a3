#!/usr/bin/env bash
# The case store, the outbox, the callbacks and the schema migrations tests again on a throwaway
# PostgreSQL (they run on SQLite in `make test`): the same code through a database URL. Started and
# removed by scripts/scaleout_services.sh; installing PostgreSQL needs root once.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$(mktemp -d -t nettrouble-pg-XXXXXX)
trap 'scripts/scaleout_services.sh stop "$DIR" >/dev/null 2>&1 || true' EXIT
eval "$(scripts/scaleout_services.sh start "$DIR")"
export TEST_POSTGRES_URL
.venv/bin/python -m pytest -q tests/test_cases.py tests/test_outbox.py tests/test_migrations.py tests/test_sms_usage.py tests/test_callbacks_store.py
