"""Callbacks on the console, through Sanic's test client over a temporary database: the day's
callbacks on the queue page in slot order with their marks, the case page with the slot and the
number to call (staff only, every showing logged), marks posted with the CSRF token, the number
gone once done, and never a digit of it in the case API or the CSV export."""

import logging
from datetime import datetime

import pytest

from console.app import create_app
from nettrouble.callbacks import numbers
from nettrouble.callbacks import store as callbacks
from nettrouble.content import hours
from nettrouble.core import db
from nettrouble.core.clock import JST
from nettrouble.staff import agents
from tests.test_console import TOKEN, Client, api, open_case, set_env

pytestmark = pytest.mark.system  # Sanic's test client serves the app for every request

KEY = "test-callback-number-key-0123456789abcdef"
SATURDAY_NIGHT = datetime(2026, 12, 12, 21, 30, tzinfo=JST)
MONDAY_MORNING = datetime(2026, 12, 14, 9, 30, tzinfo=JST)
NUMBER = "080-9876-5432"
HOURS = (
    'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon, tue, wed, thu, fri]\n'
    "public_holidays_closed: true\nqueue_wait_alert_minutes: 30\ncallback_capacity: 2\nclosures: []\n"
)


def jst(*args):
    return datetime(*args, tzinfo=JST)


@pytest.fixture
def cal(tmp_path, monkeypatch):
    path = tmp_path / "hours.yml"
    path.write_text(HOURS, encoding="utf-8")
    loaded = hours.load(path)
    monkeypatch.setattr(hours, "calendar", lambda: loaded)
    return loaded


@pytest.fixture
def engine(tmp_path, env, cal):
    set_env(env, CLOCK_OVERRIDE=MONDAY_MORNING.isoformat(), CALLBACK_NUMBER_KEY=KEY)
    created = db.prepare(f"sqlite:///{tmp_path / 'console.db'}")
    yield created
    db.dispose_all()


@pytest.fixture
def agent(engine):
    client = Client(create_app(engine))
    assert client.sign_in("sato", agents.add(engine, "sato")).status == 303
    return client


def booked(engine, cal, conversation, start, number=NUMBER):
    case = open_case(engine, conversation, at=SATURDAY_NIGHT)
    callbacks.book(engine, case.id, start, numbers.read_number(number), SATURDAY_NIGHT, cal)
    return case


def post(client, path, **fields):
    return client.post(path, {"csrf_token": client.csrf("/queue"), **fields})


def rows(page):
    section = page.text.split('<section class="callbacks"', 1)[1].split("</section>", 1)[0]
    return section.split('<tr class="callback ')[1:]


def test_the_queue_lists_the_days_callbacks_in_slot_order_without_numbers(engine, cal, agent):
    late = booked(engine, cal, "late", jst(2026, 12, 14, 15, 0))
    early = booked(engine, cal, "early", jst(2026, 12, 14, 10, 0), number="090-1111-2222")
    tomorrow = booked(engine, cal, "tomorrow", jst(2026, 12, 15, 10, 0))
    gone = booked(engine, cal, "gone", jst(2026, 12, 14, 11, 0))
    callbacks.cancel(engine, gone.id, SATURDAY_NIGHT)
    page = agent.get("/queue")
    assert page.status == 200 and "本日の折り返し" in page.text
    listed = rows(page)
    assert [early.reference in row for row in listed] == [True, False]
    assert late.reference in listed[1] and "15:00〜15:30" in listed[1] and "10:00〜10:30" in listed[0]
    assert not any(tomorrow.reference in row or gone.reference in row for row in listed)
    assert all(">完了</button>" in row and ">不在</button>" in row for row in listed)
    assert "5432" not in page.text and "2222" not in page.text


def test_no_callbacks_today_says_so(engine, cal, agent):
    assert "本日の折り返しの予約はありません。" in agent.get("/queue").text


def test_the_case_page_shows_the_slot_and_the_number_to_staff_and_logs_it(engine, cal, agent, caplog):
    case = booked(engine, cal, "conv-1", jst(2026, 12, 14, 10, 30))
    with caplog.at_level(logging.INFO, logger="console.callback_views"):
        page = agent.get(f"/cases/{case.reference}")
    assert "折り返しの予約" in page.text and "12月14日(月) 10:30〜11:00" in page.text
    assert '<dd class="mono callback-number">080-9876-5432</dd>' in page.text
    assert "予約済み" in page.text and "お客さま（チャット）" in page.text
    assert f"callback number of {case.reference} shown to sato" in caplog.text
    assert "9876" not in caplog.text


def test_marks_need_the_csrf_token(engine, cal, agent):
    case = booked(engine, cal, "conv-1", jst(2026, 12, 14, 10, 30))
    shown = callbacks.live_for_case(engine, case.id)
    refused = agent.post(f"/cases/{case.reference}/callback", {"callback": str(shown.id), "outcome": "done"})
    assert refused.status == 403
    assert callbacks.live_for_case(engine, case.id).state == callbacks.BOOKED


def test_no_answer_then_retried_then_done_from_the_queue_and_the_case_page(engine, cal, agent):
    case = booked(engine, cal, "conv-1", jst(2026, 12, 14, 10, 30))
    callback_id = str(callbacks.live_for_case(engine, case.id).id)
    answer = post(agent, f"/cases/{case.reference}/callback", callback=callback_id, outcome="no_answer", back="queue")
    assert (answer.status, answer.headers["location"]) == (303, "/queue#h-callbacks")
    row = rows(agent.get("/queue"))[0]
    assert "不在（1回目）" in row and ">再発信した</button>" in row and ">不在</button>" not in row
    answer = post(agent, f"/cases/{case.reference}/callback", callback=callback_id, outcome="retried")
    assert answer.headers["location"] == f"/cases/{case.reference}?notice=callback_marked"
    page = agent.get(answer.headers["location"])
    assert "折り返しの結果を記録しました。" in page.text and "再発信済み（不在1回）" in page.text
    assert "080-9876-5432" in page.text  # kept until the call is done
    post(agent, f"/cases/{case.reference}/callback", callback=callback_id, outcome="done")
    page = agent.get(f"/cases/{case.reference}")
    assert "完了" in page.text and "080-9876-5432" not in page.text and "callback-mark" not in page.text
    done = callbacks.latest_for_case(engine, case.id)
    assert (done.state, done.has_number, done.updated_by) == (callbacks.DONE, False, "sato")


@pytest.mark.parametrize(
    "fields",
    [
        {"callback": "999", "outcome": "done"},  # not the case's callback (a stale page)
        {"outcome": "done"},  # which callback, the form does not say
        {"callback": "{shown}", "outcome": "retried"},  # nothing to retry yet
        {"callback": "{shown}", "outcome": "deleted"},
    ],
)
def test_a_mark_that_does_not_apply_is_refused(engine, cal, agent, fields):
    case = booked(engine, cal, "conv-1", jst(2026, 12, 14, 10, 30))
    shown = callbacks.live_for_case(engine, case.id)
    fields = {name: value.format(shown=shown.id) for name, value in fields.items()}
    answer = post(agent, f"/cases/{case.reference}/callback", **fields)
    assert answer.headers["location"] == f"/cases/{case.reference}?error=callback_not_allowed"
    assert "折り返しの結果を記録できませんでした" in agent.get(answer.headers["location"]).text
    assert callbacks.live_for_case(engine, case.id).state == callbacks.BOOKED


def test_the_case_api_and_the_csv_never_hold_the_number(engine, cal, agent):
    case = booked(engine, cal, "conv-1", jst(2026, 12, 14, 10, 30))
    answer = api(agent.app, f"/api/cases/{case.reference}", token=TOKEN)
    assert answer.status == 200 and case.reference in answer.text
    listed = api(agent.app, "/api/cases", token=TOKEN)
    exported = agent.get("/export.csv")
    assert exported.status == 200 and case.reference in exported.body.decode("utf-8")
    for text in (answer.text, listed.text, exported.body.decode("utf-8")):
        assert "9876" not in text and "v1:" not in text
