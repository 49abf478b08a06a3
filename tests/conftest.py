import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import os  # noqa: E402

import pytest  # noqa: E402

# The database tests run on SQLite, and again on PostgreSQL when TEST_POSTGRES_URL names a
# disposable database (its tables are dropped before and after each test; see
# scripts/postgres_tests.sh).
DATABASE_BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not os.environ.get("TEST_POSTGRES_URL"), reason="TEST_POSTGRES_URL is not set")),
]


def _drop_every_table(url):
    """Empties the disposable PostgreSQL database: the service's tables and Alembic's
    alembic_version, which would otherwise tell the next prepare() that there is nothing to do."""
    from sqlalchemy import MetaData

    from nettrouble import db

    found = MetaData()
    with db.engine(url).begin() as connection:
        found.reflect(connection)
        found.drop_all(connection)


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request, tmp_path):
    """The URL of an empty service database, no schema yet (SQLite file or TEST_POSTGRES_URL)."""
    from nettrouble import db

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
    else:
        url = os.environ["TEST_POSTGRES_URL"]
        _drop_every_table(url)
        yield url
        _drop_every_table(url)
    db.dispose_all()


@pytest.fixture
def service_database(database_url):
    """A prepared, empty service database (cases, ledger, outbox)."""
    from nettrouble import db

    return db.prepare(database_url)


@pytest.fixture(autouse=True)
def action_server_up(monkeypatch):
    """Channel tests run without an action server; unless a test says otherwise, the channels
    take it to be up (tests/test_channel_faults.py checks the case where it is not)."""
    from addons.channels import turns

    async def reachable():
        return True

    monkeypatch.setattr(turns.action_server, "reachable", reachable)


@pytest.fixture(scope="module")
def so():
    """scripts/scaleout_test.py as a module, for the tests of its checks and its capacity phase."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("scaleout_test", ROOT / "scripts" / "scaleout_test.py")
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the class is created.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture(scope="session")
def responses():
    """The first variant of every response in domain.yml, by name."""
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {name: variants[0] for name, variants in domain["responses"].items()}


@pytest.fixture(scope="session")
def messages_of():
    """The bot messages a channel is given for a response: its text and buttons."""
    from addons.channels import render

    return lambda response: render.bot_messages([{"text": response["text"], "buttons": response.get("buttons")}])
