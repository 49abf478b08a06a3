# Sourced, not run: `source scripts/env.sh` in a terminal, then Rasa's own commands (rasa shell,
# rasa test, rasa interactive, rasa run actions) work there from the repository root.
#
# Rasa reads no .env, and endpoints.yml needs ${ACTION_SERVER_URL}, ${ACTION_SERVER_TOKEN} and
# ${TRACKER_DB}. This exports the values scripts/print_env.py lists, each from the environment,
# then .env, then the defaults of nettrouble/core/settings.py, so they are the ones `make run` uses;
# puts the repository on PYTHONPATH (Rasa imports the custom components, the tracker store and
# the action server's guard from it) and .venv/bin first on PATH (the pinned rasa). It exports
# nothing else and leaves the shell's options alone. scripts/test.sh sources it too.

_nettrouble_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if [ ! -x "$_nettrouble_root/.venv/bin/python" ]; then
  echo "scripts/env.sh: no .venv yet; run make setup first" >&2
  unset _nettrouble_root
  return 1
fi
if _nettrouble_exports="$("$_nettrouble_root/.venv/bin/python" "$_nettrouble_root/scripts/print_env.py")"; then
  eval "$_nettrouble_exports"
  case ":${PYTHONPATH:-}:" in
    *":$_nettrouble_root:"*) ;;
    *) export PYTHONPATH="$_nettrouble_root${PYTHONPATH:+:$PYTHONPATH}" ;;
  esac
  case ":$PATH:" in
    *":$_nettrouble_root/.venv/bin:"*) ;;
    *) export PATH="$_nettrouble_root/.venv/bin:$PATH" ;;
  esac
  unset _nettrouble_root _nettrouble_exports
else
  echo "scripts/env.sh: scripts/print_env.py failed (see above); nothing exported" >&2
  unset _nettrouble_root _nettrouble_exports
  return 1
fi
