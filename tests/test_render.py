"""The one renderer: the bot's messages fit each channel's limits, and nothing is lost."""

import asyncio
import logging

from addons.channels import render
from addons.channels.render import BotMessage, Button

# ---- reading Rasa's messages ---------------------------------------------------------------


def test_malformed_parts_are_left_out_and_custom_text_is_kept(caplog):
    raw = [
        {
            "recipient_id": "u",
            "text": "ご案内です。",
            "buttons": [
                {"title": "はい", "payload": "はい"},
                {"title": "", "payload": "/x"},
                {"payload": "/y"},
                "broken",
            ],
        },
        {
            "recipient_id": "u",
            "custom": {"text": "カスタムの文です。", "buttons": [{"title": "記事", "payload": "/ask_articles"}]},
        },
        {"recipient_id": "u", "custom": {"widget": "map"}},
        {"recipient_id": "u", "text": "   "},
        "not a message",
    ]
    with caplog.at_level(logging.WARNING):
        messages = render.bot_messages(raw)
    assert messages == [
        BotMessage(text="ご案内です。", buttons=(Button("はい", "はい"),)),
        BotMessage(text="カスタムの文です。", buttons=(Button("記事", "/ask_articles"),)),
    ]
    assert "custom payload" in caplog.text and "widget" in caplog.text


def test_turn_buttons_keep_order_and_each_payload_once():
    messages = [
        BotMessage("a", (Button("はい", "/affirm"), Button("いいえ", "/deny"))),
        BotMessage("b", (Button("はい（再掲）", "/affirm"), Button("記事", "/ask_articles"))),
    ]
    assert [b.payload for b in render.turn_buttons(messages)] == ["/affirm", "/deny", "/ask_articles"]


# ---- web -----------------------------------------------------------------------------------


def test_links_and_case_reference_are_separate_parts():
    text = "受付番号はNT-2507-12345-6です。\n詳しくは https://nettrouble.docomo.ne.jp/category/ をご覧ください（https://example.jp/a.html）。"
    parts = render.text_parts(text)
    assert "".join(part["text"] for part in parts) == text
    assert [p for p in parts if p["type"] != "text"] == [
        {"type": "reference", "text": "NT-2507-12345-6"},
        {
            "type": "link",
            "text": "https://nettrouble.docomo.ne.jp/category/",
            "href": "https://nettrouble.docomo.ne.jp/category/",
        },
        {"type": "link", "text": "https://example.jp/a.html", "href": "https://example.jp/a.html"},
    ]


def test_only_https_addresses_become_links_and_markup_stays_text():
    text = '<img src=x onerror="alert(1)"> http://example.jp javascript:alert(1) NT-2507-12345-67 XNT-2507-12345-6'
    assert render.text_parts(text) == [{"type": "text", "text": text}]


def test_link_drops_trailing_punctuation():
    parts = render.text_parts("サイト(https://nettrouble.docomo.ne.jp/).")
    assert parts[1] == {
        "type": "link",
        "text": "https://nettrouble.docomo.ne.jp/",
        "href": "https://nettrouble.docomo.ne.jp/",
    }
    assert parts[2] == {"type": "text", "text": ")."}


def test_web_message_carries_references_buttons_and_only_https_images():
    message = render.web_message(
        BotMessage("番号は NT-2507-12345-6 です。", (Button("はい", "/affirm"),), "http://x.jp/a.png")
    )
    assert message["references"] == ["NT-2507-12345-6"]
    assert message["buttons"] == [{"title": "はい", "payload": "/affirm"}]
    assert message["image"] == "" and message["text"].endswith("http://x.jp/a.png")


def test_a_card_sent_with_a_text_stays_with_it():
    card = {"kind": "articles", "articles": [{"title": "t", "summary": "s", "url": "https://x/", "free_until": None}]}
    [message] = render.bot_messages([{"text": "記事です", "custom": {"card": card}}])
    assert message.text == "記事です" and message.card == card
    # A card of a kind no channel knows is not drawn, and the text still goes.
    [other] = render.bot_messages([{"text": "記事です", "custom": {"card": {"kind": "poll"}}}])
    assert other.text == "記事です" and other.card is None


def test_the_turn_collector_keeps_a_text_and_its_card_as_one_message():
    from addons.channels.turns import TurnCollector

    collector = TurnCollector()
    asyncio.run(
        collector.send_response("u", {"text": "記事です。\n\n一つ目", "custom": {"card": {"kind": "guidance"}}})
    )
    asyncio.run(collector.send_response("u", {"text": "次へ", "buttons": [{"title": "はい", "payload": "/affirm"}]}))
    # Without a card, a text is cut at its blank lines as Rasa's REST channel answers it.
    asyncio.run(collector.send_response("u", {"text": "ご案内です。\n\n二つ目"}))
    messages = render.bot_messages(collector.messages)
    assert [m.text for m in messages] == ["記事です。\n\n一つ目", "次へ", "ご案内です。", "二つ目"]
    assert messages[0].card == {"kind": "guidance"} and messages[1].buttons
