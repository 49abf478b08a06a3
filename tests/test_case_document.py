"""The one case JSON: what the console API, the webhook and the tickets get, checked against the
documented schema (docs/case-schema.json and docs/case-schema.md), whose codes must be the
code's."""

import json
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest

from console import views
from nettrouble.cases import document as document_module
from nettrouble.cases import schema, store
from nettrouble.cases.document import SCHEMA_VERSION, case_document
from nettrouble.cases.schema import CaseDraft
from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.eligibility import ledger, rules

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMA = json.loads((DOCS / "case-schema.json").read_text(encoding="utf-8"))
OPTIONAL = {"transcript"}


def check_document(document):
    """Raises unless ``document`` is a case document as documented: valid under the schema,
    with exactly the documented fields and times with their offset."""
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert set(SCHEMA["properties"]) - OPTIONAL <= set(document) <= set(SCHEMA["properties"])
    for name, rule in SCHEMA["properties"].items():
        if rule.get("format") == "date-time" and document.get(name) is not None:
            assert datetime.fromisoformat(document[name]).utcoffset() is not None, name


@pytest.fixture
def engine(service_database, env, clock):
    env(PERSON_KEY_SECRET="test-secret")
    clock("")
    return service_database


def full_case(engine):
    return store.open_case(
        engine,
        CaseDraft(
            conversation_id="doc-1",
            channel="line",
            trouble_type="defamation",
            triage_answers={"platform": "X", "ongoing": True, "money_amount": 20000, "evidence": ["screenshot"]},
            urgency=["minor", "danger"],
            eligibility="eligible",
            eligibility_campaign="sns-2020",
            person_key="b" * 64,
            articles_shown=["anonymous-slander"],
            summary="Xで悪口を 090-1234-5678",
        ),
        notify=False,
    )[0]


def test_a_case_makes_a_valid_versioned_document_without_the_person_key(engine):
    case = full_case(engine)
    document = case_document(case)
    check_document(document)
    assert document["schema_version"] == SCHEMA_VERSION == 1
    assert document["reference"] == case.reference and document["urgency"] == ["minor", "danger"]
    assert document["caller_check_available"] is True and "transcript" not in document
    text = json.dumps(document, ensure_ascii=False)
    assert "b" * 64 not in text and "person_key" not in document and "id" not in document
    assert "090-1234-5678" not in text


def test_a_bare_case_is_valid_too(engine):
    case, _ = store.open_case(engine, CaseDraft(conversation_id="bare"), notify=False)
    document = case_document(case)
    check_document(document)
    assert document["trouble_type"] == "unknown" and document["eligibility"] is None
    assert document["caller_check_available"] is False and document["urgency"] == []


def test_a_transcript_is_included_only_when_given(engine):
    case = full_case(engine)
    transcript = [{"from": "user", "text": "こんにちは"}]
    with_it = case_document(case, transcript=transcript)
    check_document(with_it)
    assert with_it["transcript"] == transcript
    assert {k: v for k, v in with_it.items() if k != "transcript"} == case_document(case)


def test_the_console_api_gives_the_case_document(engine):
    case = full_case(engine)
    assert views.case_json(case) == case_document(case)
    assert views.case_json(case, transcript=[])["transcript"] == []


def test_a_field_missing_or_of_the_wrong_type_is_caught(engine):
    document = case_document(full_case(engine))
    for broken in (
        {**document, "urgency": ["panic"]},
        {**document, "schema_version": 2},
        {**document, "created_at": 5},
        {k: v for k, v in document.items() if k != "status"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check_document(broken)
    with pytest.raises(AssertionError):
        check_document({**document, "undocumented": 1})


def test_the_documented_codes_are_the_codes_of_the_code():
    properties = SCHEMA["properties"]
    assert properties["trouble_type"]["enum"] == list(TROUBLE_TYPES) + [schema.UNKNOWN]
    assert set(properties["urgency"]["items"]["enum"]) == set(store.URGENCY_FLAGS)
    assert properties["status"]["enum"] == list(schema.STATUSES)
    assert set(properties["claim_state"]["enum"]) == {
        ledger.PENDING,
        ledger.CONFIRMED,
        ledger.EXPIRED,
        ledger.RELEASED,
        None,
    }
    assert properties["summary"]["maxLength"] == schema.SUMMARY_CHARS
    assert set(document_module.URGENCY_LABELS) == set(store.URGENCY_FLAGS) == set(document_module.URGENCY_ORDER)


def test_the_page_explains_every_field_and_code():
    page = (DOCS / "case-schema.md").read_text(encoding="utf-8")
    for name in SCHEMA["properties"]:
        assert f"| `{name}` |" in page, name
    codes = (
        list(TROUBLE_TYPES)
        + list(store.URGENCY_FLAGS)
        + list(schema.STATUSES)
        + [
            rules.ELIGIBLE,
            rules.ALREADY_USED,
            rules.MEMBER,
            rules.TOPIC_NOT_COVERED,
            rules.NOT_DOCOMO,
            rules.NOT_STARTED,
            rules.ENDED,
            rules.ADVISER_EXCLUDED,
            ledger.PENDING,
            ledger.CONFIRMED,
            ledger.EXPIRED,
            ledger.RELEASED,
        ]
    )
    for code in codes:
        assert f"`{code}`" in page, code
    for flag, label in document_module.URGENCY_LABELS.items():
        assert f"`{flag}` ({label})" in page
