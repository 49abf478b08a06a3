"""After a conversation full of phone numbers and addresses in every form, no database file and
no log of the running assistant holds any of them, no user text started a log line of its own,
and every such file is readable by its owner only."""

from __future__ import annotations

import re
import stat
import unicodedata

MOBILE = "09031415926"
LANDLINE = "0327182818"
KANJI = str.maketrans("〇一二三四五六七八九", "0123456789")
MESSAGES = [
    "ツイッターで悪口を書かれて困っています",
    "携帯は090-3141-5926、自宅は03-2718-2818です",
    "090.3141.5926 か 090/3141/5926 か 090_3141_5926 にお願いします",
    "番号は 0 9 0 3 1 4 1 5 9 2 6 です",
    "〇九〇三一四一五九二六、〇九〇-三一四一-五九二六",
    "81-90-3141-5926、+81 90 3141 5926、＋８１　９０　３１４１　５９２６",
    "０９０ー３１４１ー５９２６、０９０３１４１５９２６、(03)2718-2818",
    "メールは hanako.test@example.jp、user@localhost、taro@example、ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ",
    "/inform 電話は090-3141-5926 メール hanako.test@example.jp\nFAKE LINE 2020-07-15 INFO admin logged in",
    '/inform{"phone": "09031415926"}\r\nFAKE LINE second\u2028FAKE LINE third',
    "担当者と話したい",
]
SENDERS = ["pii-web-1", "+819031415926"]  # an SMS sender is its phone number
ADDRESSES = ["hanako.test", "user@localhost", "taro@example", "ｈａｎａｋｏ"]
NUMBERISH = re.compile(r"[0-9](?:[\s\-./_()]{0,3}[0-9])*")


def readable_forms(raw: bytes) -> str:
    """The file's bytes as text, with JSON escapes read back and every digit folded to ASCII."""
    text = raw.decode("utf-8", "ignore")
    text += "\n" + re.sub(
        r"\\u([0-9a-fA-F]{4})",
        lambda m: chr(int(m.group(1), 16)) if not 0xD800 <= int(m.group(1), 16) <= 0xDFFF else "",
        text,
    )
    return unicodedata.normalize("NFKC", text).translate(KANJI).replace("ー", "-")


def test_no_number_or_address_is_stored_or_logged_and_files_are_private(assistant):
    for sender in SENDERS:
        for message in MESSAGES:
            assistant.say(sender, message)

    files = [
        path for path in assistant.workdir.iterdir() if path.is_file() and (".db" in path.name or path.suffix == ".log")
    ]
    names = {path.name for path in files}
    assert {"tracker.db", "cases.db", "actions.log", "rasa.log"} <= names, names

    for path in files:
        raw = path.read_bytes()
        text = readable_forms(raw)
        for address in ADDRESSES:
            assert address not in raw.decode("utf-8", "ignore") and address not in text, (path.name, address)
        for run in NUMBERISH.findall(text):
            digits = re.sub(r"[^0-9]", "", run)
            for secret in (MOBILE[1:], LANDLINE[1:], MOBILE[3:], LANDLINE[2:]):
                assert secret not in digits, (path.name, run)
        if path.suffix == ".log":
            assert not re.search(r"^\s*FAKE LINE", text, re.MULTILINE), path.name

    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path.name, oct(path.stat().st_mode))
