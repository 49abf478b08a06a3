"""Prints `export NAME=value` lines for the settings the Rasa command line needs, for `eval`."""

import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import service_env  # noqa: E402

env = service_env()
for name in (
    "ACTION_SERVER_URL",
    "ACTION_SERVER_TOKEN",
    "TRACKER_DB",
    "RASA_API_TOKEN",
    "RASA_TELEMETRY_ENABLED",
    "SQLALCHEMY_SILENCE_UBER_WARNING",
):
    print(f"export {name}={shlex.quote(env.get(name, ''))}")
