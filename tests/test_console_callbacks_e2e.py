"""The day's callbacks in the agents' queue, in a real browser: headless Debian Chromium driven by
Playwright (as tests/test_console_team_e2e.py drives the console) against the console served on
a free port over a temporary case database.

Two users booked callbacks from the chat on Saturday night (and a third for Tuesday); on Monday
morning an agent signs in, finds Monday's two in slot order in 「本日の折り返し」, marks the first
「不在」 from the queue, opens the second case, reads the slot and the number to call, marks it
「完了」 and sees the number gone. With ``CONSOLE_SCREENSHOTS=<directory>`` the queue is saved
there as callbacks.png.
"""

import os
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from console.app import create_app
from nettrouble.callbacks import numbers
from nettrouble.callbacks import store as callbacks
from nettrouble.cases import store
from nettrouble.cases.schema import CaseDraft
from nettrouble.content import hours
from nettrouble.core import db
from nettrouble.core.clock import JST
from nettrouble.staff import agents
from tests.fakes.environment import environment_variables
from tests.fakes.local import free_port
from tests.fakes.served import ServedApp, chromium

SUPERVISOR, SUPERVISOR_PASSWORD = "suzuki", "e2e-callbacks-supervisor-password"
AGENT = "sato"
SATURDAY_NIGHT = datetime(2026, 12, 12, 21, 30, tzinfo=JST)
MONDAY_MORNING = datetime(2026, 12, 14, 9, 40, tzinfo=JST)
HOURS = (
    'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon, tue, wed, thu, fri]\n'
    "public_holidays_closed: true\nqueue_wait_alert_minutes: 30\ncallback_capacity: 2\nclosures: []\n"
)
# (conversation, trouble type, slot start, number to call)
BOOKINGS = (
    ("line-U41", "phishing", datetime(2026, 12, 14, 11, 0, tzinfo=JST), "090-2222-3333"),
    ("web-e2e-cb", "payment_fraud", datetime(2026, 12, 14, 10, 0, tzinfo=JST), "03-1234-5678"),
    ("sms-e2e-cb", "account", datetime(2026, 12, 15, 10, 0, tzinfo=JST), "080-4444-5555"),
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """(engine, agent's password, cases in the order of BOOKINGS)."""
    directory = tmp_path_factory.mktemp("callbacks")
    calendar_path = directory / "hours.yml"
    calendar_path.write_text(HOURS, encoding="utf-8")
    with (
        pytest.MonkeyPatch.context() as patch,
        environment_variables(
            PERSON_KEY_SECRET="e2e-callbacks-person-key-secret",
            CALLBACK_NUMBER_KEY="e2e-callbacks-number-key-0123456789abcdef",
            CONSOLE_USER=SUPERVISOR,
            CONSOLE_PASSWORD=SUPERVISOR_PASSWORD,
            CONSOLE_API_TOKEN="e2e-callbacks-api-token",
            HANDOFF_WEBHOOK_URL="",
            APP_ENV="development",
            CLOCK_OVERRIDE=MONDAY_MORNING.isoformat(),
            TRACKER_DB_URL=f"sqlite:///{directory / 'tracker.db'}",
        ),
    ):
        calendar = hours.load(calendar_path)
        patch.setattr(hours, "calendar", lambda: calendar)
        engine = db.prepare(f"sqlite:///{directory / 'service.db'}")
        booked = []
        for conversation, trouble_type, start, number in BOOKINGS:
            draft = CaseDraft(conversation_id=conversation, channel="web", trouble_type=trouble_type)
            case, _ = store.open_case(engine, draft, at=SATURDAY_NIGHT, notify=False)
            callbacks.book(engine, case.id, start, numbers.read_number(number), SATURDAY_NIGHT, calendar)
            booked.append(case)
        password = agents.add(engine, AGENT)
        yield engine, password, booked
        db.dispose_all()


@pytest.fixture(scope="module")
def server(seeded):
    served = ServedApp(create_app(seeded[0]), free_port(), "/health").start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser(seeded):
    yield from chromium()


def test_an_agent_works_the_days_callbacks_from_the_queue(browser, server, seeded):
    engine, password, (at_eleven, at_ten, tomorrow) = seeded
    base = server.base
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    policy_errors = []
    page.on(
        "console",
        lambda message: policy_errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill(AGENT)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="サインイン").click()
    expect(page.locator("header.top .who")).to_have_text(AGENT)

    page.get_by_role("link", name="今日の対応").click()
    expect(page.get_by_role("heading", name="本日の折り返し")).to_be_visible()
    rows = page.locator("table.callbacks tbody tr")
    expect(rows).to_have_count(2)  # Tuesday's is not today's
    first, second = rows.nth(0), rows.nth(1)
    expect(first.locator("td.slot")).to_have_text("10:00〜10:30")
    expect(first.locator("a.reference")).to_have_text(at_ten.reference)
    expect(first.locator("td.state")).to_have_text("予約済み")
    expect(second.locator("td.slot")).to_have_text("11:00〜11:30")
    expect(second.locator("a.reference")).to_have_text(at_eleven.reference)
    expect(page.locator("table.callbacks")).not_to_contain_text(tomorrow.reference)
    expect(page.locator("section.callbacks")).not_to_contain_text("1234-5678")
    directory = os.environ.get("CONSOLE_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / "callbacks.png"), full_page=False)

    # Nobody answers at ten: marked from the queue, the row stays with a retry to record.
    first.get_by_role("button", name="不在").click()
    expect(page).to_have_url(f"{base}/queue#h-callbacks")
    expect(first.locator("td.state")).to_have_text("不在（1回目）")
    expect(first.get_by_role("button", name="再発信した")).to_be_visible()

    # The eleven o'clock call: the case page has the slot and the number to dial.
    second.locator("a.reference").click()
    expect(page).to_have_url(f"{base}/cases/{at_eleven.reference}")
    panel = page.locator("dl.callback")
    expect(panel).to_contain_text("12月14日(月) 11:00〜11:30")
    expect(page.locator(".callback-number")).to_have_text("090-2222-3333")
    page.locator("form.callback-mark").get_by_role("button", name="完了").click()
    expect(page.get_by_role("status").filter(has_text="折り返し")).to_have_text("折り返しの結果を記録しました。")
    expect(panel).to_contain_text("完了")
    expect(page.locator(".callback-number")).to_have_count(0)
    assert "090-2222-3333" not in page.content()

    page.get_by_role("link", name="今日の対応").click()
    expect(rows.nth(1).locator("td.state")).to_have_text("完了")
    expect(rows.nth(1).get_by_role("button")).to_have_count(0)
    assert policy_errors == []
    done = callbacks.latest_for_case(engine, at_eleven.id)
    assert (done.state, done.has_number, done.updated_by) == (callbacks.DONE, False, AGENT)
    context.close()
