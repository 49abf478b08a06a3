import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import gc  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from datetime import datetime  # noqa: E402
from fnmatch import fnmatch  # noqa: E402
from typing import Union  # noqa: E402

import pytest  # noqa: E402

from tests.fakes.environment import Environment  # noqa: E402

# SQLite makes every commit durable with fsync: two milliseconds a commit on this machine's disk,
# nothing in memory. Temporary files (tmp_path, and the test databases in it) go to /dev/shm
# where there is one and TMPDIR does not say otherwise: five seconds off the unit tier.
if "TMPDIR" not in os.environ and os.access("/dev/shm", os.W_OK):
    os.environ["TMPDIR"] = "/dev/shm"
    tempfile.tempdir = None  # read TMPDIR again

# --- tiers: every test is in exactly one (markers in pyproject.toml) ---------------------------

TIERS = ("unit", "browser", "system")
# Modules whose every test starts servers or processes or needs the trained model, with why.
# A module that only has a few such tests marks them itself (@pytest.mark.system).
SYSTEM_MODULES = {
    # Sanic's test client serves the app on a port and stops it again for every request.
    "test_channel_faults.py",
    "test_channel_line.py",
    "test_channel_rest.py",
    "test_channel_sms.py",
    "test_channel_web.py",
    "test_console.py",
    "test_console_accounts.py",
    "test_console_analytics.py",
    "test_console_queue.py",
    "test_health.py",
    "test_metrics.py",
    # Local HTTP servers on ports standing in for the webhook, Slack, Zendesk and LINE.
    "test_outbox.py",
    "test_outlets.py",
    "test_line_api.py",
    "test_line_richmenu.py",
    # A fresh Python process.
    "test_db.py",
    # Rasa's processor replaying whole conversations at every point: seconds per test.
    "test_action_payload.py",
    "test_tracker_replay.py",
    "test_prediction_window.py",
    # Threads racing on the database, and scrypt's deliberately slow hashing.
    "test_cases.py",
    "test_ledger.py",
    "test_agents.py",
}


def tier_by_place(path: Path) -> str:
    """The tier of a test that says none itself: browser for Chromium (tests/browser/ and the
    end-to-end modules), system for the attack suite and SYSTEM_MODULES, unit for the rest."""
    relative = path.relative_to(ROOT / "tests")
    if relative.parts[:1] == ("browser",) or fnmatch(relative.name, "test_*e2e*.py"):
        return "browser"
    if relative.parts[:1] == ("security",) or relative.name in SYSTEM_MODULES:
        return "system"
    return "unit"


def pytest_ignore_collect(collection_path, config):
    """With ``-m unit`` (make test-fast), the folders and modules of another tier are not even
    imported: Playwright, the console and the assistant's start-up cost more seconds than the
    whole unit tier."""
    if config.getoption("markexpr") == "unit" and collection_path.is_relative_to(ROOT / "tests"):
        return tier_by_place(collection_path) != "unit" or None
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        given = {marker.name for marker in item.iter_markers() if marker.name in TIERS}
        if len(given) > 1:
            raise pytest.UsageError(f"{item.nodeid} is marked {' and '.join(sorted(given))}: one tier only")
        if not given:
            item.add_marker(tier_by_place(item.path))


# --- garbage collection ---------------------------------------------------------------------


# Rasa brings TensorFlow, and with it half a million objects that live as long as the process.
# Python's full garbage collection walks all of them every time, and pytest runs five more full
# collections when the session ends: five seconds of the unit tier. Whatever is alive once a
# module is collected is frozen out of those walks; the tests' own objects are collected as usual.
def pytest_collectreport(report):
    gc.freeze()


# --- settings, the clock and actions ----------------------------------------------------------


@pytest.fixture
def env():
    """Environment settings for one test: ``env(NAME="value", OTHER=None)`` (None unsets),
    as often as the test needs; the settings are read again after each call and after the test,
    once the variables are back (tests/fakes/environment.py)."""
    changed = Environment()
    yield changed
    changed.restore()


@pytest.fixture
def clock(env):
    """Pins the assistant's clock (``nettrouble.core.clock.now``) for one test:
    ``clock("2020-07-15T11:00:00+09:00")`` or an aware datetime, as often as the test needs;
    ``clock("")`` unpins it, so that a CLOCK_OVERRIDE in the developer's environment does not
    leak into the test."""

    def pin(moment: Union[str, datetime]) -> None:
        env(CLOCK_OVERRIDE=moment.isoformat() if isinstance(moment, datetime) else moment)

    return pin


@pytest.fixture
def run_action():
    """Runs a custom action on a saved tracker as the action server does:
    ``events, messages = run_action(action, tracker, domain=None)``; each message carries the
    text and buttons the user reads (tests/fakes/dispatcher.py, imported here because it loads
    Rasa's response generator)."""
    from tests.fakes.dispatcher import run_action as run

    return run


# The database tests run on SQLite, and again on PostgreSQL when TEST_POSTGRES_URL names a
# disposable database (its tables are dropped before and after each test; see
# scripts/postgres_tests.sh).
DATABASE_BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="TEST_POSTGRES_URL is not set"),
    ),
]


def _drop_every_table(url):
    """Empties the disposable PostgreSQL database: the service's tables and Alembic's
    alembic_version, which would otherwise tell the next prepare() that there is nothing to do."""
    from sqlalchemy import MetaData

    from nettrouble.core import db

    found = MetaData()
    with db.engine(url).begin() as connection:
        found.reflect(connection)
        found.drop_all(connection)


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request, tmp_path):
    """The URL of an empty service database, no schema yet (SQLite file or TEST_POSTGRES_URL)."""
    from nettrouble.core import db

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
    else:
        url = os.environ["TEST_POSTGRES_URL"]
        _drop_every_table(url)
        yield url
        _drop_every_table(url)
    db.dispose_all()


@pytest.fixture(scope="session")
def newest_schema_file(tmp_path_factory):
    """A SQLite service database upgraded to the newest revision, once per session: running the
    Alembic revisions takes a tenth of a second, copying their result next to nothing. The
    revisions themselves run on empty databases in tests/test_migrations.py."""
    from nettrouble.core import db

    path = tmp_path_factory.mktemp("newest_schema") / "service.db"
    made = db.create(f"sqlite:///{path}")
    db.upgrade_schema(made)
    made.dispose()  # its last connection closed, the write-ahead log is back in the file
    return path


@pytest.fixture
def migrated_sqlite(newest_schema_file):
    """``migrated_sqlite(path)`` puts an empty service database at the newest revision at ``path``
    and returns its URL: for tests whose code opens the database itself (DATABASE_URL)."""

    def place(path: Path) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(newest_schema_file, path)
        return f"sqlite:///{path}"

    return place


@pytest.fixture
def service_database(database_url, migrated_sqlite):
    """A prepared, empty service database (cases, ledger, outbox); on SQLite a copy of the one
    upgraded once per session, which prepare() finds at the newest revision."""
    from nettrouble.core import db

    if database_url.startswith("sqlite:///"):
        migrated_sqlite(Path(database_url[len("sqlite:///") :]))
    return db.prepare(database_url)


@pytest.fixture(autouse=True)
def action_server_up(monkeypatch):
    """Channel tests run without an action server; unless a test says otherwise, the channels
    take it to be up (tests/test_channel_faults.py checks the case where it is not)."""
    from addons.channels import turns

    async def reachable():
        return True

    monkeypatch.setattr(turns.action_server, "reachable", reachable)


@pytest.fixture(scope="session")
def responses():
    """The first variant of every response in domain.yml, by name."""
    from tests.project_files import domain

    return {name: variants[0] for name, variants in domain()["responses"].items()}


@pytest.fixture(scope="session")
def messages_of():
    """The bot messages a channel is given for a response: its text and buttons."""
    from addons.channels import render

    return lambda response: render.bot_messages([{"text": response["text"], "buttons": response.get("buttons")}])
