from test_console_e2e import *  # noqa
from test_console_e2e import USER, PASSWORD

def test_shots(browser, server, case):
    context = browser.new_context(viewport={"width": 1280, "height": 700}, locale="ja-JP")
    page = context.new_page()
    page.goto(server.url + "/")
    page.screenshot(path="/tmp/cs/shots/login.png")
    page.get_by_label("ユーザー名").fill(USER)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.screenshot(path="/tmp/cs/shots/list.png")
    page.goto(server.url + "/?status=bogus")
    page.screenshot(path="/tmp/cs/shots/bad.png")
