"""Writes what the running assistant sends to the LINE Messaging API for the two turns that carry
cards, so that docs/transcripts/ shows the real request bodies and can be regenerated:

  docs/transcripts/line-articles-carousel.json   an articles request: the Flex carousel
  docs/transcripts/line-referral-bubble.json     the turn after a defamation triage: the first
                                                 steps and the public bodies with call buttons

The whole system is started as the system checks start it (scripts/system_test.py, every
channel on, LINE's API a local recording server, the clock fixed) and spoken to through the
signed LINE webhook. The reply token and the access token vary from run to run and are shown
as placeholders. Also writes the rich menu image to docs/screenshots/line-richmenu.png.

    python scripts/line_transcript.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import system_test  # noqa: E402  (scripts/system_test.py)
import train  # noqa: E402  (scripts/train.py)

from nettrouble.channels import line_richmenu  # noqa: E402

TRANSCRIPTS = ROOT / "docs" / "transcripts"
RICH_MENU_IMAGE = ROOT / "docs" / "screenshots" / "line-richmenu.png"
MESSAGE_CALLS = "/v2/bot/message/"
# Two LINE users, so that the articles request starts a conversation of its own.
ARTICLES_USER = "U" + "a1" * 16
TRIAGE_USER = "U" + "b2" * 16
ARTICLES_TURNS = ["誹謗中傷についての記事を読みたいです"]
# As people type it, up to the confirmation of the summary; the turn after it has the steps.
TRIAGE_TURNS = [
    "ツイッターで悪口を書かれて困っています",
    "自分です",
    "まだ続いています",
    "スクショは保存してあります",
    "はい",
]


def say(system: system_test.System, user: str, text: str) -> List[Dict[str, Any]]:
    """Sends ``text`` as ``user`` through the signed webhook; the LINE API calls it caused."""
    system_test.LINE_USER = user  # line_turn sends as this user
    before = len(system.platform.requests)
    counted = system_test.turns_counted(system, "line")
    system_test.line_turn(system, text)
    system_test.wait_for(
        lambda: (
            system_test.turns_counted(system, "line") > counted
            and any(MESSAGE_CALLS in r.path for r in system.platform.requests[before:])
        ),
        f"the LINE reply to {text!r}",
    )
    return [recorded(r, text) for r in system.platform.requests[before:] if MESSAGE_CALLS in r.path]


def recorded(request: Any, said: str) -> Dict[str, Any]:
    body = request.json()
    if "replyToken" in body:
        body["replyToken"] = "(the reply token of the user's event)"
    return {
        "user_said": said,
        "request": f"{request.method} {request.path}",
        "headers": {
            "Authorization": "Bearer (channel access token)",
            "Content-Type": request.headers.get("Content-Type", ""),
        },
        "body": body,
    }


def has_flex(call: Dict[str, Any], kind: str) -> bool:
    return any(m.get("type") == "flex" and m["contents"].get("type") == kind for m in call["body"]["messages"])


def write(name: str, calls: List[Dict[str, Any]]) -> None:
    path = TRANSCRIPTS / name
    path.write_text(json.dumps(calls, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"line-transcript: {path.relative_to(ROOT)} ({len(calls)} call(s))")


def main() -> int:
    model = train.model_path()
    if not model.exists():
        print(f"line-transcript: no model {model.name}; run `make train` first", file=sys.stderr)
        return 2
    RICH_MENU_IMAGE.write_bytes(line_richmenu.draw_image())
    print(f"line-transcript: {RICH_MENU_IMAGE.relative_to(ROOT)}")
    workdir = Path(tempfile.mkdtemp(prefix="nettrouble-line-"))
    system = system_test.System(workdir, model, every_channel=True)
    try:
        system.start()
        articles = [call for text in ARTICLES_TURNS for call in say(system, ARTICLES_USER, text)]
        triage = [call for text in TRIAGE_TURNS for call in say(system, TRIAGE_USER, text)]
    finally:
        system.stop()
    carousel = [call for call in articles if has_flex(call, "carousel")]
    steps = [call for call in triage if has_flex(call, "bubble")]
    if not carousel or not steps:
        print(
            f"line-transcript: no card sent (articles: {len(carousel)}, first steps: {len(steps)}); logs in "
            f"{workdir}; what was sent:",
            file=sys.stderr,
        )
        for call in articles + triage:
            print(
                f"  {call['user_said']}: "
                + " | ".join((m.get("text") or m.get("altText") or m["type"])[:80] for m in call["body"]["messages"]),
                file=sys.stderr,
            )
        return 1
    write("line-articles-carousel.json", carousel)
    write("line-referral-bubble.json", steps)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
