"""The fraud-cover pre-check on the case: stored cleaned, replaced by a later pre-check, put on a
case made before it, and shown in the case document, the CSV export and the console's case page."""

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest

from console import auth, templates
from nettrouble.cases import export, schema, store
from nettrouble.cases.document import case_document
from nettrouble.core.clock import JST
from nettrouble.cover import codes

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMA = json.loads((DOCS / "case-schema.json").read_text(encoding="utf-8"))
AT = datetime(2026, 12, 5, 22, 0, tzinfo=JST)
COVERED = dict(
    fraud_cover=codes.MAY_BE_COVERED,
    fraud_cover_estimate=180_000,
    fraud_cover_amount_lost=300_000,
    fraud_cover_provider_pays=120_000,
    fraud_cover_provider_decision=codes.RECOGNISED,
)
COLUMNS = tuple(COVERED)


@pytest.fixture
def engine(service_database, env, clock):
    env(PERSON_KEY_SECRET="test-secret", HANDOFF_WEBHOOK_URL="")
    clock("")
    return service_database


def draft(conversation_id="fraud-1", **fields):
    return schema.CaseDraft(conversation_id=conversation_id, channel="web", trouble_type="payment_fraud", **fields)


def cover_of(case):
    return {name: getattr(case, name) for name in COLUMNS}


def test_the_pre_check_is_stored_with_the_case_and_documented(engine):
    case, created = store.open_case(engine, draft(**COVERED), at=AT, notify=False)
    assert created and cover_of(case) == COVERED
    document = case_document(store.get_case(engine, case.reference))
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert {name: document[name] for name in COLUMNS} == COVERED


def test_a_case_without_a_pre_check_has_none(engine):
    case, _ = store.open_case(engine, draft(), at=AT, notify=False)
    document = case_document(case)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert all(document[name] is None for name in COLUMNS)


@pytest.mark.parametrize(
    "given, kept",
    [
        ({"fraud_cover": "covered"}, {"fraud_cover": None}),
        ({"fraud_cover_estimate": -1}, {"fraud_cover_estimate": None}),
        ({"fraud_cover_amount_lost": 1.5}, {"fraud_cover_amount_lost": None}),
        ({"fraud_cover_provider_pays": True}, {"fraud_cover_provider_pays": None}),
        ({"fraud_cover_amount_lost": 10**11}, {"fraud_cover_amount_lost": None}),
        ({"fraud_cover_provider_decision": "approved"}, {"fraud_cover_provider_decision": None}),
        ({"fraud_cover_provider_decision": codes.UNKNOWN}, {"fraud_cover_provider_decision": codes.UNKNOWN}),
        # A loss beyond 2^31 yen fits (BigInteger on PostgreSQL).
        ({"fraud_cover_amount_lost": 3_000_000_000}, {"fraud_cover_amount_lost": 3_000_000_000}),
    ],
)
def test_what_is_not_the_engines_is_dropped(engine, given, kept):
    case, _ = store.open_case(engine, draft(**given), at=AT, notify=False)
    stored = store.get_case(engine, case.reference)
    assert {name: getattr(stored, name) for name in kept} == kept


def test_a_later_pre_check_replaces_the_earlier_and_a_handoff_without_one_keeps_it(engine):
    first, _ = store.open_case(
        engine,
        draft(fraud_cover=codes.PROVIDER_DECISION_NEEDED, fraud_cover_provider_decision=codes.WAITING),
        at=AT,
        notify=False,
    )
    again, created = store.open_case(engine, draft(**COVERED), at=AT, notify=False)
    assert not created and again.reference == first.reference and cover_of(again) == COVERED
    kept, _ = store.open_case(engine, draft(), at=AT, notify=False)
    assert cover_of(kept) == COVERED


def test_a_pre_check_after_the_reference_goes_onto_that_case(engine):
    assert store.record_fraud_cover(engine, draft(**COVERED), at=AT) is None
    case, _ = store.open_case(engine, draft(), at=AT, notify=False)
    other, _ = store.open_case(engine, draft(conversation_id="someone-else"), at=AT, notify=False)
    later = datetime(2026, 12, 5, 22, 30, tzinfo=JST)
    recorded = store.record_fraud_cover(engine, draft(**COVERED), at=later)
    assert recorded.reference == case.reference and cover_of(recorded) == COVERED
    assert recorded.updated_at == later
    assert cover_of(store.get_case(engine, other.reference)) == dict.fromkeys(COLUMNS)


def test_the_export_has_the_pre_check(engine):
    store.open_case(engine, draft(**COVERED), at=AT, notify=False)
    row = list(csv.DictReader(io.StringIO(export.export_csv(engine))))[0]
    assert {name: row[name] for name in COLUMNS} == {
        "fraud_cover": "may_be_covered",
        "fraud_cover_estimate": "180000",
        "fraud_cover_amount_lost": "300000",
        "fraud_cover_provider_pays": "120000",
        "fraud_cover_provider_decision": "recognised",
    }


def test_the_documented_codes_are_the_engines():
    properties = SCHEMA["properties"]
    assert properties["fraud_cover"]["enum"] == list(codes.OUTCOMES) + [None]
    assert properties["fraud_cover_provider_decision"]["enum"] == list(codes.DECISIONS) + [None]
    assert set(COLUMNS) <= set(SCHEMA["required"])
    page = (DOCS / "case-schema.md").read_text(encoding="utf-8")
    for code in codes.OUTCOMES + codes.DECISIONS:
        assert f"`{code}`" in page, code


def page_of(case):
    session = auth.Session(sid="s", user="agent-1", csrf="c", expires=0.0, role="agent")
    work = templates.CaseWork(transcript=[], notes=[], reasons=[], assignees=[])
    return templates.detail_page(session, case, [], {}, work)


def test_the_case_page_shows_the_result_and_figures(engine):
    case, _ = store.open_case(engine, draft(**COVERED), at=AT, notify=False)
    page = page_of(case)
    assert "不正決済補償の事前確認" in page and "保険会社が判断します" in page
    for shown in ("対象の可能性あり", "18万円", "30万円", "12万円", "不正利用と認めた"):
        assert shown in page, shown


def test_the_case_page_says_nothing_of_a_pre_check_never_done(engine):
    case, _ = store.open_case(engine, draft(), at=AT, notify=False)
    assert "不正決済補償の事前確認" not in page_of(case)


def test_an_undecided_pre_check_shows_what_is_known(engine):
    case, _ = store.open_case(
        engine,
        draft(fraud_cover_amount_lost=52_000, fraud_cover_provider_decision=codes.RECOGNISED),
        at=AT,
        notify=False,
    )
    page = page_of(case)
    assert "未判定" in page and "52,000円" in page and "不正利用と認めた" in page
