"""The attack suite: every attack of issue 13, replayed. Tests that need the whole assistant
use the session fixture ``assistant`` (the trained model, the Rasa server with its channels and
the action server, on free ports with temporary databases and logs, as scripts/system_test.py
starts them). ``make test`` runs this folder after the model is trained, with NETTROUBLE_MODEL
naming it; run alone, the fixture trains the model first when its inputs changed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


def start_assistant(workdir: Path, **env: str):
    """A started ``system_test.System`` on the model of this run, with ``env`` added to its
    environment; the caller stops it. Shared with tests/browser."""
    import system_test
    import train

    model = Path(os.environ["NETTROUBLE_MODEL"]) if os.environ.get("NETTROUBLE_MODEL") else train.train_if_needed()
    system = system_test.System(workdir, model)
    system.env.update(env)
    system.start()
    return system


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    # The limits of .env.example, not the generous ones of the other system checks (whose
    # traffic all comes from one address); each attacker and user of the suite sends its own
    # address through X-Forwarded-For, believed from the local proxy as behind nginx.
    system = start_assistant(
        tmp_path_factory.mktemp("assistant"),
        TRUSTED_PROXIES="127.0.0.1",
        CASES_PER_HOUR="3",
        MESSAGES_PER_MINUTE="20",
        NUMBER_CHECKS_PER_CONVERSATION="3",
        NUMBER_CHECKS_PER_HOUR="10",
    )
    yield system
    system.stop()
