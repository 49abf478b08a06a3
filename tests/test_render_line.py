"""LINE message objects of a turn (addons/channels/render_line.py)."""
import logging
from pathlib import Path

import pytest
import yaml

from addons.channels import render, render_line
from addons.channels.render import BotMessage, Button

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def responses():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {name: variants[0] for name, variants in domain["responses"].items()}


def from_response(response):
    return render.bot_messages([{"text": response["text"], "buttons": response.get("buttons")}])


def test_more_than_five_messages_are_merged_without_losing_text():
    messages = [BotMessage(f"{n}番目のご案内です。") for n in range(1, 8)]
    payload = render_line.line_messages(messages)
    assert len(payload) == 5
    joined = "\n\n".join(m["text"] for m in payload)
    assert joined == "\n\n".join(m.text for m in messages)


def test_long_text_is_split_at_sentence_ends_within_5000():
    sentence = "書き込みの画面を保存しておいてください。" * 600  # 12,000 characters
    payload = render_line.line_messages([BotMessage(sentence)])
    assert len(payload) == 3
    assert all(len(m["text"]) <= render_line.LINE_MAX_TEXT for m in payload)
    assert all(m["text"].endswith("。") for m in payload)
    assert "".join(m["text"] for m in payload) == sentence


def test_more_than_five_messages_that_cannot_merge_are_cut_to_five(caplog):
    messages = [BotMessage("", image=f"https://example.jp/{n}.png") for n in range(7)]
    with caplog.at_level(logging.WARNING):
        payload = render_line.line_messages(messages)
    assert len(payload) == 5 and "cut to 5" in caplog.text


def test_buttons_become_quick_replies_on_the_last_message(responses):
    payload = render_line.line_messages(from_response(responses["utter_default"]))
    assert len(payload) == 1
    items = payload[-1]["quickReply"]["items"]
    assert len(items) == len(responses["utter_default"]["buttons"]) == 10
    first = items[0]["action"]
    assert first == {"type": "postback", "label": "SNSでの誹謗中傷", "data": "/trouble_defamation",
                     "displayText": "SNSでの誹謗中傷"}
    assert all(len(item["action"]["label"]) <= render_line.LINE_MAX_LABEL for item in items)


def test_quick_reply_limits_label_count_and_data():
    buttons = tuple(Button(f"とても長いボタンの題名です番号{n:02d}をお選びください", f"/choice{n}") for n in range(15))
    long_payload = Button("長い", "/inform" + "x" * 400)
    payload = render_line.line_messages([BotMessage("お選びください。", buttons + (long_payload,))])
    items = payload[-1]["quickReply"]["items"]
    assert len(items) == render_line.LINE_MAX_QUICK_REPLIES
    assert all(len(i["action"]["label"]) <= 20 for i in items)
    assert items[0]["action"]["label"].endswith("…")
    # the three that do not fit are listed, so the user can still type them
    assert "・とても長いボタンの題名です番号13をお選びください" in payload[-1]["text"]
    assert "・長い" in payload[-1]["text"]
    assert len(payload) <= 5


def test_long_payload_becomes_a_message_action():
    item = render_line._quick_reply_item(Button("長い", "/inform" + "x" * 400))
    assert item["action"] == {"type": "message", "label": "長い", "text": "長い"}


def test_buttons_without_text_still_get_a_message():
    payload = render_line.line_messages([BotMessage("", (Button("はい", "はい"),))])
    assert payload[0]["text"] and payload[0]["quickReply"]["items"][0]["action"]["data"] == "はい"


