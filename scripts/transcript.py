"""Plays a conversation against the running assistant over REST and prints the transcript.

    python scripts/transcript.py "ツイッターで悪口を書かれています" "Xです" ...
    python scripts/transcript.py --sender demo-1 --file conversation.txt   (one message per line)

Buttons are shown as [title → payload]; a message written as "#2" presses the second button
of the previous bot message, as a user would.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nettrouble.settings import settings  # noqa: E402


def send(base: str, sender: str, message: str) -> list:
    request = urllib.request.Request(
        f"{base}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


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
    buttons: list = []
    for message in messages:
        if message.startswith("#") and message[1:].isdigit() and buttons:
            chosen = buttons[int(message[1:]) - 1]
            print(f"\nユーザー: [{chosen['title']}]")
            message = chosen["payload"]
        else:
            print(f"\nユーザー: {message}")
        replies = send(base, args.sender, message)
        buttons = []
        for reply in replies:
            if reply.get("text"):
                print("ボット: " + reply["text"].replace("\n", "\n      "))
            for button in reply.get("buttons") or []:
                print(f"      [{button['title']} → {button['payload']}]")
                buttons.append(button)
    print(f"\n(sender: {args.sender})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
