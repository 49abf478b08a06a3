"""The phone team's queue: urgency order, waiting time in business hours, take and assign,
notes, closing with a reason, and who holds what."""

import logging
import threading
from datetime import datetime, timezone

import pytest

from nettrouble.cases import closing_reasons, export, schema, store
from nettrouble.cases.schema import CaseDraft, CaseError
from nettrouble.content import hours
from nettrouble.core.clock import JST
from nettrouble.core.datafiles import DataFileError
from nettrouble.staff import queue

# 2026-07-15 is a Wednesday; 7/17 a Friday; 7/20 海の日.
WEDNESDAY = (2026, 7, 15)


def jst(*args):
    return datetime(*args, tzinfo=JST)


def wed(hour, minute=0):
    return jst(*WEDNESDAY, hour, minute)


@pytest.fixture
def engine(service_database, env, clock):
    env(HANDOFF_WEBHOOK_URL="")
    clock("")
    return service_database


@pytest.fixture
def cal(tmp_path):
    """A calendar of its own, so that an operator's edit of hours.yml cannot move these
    expectations; the threshold is 30 business minutes."""
    path = tmp_path / "hours.yml"
    path.write_text(
        'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon, tue, wed, thu, fri]\n'
        "public_holidays_closed: true\nqueue_wait_alert_minutes: 30\nclosures:\n"
        '  - {id: year_end, name: 年末年始, yearly: {from: "12-29", to: "01-03"}}\n',
        encoding="utf-8",
    )
    return hours.load(path)


def make(engine, name, at, urgency=(), trouble_type="defamation", channel="rest"):
    draft = CaseDraft(
        conversation_id=name, channel=channel, trouble_type=trouble_type, urgency=list(urgency), summary=f"{name}の相談"
    )
    return store.open_case(engine, draft, at=at)[0].reference


def test_every_urgency_flag_has_one_rank():
    ranked = [flag for group in queue.URGENCY_RANKS for flag in group]
    assert sorted(ranked) == sorted(store.URGENCY_FLAGS)
    assert queue.urgency_rank(["minor", "danger"]) == 0
    assert queue.urgency_rank(["sexual_image"]) == 1
    assert queue.urgency_rank([]) == len(queue.URGENCY_RANKS)


def test_order_is_urgency_then_longest_wait(engine, cal):
    made = {
        "plain_old": make(engine, "plain_old", jst(2026, 7, 13, 10, 0)),  # Monday: two days and 2 h
        "minor": make(engine, "minor", wed(11, 0), ["minor"]),
        "danger": make(engine, "danger", wed(11, 30), ["danger"], trouble_type="privacy", channel="line"),
        "image": make(engine, "image", jst(2026, 7, 14, 10, 0), ["sexual_image"]),  # Tuesday
        "self_harm": make(engine, "self_harm", wed(11, 10), ["self_harm"]),
        # Both came in before opening, so both have waited since 10:00: the earlier one first.
        "early": make(engine, "early", wed(8, 0)),
        "later": make(engine, "later", wed(9, 0)),
    }
    done = make(engine, "done", jst(2026, 7, 13, 9, 0), ["danger"])
    store.take(engine, done, "agent-1", wed(10, 0))
    store.close(engine, done, "resolved_by_phone", "agent-1", wed(10, 30))

    items = queue.queue(engine, wed(12, 0), cal=cal)

    assert [item.reference for item in items] == [
        made[name] for name in ("self_harm", "danger", "image", "minor", "plain_old", "early", "later")
    ]
    waited = {item.reference: item.waited_minutes for item in items}
    assert [waited[made[name]] for name in ("self_harm", "danger", "image", "minor", "plain_old", "early")] == [
        50,
        30,
        480 + 120,
        60,
        2 * 480 + 120,
        120,
    ]
    danger = items[1]
    assert (danger.trouble_type, danger.channel, danger.urgency, danger.status) == (
        "privacy",
        "line",
        ["danger"],
        "new",
    )
    assert danger.created_at == wed(11, 30) == danger.waiting_since and danger.assigned_to is None
    assert danger.waited_text == "30分" and items[4].waited_text == "18時間"


@pytest.mark.parametrize(
    "created, now, overdue",
    [
        (wed(10, 0), wed(10, 29), False),
        (wed(10, 0), wed(10, 30), True),  # exactly the threshold is overdue
        (wed(17, 45), jst(2026, 7, 16, 10, 14), False),  # 15 + 14 minutes over the night
        (wed(17, 45), jst(2026, 7, 16, 10, 15), True),
        (jst(2026, 7, 17, 17, 50), jst(2026, 7, 21, 10, 19), False),  # over a weekend and 海の日
        (jst(2026, 7, 17, 17, 50), jst(2026, 7, 21, 10, 20), True),
        (jst(2026, 12, 28, 17, 55), jst(2027, 1, 4, 10, 24), False),  # over 年末年始
        (jst(2026, 12, 28, 17, 55), jst(2027, 1, 4, 10, 25), True),
    ],
)
def test_overdue_from_the_threshold_in_business_minutes(engine, cal, created, now, overdue):
    make(engine, "caller", created)
    [item] = queue.queue(engine, now, cal=cal)
    assert item.overdue is overdue
    assert item.waited_minutes == (30 if overdue else 29)


def test_the_wait_stops_when_taken_and_starts_again_when_handed_back(engine, cal, clock):
    ref = make(engine, "caller", wed(10, 0))
    taken = store.take(engine, ref, "agent-1", wed(10, 40))
    assert (taken.status, taken.assigned_to, taken.assigned_at) == ("in_progress", "agent-1", wed(10, 40))
    [item] = queue.queue(engine, wed(16, 0), cal=cal)
    assert (item.status, item.assigned_to, item.waited_minutes, item.overdue) == ("in_progress", "agent-1", 40, False)

    store.assign(engine, ref, None, "lead", wed(16, 0))  # released by a supervisor
    [item] = queue.queue(engine, wed(16, 20), cal=cal)
    assert (item.status, item.assigned_to, item.waiting_since, item.waited_minutes) == ("new", None, wed(16, 0), 20)

    store.take(engine, ref, "agent-2", wed(16, 30))
    clock(wed(17, 0))  # change_status takes its time from the clock: the audit trail stays in order
    handed_back = store.change_status(engine, ref, "new", "agent-2")  # the agent hands it back
    assert handed_back.assigned_to is None and handed_back.assigned_at is None
    [item] = queue.queue(engine, jst(2026, 7, 16, 10, 30), cal=cal)
    assert (item.waiting_since, item.waited_minutes, item.overdue) == (wed(17, 0), 60 + 30, True)


def test_an_agent_sees_what_nobody_holds_and_their_own(engine, cal):
    free = make(engine, "free", wed(10, 0))
    mine = make(engine, "mine", wed(10, 5))
    theirs = make(engine, "theirs", wed(10, 10))
    store.take(engine, mine, "agent-1", wed(11, 0))
    store.take(engine, theirs, "agent-2", wed(11, 0))
    assert {i.reference for i in queue.queue(engine, wed(12, 0), agent="agent-1", cal=cal)} == {free, mine}
    assert {i.reference for i in queue.queue(engine, wed(12, 0), cal=cal)} == {free, mine, theirs}


def test_the_days_list_is_the_japan_date_of_now(engine, cal):
    make(engine, "yesterday", jst(2026, 7, 15, 23, 59))
    today = make(engine, "today", jst(2026, 7, 16, 0, 0))
    # 16:00 UTC on 7/15 is already 01:00 on 7/16 in Japan.
    now = datetime(2026, 7, 15, 16, 0, tzinfo=timezone.utc)
    assert [i.reference for i in queue.queue(engine, now, today_only=True, cal=cal)] == [today]
    assert len(queue.queue(engine, now, cal=cal)) == 2


def test_two_agents_taking_the_same_case_at_once_one_wins(engine):
    ref = make(engine, "caller", wed(10, 0))
    agents = [f"agent-{n}" for n in range(6)]
    start = threading.Barrier(len(agents))
    outcomes = {}

    def attempt(agent):
        start.wait()
        try:
            outcomes[agent] = store.take(engine, ref, agent, wed(10, 5)).assigned_to
        except CaseError as error:
            outcomes[agent] = error.code

    threads = [threading.Thread(target=attempt, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [agent for agent, outcome in outcomes.items() if outcome == agent]
    assert len(winners) == 1 and len(outcomes) == len(agents)
    assert sorted(outcome for agent, outcome in outcomes.items() if agent not in winners) == ["taken"] * 5
    case = store.get_case(engine, ref)
    assert case.assigned_to == winners[0] and case.status == "in_progress"
    history = store.status_history(engine, ref)
    assert [(e.from_status, e.to_status, e.by, e.assigned_to) for e in history[1:]] == [
        ("new", "in_progress", winners[0], winners[0])
    ]


def test_take_rules(engine, clock):
    ref = make(engine, "caller", wed(10, 0))

    def refused(code, reference=ref, agent="agent-1"):
        with pytest.raises(CaseError) as error:
            store.take(engine, reference, agent, wed(10, 5))
        assert error.value.code == code

    refused("invalid", agent=" ")
    refused("invalid", agent="x" * 101)
    refused("unknown", reference="NT-0000")
    # A case put in progress the old way, without a holder, can still be taken; its status stays.
    clock(wed(10, 5))
    store.change_status(engine, ref, "in_progress", "agent-1")
    taken = store.take(engine, ref, " agent-2 ", wed(10, 6))
    assert (taken.status, taken.assigned_to) == ("in_progress", "agent-2")
    assert store.status_history(engine, ref)[-1] == schema.StatusEvent(
        wed(10, 6), "agent-2", "in_progress", "in_progress", "agent-2"
    )
    refused("taken")
    store.close(engine, ref, "duplicate", "agent-2", wed(10, 10))
    refused("not_allowed")


def test_a_supervisor_reassigns_and_releases(engine, monkeypatch):
    ref = make(engine, "caller", wed(10, 0))
    direct = store.assign(engine, ref, "agent-1", "lead", wed(10, 1))  # a new case straight to someone
    assert (direct.status, direct.assigned_to, direct.status_changed_by) == ("in_progress", "agent-1", "lead")
    moved = store.assign(engine, ref, "agent-2", "lead", wed(10, 2))
    assert (moved.assigned_to, moved.assigned_at, moved.status_changed_at) == ("agent-2", wed(10, 2), wed(10, 1))
    assert store.assign(engine, ref, "agent-2", "lead", wed(10, 3)) == moved  # no change, no event
    released = store.assign(engine, ref, None, "lead", wed(10, 4))
    assert (released.status, released.assigned_to, released.assigned_at) == ("new", None, None)
    assert store.assign(engine, ref, None, "lead", wed(10, 5)) == released
    assert [(e.by, e.from_status, e.to_status, e.assigned_to) for e in store.status_history(engine, ref)[1:]] == [
        ("lead", "new", "in_progress", "agent-1"),
        ("lead", "in_progress", "in_progress", "agent-2"),
        ("lead", "in_progress", "new", None),
    ]
    # Another supervisor took action between this one's read and write.
    stale = store.get_case(engine, ref)
    store.take(engine, ref, "agent-3", wed(10, 6))
    real, stale_once = store.get_case, iter([stale])
    monkeypatch.setattr(store, "get_case", lambda engine, reference: next(stale_once, None) or real(engine, reference))
    with pytest.raises(CaseError) as error:
        store.assign(engine, ref, "agent-1", "lead", wed(10, 7))
    assert error.value.code == "taken"
    monkeypatch.undo()
    assert store.get_case(engine, ref).assigned_to == "agent-3"


def test_notes_newest_last_bounded_and_as_written(engine, caplog):
    caplog.set_level(logging.DEBUG)
    ref = make(engine, "caller", wed(10, 0))
    first = store.add_note(engine, ref, "agent-1", "折り返し希望 090-1234-5678\r\n夕方以降", wed(10, 5))
    assert first == schema.Note(wed(10, 5), "agent-1", "折り返し希望 090-1234-5678\n夕方以降")
    store.add_note(engine, ref, " agent-2 ", "同時刻の二件目", wed(10, 30))
    store.add_note(engine, ref, "agent-1", "\u202e逆\x00順\t確認 ", wed(10, 30))
    found = store.notes(engine, ref)
    assert [(n.author, n.text) for n in found] == [
        ("agent-1", "折り返し希望 090-1234-5678\n夕方以降"),
        ("agent-2", "同時刻の二件目"),
        ("agent-1", "逆順\t確認"),
    ]
    assert all(n.at.utcoffset() == first.at.utcoffset() for n in found)
    assert store.get_case(engine, ref).updated_at == wed(10, 30)
    assert store.add_note(engine, ref, "agent-1", "あ" * schema.MAX_NOTE_CHARS, wed(11, 0)).text == "あ" * 2000
    for bad in ("あ" * (schema.MAX_NOTE_CHARS + 1), "  \r\n ", "", None):
        with pytest.raises(CaseError) as error:
            store.add_note(engine, ref, "agent-1", bad, wed(11, 0))
        assert error.value.code == "invalid"
    with pytest.raises(CaseError) as error:
        store.add_note(engine, "NT-0000", "agent-1", "メモ", wed(11, 0))
    assert error.value.code == "unknown"
    assert store.notes(engine, "NT-0000") == []
    assert len(store.notes(engine, ref)) == 4
    # Staff notes may hold the caller's number: never in a log record, never in the export.
    assert not any("090-1234-5678" in record.getMessage() for record in caplog.records)
    assert "090-1234-5678" not in export.export_csv(engine)


def test_close_needs_a_reason_from_the_file(engine, clock):
    ref = make(engine, "caller", wed(10, 0))
    with pytest.raises(CaseError) as error:
        store.close(engine, ref, "resolved_by_phone", "agent-1", wed(10, 1))
    assert error.value.code == "not_allowed"  # a new case is taken first
    store.take(engine, ref, "agent-1", wed(10, 2))
    for bad in ("solved", "", None, "Resolved_By_Phone"):
        with pytest.raises(CaseError) as error:
            store.close(engine, ref, bad, "agent-1", wed(10, 3))
        assert error.value.code == "invalid"
    assert store.get_case(engine, ref).status == "in_progress" and len(store.status_history(engine, ref)) == 2

    closed = store.close(engine, ref, "referred_other", "agent-1", wed(10, 4))
    assert (closed.status, closed.closing_reason, closed.status_changed_by) == ("closed", "referred_other", "agent-1")
    assert store.status_history(engine, ref)[-1] == schema.StatusEvent(
        wed(10, 4), "agent-1", "in_progress", "closed", None, "referred_other"
    )
    with pytest.raises(CaseError) as error:
        store.close(engine, ref, "other", "agent-1", wed(10, 5))
    assert error.value.code == "not_allowed"
    assert queue.queue(engine, wed(10, 5)) == []
    clock(wed(10, 6))
    reopened = store.change_status(engine, ref, "in_progress", "lead", reopen=True)
    assert reopened.closing_reason is None and store.status_history(engine, ref)[-2].closing_reason == "referred_other"


def test_holdings(engine, cal):
    refs = {
        name: make(engine, name, wed(10, minute), urgency)
        for minute, (name, urgency) in enumerate(
            [("a", []), ("b", ["danger"]), ("c", []), ("d", []), ("e", []), ("f", [])]
        )
    }
    store.take(engine, refs["a"], "agent-1", wed(11, 0))
    store.take(engine, refs["b"], "agent-1", wed(11, 0))
    store.take(engine, refs["c"], "agent-2", wed(11, 0))
    store.take(engine, refs["f"], "agent-2", wed(11, 0))
    store.close(engine, refs["f"], "no_contact", "agent-2", wed(11, 30))

    held = queue.holdings(engine, wed(12, 0), cal=cal)

    assert list(held.by_agent) == ["agent-1", "agent-2"]
    assert [i.reference for i in held.by_agent["agent-1"]] == [refs["b"], refs["a"]]  # danger first
    assert [i.reference for i in held.by_agent["agent-2"]] == [refs["c"]]
    assert held.unassigned == 2


def test_format_wait():
    assert [queue.format_wait(m) for m in (0, 45, 60, 125, 24 * 60)] == ["0分", "45分", "1時間", "2時間5分", "24時間"]


def test_closing_reasons_file():
    codes = [reason.code for reason in closing_reasons.load()]
    assert codes == ["resolved_by_phone", "no_contact", "referred_police", "referred_other", "duplicate", "other"]
    assert "法テラス" in closing_reasons.label("referred_other")
    assert closing_reasons.label("retired_code") == "retired_code" and closing_reasons.label(None) is None


@pytest.mark.parametrize(
    "body, complaint",
    [
        ("reasons: []\n", "top-level 'closing_reasons:'"),
        ("closing_reasons: []\n", "at least one"),
        ("closing_reasons:\n  - {id: done}\n", "has no 'label'"),
        ("closing_reasons:\n  - {id: done, label: ''}\n", "empty 'label'"),
        ("closing_reasons:\n  - {id: done, label: 済}\n  - {id: done, label: 済2}\n", "duplicate id 'done'"),
        ("closing_reasons:\n  - {id: Done, label: 済}\n", "entry 'Done' field 'id'"),
        ("closing_reasons:\n  - {id: 済み, label: 済}\n", "field 'id'"),
        (f"closing_reasons:\n  - {{id: {'a' * 65}, label: 済}}\n", "at most 64"),
    ],
)
def test_mistakes_in_the_closing_reasons_name_the_field(tmp_path, body, complaint):
    path = tmp_path / "closing_reasons.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataFileError) as error:
        closing_reasons.load(path)
    assert str(path) in str(error.value) and complaint in str(error.value)
