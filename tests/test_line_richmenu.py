"""The LINE rich menu (nettrouble/channels/line_richmenu.py, scripts/line_richmenu.py): its definition
against LINE's rules and the bot's intents, its image, and its installation against two local
recording servers standing in for LINE's API host and data API host."""

import asyncio
import io
from pathlib import Path

import pytest
import yaml
from PIL import Image

from nettrouble.channels import line_richmenu
from nettrouble.channels.line_api import LineApi, LineApiError
from nettrouble.content import service
from tests.fakes.http_recorder import RecordingServer

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "richmenu-test-token"
LIST = "/v2/bot/richmenu/list"
CREATE = "/v2/bot/richmenu"
VALIDATE = "/v2/bot/richmenu/validate"

# What each entry point must answer with: the first action of the bot's rule for its intent.
EXPECTED_FIRST_ACTION = {
    "need_help": "utter_invite_trouble",
    "ask_hours": "utter_ask_hours",
    "ask_articles": "action_offer_articles",
    "request_human": "action_request_staff",
    "ask_free_consultation": "action_free_consultation_intro",
    "ask_service_info": "utter_service_info",
}


@pytest.fixture(scope="module")
def image():
    return line_richmenu.draw_image()


@pytest.fixture
def hosts():
    """The API host and the data API host, each a recording server of its own."""
    api, data = RecordingServer().start(), RecordingServer().start()
    try:
        yield api, data
    finally:
        api.stop()
        data.stop()


def run_install(hosts, image):
    api, data = hosts

    async def go():
        async with LineApi(TOKEN, api.url, data.url) as client:
            return await line_richmenu.install(client, image)

    return asyncio.run(go())


# ---- the definition ---------------------------------------------------------------------


def test_the_menu_keeps_lines_rules(image):
    menu = line_richmenu.rich_menu(image)
    assert line_richmenu.menu_problems(menu) == []
    assert menu["size"] == {"width": 2500, "height": 1686} and len(menu["areas"]) == 6
    assert menu["name"].startswith(line_richmenu.NAME_PREFIX) and len(menu["chatBarText"]) <= 14


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (lambda m: m["size"].update(width=2400), "size 2400x1686"),
        (lambda m: m.update(chatBarText="とても長いメニューの名前になっています"), "chatBarText"),
        (lambda m: m["areas"][0]["action"].update(label="あ" * 21), "area 0: label"),
        (lambda m: m["areas"][1]["action"].update(data="/" + "x" * 300), "area 1: data"),
        (lambda m: m["areas"][2]["bounds"].update(x=2000), "area 2 lies outside"),
        (lambda m: m["areas"].pop(), "do not cover"),
    ],
)
def test_the_checker_finds_what_breaks_the_rules(image, breakage, expected):
    menu = line_richmenu.rich_menu(image)
    breakage(menu)
    assert any(expected in problem for problem in line_richmenu.menu_problems(menu))


def test_the_areas_cover_the_image_without_overlap():
    cells = set()
    for index in range(len(line_richmenu.entries())):
        b = line_richmenu.area_bounds(index)
        cell = (b["x"], b["y"])
        assert cell not in cells
        cells.add(cell)
    assert sum(b["width"] for b in map(line_richmenu.area_bounds, range(3))) == 2500
    assert sum(line_richmenu.area_bounds(i)["height"] for i in (0, 3)) == 1686


def test_every_payload_is_an_intent_the_bot_answers_as_intended():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    first_actions = {}
    for path in sorted((ROOT / "data" / "rules").glob("*.yml")):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8")).get("rules", []):
            steps = rule.get("steps", [])
            # a rule that holds in any state: no condition, and it starts with the intent
            if not rule.get("condition") and len(steps) > 1 and "intent" in steps[0]:
                first_actions.setdefault(steps[0]["intent"], steps[1].get("action"))
    entries = line_richmenu.entries()
    assert [e.intent for e in entries] == list(EXPECTED_FIRST_ACTION)
    for entry in entries:
        assert entry.payload == "/" + entry.intent
        assert entry.intent in domain["intents"], entry.intent
        assert first_actions.get(entry.intent) == EXPECTED_FIRST_ACTION[entry.intent], entry.intent


def test_the_hours_entry_shows_the_service_number():
    hours = next(e for e in line_richmenu.entries() if e.intent == "ask_hours")
    assert hours.subtitle == service.facts().phone


def test_display_texts_are_polite_japanese():
    for entry in line_richmenu.entries():
        assert entry.display_text.endswith(("です", "ます", "ください", "ますか")), entry.display_text


# ---- the image ----------------------------------------------------------------------------


def test_the_image_is_a_png_of_the_menu_size_within_1_mb(image):
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) <= 1024 * 1024
    picture = Image.open(io.BytesIO(image))
    assert picture.format == "PNG" and picture.size == (2500, 1686)


def test_the_font_comes_from_the_installed_package():
    path = line_richmenu.font_path()
    assert path.name == "ipaexg.ttf" and "japanize_matplotlib" in path.parts


def test_every_tile_has_its_words_drawn_in_white(image):
    picture = Image.open(io.BytesIO(image)).convert("RGB")
    white = (255, 255, 255)
    for index in range(6):
        b = line_richmenu.area_bounds(index)
        # the title's band, away from the grid lines
        band = picture.crop(
            (b["x"] + 20, b["y"] + b["height"] * 55 // 100, b["x"] + b["width"] - 20, b["y"] + b["height"] * 69 // 100)
        )
        whites = sum(1 for pixel in band.getdata() if pixel == white)
        assert whites > 2000, f"tile {index}: no title drawn"
        background = line_richmenu._rgb(line_richmenu.ROW_COLOURS[index // 3])
        assert picture.getpixel((b["x"] + 30, b["y"] + 30)) == background


def test_titles_are_large_enough_to_read():
    from PIL import ImageDraw

    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    width = 2500 // 3 - 2 * line_richmenu.MARGIN_PX
    for entry in line_richmenu.entries():
        font = line_richmenu._fitting_font(draw, entry.title, line_richmenu.TITLE_PX, width, line_richmenu.font_path())
        assert draw.textlength(entry.title, font=font) <= width, entry.title
        # 2500 px span a phone's width of about 400 pt: 84 px is about 13 pt
        assert font.size >= line_richmenu.MIN_TEXT_PX


@pytest.mark.parametrize("background", line_richmenu.ROW_COLOURS)
def test_text_contrast_is_at_least_wcag_aa(background):
    assert line_richmenu.contrast_ratio(line_richmenu.TEXT_COLOUR, background) >= 4.5
    assert line_richmenu.contrast_ratio(line_richmenu.SUBTITLE_COLOUR, background) >= 4.5


def test_contrast_ratio_is_wcags():
    assert line_richmenu.contrast_ratio("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert line_richmenu.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


# ---- installation ---------------------------------------------------------------------------


def test_first_install_creates_uploads_to_the_data_host_and_sets_the_default(hosts, image):
    api, data = hosts
    api.answer(LIST, (200, {"richmenus": []}))
    api.answer(CREATE, (200, {"richMenuId": "richmenu-new"}))
    installed = run_install(hosts, image)
    assert installed == line_richmenu.Installed("richmenu-new", True, ())
    assert [(r.method, r.path) for r in api.requests] == [
        ("POST", VALIDATE),
        ("GET", LIST),
        ("POST", CREATE),
        ("POST", "/v2/bot/user/all/richmenu/richmenu-new"),
    ]
    assert api.requests[2].json() == api.requests[0].json() == line_richmenu.rich_menu(image)
    [upload] = data.requests
    assert (upload.method, upload.path) == ("POST", "/v2/bot/richmenu/richmenu-new/content")
    assert upload.headers["Content-Type"] == "image/png" and upload.body == image
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api.requests + data.requests)


def test_second_install_keeps_the_menu_and_deletes_older_ones_of_ours_only(hosts, image):
    api, data = hosts
    name = line_richmenu.rich_menu(image)["name"]
    api.answer(
        LIST,
        (
            200,
            {
                "richmenus": [
                    {"richMenuId": "richmenu-old", "name": line_richmenu.NAME_PREFIX + " 0123456789abcdef"},
                    {"richMenuId": "richmenu-current", "name": name},
                    {"richMenuId": "richmenu-campaign", "name": "spring campaign"},
                ]
            },
        ),
    )
    installed = run_install(hosts, image)
    assert installed == line_richmenu.Installed("richmenu-current", False, ("richmenu-old",))
    assert [(r.method, r.path) for r in api.requests] == [
        ("POST", VALIDATE),
        ("GET", LIST),
        ("POST", "/v2/bot/user/all/richmenu/richmenu-current"),
        ("DELETE", "/v2/bot/richmenu/richmenu-old"),
    ]
    # only the check that its image is there went to the data host
    assert [(r.method, r.path) for r in data.requests] == [("GET", "/v2/bot/richmenu/richmenu-current/content")]


def test_a_menu_left_without_its_image_is_replaced(hosts, image):
    api, data = hosts
    name = line_richmenu.rich_menu(image)["name"]
    api.answer(LIST, (200, {"richmenus": [{"richMenuId": "richmenu-broken", "name": name}]}))
    api.answer(CREATE, (200, {"richMenuId": "richmenu-fixed"}))
    data.answer("/v2/bot/richmenu/richmenu-broken/content", (404, {"message": "Not found"}))
    installed = run_install(hosts, image)
    assert installed == line_richmenu.Installed("richmenu-fixed", True, ("richmenu-broken",))
    assert [r.path for r in data.requests] == [
        "/v2/bot/richmenu/richmenu-broken/content",
        "/v2/bot/richmenu/richmenu-fixed/content",
    ]
    assert api.requests[-1].method == "DELETE" and api.requests[-1].path.endswith("richmenu-broken")


def test_a_refused_call_stops_the_install_with_lines_answer(hosts, image):
    api, data = hosts
    api.answer(VALIDATE, (400, {"message": "The request body has 1 error(s)"}))
    with pytest.raises(LineApiError) as raised:
        run_install(hosts, image)
    assert raised.value.status == 400 and "The request body has 1 error(s)" in str(raised.value)
    assert [r.path for r in api.requests] == [VALIDATE] and data.requests == []


# ---- the script ----------------------------------------------------------------------------


@pytest.fixture
def script():
    from scripts import line_richmenu

    return line_richmenu


@pytest.fixture
def line_env(env, hosts):
    api, data = hosts
    env(LINE_API_BASE=api.url, LINE_DATA_API_BASE=data.url, LINE_CHANNEL_ACCESS_TOKEN=TOKEN)
    return api, data


def test_script_installs_and_prints_the_id(script, line_env, capsys):
    api, data = line_env
    api.answer(LIST, (200, {"richmenus": []}))
    api.answer(CREATE, (200, {"richMenuId": "richmenu-1234"}))
    assert script.main([]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[-1] == "richmenu-1234"
    assert [r.path for r in data.requests] == ["/v2/bot/richmenu/richmenu-1234/content"]
    assert TOKEN not in out.out + out.err


def test_script_without_a_token_says_so(script, line_env, env, capsys):
    env(LINE_CHANNEL_ACCESS_TOKEN="")
    assert script.main([]) == 2
    assert "LINE_CHANNEL_ACCESS_TOKEN is not set" in capsys.readouterr().err
    assert line_env[0].requests == []


def test_script_reports_an_http_error_without_the_token(script, line_env, capsys):
    api, _ = line_env
    api.answer(LIST, (200, {"richmenus": []}))
    api.answer(CREATE, (500, {"message": "Internal error"}))
    assert script.main([]) == 1
    out = capsys.readouterr()
    assert "create rich menu: HTTP 500" in out.err and "Internal error" in out.err
    assert TOKEN not in out.out + out.err


def test_script_reports_an_unreachable_host(script, env, capsys):
    env(
        LINE_API_BASE="http://127.0.0.1:9",  # discard port: connection refused
        LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
    )
    assert script.main([]) == 1
    assert "validate rich menu: no answer" in capsys.readouterr().err


def test_script_dry_run_writes_the_image_and_calls_nothing(script, line_env, tmp_path, capsys):
    target = tmp_path / "menu.png"
    assert script.main(["--dry-run", str(target)]) == 0
    assert Image.open(target).size == (2500, 1686)
    assert '"chatBarText": "ご相談メニュー"' in capsys.readouterr().out
    assert line_env[0].requests == [] and line_env[1].requests == []
