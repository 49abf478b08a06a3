"""Plays a conversation against the running assistant over REST and prints the transcript.

    python scripts/transcript.py "ツイッターで悪口を書かれています" "Xです" ...
    python scripts/transcript.py --sender demo-1 --file conversation.txt   (one message per line)

Buttons are shown as [title → payload]. A message written as "#2" presses the second button of
the previous bot message and one written as "[はい、合っています]" the button of that title, as a
user tapping would; every other message is typed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nettrouble.core.settings import settings  # noqa: E402

# sends one message of a sender and returns the bot's replies (REST channel format)
Send = Callable[[str, str], List[dict]]


def rest_sender(base: str) -> Send:
    def send(sender: str, message: str) -> List[dict]:
        request = urllib.request.Request(
            f"{base}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    return send


def _pressed(message: str, buttons: List[dict]) -> dict:
    """The button a message presses, or an empty dict for a typed message."""
    if message.startswith("#") and message[1:].isdigit() and 0 < int(message[1:]) <= len(buttons):
        return buttons[int(message[1:]) - 1]
    if message.startswith("[") and message.endswith("]"):
        titled = [button for button in buttons if button["title"] == message[1:-1]]
        if not titled:
            raise ValueError(f"no button {message} among {[b['title'] for b in buttons]}")
        return titled[0]
    return {}


def play(send: Send, sender: str, messages: List[str]) -> str:
    """The transcript of ``messages`` said by ``sender``."""
    lines: List[str] = []
    buttons: List[dict] = []
    for message in messages:
        button = _pressed(message, buttons)
        lines += ["", f"ユーザー: [{button['title']}]" if button else f"ユーザー: {message}"]
        buttons = []
        for reply in send(sender, button["payload"] if button else message):
            if reply.get("text"):
                lines.append("ボット: " + reply["text"].replace("\n", "\n      "))
            for offered in reply.get("buttons") or []:
                lines.append(f"      [{offered['title']} → {offered['payload']}]")
                buttons.append(offered)
    return "\n".join(lines).lstrip("\n") + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("messages", nargs="*")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--sender", default=f"transcript-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args()
    messages = list(args.messages)
    if args.file:
        messages += [line for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    base = os.environ.get("RASA_URL", f"http://localhost:{settings().rasa_port}")
    print(play(rest_sender(base), args.sender, messages))
    print(f"(sender: {args.sender})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
