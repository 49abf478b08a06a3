"""The case store: one case per conversation and trouble, atomic creation, lookup, filters,
status changes, caller check and export."""

import csv
import io
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select

from nettrouble.cases import export, schema, store, summary
from nettrouble.cases.reference import damm, parse_reference
from nettrouble.cases.schema import CaseDraft, CaseError
from nettrouble.core.clock import JST
from nettrouble.core.masking import EMAIL_MASK, PHONE_MASK
from nettrouble.eligibility import identity, ledger
from nettrouble.notify import outbox

SECRET = "test-person-key-secret"
NUMBER = "090-1234-5678"


def jst(*args):
    return datetime(*args, tzinfo=JST)


@pytest.fixture
def engine(service_database, env):
    env(PERSON_KEY_SECRET=SECRET, HANDOFF_WEBHOOK_URL="", CLOCK_OVERRIDE="")
    return service_database


def person(number=NUMBER):
    return identity.person_key(number, SECRET)


def draft(**overrides):
    values = dict(
        conversation_id="conv-1",
        channel="rest",
        trouble_type="defamation",
        triage_answers={"platform": "X", "ongoing": True, "evidence_saved": False},
        urgency=["danger"],
        articles_shown=["retweet-defamation"],
        summary="Xで悪口を書かれています",
    )
    values.update(overrides)
    return CaseDraft(**values)


def count(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def test_prepare_creates_the_tables(engine):
    names = set(inspect(engine).get_table_names())
    assert {"cases", "case_status_events", "outbox", "free_consultations"} <= names
    constraints = {c["name"] for c in inspect(engine).get_unique_constraints("cases")}
    assert {"uq_cases_reference", "uq_cases_conversation_trouble"} <= constraints


def test_open_case_records_what_the_agent_needs(engine):
    case, created = store.open_case(engine, draft(), at=jst(2026, 7, 31, 23, 59))
    assert created
    assert parse_reference(case.reference).status == "ok" and case.reference.startswith("NT-2607-")
    assert case.created_at == jst(2026, 7, 31, 23, 59) and case.created_at.utcoffset() == timedelta(hours=9)
    assert (case.channel, case.conversation_id, case.trouble_type) == ("rest", "conv-1", "defamation")
    assert case.triage_answers == {"platform": "X", "ongoing": True, "evidence_saved": False}
    assert case.urgency == ["danger"] and case.articles_shown == ["retweet-defamation"]
    assert case.status == "new" and case.status_changed_by == schema.SYSTEM
    assert case.eligibility is None and case.person_key is None
    assert store.get_case(engine, case.reference) == case
    history = store.status_history(engine, case.reference)
    assert [(e.from_status, e.to_status, e.by) for e in history] == [(None, "new", schema.SYSTEM)]


def test_reference_month_follows_japan_time(engine):
    case, _ = store.open_case(engine, draft(), at=datetime(2026, 7, 31, 15, 0, tzinfo=timezone.utc))
    assert case.reference.startswith("NT-2608-")
    assert case.created_at == jst(2026, 8, 1, 0, 0)


def test_asking_again_returns_the_same_case_with_later_answers_but_the_same_summary(engine):
    first, created = store.open_case(engine, draft(), at=jst(2026, 7, 15, 11, 0))
    again, created_again = store.open_case(
        engine,
        draft(
            triage_answers={"ongoing": False, "money_lost": True},
            urgency=["minor", "danger"],
            articles_shown=["anonymous-slander"],
            summary="追加の説明です",
        ),
        at=jst(2026, 7, 15, 11, 5),
    )
    assert created and not created_again and again.reference == first.reference
    assert again.created_at == first.created_at and again.updated_at == jst(2026, 7, 15, 11, 5)
    assert again.triage_answers == {"platform": "X", "ongoing": False, "evidence_saved": False, "money_lost": True}
    assert again.urgency == ["danger", "minor"]
    assert again.articles_shown == ["retweet-defamation", "anonymous-slander"]
    assert again.summary == first.summary  # decided once: a replayed handoff cannot rewrite it
    assert count(engine, schema.cases) == 1 and count(engine, schema.case_status_events) == 1


def test_a_new_trouble_in_the_same_conversation_is_a_new_case(engine):
    first, _ = store.open_case(engine, draft())
    second, created = store.open_case(engine, draft(trouble_type="phishing"))
    assert created and second.reference != first.reference
    unknown, created_unknown = store.open_case(engine, draft(trouble_type=None))
    assert created_unknown and unknown.trouble_type == "unknown"
    assert store.open_case(engine, draft(trouble_type="not-a-type"))[0].reference == unknown.reference
    assert count(engine, schema.cases) == 3


def test_reference_collision_draws_a_new_number(engine, monkeypatch):
    taken, _ = store.open_case(engine, draft(conversation_id="other"))
    fresh = "NT-2607-00001-" + str(damm("260700001"))
    drawn = iter([taken.reference, taken.reference, fresh])
    monkeypatch.setattr(store, "new_reference", lambda moment: next(drawn))
    case, created = store.open_case(engine, draft())
    assert created and case.reference == fresh and count(engine, schema.cases) == 2


def test_endless_collisions_give_up_with_nothing_written(engine, monkeypatch):
    taken, _ = store.open_case(engine, draft(conversation_id="other"))
    monkeypatch.setattr(store, "new_reference", lambda moment: taken.reference)
    with pytest.raises(CaseError) as error:
        store.open_case(engine, draft())
    assert error.value.code == "busy" and count(engine, schema.cases) == 1


def test_concurrent_handoffs_for_one_trouble_make_one_case(engine):
    barrier = threading.Barrier(8)
    results, errors = [], []

    def handoff():
        barrier.wait()
        try:
            results.append(store.open_case(engine, draft()))
        except Exception as error:  # noqa: BLE001 — collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=handoff) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({case.reference for case, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert count(engine, schema.cases) == 1 and count(engine, schema.case_status_events) == 1


def test_eligible_case_reserves_the_free_consultation(engine):
    key = person()
    case, _ = store.open_case(engine, draft(eligibility="eligible", eligibility_campaign="sns-2020", person_key=key))
    assert case.eligibility == "eligible" and case.person_key == key
    assert ledger.holder(engine, "sns-2020", key).case_reference == case.reference
    # The same case again keeps it.
    again, _ = store.open_case(engine, draft(eligibility="eligible", eligibility_campaign="sns-2020", person_key=key))
    assert again.eligibility == "eligible"


def test_second_case_of_the_same_person_is_already_used(engine):
    key = person()
    first, _ = store.open_case(engine, draft(eligibility="eligible", eligibility_campaign="sns-2020", person_key=key))
    second, _ = store.open_case(
        engine,
        draft(conversation_id="conv-2", eligibility="eligible", eligibility_campaign="sns-2020", person_key=key),
    )
    assert second.eligibility == "already_used"
    assert ledger.holder(engine, "sns-2020", key).case_reference == first.reference


def test_a_later_handoff_never_changes_the_decision_the_claim_or_the_summary(engine):
    key = person()
    case, _ = store.open_case(
        engine, draft(eligibility="eligible", eligibility_campaign="sns-2020", person_key=key, summary="最初の説明")
    )
    for forged in (
        draft(eligibility="member", eligibility_campaign="other", person_key=person("08011112222"), summary="上書き"),
        draft(eligibility=None, summary=""),
    ):
        again, created = store.open_case(engine, forged)
        assert not created and again.reference == case.reference
        assert (again.eligibility, again.eligibility_campaign, again.person_key, again.summary, again.claim_state) == (
            "eligible",
            "sns-2020",
            key,
            "最初の説明",
            ledger.PENDING,
        )
    assert ledger.holder(engine, "sns-2020", key).case_reference == case.reference


def test_an_unproved_claim_is_pending_and_a_second_unproved_one_finds_the_number_held(engine):
    key = person()
    first, _ = store.open_case(engine, draft(eligibility="eligible", eligibility_campaign="sns-2020", person_key=key))
    second, _ = store.open_case(
        engine, draft(conversation_id="conv-2", eligibility="eligible", eligibility_campaign="sns-2020", person_key=key)
    )
    assert (first.claim_state, second.eligibility, second.claim_state) == (ledger.PENDING, "already_used", None)


def test_a_proved_claim_takes_the_number_and_the_pending_case_records_its_release(engine):
    key = person()
    typed_by_someone_else, _ = store.open_case(
        engine,
        draft(conversation_id="web-attacker", eligibility="eligible", eligibility_campaign="sns-2020", person_key=key),
    )
    owner, _ = store.open_case(
        engine,
        draft(
            conversation_id="sms-owner",
            eligibility="eligible",
            eligibility_campaign="sns-2020",
            person_key=key,
            proved_by=ledger.VIA_SMS_SENDER,
        ),
    )
    assert (owner.eligibility, owner.claim_state) == ("eligible", ledger.CONFIRMED)
    assert store.get_case(engine, typed_by_someone_else.reference).claim_state == ledger.RELEASED
    assert ledger.holder(engine, "sns-2020", key).case_reference == owner.reference


def test_a_proof_that_the_user_did_not_give_is_ignored(engine):
    case, _ = store.open_case(
        engine,
        draft(
            eligibility="eligible", eligibility_campaign="sns-2020", person_key=person(), proved_by="because_i_say_so"
        ),
    )
    assert case.claim_state == ledger.PENDING


def test_staff_confirming_the_caller_confirms_the_claim(engine):
    key = person()
    attacker, _ = store.open_case(
        engine, draft(conversation_id="web-a", eligibility="eligible", eligibility_campaign="sns-2020", person_key=key)
    )
    owner, _ = store.open_case(
        engine, draft(conversation_id="web-b", eligibility="eligible", eligibility_campaign="sns-2020", person_key=key)
    )
    assert owner.eligibility == "already_used"
    assert store.confirm_caller(engine, owner.reference, "080-9999-0000") == (schema.NO_MATCH, None)
    assert store.confirm_caller(engine, owner.reference, NUMBER) == (store.CONFIRMED, None)
    confirmed = store.get_case(engine, owner.reference)
    assert (confirmed.eligibility, confirmed.claim_state) == ("eligible", ledger.CONFIRMED)
    assert store.get_case(engine, attacker.reference).claim_state == ledger.RELEASED
    # the attacker's own call cannot take it back: the claim is confirmed now
    assert store.confirm_caller(engine, attacker.reference, NUMBER) == (store.HELD_ELSEWHERE, owner.reference)
    assert store.get_case(engine, attacker.reference).eligibility == "already_used"


def test_confirming_a_case_outside_the_free_consultation_claims_nothing(engine):
    case, _ = store.open_case(engine, draft(person_key=person(), eligibility="member"))
    assert store.confirm_caller(engine, case.reference, NUMBER) == (store.NO_CLAIM, None)
    assert count(engine, ledger.free_consultations) == 0


def test_a_pending_claim_past_its_time_reads_expired(engine):
    key = person()
    case, _ = store.open_case(
        engine,
        draft(eligibility="eligible", eligibility_campaign="sns-2020", person_key=key),
        at=jst(2026, 7, 15, 11, 0),
        pending_for=timedelta(hours=1),
    )
    assert store.claim_state_at(engine, case, jst(2026, 7, 15, 11, 30)) == ledger.PENDING
    assert store.claim_state_at(engine, case, jst(2026, 7, 15, 12, 0)) == ledger.EXPIRED


def test_eligible_without_person_key_is_recorded_undecided(engine):
    case, _ = store.open_case(engine, draft(eligibility="eligible", eligibility_campaign="sns-2020"))
    assert case.eligibility is None and count(engine, ledger.free_consultations) == 0


def test_a_phone_number_never_reaches_the_store(engine):
    case, _ = store.open_case(
        engine,
        draft(
            conversation_id="+819012345678",
            person_key="09012345678",
            triage_answers={"platform": "連絡先 090-1234-5678", "entered_info": ["a@b.jp", 3]},
            summary="私の番号は０９０－１２３４－５６７８、メールはtaro@example.com です",
        ),
    )
    assert case.person_key is None
    assert case.conversation_id.startswith("hmac:") and "9012345678" not in case.conversation_id
    assert case.triage_answers == {"platform": f"連絡先 {PHONE_MASK}", "entered_info": [EMAIL_MASK, 3]}
    assert case.summary == f"私の番号は{PHONE_MASK}、メールは{EMAIL_MASK} です"
    # The same sender gets the same key, so the conversation still has one case.
    assert store.open_case(engine, draft(conversation_id="+819012345678"))[0].reference == case.reference


def test_hostile_drafts_are_cleaned_not_stored_raw(engine):
    case, _ = store.open_case(
        engine,
        draft(
            channel="x" * 500,
            urgency=["danger", "danger", "'; DROP TABLE cases; --", 7, None],
            triage_answers={"platform": "y" * 10_000, 5: "bad key", "money_amount": float("nan"), "k" * 100: 1},
            articles_shown="one-article",
            summary="z" * 100_000,
        ),
    )
    assert len(case.channel) == 40 and case.urgency == ["danger"]
    assert case.triage_answers == {"platform": "y" * schema.MAX_ANSWER_CHARS, "money_amount": None}
    assert case.articles_shown == ["one-article"] and len(case.summary) == schema.SUMMARY_CHARS
    for bad in ("", "   ", None, "c" * 300):
        with pytest.raises(CaseError):
            store.open_case(engine, draft(conversation_id=bad))


def test_a_failure_inside_the_transaction_leaves_nothing(engine, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "enqueue", broken)
    with pytest.raises(RuntimeError):
        store.open_case(
            engine,
            draft(eligibility="eligible", eligibility_campaign="sns-2020", person_key=person()),
            notify=True,
        )
    for table in (schema.cases, schema.case_status_events, outbox.outbox, ledger.free_consultations):
        assert count(engine, table) == 0


def test_outbox_row_is_written_with_the_case_when_notifying(engine, env):
    store.open_case(engine, draft(conversation_id="quiet"))
    assert count(engine, outbox.outbox) == 0
    env(HANDOFF_WEBHOOK_URL="http://127.0.0.1:9/hook")
    case, _ = store.open_case(
        engine, draft(person_key=person(), eligibility="eligible", eligibility_campaign="sns-2020")
    )
    store.open_case(engine, draft())  # asking again does not notify again
    with engine.connect() as connection:
        rows = connection.execute(select(outbox.outbox)).all()
    assert len(rows) == 1 and rows[0].kind == schema.CASE_CREATED
    assert rows[0].payload["reference"] == case.reference
    assert "person_key" not in rows[0].payload and rows[0].payload["eligibility"] == "eligible"


def test_lookup_statuses(engine):
    case, _ = store.open_case(engine, draft())
    assert store.lookup(engine, case.reference.lower().replace("-", "")) == ("ok", case)
    typo = case.reference[:-1] + str((int(case.reference[-1]) + 1) % 10)
    assert store.lookup(engine, typo) == ("bad_check_digit", None)
    assert store.lookup(engine, "NT-12") == ("malformed", None)
    assert store.lookup(engine, "x" * 10_000) == ("malformed", None)
    unknown = "NT-2001-00000-" + str(damm("200100000"))
    assert store.lookup(engine, unknown) == ("unknown", None)
    assert store.get_case(engine, unknown) is None and store.get_case(engine, None) is None


@pytest.fixture
def several(engine):
    made = {}
    made["a"] = store.open_case(engine, draft(conversation_id="a", urgency=[]), at=jst(2026, 7, 1, 0, 30))[0]
    made["b"] = store.open_case(
        engine,
        draft(conversation_id="b", trouble_type="phishing", urgency=["self_harm", "minor"]),
        at=jst(2026, 7, 2, 12, 0),
    )[0]
    made["c"] = store.open_case(
        engine, draft(conversation_id="c", eligibility="not_docomo"), at=jst(2026, 7, 3, 23, 59)
    )[0]
    store.change_status(engine, made["b"].reference, "in_progress", "agent-1")
    return made


def refs(found):
    return [case.reference for case in found]


def test_list_and_filter(engine, several):
    a, b, c = several["a"], several["b"], several["c"]
    assert refs(store.list_cases(engine)) == [c.reference, b.reference, a.reference]
    assert refs(store.list_cases(engine, status="in_progress")) == [b.reference]
    assert refs(store.list_cases(engine, trouble_type="phishing")) == [b.reference]
    assert refs(store.list_cases(engine, eligibility="not_docomo")) == [c.reference]
    assert refs(store.list_cases(engine, eligibility="none")) == [b.reference, a.reference]
    assert refs(store.list_cases(engine, urgency="minor")) == [b.reference]
    assert refs(store.list_cases(engine, urgency="danger")) == [c.reference]
    assert refs(store.list_cases(engine, urgency="none")) == [a.reference]
    assert refs(store.list_cases(engine, limit=1, offset=1)) == [b.reference]


def test_date_filters_are_japan_dates_inclusive(engine, several):
    a, b, c = several["a"], several["b"], several["c"]
    # a was created 2026-07-01 00:30 in Japan, which is still 30 June in UTC.
    assert refs(store.list_cases(engine, date_from=date(2026, 7, 1), date_to=date(2026, 7, 1))) == [a.reference]
    assert refs(store.list_cases(engine, date_to=date(2026, 6, 30))) == []
    assert refs(store.list_cases(engine, date_from=date(2026, 7, 3))) == [c.reference]
    assert refs(store.list_cases(engine, date_from=date(2026, 7, 2), date_to=date(2026, 7, 3))) == [
        c.reference,
        b.reference,
    ]
    assert refs(store.list_cases(engine, date_from="2026-07-03", date_to=" 2026-07-03 ")) == [c.reference]
    moment = datetime(2026, 7, 2, 3, 0, tzinfo=timezone.utc)  # 12:00 in Japan, exclusive end
    assert refs(store.list_cases(engine, date_to=moment)) == [a.reference]


@pytest.mark.parametrize(
    "filters",
    [
        dict(status="open"),
        dict(urgency="scary"),
        dict(limit=0),
        dict(limit=10_000),
        dict(offset=-1),
        dict(limit="5"),
        dict(date_from="2026-13-01"),
        dict(date_to="yesterday"),
        dict(date_from=20260701),
    ],
)
def test_bad_filters_are_refused(engine, filters):
    with pytest.raises(CaseError) as error:
        store.list_cases(engine, **filters)
    assert error.value.code == "invalid"


def test_status_flow_with_audit_trail(engine):
    case, _ = store.open_case(engine, draft())
    ref = case.reference
    assert store.change_status(engine, ref, "in_progress", " agent-1 ").status_changed_by == "agent-1"
    assert store.change_status(engine, ref, "new", "agent-1").status == "new"  # back to the queue
    assert store.change_status(engine, ref, "in_progress", "agent-2").status == "in_progress"
    closed = store.change_status(engine, ref, "closed", "agent-2")
    assert closed.status == "closed" and closed.status_changed_by == "agent-2"
    history = store.status_history(engine, ref)
    assert [(e.from_status, e.to_status, e.by) for e in history] == [
        (None, "new", schema.SYSTEM),
        ("new", "in_progress", "agent-1"),
        ("in_progress", "new", "agent-1"),
        ("new", "in_progress", "agent-2"),
        ("in_progress", "closed", "agent-2"),
    ]
    assert all(e.at.utcoffset() == timedelta(hours=9) for e in history)


def test_status_rules(engine):
    case, _ = store.open_case(engine, draft())
    ref = case.reference

    def refused(new_status, who="agent", code="not_allowed", **kwargs):
        with pytest.raises(CaseError) as error:
            store.change_status(engine, ref, new_status, who, **kwargs)
        assert error.value.code == code

    refused("closed")  # new must be taken in hand first
    refused("new")  # no change is not a change
    refused("done", code="invalid")
    refused("in_progress", who="", code="invalid")
    refused("in_progress", who="x" * 101, code="invalid")
    store.change_status(engine, ref, "in_progress", "agent")
    store.change_status(engine, ref, "closed", "agent")
    refused("in_progress")  # closed is final...
    refused("new", reopen=True)  # ...and reopening goes back to in_progress only
    assert store.change_status(engine, ref, "in_progress", "lead", reopen=True).status == "in_progress"
    with pytest.raises(CaseError) as error:
        store.change_status(engine, "NT-2001-00000-" + str(damm("200100000")), "in_progress", "agent")
    assert error.value.code == "unknown"


def test_two_agents_at_once_one_wins(engine, monkeypatch):
    case, _ = store.open_case(engine, draft())
    stale = store.get_case(engine, case.reference)
    store.change_status(engine, case.reference, "in_progress", "agent-1")
    # agent-2 read the case while it was still new.
    monkeypatch.setattr(store, "get_case", lambda engine, reference: stale)
    with pytest.raises(CaseError) as error:
        store.change_status(engine, case.reference, "in_progress", "agent-2")
    assert error.value.code == "conflict"
    monkeypatch.undo()
    assert len(store.status_history(engine, case.reference)) == 2


def test_matches_person(engine):
    with_key, _ = store.open_case(
        engine, draft(person_key=person(), eligibility="eligible", eligibility_campaign="sns-2020")
    )
    without, _ = store.open_case(engine, draft(conversation_id="other"))
    assert store.matches_person(engine, with_key.reference, "０９０ー１２３４ー５６７８") == schema.MATCH
    assert store.matches_person(engine, with_key.reference, "+81 90 1234 5678") == schema.MATCH
    assert store.matches_person(engine, with_key.reference, "080-1234-5678") == schema.NO_MATCH
    assert store.matches_person(engine, with_key.reference, "03-1234-5678") == schema.INVALID_NUMBER
    assert store.matches_person(engine, with_key.reference, "") == schema.INVALID_NUMBER
    assert store.matches_person(engine, without.reference, NUMBER) == schema.NO_PERSON_KEY
    assert store.matches_person(engine, "NT-0000", NUMBER) == schema.UNKNOWN


def test_export_csv(engine, several):
    store.open_case(
        engine,
        draft(
            conversation_id="d",
            summary='=HYPERLINK("http://evil")',
            person_key=person(),
            eligibility="eligible",
            eligibility_campaign="sns-2020",
        ),
        at=jst(2026, 7, 4, 9, 0),
    )
    text = export.export_csv(engine)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == list(export.CSV_COLUMNS)
    assert [row["conversation_id"] for row in rows] == ["d", "c", "b", "a"]
    assert rows[0]["summary"] == '\'=HYPERLINK("http://evil")'
    assert rows[2]["urgency"] == '["self_harm", "minor"]' and rows[2]["status"] == "in_progress"
    assert rows[3]["created_at"] == "2026-07-01T00:30:00+09:00"
    assert person() not in text and "person_key" not in text
    only = list(csv.DictReader(io.StringIO(export.export_csv(engine, trouble_type="phishing"))))
    assert [row["conversation_id"] for row in only] == ["b"]
    with pytest.raises(CaseError):
        export.export_csv(engine, status="bogus")


def test_summarise_keeps_recent_words_masked_and_short():
    messages = ["最初の説明" * 100, "電話は090-1234-5678です", "  ", "最後のひとこと"]
    text = summary.summarise(messages)
    assert len(text) == schema.SUMMARY_CHARS and text.startswith("…")
    assert text.endswith(f"電話は{PHONE_MASK}です / 最後のひとこと")
    assert summary.summarise(["a", "b"]) == "a / b" and summary.summarise([]) == ""
    # A number right at the cut is masked before cutting, so no digits of it survive.
    cut = summary.summarise(["x" * 390 + "090-1234-5678"], limit=20)
    assert "5678" not in cut and PHONE_MASK in cut


def test_export_csv_has_the_holder_and_the_closing_reason(engine):
    case, _ = store.open_case(engine, draft(), at=jst(2026, 7, 15, 10, 0))
    open_row = list(csv.DictReader(io.StringIO(export.export_csv(engine))))[0]
    assert (open_row["assigned_to"], open_row["assigned_at"], open_row["closing_reason"]) == ("", "", "")
    store.take(engine, case.reference, "agent-1", jst(2026, 7, 15, 10, 5))
    store.close(engine, case.reference, "referred_police", "agent-1", jst(2026, 7, 15, 10, 30))
    row = list(csv.DictReader(io.StringIO(export.export_csv(engine))))[0]
    assert (row["assigned_to"], row["assigned_at"], row["closing_reason"], row["status"]) == (
        "agent-1",
        "2026-07-15T10:05:00+09:00",
        "referred_police",
        "closed",
    )


def test_open_cases_come_with_their_history(engine):
    first, _ = store.open_case(engine, draft(conversation_id="first"), at=jst(2026, 7, 15, 9, 0))
    second, _ = store.open_case(engine, draft(conversation_id="second"), at=jst(2026, 7, 16, 9, 0))
    done, _ = store.open_case(engine, draft(conversation_id="done"), at=jst(2026, 7, 15, 8, 0))
    store.take(engine, first.reference, "agent-1", jst(2026, 7, 16, 10, 0))
    store.take(engine, done.reference, "agent-1", jst(2026, 7, 16, 10, 0))
    store.close(engine, done.reference, "duplicate", "agent-1", jst(2026, 7, 16, 10, 1))
    found = store.open_cases(engine)
    assert [(case.reference, [e.to_status for e in history]) for case, history in found] == [
        (first.reference, ["new", "in_progress"]),
        (second.reference, ["new"]),
    ]
    assert [case.reference for case, _ in store.open_cases(engine, created_on=date(2026, 7, 16))] == [second.reference]
