import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def action_server_up(monkeypatch):
    """Channel tests run without an action server; unless a test says otherwise, the channels
    take it to be up (tests/test_channel_faults.py checks the case where it is not)."""
    from addons.channels import turns

    async def reachable():
        return True

    monkeypatch.setattr(turns.action_server, "reachable", reachable)
