#!/usr/bin/env bash
# Prepares a checkout: a Python 3.10 virtual environment in .venv with the pinned dependencies,
# and a .env with fresh secrets. Does nothing (in well under a second) when both are current.
#
# The interpreter is taken from $PYTHON, else python3.10 on PATH, else pyenv's 3.10 versions.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed"

is_py310() {
  "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1
}

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    if is_py310 "$PYTHON"; then echo "$PYTHON"; return 0; fi
    echo "setup: PYTHON=$PYTHON is not a Python 3.10 interpreter with venv (Rasa 3.6 needs 3.8-3.10; this project pins 3.10)." >&2
    return 1
  fi
  local candidates=(python3.10)
  local roots=("${PYENV_ROOT:-$HOME/.pyenv}")
  if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)"); fi
  for root in "${roots[@]}"; do
    for found in "$root"/versions/3.10*/bin/python3.10; do
      [ -x "$found" ] && candidates+=("$found")
    done
  done
  candidates+=(/usr/local/bin/python3.10 /usr/bin/python3.10 python3)
  for candidate in "${candidates[@]}"; do
    if command -v "$candidate" >/dev/null 2>&1 && is_py310 "$candidate"; then
      command -v "$candidate"; return 0
    fi
  done
  cat >&2 <<'MSG'
setup: no Python 3.10 found (Rasa 3.6 runs on Python 3.8-3.10 only).
Install one of these, then run the command again:
  - pyenv:   pyenv install 3.10.13
  - Debian:  apt-get install python3.10 python3.10-venv   (where the release offers it)
or point PYTHON at a 3.10 interpreter:  PYTHON=/path/to/python3.10 make run
MSG
  return 1
}

wanted_stamp() {
  cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1
}

if [ -x "$VENV/bin/python" ] && is_py310 "$VENV/bin/python" \
   && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(wanted_stamp)" ]; then
  :
else
  PY=$(find_python)
  if [ ! -x "$VENV/bin/python" ] || ! is_py310 "$VENV/bin/python"; then
    echo "setup: creating $VENV with $PY ($("$PY" --version 2>&1))" >&2
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
  fi
  echo "setup: installing pinned dependencies (a first install takes about 4 minutes)" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.0"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r requirements.txt -c constraints.txt
  "$VENV/bin/python" -m pip check >&2
  wanted_stamp > "$STAMP"
fi

"$VENV/bin/python" scripts/ensure_env.py
