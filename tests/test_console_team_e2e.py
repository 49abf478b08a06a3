"""The agents' team flow in a real browser: headless Debian Chromium driven by Playwright,
against the console served on a free port over a temporary case database and a temporary
tracker store written by the project's own store (``MaskingSQLTrackerStore``).

The .env user is the first supervisor. They add an agent and read the one-time password; the
agent signs in with it, finds the urgent case above an older ordinary one in the day's queue,
takes it, reads the masked transcript, checks the caller's number, adds a note and closes the
case with a reason; the supervisor then reads the day's figures on the analytics page.

With ``CONSOLE_SCREENSHOTS=<directory>`` the queue, the case page and the analytics page are
saved there as queue.png, case.png and analytics.png (docs/screenshots/ holds the committed ones).
"""

import asyncio
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from actions.triage import ActionFirstSteps, ActionRecordUrgency
from addons.tracker_store import MaskingSQLTrackerStore
from console.app import create_app
from nettrouble.cases import schema, store
from nettrouble.cases.schema import CaseDraft
from nettrouble.content import hours
from nettrouble.core import db
from nettrouble.core.clock import JST
from nettrouble.eligibility import identity
from nettrouble.staff import agents
from tests.fakes.environment import environment_variables
from tests.fakes.local import free_port
from tests.fakes.served import ServedApp, chromium
from tests.project_files import rasa_domain
from tests.saved_conversations import Conversation, buttons_of
from tests.tracker_states import message
from tests.tracker_states import tracker as sdk_tracker

SUPERVISOR = "suzuki"
SUPERVISOR_PASSWORD = "e2e-team-supervisor-password"
AGENT = "sato"
NUMBER = "090-1234-5678"
SENDER = "web-e2e-urgent"
NOTE = "110番への相談を案内。本人は安全な場所（実家）にいると確認。"
CLOSING_REASON = "警察へ案内"


def jst(*args):
    return datetime(*args, tzinfo=JST)


# 2020-07-15 is a Wednesday and the test's calendar opens 10:00-18:00, so waits are business
# minutes of that morning: the urgent case 25 minutes, the phishing case 75 (overdue at 30).
NOW = jst(2020, 7, 15, 11, 25)
PHISHING_AT = jst(2020, 7, 15, 10, 10)
URGENT_AT = jst(2020, 7, 15, 11, 0)
# The conversation's thirteen steps (30 s each) end with the user's request at URGENT_AT.
CONVERSATION_START = URGENT_AT - timedelta(seconds=13 * 30)
# From the first user message (CONVERSATION_START + 30 s) to the reference 30 s after URGENT_AT.
TIME_TO_REFERENCE = "6分30秒"
HOURS = (
    'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon, tue, wed, thu, fri]\n'
    "public_holidays_closed: true\nqueue_wait_alert_minutes: 30\nclosures: []\n"
)


def write_conversation(tracker_path: Path, open_urgent_case):
    """The urgent case's web conversation, as the Rasa server records it: a danger message and
    its safety answer, the privacy triage with a button tap and the first steps, then a request
    for staff with the user's phone number typed in, and the case reference. Returns the case
    that ``open_urgent_case`` opens when the user asks for staff."""
    trackers = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(tracker_path))
    talk = Conversation(
        asyncio.run(trackers.get_or_create_tracker(SENDER, append_action_listen=False)),
        start=CONVERSATION_START,
        channel="web",
    )
    danger = "元交際相手に住所をネットにさらされて、家の前で待ち伏せされています。怖いです"
    talk.user(danger, "urgent_danger")
    talk.response("utter_urgent_danger")
    talk.custom(ActionRecordUrgency(), sdk_tracker(message(danger, "urgent_danger"), slots={"urgency": []}))
    talk.listen()
    talk.user("さらされた住所の書き込みを消したいです", "trouble_privacy")
    talk.slot("trouble_type", "privacy")
    talk.response("utter_ack_privacy", sent_by="action_start_triage")
    talk.response("utter_ask_exposed_info", sent_by="triage_form")
    talk.listen()
    title, payload = buttons_of("utter_ask_exposed_info")[0]
    talk.user(payload, "inform")
    talk.custom(
        ActionFirstSteps(),
        sdk_tracker(message(payload, "inform"), slots={"trouble_type": "privacy", "exposed_info": title}),
    )
    talk.listen()
    talk.user(f"電話で相談したいです。番号は{NUMBER}です", "request_human")
    assert talk.moment == URGENT_AT, "the conversation's steps changed: move CONVERSATION_START"
    case = open_urgent_case()
    talk.slot("case_reference", case.reference)
    talk.response("utter_next_step_after_reference")
    talk.listen()
    asyncio.run(trackers.save(talk.tracker))
    trackers.engine.dispose()
    return case, title


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """The environment, a calendar of the test's own, and both databases: (engine, phishing
    case, urgent case, tapped button title)."""
    directory = tmp_path_factory.mktemp("team")
    tracker_path = directory / "tracker.db"
    calendar_path = directory / "hours.yml"
    calendar_path.write_text(HOURS, encoding="utf-8")
    with (
        pytest.MonkeyPatch.context() as patch,
        environment_variables(
            PERSON_KEY_SECRET="e2e-team-person-key-secret",
            CONSOLE_USER=SUPERVISOR,
            CONSOLE_PASSWORD=SUPERVISOR_PASSWORD,
            CONSOLE_API_TOKEN="e2e-team-api-token",
            HANDOFF_WEBHOOK_URL="",
            APP_ENV="development",
            CLOCK_OVERRIDE=NOW.isoformat(),
            TRACKER_DB_URL=f"sqlite:///{tracker_path}",
        ),
    ):
        # An operator's edit of business/hours.yml must not move the waits asserted below.
        calendar = hours.load(calendar_path)
        patch.setattr(hours, "calendar", lambda: calendar)
        engine = db.prepare(f"sqlite:///{directory / 'service.db'}")
        phishing, _ = store.open_case(
            engine,
            CaseDraft(
                conversation_id="line-U7d2",
                channel="line",
                trouble_type="phishing",
                triage_answers={"entered_info": "yes", "money_lost": "no"},
                summary="宅配業者を名乗るSMSのリンクを開いてしまいました",
            ),
            at=PHISHING_AT,
            notify=False,
        )

        def open_urgent_case():
            created, _ = store.open_case(
                engine,
                CaseDraft(
                    conversation_id=SENDER,
                    channel="web",
                    trouble_type="privacy",
                    triage_answers={"exposed_info": "住所", "offline_contact": "yes"},
                    urgency=["danger"],
                    person_key=identity.person_key(NUMBER),
                    summary="元交際相手に住所をさらされ、家の前で待ち伏せされている",
                ),
                at=URGENT_AT,
                notify=False,
            )
            return created

        urgent, tapped = write_conversation(tracker_path, open_urgent_case)
        yield engine, phishing, urgent, tapped
        db.dispose_all()


@pytest.fixture(scope="module")
def server(seeded):
    engine = seeded[0]
    served = ServedApp(create_app(engine), free_port(), "/health").start()
    yield served
    served.stop()
    if served.app.ctx.tracker_engine is not None:
        served.app.ctx.tracker_engine.dispose()


@pytest.fixture(scope="module")
def browser(seeded):
    # After the seeding: Playwright's sync API keeps an event loop running in this thread, where
    # the tracker store's asyncio.run could no longer write the conversation.
    yield from chromium()


def screenshot(page, name, full_page):
    """Saved only on request, so that the test suite never rewrites the committed images."""
    directory = os.environ.get("CONSOLE_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / name), full_page=full_page)


def sign_in(page, base, name, password):
    page.goto(f"{base}/login")
    page.get_by_label("ユーザー名").fill(name)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="サインイン").click()
    expect(page.locator("header.top .who")).to_have_text(name)


def sign_out(page, base):
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(f"{base}/login")


def cells(row):
    return [text.strip() for text in row.locator("td").all_inner_texts()]


def test_a_supervisor_adds_an_agent_who_works_the_urgent_case_then_reads_the_figures(browser, server, seeded):
    engine, phishing, urgent, tapped = seeded
    base = server.base
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    policy_errors = []
    page.on(
        "console",
        lambda message: policy_errors.append(message.text) if "Content Security Policy" in message.text else None,
    )

    # The supervisor adds an agent and reads the one-time password, shown this once.
    sign_in(page, base, SUPERVISOR, SUPERVISOR_PASSWORD)
    page.get_by_role("link", name="担当者アカウント").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("担当者アカウント")
    page.get_by_label("名前").fill(AGENT)
    page.get_by_label("権限").select_option(label="担当者")
    page.get_by_role("button", name="追加して仮パスワードを発行").click()
    expect(page.get_by_role("status").filter(has_text="さんを追加しました")).to_have_text(
        f"{AGENT} さんを追加しました。"
    )
    shown = page.get_by_role("status").filter(has_text="仮パスワード")
    expect(shown).to_contain_text(f"{AGENT} さんの仮パスワード")
    password = shown.locator("strong").inner_text().strip()
    assert len(password) == agents.PASSWORD_CHARS
    agent_row = page.locator("table tbody tr").filter(has_text=AGENT)
    expect(agent_row).to_contain_text("担当者")
    expect(agent_row).to_contain_text("有効")
    # Opened again, the page has no trace of it.
    page.get_by_role("link", name="担当者アカウント").click()
    expect(page.get_by_role("status")).to_have_count(0)
    assert password not in page.content()
    sign_out(page, base)

    # The agent signs in with it; the day's queue puts the urgent case above the older one.
    sign_in(page, base, AGENT, password)
    expect(page.get_by_role("link", name="担当者アカウント")).to_have_count(0)
    page.get_by_role("link", name="今日の対応").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("今日の対応")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    first, second = rows.nth(0), rows.nth(1)
    expect(first.locator("a.reference")).to_have_text(urgent.reference)
    expect(first).to_have_class("urgent")
    expect(first).to_contain_text("身の危険")
    expect(first).to_contain_text("個人情報・写真の晒し")
    expect(first.locator("td.wait")).to_have_text("25分")
    expect(second.locator("a.reference")).to_have_text(phishing.reference)
    expect(second.locator("td.wait")).to_have_text("1時間15分 超過")
    expect(second).to_contain_text("偽SMS・フィッシング")
    screenshot(page, "queue.png", full_page=False)

    # Take the urgent case: the case page names the agent as its holder.
    first.get_by_role("button", name="担当する").click()
    expect(page).to_have_url(f"{base}/cases/{urgent.reference}?notice=taken")
    expect(page.get_by_role("status").filter(has_text="担当")).to_have_text("この案件の担当になりました。")
    work = page.locator("section.panel").filter(has=page.get_by_role("heading", name="対応", exact=True))
    expect(work.locator("dl.fields")).to_contain_text(f"{AGENT}（2020-07-15 11:25 から）")
    expect(page.locator(".urgency")).to_contain_text("最優先で対応してください")

    # The transcript: the user's and the bot's turns, the safety answer marked, the tapped
    # button by its title, the typed number masked.
    user_turns, bot_turns = page.locator("ol.transcript li.turn.user"), page.locator("ol.transcript li.turn.bot")
    # safety answer, acknowledgement, question, first steps, reference
    expect(user_turns).to_have_count(4)
    expect(bot_turns).to_have_count(5)
    expect(user_turns.first.locator(".who")).to_have_text("利用者")
    expect(user_turns.first).to_contain_text("家の前で待ち伏せされています")
    safety = bot_turns.filter(has=page.locator(".kind.safety"))
    expect(safety).to_have_count(1)
    expect(safety.locator(".kind")).to_have_text("安全案内")
    expect(safety).to_contain_text("身の危険を感じていらっしゃるのですね")
    expect(page.locator("ol.transcript .tapped")).to_have_text(f"ボタン: {tapped}")
    expect(page.locator("ol.transcript .kind.first_steps")).to_have_text("最初の対応")
    expect(page.locator("ol.transcript .offered")).to_contain_text(tapped)
    expect(user_turns.last).to_contain_text("番号は［電話番号］です")
    expect(bot_turns.last).to_contain_text(urgent.reference)

    # The caller's number: the agent checks it against the case.
    page.get_by_label("お客さまの発信番号").fill("+81 90 1234 5678")
    page.get_by_role("button", name="照合する").click()
    expect(page.get_by_role("status").filter(has_text="一致")).to_contain_text("一致しました")
    expect(page.get_by_label("お客さまの発信番号")).to_have_value("")
    digits = NUMBER.replace("-", "")
    content = page.content()
    assert NUMBER not in content and digits not in content and digits[1:] not in content

    page.get_by_label("メモを追加").fill(NOTE)
    page.get_by_role("button", name="メモを追加").click()
    expect(page.get_by_role("status").filter(has_text="メモ")).to_have_text("メモを追加しました。")
    note = page.locator("ol.notes > li")
    expect(note).to_have_count(1)
    expect(note.locator(".meta")).to_have_text(f"2020-07-15 11:25 {AGENT}")
    expect(note.locator(".text")).to_have_text(NOTE)
    screenshot(page, "case.png", full_page=True)

    page.get_by_label("対応終了の理由").select_option(label=CLOSING_REASON)
    page.get_by_role("button", name="完了にする").click()
    expect(page.get_by_role("status").filter(has_text="完了")).to_have_text("完了にしました。")
    expect(work.locator("dl.fields")).to_contain_text(CLOSING_REASON)
    closed = page.locator("table.history tbody tr").last
    expect(closed).to_contain_text(f"（理由: {CLOSING_REASON}）")
    expect(closed.locator("td").last).to_have_text(AGENT)
    expect(page.get_by_role("button", name="完了にする")).to_have_count(0)
    sign_out(page, base)

    # The supervisor reads the week's figures: one conversation, handed off, on the web.
    sign_in(page, base, SUPERVISOR, SUPERVISOR_PASSWORD)
    page.get_by_role("link", name="分析").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("分析")
    page.get_by_label("開始日").fill("2020-07-13")
    page.get_by_label("終了日").fill("2020-07-17")
    page.get_by_role("button", name="表示").click()
    expect(page).to_have_url(f"{base}/analytics?from=2020-07-13&to=2020-07-17&unit=day")
    day = "2020-07-15（水）"
    conversations = page.locator("#table-conversations tbody tr").filter(has_text=day)
    assert cells(conversations) == ["1", "4"]  # one conversation, four user messages
    assert cells(page.locator("#table-conversations tbody tr").filter(has_text="2020-07-14（火）")) == ["0", "0"]
    assert cells(page.locator("#table-outcomes tfoot tr")) == ["1", "1", "100.0%", "0", "0.0%", "0", "0.0%", "0"]
    assert cells(page.locator("#table-time_to_reference tfoot tr")) == ["1", TIME_TO_REFERENCE, TIME_TO_REFERENCE]
    channels = page.locator("#table-channels")
    assert channels.locator("thead th").all_inner_texts()[1:] == ["ウェブ"]
    assert cells(channels.locator("tfoot tr")) == ["1"]
    eligibility = page.locator("#table-eligibility")
    assert cells(eligibility.locator("tbody tr").filter(has_text=day)) == ["2"]  # both cases, undecided
    chart = page.locator("section.figure").filter(has=page.get_by_role("heading", name="会話数（日別）")).locator("svg")
    expect(chart).to_be_visible()
    # a count axis: whole numbers on every grid line
    assert chart.locator("g.axis text").all_text_contents() == ["0", "1", "2", "3", "4"]
    assert page.locator("section.figure svg").count() == page.locator("table.figures").count() >= 1
    screenshot(page, "analytics.png", full_page=True)
    sign_out(page, base)

    assert policy_errors == []
    case = store.get_case(engine, urgent.reference)
    assert (case.status, case.assigned_to) == (schema.CLOSED, AGENT)
    assert store.get_case(engine, phishing.reference).status == schema.NEW
    context.close()
