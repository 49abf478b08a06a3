"""Installs the LINE rich menu (nettrouble/channels/line_richmenu.py): checks it against LINE's rules,
has LINE validate it, creates it and uploads its image to the data API host (LINE_DATA_API_BASE),
makes it the default menu of every user, deletes the older menus this project made, and prints
its id. Running it again with nothing changed keeps the same menu. It needs
LINE_CHANNEL_ACCESS_TOKEN in .env or the environment (make line-richmenu).

    python scripts/line_richmenu.py             install
    python scripts/line_richmenu.py --dry-run PATH
                                                only check the menu and write its image to PATH
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nettrouble.channels import line_richmenu  # noqa: E402
from nettrouble.channels.line_api import LineApi, LineApiError  # noqa: E402
from nettrouble.core.settings import settings  # noqa: E402


def dry_run(path: Path, image: bytes) -> int:
    menu = line_richmenu.rich_menu(image)
    problems = line_richmenu.menu_problems(menu)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image)
    print(json.dumps(menu, ensure_ascii=False, indent=1))
    print(f"line-richmenu: image {line_richmenu.WIDTH}x{line_richmenu.HEIGHT}, {len(image)} bytes, written to {path}")
    if problems:
        print("line-richmenu: the menu breaks LINE's rules: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


async def install(token: str, image: bytes) -> line_richmenu.Installed:
    async with LineApi(token) as api:
        return await line_richmenu.install(api, image)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--dry-run", metavar="PATH", type=Path, help="write the image to PATH and print the menu, without calling LINE"
    )
    args = parser.parse_args(argv)
    try:
        image = line_richmenu.draw_image()
    except (FileNotFoundError, ValueError) as error:
        print(f"line-richmenu: {error}", file=sys.stderr)
        return 1
    if args.dry_run:
        return dry_run(args.dry_run, image)
    token = settings().line_channel_access_token
    if not token:
        print(
            "line-richmenu: LINE_CHANNEL_ACCESS_TOKEN is not set: put the channel's access token in .env "
            "(LINE Developers console, Messaging API tab)",
            file=sys.stderr,
        )
        return 2
    try:
        installed = asyncio.run(install(token, image))
    except (LineApiError, ValueError) as error:
        print(f"line-richmenu: {error}", file=sys.stderr)
        return 1
    what = "created and set as the default" if installed.created else "already there, kept as the default"
    print(f"line-richmenu: {installed.menu_id} {what}; older menus deleted: {len(installed.deleted)}")
    print(installed.menu_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
