"""The service database's schema under Alembic: a new database reaches the newest revision and
that revision is exactly ``tables.metadata``; databases made by the code before Alembic (today's
schema, and an older one from before claims had states) are upgraded in place with their rows;
preparing again, or from two servers at once, changes nothing.

Each test runs on SQLite and again on PostgreSQL when TEST_POSTGRES_URL is set (conftest.py)."""

import threading
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from nettrouble import migrations
from nettrouble.cases import schema, store
from nettrouble.core import db, tables
from nettrouble.core.clock import JST, now
from nettrouble.eligibility import ledger
from nettrouble.notify import outbox

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE = "NT-2612-0001-7"
PERSON_KEY = "a" * 64
IN_THE_CLAIMS_DAY = datetime(2026, 12, 1, 21, 0, tzinfo=JST)


def head():
    return migrations.scripts().get_current_head()


def load(url, name):
    """Builds a database of an earlier version from its dump, without this version's code."""
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    dump = (FIXTURES / f"{name}.{dialect}.sql").read_text(encoding="utf-8")
    raw = db.create(url).raw_connection()
    try:
        if dialect == "sqlite":
            raw.executescript(dump)
        else:
            raw.cursor().execute(dump)
        raw.commit()
    finally:
        raw.close()


def schema_differences(engine):
    """What Alembic's autogenerate would write for the database, one line per change."""
    with engine.connect() as connection:
        return [
            describe(change) for change in compare_metadata(MigrationContext.configure(connection), tables.metadata)
        ]


def describe(change):
    if isinstance(change, list):  # the changes of one column: (op, schema, table, column, info, old, new)
        return "; ".join(f"{op} {table}.{column}: {old!r} -> {new!r}" for op, _, table, column, _, old, new in change)
    op, *subjects = change
    return " ".join([op] + [getattr(subject, "name", str(subject)) for subject in subjects if subject is not None])


def versions(engine):
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]


def assert_at_head(engine):
    assert versions(engine) == [head()]
    differences = schema_differences(engine)
    assert differences == [], (
        "the database at the newest revision is not the schema of tables.metadata: a table, column or "
        "index changed without a revision. Add one (nettrouble/migrations/__init__.py says how: "
        f'scripts/migration.py new "..."). Differences: {differences}'
    )


def test_a_new_database_reaches_the_newest_revision_which_is_the_metadata(database_url):
    engine = db.prepare(database_url)
    assert_at_head(engine)
    assert "schema_migrations" not in inspect(engine).get_table_names()


def test_a_database_of_the_code_before_alembic_is_upgraded_in_place_with_its_rows(database_url):
    load(database_url, "pre_alembic")
    engine = db.prepare(database_url)

    assert_at_head(engine)
    assert "schema_migrations" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        case = connection.execute(select(schema.cases)).one()
        claim = connection.execute(select(ledger.free_consultations)).one()
        message = connection.execute(select(outbox.outbox)).one()
    assert (case.reference, case.eligibility, case.claim_state, case.triage_answers) == (
        REFERENCE,
        store.ELIGIBLE,
        ledger.PENDING,
        {"platform": "x", "since": "先週"},
    )
    assert (claim.case_reference, claim.person_key, claim.state) == (REFERENCE, PERSON_KEY, ledger.PENDING)
    assert claim.expires_at is not None
    assert (message.case_id, message.kind, message.payload) == (case.id, "case_created", {"reference": REFERENCE})
    # The service's own reads work on the upgraded database.
    assert store.get_case(engine, REFERENCE).claim_state == ledger.PENDING
    # The fixture's claim is pending until the next day.
    assert ledger.holder(engine, "sns-2026", PERSON_KEY, IN_THE_CLAIMS_DAY).case_reference == REFERENCE
    # The queue's columns came with the upgrade (revision 0003): the old case can be taken.
    assert (message.outlet, case.assigned_to) == (outbox.WEBHOOK, None)
    taken = store.take(engine, REFERENCE, "agent-1", IN_THE_CLAIMS_DAY)
    assert (taken.assigned_to, taken.status) == ("agent-1", schema.IN_PROGRESS)


def test_a_database_from_before_claim_states_gets_them_and_the_missing_tables(database_url):
    load(database_url, "pre_claim_states")
    engine = db.prepare(database_url)

    assert_at_head(engine)
    with engine.connect() as connection:
        case = connection.execute(select(schema.cases)).one()
        claim = connection.execute(select(ledger.free_consultations)).one()
        assert connection.execute(select(outbox.outbox.c.case_id)).scalar_one() == case.id
    # Reservations of that time were final: the claim and its case are confirmed.
    assert (case.reference, case.claim_state) == (REFERENCE, ledger.CONFIRMED)
    assert (claim.state, claim.expires_at, claim.confirmed_via) == (ledger.CONFIRMED, None, None)
    assert {"rate_events", "number_codes"} <= set(inspect(engine).get_table_names())


def test_preparing_again_changes_nothing(database_url):
    engine = db.prepare(database_url)
    with engine.begin() as connection:
        connection.execute(
            ledger.free_consultations.insert().values(
                campaign_id="sns-2026", person_key=PERSON_KEY, case_reference=REFERENCE, reserved_at=now()
            )
        )
    # A new process: nothing cached, the database is looked at again.
    db.dispose_all()
    engine = db.prepare(database_url)

    assert_at_head(engine)
    assert ledger.holder(engine, "sns-2026", PERSON_KEY).case_reference == REFERENCE


@pytest.mark.parametrize("made_by", ["nothing", "pre_alembic"])
def test_two_servers_starting_together_upgrade_the_database_once(database_url, made_by):
    if made_by != "nothing":
        load(database_url, made_by)
    # Two engines are two servers: their own connections, no lock shared in this process.
    engines = [db.create(database_url), db.create(database_url)]
    together = threading.Barrier(len(engines))
    failures = []

    def start(engine):
        together.wait()
        try:
            db.upgrade_schema(engine)
        except Exception as error:  # noqa: BLE001 - reported below with the other server's
            failures.append(error)

    servers = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for server in servers:
        server.start()
    for server in servers:
        server.join()
    for engine in engines:
        engine.dispose()

    assert failures == []
    engine = db.prepare(database_url)
    assert_at_head(engine)
    if made_by == "pre_alembic":
        assert store.get_case(engine, REFERENCE) is not None


def test_a_database_at_0003_gets_the_sms_tables_with_its_rows_kept_and_0004_goes_back(database_url):
    from alembic import command

    from nettrouble.channels import sms_usage

    engine = db.create(database_url)
    with engine.begin() as connection:
        command.upgrade(migrations.config(connection), "0003")
        connection.execute(
            ledger.free_consultations.insert().values(
                campaign_id="sns-2026", person_key=PERSON_KEY, case_reference=REFERENCE, reserved_at=now()
            )
        )
    assert not {"sms_conversations", "sms_opt_outs"} & set(inspect(engine).get_table_names())
    engine.dispose()

    engine = db.prepare(database_url)
    assert_at_head(engine)
    assert ledger.holder(engine, "sns-2026", PERSON_KEY).case_reference == REFERENCE
    sms_usage.add(engine, "sms-" + "0" * 32, 3, None)
    sms_usage.opt_out(engine, "sms-" + "0" * 32)
    assert sms_usage.is_opted_out(engine, "sms-" + "0" * 32)

    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "0003")
    assert not {"sms_conversations", "sms_opt_outs"} & set(inspect(engine).get_table_names())
    assert versions(engine) == ["0003"]
