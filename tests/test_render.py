"""The one renderer: the bot's messages fit each channel's limits, and nothing is lost."""
import asyncio
import logging
from pathlib import Path

import pytest
import yaml

from addons.channels import render, render_line, render_sms
from addons.channels.render import BotMessage, Button
from addons.channels.turns import clean_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def responses():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {name: variants[0] for name, variants in domain["responses"].items()}


def from_response(response):
    return render.bot_messages([{"text": response["text"], "buttons": response.get("buttons")}])


# ---- reading Rasa's messages ---------------------------------------------------------------

def test_malformed_parts_are_left_out_and_custom_text_is_kept(caplog):
    raw = [
        {"recipient_id": "u", "text": "ご案内です。", "buttons": [
            {"title": "はい", "payload": "はい"}, {"title": "", "payload": "/x"}, {"payload": "/y"}, "broken"]},
        {"recipient_id": "u", "custom": {"text": "カスタムの文です。", "buttons": [{"title": "記事", "payload": "/ask_articles"}]}},
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
    messages = [BotMessage("a", (Button("はい", "/affirm"), Button("いいえ", "/deny"))),
                BotMessage("b", (Button("はい（再掲）", "/affirm"), Button("記事", "/ask_articles")))]
    assert [b.payload for b in render.turn_buttons(messages)] == ["/affirm", "/deny", "/ask_articles"]


# ---- web -----------------------------------------------------------------------------------

def test_links_and_case_reference_are_separate_parts():
    text = "受付番号はNT-2507-12345-6です。\n詳しくは https://nettrouble.docomo.ne.jp/category/ をご覧ください（https://example.jp/a.html）。"
    parts = render.text_parts(text)
    assert "".join(part["text"] for part in parts) == text
    assert [p for p in parts if p["type"] != "text"] == [
        {"type": "reference", "text": "NT-2507-12345-6"},
        {"type": "link", "text": "https://nettrouble.docomo.ne.jp/category/", "href": "https://nettrouble.docomo.ne.jp/category/"},
        {"type": "link", "text": "https://example.jp/a.html", "href": "https://example.jp/a.html"},
    ]


def test_only_https_addresses_become_links_and_markup_stays_text():
    text = '<img src=x onerror="alert(1)"> http://example.jp javascript:alert(1) NT-2507-12345-67 XNT-2507-12345-6'
    assert render.text_parts(text) == [{"type": "text", "text": text}]


def test_link_drops_trailing_punctuation():
    parts = render.text_parts("サイト(https://nettrouble.docomo.ne.jp/).")
    assert parts[1] == {"type": "link", "text": "https://nettrouble.docomo.ne.jp/", "href": "https://nettrouble.docomo.ne.jp/"}
    assert parts[2] == {"type": "text", "text": ")."}


def test_web_message_carries_references_buttons_and_only_https_images():
    message = render.web_message(BotMessage("番号は NT-2507-12345-6 です。", (Button("はい", "/affirm"),), "http://x.jp/a.png"))
    assert message["references"] == ["NT-2507-12345-6"]
    assert message["buttons"] == [{"title": "はい", "payload": "/affirm"}]
    assert message["image"] == "" and message["text"].endswith("http://x.jp/a.png")


# ---- LINE ----------------------------------------------------------------------------------

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


# ---- SMS -----------------------------------------------------------------------------------

def test_every_sms_fits_one_segment_and_the_menu_is_numbered(responses):
    texts = render_sms.sms_texts(from_response(responses["utter_default"]))
    assert all(render_sms.ucs2_length(t) <= render_sms.SMS_SEGMENT for t in texts)
    assert len(texts) <= render_sms.SMS_MAX_PER_TURN
    joined = "\n".join(texts)
    assert "1: SNSでの誹謗中傷" in joined and "10: 子どものネットいじめ" in joined
    assert render_sms.SMS_MENU_HINT in joined
    assert "0120-221-360" in joined


def test_self_harm_message_keeps_every_number(responses):
    text = responses["utter_urgent_self_harm"]["text"]
    texts = render_sms.sms_texts(from_response(responses["utter_urgent_self_harm"]))
    joined = "\n".join(texts)
    for number in render.PHONE.findall(text):
        assert number in joined
    assert all(render_sms.ucs2_length(t) <= 70 for t in texts)


def test_only_the_first_url_is_kept():
    texts = render_sms.sms_texts([BotMessage("記事は https://nettrouble.docomo.ne.jp/a/ です。"),
                              BotMessage("ほかに https://nettrouble.docomo.ne.jp/b/ もございます。")])
    joined = "".join(texts)
    assert "https://nettrouble.docomo.ne.jp/a/" in joined and "/b/" not in joined


def test_a_long_turn_is_shortened_but_keeps_numbers_and_reference():
    filler = [BotMessage("ご不安なことと存じます。落ち着いて、ひとつずつ確認してまいりましょう。" * 2) for _ in range(6)]
    important = BotMessage("受付番号は NT-2507-12345-6 です。\nお電話は 0120-221-360 まで。")
    texts = render_sms.sms_texts(filler + [important], max_texts=4)
    assert len(texts) <= 4
    joined = "".join(texts)
    assert "NT-2507-12345-6" in joined and "0120-221-360" in joined
    assert "ご不安なことと存じます" in joined  # filler fills the room that is left, in order


def test_a_shortened_turn_keeps_the_question_its_menu_answers():
    filler = [BotMessage("ご不安なことと存じます。落ち着いて、ひとつずつ確認してまいりましょう。" * 2) for _ in range(6)]
    question = BotMessage("ドコモの携帯電話回線をお使いですか？",
                          buttons=(Button("はい（ドコモ回線です）", "/affirm"), Button("いいえ（他社です）", "/deny")))
    texts = render_sms.sms_texts(filler + [question], max_texts=4)
    joined = "".join(texts)
    assert len(texts) <= 4
    assert "ドコモの携帯電話回線をお使いですか？" in joined and "1: はい（ドコモ回線です）" in joined


def test_a_shortened_line_keeps_its_beginning():
    # the title's first sentence no longer fits beside the first line; its second would
    filler = BotMessage("あ" * 49)
    title = BotMessage("2. 誹謗中傷の投稿を削除してもらうには？運営者への削除依頼の流れ")
    texts = render_sms.sms_texts([filler, title], max_texts=1)
    assert texts == ["あ" * 49]


def test_emoji_counts_double_in_ucs2():
    assert render_sms.ucs2_length("あ😀") == 3
    texts = render_sms.sms_texts([BotMessage("😀" * 40)])
    assert [render_sms.ucs2_length(t) for t in texts] == [70, 10]


def test_menu_choice_reads_full_width_digits_after_nfkc():
    menu = [Button("はい", "/affirm"), Button("いいえ", "/deny")]
    assert render_sms.menu_choice(clean_text("１"), menu) == menu[0]
    assert render_sms.menu_choice(" 2 ", menu) == menu[1]
    for reply in ("0", "3", "1a", "", "٣", "①"):
        assert render_sms.menu_choice(reply, menu) is None


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
    asyncio.run(collector.send_response("u", {"text": "記事です", "custom": {"card": {"kind": "guidance"}}}))
    asyncio.run(collector.send_response("u", {"text": "次へ", "buttons": [{"title": "はい", "payload": "/affirm"}]}))
    messages = render.bot_messages(collector.messages)
    assert [m.text for m in messages] == ["記事です", "次へ"]
    assert messages[0].card == {"kind": "guidance"} and messages[1].buttons
