"""The console's queue and case work over real (temporary) databases, through Sanic's test
client: the queue's order and overdue marking on a pinned clock, taking (one agent wins),
a supervisor's assignment, notes, closing with a reason, the supervisors' holdings, the masked
transcript from the project's tracker store on the case page, as text and in the API, CSRF on
every new form, and escaping."""

import asyncio
import re
from datetime import datetime

import pytest
from markupsafe import escape

from addons.tracker_store import MaskingSQLTrackerStore
from console.app import create_app
from nettrouble.cases import closing_reasons, schema, store
from nettrouble.cases.tracker_events import tracker_engine
from nettrouble.cases.transcript import case_transcript, notes_text
from nettrouble.content import hours
from nettrouble.core import datafiles, db
from nettrouble.core.clock import JST
from nettrouble.core.datafiles import DataFileError
from nettrouble.staff import agents
from tests.project_files import rasa_domain
from tests.saved_conversations import Conversation, buttons_of
from tests.test_console import USER, Client, api, open_case, set_env

# 2026-07-15 is a Wednesday: the centre is open 10:00-18:00.
NOON = datetime(2026, 7, 15, 12, 0, tzinfo=JST)
SENDER = "web-queue-test"
NUMBER = "090-1234-5678"
REFERENCE_LINK = re.compile(r'<a class="reference" href="/cases/([^"]+)"')


def jst(*args):
    return datetime(*args, tzinfo=JST)


@pytest.fixture
def tracker_path(tmp_path):
    return tmp_path / "tracker.db"


@pytest.fixture
def engine(tmp_path, tracker_path, env):
    set_env(env, CLOCK_OVERRIDE=NOON.isoformat(), TRACKER_DB_URL=f"sqlite:///{tracker_path}")
    created = db.prepare(f"sqlite:///{tmp_path / 'queue.db'}")
    yield created
    db.dispose_all()


@pytest.fixture
def cal(tmp_path, monkeypatch):
    """A calendar of its own (threshold 30 business minutes), so that an operator's edit of
    business/hours.yml cannot move these expectations."""
    path = tmp_path / "hours.yml"
    path.write_text(
        'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon, tue, wed, thu, fri]\n'
        "public_holidays_closed: true\nqueue_wait_alert_minutes: 30\nclosures: []\n",
        encoding="utf-8",
    )
    loaded = hours.load(path)
    monkeypatch.setattr(hours, "calendar", lambda: loaded)
    return loaded


@pytest.fixture
def app(engine):
    created = create_app(engine)
    yield created
    if created.ctx.tracker_engine is not None:
        created.ctx.tracker_engine.dispose()


def signed_in(app, name, password):
    client = Client(app)
    assert client.sign_in(name, password).status == 303, name
    return client


@pytest.fixture
def supervisor(app):
    return signed_in(app, USER, "correct horse battery staple")


@pytest.fixture
def alice(app, engine):
    return signed_in(app, "alice", agents.add(engine, "alice"))


@pytest.fixture
def bob(app, engine):
    return signed_in(app, "bob", agents.add(engine, "bob"))


def post(client, path, **fields):
    token = client.csrf("/queue")
    return client.post(path, {"csrf_token": token, **fields})


def history(engine, reference):
    return [(e.by, e.to_status, e.assigned_to, e.closing_reason) for e in store.status_history(engine, reference)]


# --- the queue -----------------------------------------------------------------------------------


def test_queue_is_urgent_first_then_longest_wait_with_overdue_in_words(engine, cal, alice, bob):
    plain = open_case(engine, "plain", at=jst(2026, 7, 15, 11, 0)).reference  # 60 minutes: overdue
    fresh = open_case(engine, "fresh", at=jst(2026, 7, 15, 11, 45)).reference  # 15 minutes
    danger = open_case(
        engine, "danger", at=jst(2026, 7, 15, 11, 50), urgency=["danger"], trouble_type="privacy", channel="line"
    ).reference  # 10 minutes, urgent
    yesterday = open_case(engine, "yesterday", at=jst(2026, 7, 14, 17, 50)).reference  # 10 + 120 minutes
    held = open_case(engine, "held", at=jst(2026, 7, 15, 10, 0)).reference
    store.take(engine, held, "bob", jst(2026, 7, 15, 10, 10))  # waited 10, then taken
    done = open_case(engine, "done", at=jst(2026, 7, 15, 10, 0)).reference
    store.take(engine, done, "bob", jst(2026, 7, 15, 10, 5))
    store.close(engine, done, "resolved_by_phone", "bob", jst(2026, 7, 15, 10, 30))

    page = alice.get("/queue")
    assert page.status == 200 and '<a href="/queue" aria-current="page">今日の対応</a>' in page.text
    assert REFERENCE_LINK.findall(page.text) == [danger, yesterday, plain, fresh, held]
    rows = {
        reference: marks
        for marks, reference in re.findall(
            r'<tr( class="[^"]*")?>\s*<td><a class="reference" href="/cases/([^"]+)"', page.text
        )
    }
    assert rows[plain] == ' class="overdue"' and rows[yesterday] == ' class="overdue"'
    assert rows[danger] == ' class="urgent"' and rows[fresh] == rows[held] == ""
    assert page.text.count("超過</strong>") == 2
    assert "2時間10分" in page.text and "1時間" in page.text and "15分" in page.text
    assert "SNSでの誹謗中傷" in page.text and "LINE" in page.text and "身の危険" in page.text
    # a take button on every row nobody holds; the held row names its holder instead
    assert page.text.count('/take"') == 4 and f'action="/cases/{held}/take"' not in page.text

    assert REFERENCE_LINK.findall(alice.get("/queue?mine=1").text) == [danger, yesterday, plain, fresh]
    assert REFERENCE_LINK.findall(bob.get("/queue?mine=1").text) == [danger, yesterday, plain, fresh, held]
    assert REFERENCE_LINK.findall(alice.get("/queue?today=1").text) == [danger, plain, fresh, held]
    assert "条件に合う対応待ちの案件はありません。" not in alice.get("/queue?today=1").text


def test_an_empty_queue_says_so(cal, alice):
    assert "対応待ちの案件はありません。" in alice.get("/queue").text
    assert "条件に合う対応待ちの案件はありません。" in alice.get("/queue?mine=1&today=1").text


# --- take, assign, notes, close ------------------------------------------------------------------


def test_an_agent_takes_a_case_and_a_second_agent_is_told_who_holds_it(engine, alice, bob):
    reference = open_case(engine).reference
    taken = post(alice, f"/cases/{reference}/take")
    assert taken.status == 303 and taken.headers["location"] == f"/cases/{reference}?notice=taken"
    case = store.get_case(engine, reference)
    assert (case.status, case.assigned_to, case.assigned_at) == (schema.IN_PROGRESS, "alice", NOON)
    assert history(engine, reference)[-1] == ("alice", schema.IN_PROGRESS, "alice", None)
    page = alice.get(taken.headers["location"]).text
    assert "この案件の担当になりました。" in page and "alice（2026-07-15 12:00 から）" in page

    refused = post(bob, f"/cases/{reference}/take")
    assert refused.status == 303 and refused.headers["location"] == f"/cases/{reference}?error=taken"
    assert "この案件はすでに alice さんが担当しています。" in bob.get(refused.headers["location"]).text
    assert store.get_case(engine, reference).assigned_to == "alice"
    assert len(store.status_history(engine, reference)) == 2


def test_a_supervisor_assigns_and_an_agent_may_not(engine, supervisor, alice, bob):
    reference = open_case(engine).reference
    page = supervisor.get(f"/cases/{reference}").text
    assert 'action="/cases/' + reference + '/assign"' in page and '<option value="bob">bob</option>' in page
    assert "/assign" not in alice.get(f"/cases/{reference}").text
    assert post(alice, f"/cases/{reference}/assign", agent="alice").status == 403

    moved = post(supervisor, f"/cases/{reference}/assign", agent="bob")
    assert moved.status == 303 and moved.headers["location"] == f"/cases/{reference}?notice=assigned"
    assert store.get_case(engine, reference).assigned_to == "bob"
    assert history(engine, reference)[-1] == (USER, schema.IN_PROGRESS, "bob", None)
    assert "（担当: bob）" in supervisor.get(f"/cases/{reference}").text

    agents.remove(engine, "alice")
    for unknown in ("alice", "nobody", "<b>x</b>"):
        wrong = post(supervisor, f"/cases/{reference}/assign", agent=unknown)
        assert wrong.status == 400 and "担当者を一覧から選んでください" in wrong.text
        assert "<b>x" not in wrong.text
    assert store.get_case(engine, reference).assigned_to == "bob"

    released = post(supervisor, f"/cases/{reference}/assign", agent="")
    assert released.headers["location"] == f"/cases/{reference}?notice=released"
    case = store.get_case(engine, reference)
    assert (case.status, case.assigned_to) == (schema.NEW, None)


def test_notes_carry_their_author_and_come_back_escaped(engine, alice, bob):
    reference = open_case(engine).reference
    written = "折り返しは夕方希望\n<script>alert(1)</script>"
    added = post(alice, f"/cases/{reference}/notes", text=written)
    assert added.status == 303 and added.headers["location"] == f"/cases/{reference}?notice=note_added"
    [note] = store.notes(engine, reference)
    assert (note.author, note.at, note.text) == ("alice", NOON, written)
    page = bob.get(f"/cases/{reference}").text
    assert "2026-07-15 12:00 alice" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    empty = post(alice, f"/cases/{reference}/notes", text="  \n ")
    assert empty.status == 400 and "メモが空です" in empty.text
    too_long = "あ" * (schema.MAX_NOTE_CHARS + 1)
    refused = post(alice, f"/cases/{reference}/notes", text=too_long)
    assert refused.status == 400 and f"メモは{schema.MAX_NOTE_CHARS}文字まで" in refused.text
    assert too_long in refused.text  # what was typed is offered again, not lost
    assert len(store.notes(engine, reference)) == 1


def test_closing_needs_a_reason_from_the_list(engine, alice):
    reference = open_case(engine).reference
    assert post(alice, f"/cases/{reference}/close", reason="resolved_by_phone").headers["location"] == (
        f"/cases/{reference}?error=not_allowed"
    )  # a new case is taken first
    post(alice, f"/cases/{reference}/take")
    page = alice.get(f"/cases/{reference}").text
    reasons = closing_reasons.catalogue()
    assert reasons and all(f'<option value="{r.code}">{r.label}</option>' in page for r in reasons)
    assert "完了にする" in page and 'name="status" value="closed"' not in page

    for bad in ({}, {"reason": ""}, {"reason": "bogus"}, {"reason": "<b>x</b>"}):
        refused = post(alice, f"/cases/{reference}/close", **bad)
        assert refused.status == 400 and "対応終了の理由を一覧から選んでください" in refused.text, bad
        assert "<b>x" not in refused.text
    assert store.get_case(engine, reference).status == schema.IN_PROGRESS

    closed = post(alice, f"/cases/{reference}/close", reason="referred_police")
    assert closed.status == 303 and closed.headers["location"] == f"/cases/{reference}?notice=closed"
    case = store.get_case(engine, reference)
    assert (case.status, case.closing_reason, case.status_changed_by) == (schema.CLOSED, "referred_police", "alice")
    assert history(engine, reference)[-1] == ("alice", schema.CLOSED, None, "referred_police")
    page = alice.get(closed.headers["location"]).text
    assert "対応中 → 完了（理由: 警察へ案内）" in page and "完了にしました。" in page


# --- holdings --------------------------------------------------------------------------------------


def test_holdings_are_for_supervisors(engine, cal, supervisor, alice, bob):
    mine = open_case(engine, "mine", at=jst(2026, 7, 15, 11, 0), urgency=["minor"]).reference
    open_case(engine, "waiting", at=jst(2026, 7, 15, 11, 30))
    open_case(engine, "waiting-too", at=jst(2026, 7, 15, 11, 40))
    store.take(engine, mine, "alice", jst(2026, 7, 15, 11, 20))

    refused = alice.get("/holdings")
    assert refused.status == 403 and mine not in refused.text
    assert 'href="/holdings"' not in alice.get("/queue").text

    page = supervisor.get("/holdings")
    assert page.status == 200 and '<a href="/holdings" aria-current="page">担当状況</a>' in page.text
    assert "未担当の対応待ち案件：<strong>2件</strong>" in page.text
    alice_row = re.search(r'<th scope="row">alice</th>\s*<td>1件</td>(.*?)</tr>', page.text, re.S)
    assert alice_row and f'href="/cases/{mine}"' in alice_row.group(1)
    assert "未成年" in alice_row.group(1)
    assert "待ち時間 20分" in alice_row.group(1)
    assert re.search(r'<th scope="row">bob</th>\s*<td>0件</td>', page.text)


# --- the transcript ----------------------------------------------------------------------------------


@pytest.fixture
def conversation(tracker_path):
    """A web conversation written by the project's tracker store: a typed message with a phone
    number, a question with buttons, a tap, and a safety answer. The tapped button's title."""
    trackers = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(tracker_path))
    talk = Conversation(asyncio.run(trackers.get_or_create_tracker(SENDER, append_action_listen=False)))
    talk.user(f"ツイッターで悪口を書かれています。相手の番号は{NUMBER}です", "trouble_defamation")
    talk.response("utter_ask_user_role", sent_by="triage_form")
    talk.listen()
    title, payload = buttons_of("utter_ask_user_role")[0]
    talk.user(payload, "inform")
    talk.user("待ち伏せされていて怖い", "urgent_danger")
    talk.response("utter_urgent_danger")
    talk.listen()
    asyncio.run(trackers.save(talk.tracker))
    trackers.engine.dispose()
    return title


def test_before_any_conversation_is_stored_the_page_says_so(engine, alice, tracker_path):
    reference = open_case(engine, SENDER).reference
    assert not tracker_path.exists()
    page = alice.get(f"/cases/{reference}")
    assert page.status == 200 and "会話記録はまだありません。" in page.text
    assert "会話記録はまだありません。" in alice.get(f"/cases/{reference}/notes-view").text
    assert not tracker_path.exists()  # read-only: the console never creates the store


def test_the_case_page_shows_the_masked_transcript(engine, alice, conversation):
    reference = open_case(engine, SENDER).reference
    page = alice.get(f"/cases/{reference}").text
    assert "相手の番号は［電話番号］です" in page and NUMBER not in page
    assert f'<span class="tapped">ボタン: {conversation}</span>' in page
    assert '<span class="kind safety">安全案内</span>' in page
    assert page.index("ツイッターで悪口") < page.index(f"ボタン: {conversation}") < page.index("安全案内")
    assert f'<a href="/cases/{reference}/notes-view">メモ用テキスト</a>' in page


def test_an_unreadable_tracker_store_still_shows_the_case(engine, app, alice, tmp_path, caplog):
    reference = open_case(engine, SENDER).reference
    # A directory is no SQLite database: every read of it fails.
    app.ctx.tracker_engine = tracker_engine(f"sqlite:///{tmp_path}")
    page = alice.get(f"/cases/{reference}")
    assert page.status == 200 and "会話記録を読み込めませんでした。" in page.text
    assert "Xで悪口を書かれています" in page.text
    assert f"case {reference} shown without its conversation" in caplog.text
    # The API too answers with the case, and says that its conversation could not be read.
    body = api(app, f"/api/cases/{reference}")
    assert body.status == 200 and body.json["case"]["reference"] == reference
    assert (body.json["case"]["transcript"], body.json["transcript_unavailable"]) == ([], True)


def test_notes_view_and_the_text_download(engine, alice, conversation, tracker_path):
    case = open_case(engine, SENDER)
    with_store = tracker_engine(f"sqlite:///{tracker_path}")
    expected = notes_text(case_transcript(case, with_store))
    with_store.dispose()
    assert f"利用者（ボタン）: {conversation}" in expected and "［安全案内］" in expected

    page = alice.get(f"/cases/{case.reference}/notes-view")
    assert page.status == 200 and "<script" not in page.text
    area = re.search(r"<textarea[^>]*readonly[^>]*>(.*?)</textarea>", page.text, re.S)
    assert area and area.group(1) == str(escape(expected))
    assert f'href="/cases/{case.reference}/transcript.txt"' in page.text

    text = alice.get(f"/cases/{case.reference}/transcript.txt")
    assert text.status == 200 and text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["content-disposition"] == f'attachment; filename="{case.reference}-transcript.txt"'
    assert text.headers["cache-control"] == "no-store"
    assert text.body.decode("utf-8") == expected + "\n" and NUMBER not in text.body.decode("utf-8")


def test_the_api_returns_the_transcript(engine, app, conversation):
    case = open_case(engine, SENDER)
    body = api(app, f"/api/cases/{case.reference}").json
    turns = body["case"]["transcript"]
    assert [turn["role"] for turn in turns] == ["user", "bot", "user", "user", "bot"]
    assert all(isinstance(turn["text"], str) and datetime.fromisoformat(turn["at"]) for turn in turns)
    assert turns[0]["text"] == "ツイッターで悪口を書かれています。相手の番号は［電話番号］です"
    assert turns[2]["text"] == conversation and turns[4]["kind"] == "safety"
    other = open_case(engine, "web-someone-else")
    assert api(app, f"/api/cases/{other.reference}").json["case"]["transcript"] == []
    assert body["transcript_unavailable"] is False


# --- CSRF and start-up -------------------------------------------------------------------------------


def test_every_new_form_needs_the_csrf_token(engine, supervisor):
    reference = open_case(engine).reference
    for action, fields in (
        ("take", {}),
        ("assign", {"agent": USER}),
        ("notes", {"text": "メモ"}),
        ("close", {"reason": "duplicate"}),
    ):
        for token in ({}, {"csrf_token": "forged"}):
            refused = supervisor.post(f"/cases/{reference}/{action}", {**fields, **token})
            assert refused.status == 403 and "受け付けませんでした" in refused.text, action
    case = store.get_case(engine, reference)
    assert (case.status, case.assigned_to) == (schema.NEW, None)
    assert store.notes(engine, reference) == [] and len(store.status_history(engine, reference)) == 1


def test_a_broken_closing_reasons_file_stops_the_console(engine, tmp_path, monkeypatch):
    broken = "closing_reasons:\n  - id: Bad Code\n    label: x\n"
    (tmp_path / "closing_reasons.yml").write_text(broken, encoding="utf-8")
    monkeypatch.setattr(datafiles, "BUSINESS_DIR", tmp_path)
    # The real catalogue is read again at its next use: a failed load is never cached.
    closing_reasons.catalogue.cache_clear()
    with pytest.raises(DataFileError, match="closing_reasons.yml.*'id'"):
        create_app(engine)
