"""The LINE rich menu: six entry points, each a postback whose data is an intent payload the bot
answers (``data/rules``), its image drawn here, and its installation through the Messaging API.

LINE's rules for a rich menu (https://developers.line.biz/en/reference/messaging-api/#rich-menu-object
and "Upload rich menu image"): a size of 2500x1686 or 2500x843 (among others), at most 20
areas, ``chatBarText`` of at most 14 characters, ``name`` of at most 300; a JPEG or PNG image
of exactly that size and at most 1 MB, uploaded to the data API host. Rich menu action labels
take 20 characters, postback ``data`` and ``displayText`` 300.

The image's Japanese font is IPAex Gothic from the PyPI package ``japanize-matplotlib``
(pinned in requirements.txt): every machine that installs the project has it, with no system
font package and no download.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Sequence, Tuple

from nettrouble.channels.line_api import LineApi
from nettrouble.content import service

if TYPE_CHECKING:
    # Pillow is imported only when an image is drawn (make line-richmenu).
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont

WIDTH, HEIGHT = 2500, 1686
COLUMNS, ROWS = 3, 2
MAX_IMAGE_BYTES = 1024 * 1024
MAX_AREAS = 20
MAX_CHAT_BAR_TEXT = 14
MAX_NAME = 300
MAX_LABEL = 20
MAX_POSTBACK_TEXT = 300
ALLOWED_SIZES = ((2500, 1686), (2500, 843), (1200, 810), (1200, 405), (800, 540), (800, 270))
IMAGE_TYPE = "image/png"
CHAT_BAR_TEXT = "ご相談メニュー"
# Every menu this project made has a name that starts so; the rest of the name is the digest of
# the definition and the image, so that running the install twice changes nothing.
NAME_PREFIX = "nettrouble-main"

# White on each background at least 4.5:1 (WCAG AA for any size; these reach 7:1 and more).
TEXT_COLOUR = "#FFFFFF"
SUBTITLE_COLOUR = "#E8F1FB"
ROW_COLOURS = ("#0B4F8A", "#155E4B")
LINE_COLOUR = "#FFFFFF"
TITLE_PX, SUBTITLE_PX, MIN_TEXT_PX = 118, 70, 84
MARGIN_PX = 60


@dataclass(frozen=True)
class Entry:
    """One area: its words on the image, the postback the bot gets, and what the chat shows
    as the user's message when it is tapped."""

    title: str
    subtitle: str
    payload: str
    display_text: str
    icon: str

    @property
    def intent(self) -> str:
        return self.payload.lstrip("/")


def entries() -> List[Entry]:
    """The six areas, left to right and top to bottom."""
    return [
        Entry("新しいご相談", "お困りごとを選ぶ", "/need_help", "相談したいことがあります", "new"),
        Entry("受付時間・電話", service.facts().phone, "/ask_hours", "受付時間と電話番号を教えてください", "clock"),
        Entry("事例記事", "トラブル別の記事", "/ask_articles", "事例記事を読みたいです", "article"),
        Entry("スタッフと話す", "専門スタッフへ", "/request_human", "スタッフと話したいです", "staff"),
        Entry("無料相談", "対象かどうか確認", "/ask_free_consultation", "無料相談を受けられますか", "check"),
        Entry("サービス案内", "料金・内容", "/ask_service_info", "サービスについて教えてください", "info"),
    ]


def area_bounds(index: int) -> Dict[str, int]:
    """The bounds of area ``index`` on the grid; the last column and row take the remainder,
    so the areas cover the image exactly."""
    column, row = index % COLUMNS, index // COLUMNS
    x0, x1 = WIDTH * column // COLUMNS, WIDTH * (column + 1) // COLUMNS
    y0, y1 = HEIGHT * row // ROWS, HEIGHT * (row + 1) // ROWS
    return {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}


def rich_menu(image: bytes, menu_entries: Sequence[Entry] = ()) -> Dict[str, Any]:
    """The rich menu object for ``image``; its name carries the digest of both."""
    menu_entries = list(menu_entries) or entries()
    menu: Dict[str, Any] = {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "chatBarText": CHAT_BAR_TEXT,
        "areas": [
            {
                "bounds": area_bounds(index),
                "action": {
                    "type": "postback",
                    "label": entry.title,
                    "data": entry.payload,
                    "displayText": entry.display_text,
                },
            }
            for index, entry in enumerate(menu_entries)
        ],
    }
    digest = hashlib.sha256(json.dumps(menu, ensure_ascii=False, sort_keys=True).encode() + image).hexdigest()
    return {"name": f"{NAME_PREFIX} {digest[:16]}", **menu}


def menu_problems(menu: Dict[str, Any]) -> List[str]:
    """Where ``menu`` breaks LINE's rules for a rich menu object (empty when it keeps them)."""
    problems = []
    size = menu.get("size") or {}
    width, height = size.get("width"), size.get("height")
    if (width, height) not in ALLOWED_SIZES:
        problems.append(f"size {width}x{height} is not one LINE takes")
    if not isinstance(menu.get("name"), str) or not 0 < len(menu["name"]) <= MAX_NAME:
        problems.append(f"name must be 1 to {MAX_NAME} characters")
    if not isinstance(menu.get("chatBarText"), str) or not 0 < len(menu["chatBarText"]) <= MAX_CHAT_BAR_TEXT:
        problems.append(f"chatBarText must be 1 to {MAX_CHAT_BAR_TEXT} characters")
    areas = menu.get("areas") or []
    if not 0 < len(areas) <= MAX_AREAS:
        problems.append(f"a rich menu has 1 to {MAX_AREAS} areas")
    covered = 0
    for index, area in enumerate(areas):
        bounds, action = area.get("bounds") or {}, area.get("action") or {}
        x, y, w, h = (bounds.get(key, -1) for key in ("x", "y", "width", "height"))
        if min(x, y) < 0 or w <= 0 or h <= 0 or x + w > (width or 0) or y + h > (height or 0):
            problems.append(f"area {index} lies outside the image")
        covered += max(w, 0) * max(h, 0)
        if action.get("type") != "postback":
            problems.append(f"area {index}: not a postback action")
        if not 0 < len(str(action.get("label", ""))) <= MAX_LABEL:
            problems.append(f"area {index}: label must be 1 to {MAX_LABEL} characters")
        for key in ("data", "displayText"):
            if not 0 < len(str(action.get(key, ""))) <= MAX_POSTBACK_TEXT:
                problems.append(f"area {index}: {key} must be 1 to {MAX_POSTBACK_TEXT} characters")
    if width and height and covered != width * height:
        problems.append("the areas do not cover the image exactly once")
    return problems


# ---- the image --------------------------------------------------------------------------


def font_path() -> Path:
    """IPAex Gothic, shipped inside the ``japanize-matplotlib`` package (the module itself is not
    imported: it would change matplotlib's settings)."""
    spec = importlib.util.find_spec("japanize_matplotlib")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            return path
    raise FileNotFoundError(
        "the Japanese font of the rich menu (japanize-matplotlib's ipaexg.ttf) is not installed: run `make setup`"
    )


def _rgb(colour: str) -> Tuple[int, int, int]:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return red, green, blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [value / 255 for value in _rgb(colour)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _icon_new(draw: ImageDraw, cx: int, cy: int, r: int, colour: str) -> None:
    # a speech bubble with a plus
    draw.rounded_rectangle((cx - r, cy - r * 3 // 4, cx + r, cy + r * 1 // 2), radius=r // 3, outline=colour, width=14)
    draw.polygon([(cx - r // 2, cy + r // 2 - 7), (cx - r // 2, cy + r), (cx - r // 8, cy + r // 2 - 7)], fill=colour)
    draw.line((cx - r // 3, cy - r // 8, cx + r // 3, cy - r // 8), fill=colour, width=16)
    draw.line((cx, cy - r // 2 + 8, cx, cy + r // 4 - 8), fill=colour, width=16)


def _icon_clock(draw: ImageDraw, cx: int, cy: int, r: int, colour: str) -> None:
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=14)
    draw.line((cx, cy, cx, cy - r * 2 // 3), fill=colour, width=16)
    draw.line((cx, cy, cx + r // 2, cy + r // 4), fill=colour, width=16)


def _icon_article(draw: ImageDraw, cx: int, cy: int, r: int, colour: str) -> None:
    draw.rounded_rectangle((cx - r * 3 // 4, cy - r, cx + r * 3 // 4, cy + r), radius=r // 6, outline=colour, width=14)
    for step in (-2, -1, 0, 1):
        y = cy + step * r // 3 + r // 8
        draw.line((cx - r // 2, y, cx + r // 2 if step < 1 else cx + r // 6, y), fill=colour, width=12)


def _icon_staff(draw: ImageDraw, cx: int, cy: int, r: int, colour: str) -> None:
    draw.ellipse((cx - r // 3, cy - r, cx + r // 3, cy - r // 3), outline=colour, width=14)
    draw.arc(
        (cx - r * 3 // 4, cy - r // 6, cx + r * 3 // 4, cy + r * 4 // 3), start=180, end=360, fill=colour, width=14
    )
    draw.line((cx - r * 3 // 4, cy + r * 7 // 12, cx + r * 3 // 4, cy + r * 7 // 12), fill=colour, width=14)


def _icon_check(draw: ImageDraw, cx: int, cy: int, r: int, colour: str) -> None:
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=14)
    draw.line(
        [(cx - r // 2, cy), (cx - r // 8, cy + r * 2 // 5), (cx + r // 2, cy - r // 3)],
        fill=colour,
        width=18,
        joint="curve",
    )


def _icon_info(draw: ImageDraw, cx: int, cy: int, r: int, colour: str) -> None:
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=14)
    draw.ellipse((cx - 12, cy - r // 2 - 12, cx + 12, cy - r // 2 + 12), fill=colour)
    draw.line((cx, cy - r // 6, cx, cy + r // 2), fill=colour, width=20)


ICONS: Dict[str, Callable[[ImageDraw, int, int, int, str], None]] = {
    "new": _icon_new,
    "clock": _icon_clock,
    "article": _icon_article,
    "staff": _icon_staff,
    "check": _icon_check,
    "info": _icon_info,
}


def _fitting_font(draw: ImageDraw, text: str, start_px: int, width: int, font_file: Path) -> FreeTypeFont:
    """The font at ``start_px``, smaller only as far as ``text`` needs to fit ``width``."""
    from PIL import ImageFont

    size = start_px
    font = ImageFont.truetype(str(font_file), size)
    while size > MIN_TEXT_PX and draw.textlength(text, font=font) > width:
        size -= 2
        font = ImageFont.truetype(str(font_file), size)
    return font


def draw_image(menu_entries: Sequence[Entry] = ()) -> bytes:
    """The menu's PNG: one tile per area with an icon, the title and a subtitle, white on a
    dark colour per row, thin white lines between the tiles."""
    from PIL import Image, ImageDraw

    menu_entries = list(menu_entries) or entries()
    font_file = font_path()
    image = Image.new("RGB", (WIDTH, HEIGHT), ROW_COLOURS[0])
    draw = ImageDraw.Draw(image)
    for index, entry in enumerate(menu_entries):
        bounds = area_bounds(index)
        x, y, w, h = bounds["x"], bounds["y"], bounds["width"], bounds["height"]
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=ROW_COLOURS[(index // COLUMNS) % len(ROW_COLOURS)])
        cx = x + w // 2
        ICONS[entry.icon](draw, cx, y + h * 30 // 100, h // 7, TEXT_COLOUR)
        title = _fitting_font(draw, entry.title, TITLE_PX, w - 2 * MARGIN_PX, font_file)
        draw.text((cx, y + h * 62 // 100), entry.title, font=title, fill=TEXT_COLOUR, anchor="mm")
        subtitle = _fitting_font(draw, entry.subtitle, SUBTITLE_PX, w - 2 * MARGIN_PX, font_file)
        draw.text((cx, y + h * 80 // 100), entry.subtitle, font=subtitle, fill=SUBTITLE_COLOUR, anchor="mm")
    for column in range(1, COLUMNS):
        x = WIDTH * column // COLUMNS
        draw.line((x, 0, x, HEIGHT), fill=LINE_COLOUR, width=4)
    for row in range(1, ROWS):
        y = HEIGHT * row // ROWS
        draw.line((0, y, WIDTH, y), fill=LINE_COLOUR, width=4)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"the rich menu image is {len(data)} bytes; LINE takes at most {MAX_IMAGE_BYTES}")
    return data


# ---- installation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    menu_id: str
    created: bool
    deleted: Tuple[str, ...]


async def install(api: LineApi, image: bytes) -> Installed:
    """Makes the menu of ``image`` every user's default through ``api``:
    validated by LINE, created and its image uploaded unless the same menu with its image is
    there already, set as the default, then the older menus of this project deleted. Raises
    ``ValueError`` for a menu that breaks LINE's rules, ``LineApiError`` for a refused call."""
    menu = rich_menu(image)
    problems = menu_problems(menu)
    if problems:
        raise ValueError("the rich menu breaks LINE's rules: " + "; ".join(problems))
    await api.validate_rich_menu(menu)
    ours = [m for m in await api.rich_menus() if str(m.get("name", "")).startswith(NAME_PREFIX)]
    same = [m["richMenuId"] for m in ours if m.get("name") == menu["name"]]
    if same and await api.has_rich_menu_image(same[0]):
        menu_id, created = same[0], False
    else:
        menu_id, created = await api.create_rich_menu(menu), True
        await api.upload_rich_menu_image(menu_id, image, IMAGE_TYPE)
    # The new default first, so that users are never without a menu.
    await api.set_default_rich_menu(menu_id)
    older = tuple(m["richMenuId"] for m in ours if m["richMenuId"] != menu_id)
    for old in older:
        await api.delete_rich_menu(old)
    return Installed(menu_id, created, older)
