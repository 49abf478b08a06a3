"""The agent console in a real browser: headless Debian Chromium driven by Playwright, against the
console served by Sanic on a free port over a temporary SQLite database seeded through
``nettrouble.cases.store.open_case``. Sign in, search a reference (a typo first), open the case, start
work on it, check the caller's number, sign out.

With ``CONSOLE_SCREENSHOT=/path/to/file.png`` the case page is saved there (for release notes).
"""

import os
from datetime import datetime

import pytest
from playwright.sync_api import expect

from console.app import create_app
from nettrouble.cases import schema, store
from nettrouble.cases.reference import format_reference
from nettrouble.cases.schema import CaseDraft
from nettrouble.core import db
from nettrouble.core.clock import JST
from nettrouble.eligibility import identity
from tests.fakes.environment import environment_variables
from tests.fakes.local import free_port
from tests.fakes.served import ServedApp, chromium

USER = "agent"
PASSWORD = "e2e-console-password"
NUMBER = "090-1234-5678"
STATUS_CHANGED_AT = "2020-07-15T11:20:00+09:00"
SUMMARY = "Xで知らないアカウントから毎日のように悪口を書かれています / 職場の名前も出されていて怖いです"


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    with environment_variables(
        PERSON_KEY_SECRET="e2e-person-key-secret",
        CONSOLE_USER=USER,
        CONSOLE_PASSWORD=PASSWORD,
        CONSOLE_API_TOKEN="e2e-api-token",
        HANDOFF_WEBHOOK_URL="",
        APP_ENV="development",
        # the agent picks the case up a few minutes after the chat (status times use this clock)
        CLOCK_OVERRIDE=STATUS_CHANGED_AT,
    ):
        engine = db.prepare(f"sqlite:///{tmp_path_factory.mktemp('console') / 'e2e.db'}")
        yield engine
        db.dispose_all()


@pytest.fixture(scope="module")
def case(environment):
    created, _ = store.open_case(
        environment,
        CaseDraft(
            conversation_id="web-7f3a9c",
            channel="web",
            trouble_type="defamation",
            triage_answers={"platform": "X", "user_role": "self", "ongoing": "yes", "evidence_saved": "yes"},
            urgency=["danger"],
            eligibility="eligible",
            eligibility_campaign="sns-defamation-2020",
            person_key=identity.person_key(NUMBER),
            articles_shown=["retweet-defamation", "disclosure-request-lawyer"],
            summary=SUMMARY,
        ),
        at=datetime(2020, 7, 15, 11, 2, tzinfo=JST),
        notify=False,
    )
    # another case, so that the list and the search have something to tell apart
    store.open_case(
        environment,
        CaseDraft(
            conversation_id="line-U12",
            channel="line",
            trouble_type="phishing",
            summary="宅配業者を名乗るSMSのリンクを開いてしまいました",
        ),
        at=datetime(2020, 7, 15, 10, 40, tzinfo=JST),
        notify=False,
    )
    return created


@pytest.fixture(scope="module")
def server(environment):
    port = free_port()
    served = ServedApp(create_app(environment), port, "/health").start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


def typo_of(reference: str) -> str:
    digits = reference.replace("NT-", "").replace("-", "")
    return format_reference(digits[:9] + str((int(digits[9]) + 3) % 10))


def test_sign_in_search_a_reference_and_open_the_case(browser, server, case):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    policy_errors = []
    page.on(
        "console",
        lambda message: policy_errors.append(message.text) if "Content Security Policy" in message.text else None,
    )

    # Nothing without sign-in: the case page sends the browser to the sign-in form.
    page.goto(f"{server.base}/cases/{case.reference}")
    expect(page).to_have_url(f"{server.base}/login?next=%2Fcases%2F{case.reference}")
    page.get_by_label("ユーザー名").fill(USER)
    page.get_by_label("パスワード").fill("wrong password")
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("alert")).to_contain_text("ユーザー名またはパスワードが違います。")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page).to_have_url(f"{server.base}/cases/{case.reference}")

    page.get_by_role("link", name="一覧").click()
    expect(page.get_by_role("heading", name="相談ケース一覧")).to_be_visible()
    expect(page.locator("table.cases tbody tr")).to_have_count(2)
    expect(page.locator("table.cases tbody tr.urgent")).to_contain_text(case.reference)

    search = page.get_by_role("search").get_by_label("受付番号")
    # A misheard digit: the check digit says so before any case is shown.
    search.fill(typo_of(case.reference))
    search.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("確認用の数字")
    # Read out over the phone and typed as heard: lower case, no hyphens.
    search = page.get_by_role("search").get_by_label("受付番号")
    search.fill(case.reference.lower().replace("-", " "))
    search.press("Enter")
    expect(page).to_have_url(f"{server.base}/cases/{case.reference}")

    expect(page.get_by_role("heading", level=1)).to_have_text(f"受付番号 {case.reference}")
    banner = page.locator(".urgency")
    expect(banner).to_contain_text("身の危険")
    expect(banner).to_contain_text("最優先で対応してください")
    fields = page.locator("dl.fields").first
    for text in ("2020-07-15 11:02", "新規", "ウェブ", "SNSでの誹謗中傷", "無料相談の対象", "照合できます"):
        expect(fields).to_contain_text(text)
    expect(page.locator(".summary")).to_have_text(SUMMARY)
    expect(page.get_by_role("link", name="リツイートだけでも？SNSでの投稿が名誉毀損になるケース")).to_be_visible()
    # the stylesheet applies (served by the console itself, allowed by its policy)
    assert page.evaluate("getComputedStyle(document.querySelector('.urgency')).borderTopStyle") == "solid"

    # Start work, which takes the case: a real form POST, with the CSRF token and the browser's
    # own Origin header.
    page.get_by_role("button", name="担当して対応を開始する").click()
    expect(page.get_by_role("status")).to_have_text("この案件の担当になりました。")
    expect(fields).to_contain_text("対応中")
    expect(page.locator("section[aria-labelledby=h-work] dl.fields")).to_contain_text(USER)
    last_change = page.locator("table.history tbody tr").last
    for text in ("2020-07-15 11:20", "新規 → 対応中", USER):
        expect(last_change).to_contain_text(text)

    page.get_by_label("お客さまの発信番号").fill("+81 90 1234 5678")
    page.get_by_role("button", name="照合する").click()
    expect(page.locator("form.caller").locator("..").get_by_role("status")).to_contain_text("一致しました")
    expect(page.get_by_label("お客さまの発信番号")).to_have_value("")

    screenshot = os.environ.get("CONSOLE_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)

    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(f"{server.base}/login")
    page.goto(f"{server.base}/cases/{case.reference}")
    expect(page).to_have_url(f"{server.base}/login?next=%2Fcases%2F{case.reference}")
    assert policy_errors == []
    assert store.get_case(server.app.ctx.engine, case.reference).status == schema.IN_PROGRESS
    context.close()
