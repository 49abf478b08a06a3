"""The launcher on a page of the service's site (docs/embed-example.html, whose own CSP is
strict): opened by keyboard, a trouble typed in the framed chat and the bot's real answer, at a
phone's size and a desktop's; closed by Escape and by its button, the focus back on the
launcher. A site that is not in WEB_CHAT_ALLOWED_ORIGINS gets no chat, but a notice with the
phone number.

The screenshots of docs/screenshots/web-chat-embedded-{phone,desktop}.png are taken here.
"""

from __future__ import annotations

import pytest
import system_test  # scripts/system_test.py, on the path through tests/security/conftest.py
from playwright.sync_api import expect

from tests.browser.conftest import ROOT
from tests.fakes.local import wait_until

TROUBLE = "ツイッターで悪口を書かれて困っています"
ANSWER = system_test.first_sentence("utter_ack_defamation")
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
LAUNCHER = "チャットで相談する"
FRAME = "iframe[title='ネットトラブルあんしんサポート チャット窓口']"
# The first answer of a freshly loaded model can take a while.
ANSWER_TIMEOUT_MS = 60_000
SCREENSHOTS = ROOT / "docs" / "screenshots"


def open_page(browser, url, viewport):
    context = browser.new_context(viewport=viewport, locale="ja-JP")
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(url)
    return context, page, console


def has_focus(locator) -> bool:
    # The launcher lives in a shadow root: the focused element is that root's activeElement.
    return locator.evaluate("element => element.getRootNode().activeElement === element")


def tab_to(page, locator, backwards=False, presses=20):
    """Presses Tab (Shift+Tab) until ``locator`` has the focus, as a keyboard user would."""
    for _ in range(presses):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if has_focus(locator):
            return
    raise AssertionError(f"{locator} not reached in {presses} presses of Tab")


@pytest.mark.parametrize("size", SIZES)
def test_the_site_opens_the_chat_by_keyboard_and_gets_the_answer(browser, site, size):
    viewport = SIZES[size]
    context, page, console = open_page(browser, site.url, viewport)
    try:
        # Hidden while the chat covers a phone's screen: found hidden too.
        launcher = page.get_by_role("button", name=LAUNCHER, include_hidden=True)
        expect(launcher).to_have_attribute("aria-expanded", "false")
        tab_to(page, launcher)
        page.keyboard.press("Enter")
        expect(launcher).to_have_attribute("aria-expanded", "true")
        panel = page.locator("#" + launcher.get_attribute("aria-controls"))
        expect(panel).to_be_visible()
        expect(panel).to_have_attribute("role", "dialog")

        chat = page.frame_locator(FRAME)
        expect(chat.locator(".message.bot").first).to_contain_text("こんにちは", timeout=ANSWER_TIMEOUT_MS)
        box = chat.get_by_label("メッセージ")
        expect(box).to_be_focused()  # the launcher hands the focus to the chat's input
        page.keyboard.type(TROUBLE)
        page.keyboard.press("Enter")
        expect(chat.locator(".message.user").last).to_contain_text(TROUBLE)
        expect(chat.locator(".message.bot", has_text=ANSWER)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)

        box_of_panel = panel.bounding_box()
        if size == "phone":
            assert box_of_panel == {"x": 0, "y": 0, **viewport}  # the whole screen
            expect(launcher).to_be_hidden()  # covered, and out of the Tab order
        else:
            assert box_of_panel["width"] <= 400 and box_of_panel["height"] <= 640
            assert box_of_panel["x"] + box_of_panel["width"] == viewport["width"] - 16  # bottom right
            expect(launcher).to_be_visible()
        # The log scrolls smoothly to its end: the picture once it is there.
        log = chat.locator("#log")
        assert wait_until(lambda: log.evaluate("e => e.scrollTop + e.clientHeight >= e.scrollHeight - 2"))
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"web-chat-embedded-{size}.png"))

        # Escape inside the chat closes it and gives the focus back to the launcher.
        box.focus()
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(launcher).to_have_attribute("aria-expanded", "false")
        assert has_focus(launcher)

        # Opened again: the same conversation. Shift+Tab leaves the chat for the close button.
        page.keyboard.press("Enter")
        expect(box).to_be_focused()
        expect(chat.locator(".message.user").last).to_contain_text(TROUBLE)
        close = page.get_by_role("button", name="チャットを閉じる")
        tab_to(page, close, backwards=True)
        page.keyboard.press("Enter")
        expect(panel).to_be_hidden()
        assert has_focus(launcher)

        # The site's strict policy refused nothing: no style attribute, no inline script.
        assert [line for line in console if "Content Security Policy" in line] == []
    finally:
        context.close()


def test_a_site_not_allowed_gets_no_chat_but_the_phone_number(browser, stranger):
    context, page, console = open_page(browser, stranger.url, SIZES["desktop"])
    try:
        page.get_by_role("button", name=LAUNCHER).click()
        notice = page.get_by_role("alert")
        expect(notice).to_contain_text("0120-221-360", timeout=ANSWER_TIMEOUT_MS)
        expect(notice.get_by_role("link", name="チャット窓口を新しいタブで開く")).to_be_focused()
        expect(page.frame_locator(FRAME).get_by_label("メッセージ")).to_have_count(0)
        assert any("frame-ancestors" in line for line in console), console
    finally:
        context.close()
