"""The web chat page in a real browser: headless Debian Chromium driven by Playwright, against
the real channel served by Sanic on a free port (a scripted agent instead of a model)."""

import pytest
from playwright.sync_api import expect
from rasa.core import run

from addons.channels.web import WebChatInput
from tests.fakes.agent import ARTICLES_URL, REFERENCE, FakeAgent
from tests.fakes.local import free_port
from tests.fakes.served import ServedApp, chromium

TROUBLE = "SNSで誹謗中傷されています"


class ServedChannel(ServedApp):
    """The web channel with a scripted agent instead of a model."""

    def __init__(self) -> None:
        self.agent = FakeAgent()
        port = free_port()
        app = run.configure_app([WebChatInput.from_credentials({"secret": "e2e-secret"})], port=port, enable_api=False)
        app.ctx.agent = self.agent
        super().__init__(app, port, "/webhooks/web/")

    @property
    def url(self) -> str:
        return self.base + "/webhooks/web/"


@pytest.fixture(scope="module")
def server():
    served = ServedChannel().start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="ja-JP")
    opened = context.new_page()
    opened.goto(server.url)
    expect(opened.locator(".message.bot").first).to_contain_text("こんにちは")
    yield opened
    context.close()


def bot(page):
    return page.locator(".message.bot")


def user(page):
    return page.locator(".message.user")


def test_type_a_trouble_press_a_button_and_see_the_reply(page, server):
    box = page.get_by_label("メッセージ")
    box.fill(TROUBLE)
    box.press("Enter")
    expect(user(page).last).to_contain_text(TROUBLE)
    expect(bot(page).last).to_contain_text("書き込みの画面は保存されていますか。")
    expect(box).to_have_value("")

    page.get_by_role("button", name="はい").click()
    expect(user(page).last).to_have_text("あなた：はい")  # the title, not the payload /affirm
    reply = bot(page).last
    expect(reply.locator(".reference")).to_contain_text(REFERENCE)
    expect(reply.get_by_role("note")).to_have_attribute("aria-label", f"受付番号 {REFERENCE}")
    expect(reply.get_by_role("link", name=ARTICLES_URL)).to_have_attribute("href", ARTICLES_URL)
    expect(page.get_by_role("button", name="はい")).to_be_disabled()  # an answered question
    assert server.agent.texts[-2:] == [TROUBLE, "/affirm"]


def test_enter_that_confirms_an_ime_conversion_does_not_send(page, server):
    box = page.get_by_label("メッセージ")
    box.fill("ひぼうちゅうしょう")
    sent_before = len(server.agent.received)
    for init in (
        "{key: 'Enter', code: 'Enter', isComposing: true, keyCode: 229, bubbles: true, cancelable: true}",
        "{key: 'Enter', code: 'Enter', isComposing: true, bubbles: true, cancelable: true}",
        "{key: 'Enter', code: 'Enter', keyCode: 229, bubbles: true, cancelable: true}",
    ):
        box.evaluate(f"el => el.dispatchEvent(new KeyboardEvent('keydown', {init}))")
    # between compositionstart and compositionend, a plain Enter does not send either
    box.evaluate("el => el.dispatchEvent(new CompositionEvent('compositionstart', {data: ''}))")
    box.press("Enter")
    page.wait_for_timeout(300)
    assert len(server.agent.received) == sent_before
    expect(user(page)).to_have_count(0)
    box.evaluate("el => el.dispatchEvent(new CompositionEvent('compositionend', {data: '誹謗中傷'}))")
    box.fill("誹謗中傷")
    box.press("Enter")
    expect(user(page).last).to_contain_text("誹謗中傷")


def test_shift_enter_is_a_new_line(page):
    box = page.get_by_label("メッセージ")
    box.fill("一行目")
    box.press("Shift+Enter")
    box.type("二行目")
    expect(box).to_have_value("一行目\n二行目")
    expect(user(page)).to_have_count(0)


def test_markup_in_a_message_is_shown_as_text(page):
    attack = '<img src=x onerror="window.__xss = 1"><b>太字</b>'
    box = page.get_by_label("メッセージ")
    box.fill(attack)
    box.press("Enter")
    expect(user(page).last).to_have_text("あなた：" + attack)
    expect(bot(page).last).to_contain_text(f"「{attack}」について承りました。")  # the bot's echo too
    assert page.locator("#log img, #log b").count() == 0
    assert page.evaluate("window.__xss") is None


def test_conversation_survives_a_reload(page):
    box = page.get_by_label("メッセージ")
    box.fill(TROUBLE)
    box.press("Enter")
    expect(bot(page).last).to_contain_text("保存されていますか")
    page.get_by_role("button", name="はい").click()
    expect(bot(page).last.locator(".reference")).to_be_visible()
    count = page.locator(".message").count()

    page.reload()
    expect(page.locator(".message")).to_have_count(count)
    expect(user(page).nth(1)).to_have_text("あなた：はい")
    expect(bot(page).last.locator(".reference")).to_contain_text(REFERENCE)


def test_new_conversation_button_starts_over(page, server):
    token_before = page.evaluate("localStorage.getItem('nettrouble.webchat.token')")
    page.get_by_role("button", name="新しい会話").click()
    expect(bot(page)).to_have_count(1)
    expect(bot(page).first).to_contain_text("こんにちは")
    assert page.evaluate("localStorage.getItem('nettrouble.webchat.token')") not in (None, token_before)


def test_usable_on_a_phone_and_with_a_screen_reader(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    box = page.get_by_label("メッセージ")
    box.fill("メニュー")
    box.press("Enter")
    choices = page.get_by_role("group", name="選択肢").last.get_by_role("button")
    expect(choices).to_have_count(11)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for index in range(choices.count()):
        assert choices.nth(index).bounding_box()["height"] >= 44
    send = page.get_by_role("button", name="送信")
    assert send.bounding_box()["height"] >= 44
    # keyboard only: from the conversation log, Tab reaches the first choice; Enter presses it
    log.focus()
    page.keyboard.press("Tab")
    expect(choices.first).to_be_focused()
    page.keyboard.press("Enter")
    expect(user(page).last).to_have_text("あなた：SNSでの誹謗中傷")
    expect(page.get_by_label("メッセージ")).to_be_focused()
