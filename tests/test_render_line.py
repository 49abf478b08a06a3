"""LINE message objects of a turn (addons/channels/render_line.py): text, quick replies, and the
Flex cards of real articles and first steps checked against the Messaging API's documented limits."""

import logging
from datetime import datetime, timezone

import pytest

from addons.channels import render_line
from addons.channels.render import BotMessage, Button
from nettrouble.content import articles, service
from nettrouble.core import datafiles
from nettrouble.triage import guidance
from tests.fakes.dispatcher import filled


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


def test_buttons_become_quick_replies_on_the_last_message(responses, messages_of):
    payload = render_line.line_messages(messages_of(responses["utter_default"]))
    assert len(payload) == 1
    items = payload[-1]["quickReply"]["items"]
    assert len(items) == len(responses["utter_default"]["buttons"]) == 10
    first = items[0]["action"]
    assert first == {
        "type": "postback",
        "label": "SNSでの誹謗中傷",
        "data": "/trouble_defamation",
        "displayText": "SNSでの誹謗中傷",
    }
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


# ---- Flex cards ------------------------------------------------------------------------------

FREE_DAY = datetime(2020, 7, 15, 3, tzinfo=timezone.utc)  # inside the 2020 campaign window
MEMBERS_DAY = datetime(2024, 3, 1, 3, tzinfo=timezone.utc)  # outside every free window
URGENCIES = [[], ["danger"], ["minor"], ["danger", "minor"]]


def articles_message(found, at):
    facts = service.facts()
    response, values = articles.offer_response(found, at, facts)
    text = filled({"response": response, **values})["text"]
    return BotMessage(text, card=articles.offer_card(found, at, facts))


def guidance_message(trouble_type, urgency):
    response, values = guidance.guidance_response(trouble_type, {}, urgency)
    text = filled({"response": response, **values})["text"]
    return BotMessage(text, card=guidance.guidance_card(trouble_type, {}, urgency))


def by_category(trouble_type):
    return [a for a in articles.index().catalogue.articles if a.category == trouble_type]


def texts_of(value):
    """Every text component of a Flex container, in order."""
    if isinstance(value, dict):
        found = [value["text"]] if value.get("type") == "text" else []
        for item in value.values():
            found += texts_of(item)
        return found
    if isinstance(value, list):
        return [text for item in value for text in texts_of(item)]
    return []


def buttons_of(value):
    if isinstance(value, dict):
        found = [value["action"]] if value.get("type") == "button" else []
        return found + [action for item in value.values() for action in buttons_of(item)]
    if isinstance(value, list):
        return [action for item in value for action in buttons_of(item)]
    return []


@pytest.mark.system  # slow: the real actions and LINE's checks for 20 turns, about a second each
@pytest.mark.parametrize("trouble_type", datafiles.TROUBLE_TYPES)
@pytest.mark.parametrize("at", [FREE_DAY, MEMBERS_DAY], ids=["free", "members"])
def test_the_turn_after_triage_keeps_lines_limits_for_every_trouble_type(trouble_type, at, responses, messages_of):
    """First steps and bodies for every urgency, the type's articles (all of them) and a
    question with buttons: one reply within every documented limit, the cards drawn."""
    for urgency in URGENCIES:
        question = messages_of(responses["utter_default"])
        turn = [guidance_message(trouble_type, urgency), articles_message(by_category(trouble_type), at)] + question
        payload = render_line.line_messages(turn)
        assert render_line.reply_problems(payload) == [], (trouble_type, urgency)
        assert [m["type"] for m in payload] == ["flex", "flex", "flex", "text"]
        assert "quickReply" in payload[-1] and all("quickReply" not in m for m in payload[:-1])


def test_every_article_of_the_catalogue_in_one_carousel_keeps_the_limits():
    catalogue = articles.index().catalogue.articles
    assert len(catalogue) > render_line.LINE_MAX_BUBBLES
    [flex] = render_line.line_messages([articles_message(catalogue, FREE_DAY)])
    assert flex["type"] == "flex" and render_line.flex_problems(flex) == []
    assert len(flex["contents"]["contents"]) == render_line.LINE_MAX_BUBBLES  # 11 articles and the list
    assert render_line.utf16_length(flex["altText"]) <= render_line.LINE_MAX_ALT_TEXT
    assert flex["altText"].endswith("…")


def test_articles_become_a_carousel_with_a_read_button_and_a_free_label():
    found = by_category("defamation")[:3]
    message = articles_message(found, FREE_DAY)
    [flex] = render_line.line_messages([message])
    bubbles = flex["contents"]["contents"]
    assert flex["contents"]["type"] == "carousel" and len(bubbles) == 4
    for article, bubble in zip(found, bubbles):
        label, title, summary = texts_of(bubble)
        assert (label, title, summary) == ("無料：7月31日まで", article.title, article.one_line)
        assert buttons_of(bubble) == [{"type": "uri", "label": "読む", "uri": article.url}]
    assert buttons_of(bubbles[-1]) == [
        {"type": "uri", "label": "記事の一覧を見る", "uri": service.facts().articles_url}
    ]
    # the text version: every title and address, for notifications and old clients
    assert flex["altText"] == message.text
    assert all(a.title in flex["altText"] and a.url in flex["altText"] for a in found)


def test_members_articles_are_labelled_and_the_list_says_who_can_read_them():
    [flex] = render_line.line_messages([articles_message(by_category("phishing")[:2], MEMBERS_DAY)])
    bubbles = flex["contents"]["contents"]
    assert [texts_of(b)[0] for b in bubbles[:-1]] == ["会員向け", "会員向け"]
    assert any("会員の方がお読みいただけます" in text for text in texts_of(bubbles[-1]))


@pytest.mark.parametrize(
    "free_until, label", [("2026-12-31", "無料：12月31日まで"), ("2020-07-01", "無料：7月1日まで"), (None, "会員向け")]
)
def test_free_label(free_until, label):
    assert render_line.free_label(free_until) == label


def test_first_steps_and_bodies_become_two_bubbles_with_call_buttons():
    message = guidance_message("account", ["danger"])
    card = message.card
    steps, bodies = render_line.line_messages([message])
    assert texts_of(steps["contents"]) == ["まず、次のことをおすすめします。"] + sum(
        [[f"{n}.", step] for n, step in enumerate(card["steps"], 1)], []
    )
    assert all(step in steps["altText"] for step in card["steps"])
    actions = buttons_of(bodies["contents"])
    assert card["referrals"] and len(actions) == len(card["referrals"])
    for referral, action in zip(card["referrals"], actions):
        assert referral["name"] in texts_of(bodies["contents"])
        if referral["phone"]:
            assert action["uri"] == render_line.tel_uri(referral["phone"])
            assert action["label"] == f"{referral['phone']}に電話する"
            assert referral["phone"] in bodies["altText"]
        else:
            assert action == {"type": "uri", "label": "ウェブサイト", "uri": referral["url"]}
            assert referral["url"] in bodies["altText"]
    assert "tel:%239110" in [a["uri"] for a in actions]


@pytest.mark.parametrize(
    "phone, uri",
    [
        ("#9110", "tel:%239110"),
        ("#8103", "tel:%238103"),
        ("110", "tel:110"),
        ("0570-003-110", "tel:0570003110"),
        ("0120-007-110", "tel:0120007110"),
    ],
)
def test_tel_uris_encode_the_hash(phone, uri):
    assert render_line.tel_uri(phone) == uri


def test_guidance_without_bodies_is_one_bubble():
    card = {"kind": "guidance", "steps": ["画面を保存しましょう。", "パスワードを変えましょう。"], "referrals": []}
    [flex] = render_line.line_messages(
        [BotMessage("まず、次のことをおすすめします。\n1. 画面を保存しましょう。", card=card)]
    )
    assert flex["contents"]["type"] == "bubble" and render_line.flex_problems(flex) == []


@pytest.mark.parametrize(
    "card",
    [
        {"kind": "articles", "articles": [], "more_url": "https://example.jp/"},
        {
            "kind": "articles",
            "articles": [{"title": "題", "summary": "要約", "url": "javascript:alert(1)", "free_until": None}],
        },
        {
            "kind": "articles",
            "articles": [{"title": "題", "summary": "要約", "url": "https://example.jp/a", "free_until": "7月31日"}],
        },
        {"kind": "guidance", "steps": [], "referrals": []},
        {
            "kind": "guidance",
            "steps": ["保存"],
            "referrals": [{"name": "窓口", "phone": "", "url": "", "hours": "24時間", "purpose": "相談"}],
        },
    ],
)
def test_a_malformed_card_goes_as_its_text(card, caplog):
    with caplog.at_level(logging.WARNING):
        payload = render_line.line_messages([BotMessage("記事のご案内です。", card=card)])
    assert payload == [{"type": "text", "text": "記事のご案内です。"}]
    assert "sent as text" in caplog.text


def test_alt_text_is_cut_to_the_limit_counting_utf16():
    cut = render_line.alt_text("🙂" * 1000)  # 2,000 UTF-16 code units
    assert render_line.utf16_length(cut) <= 1500 and cut.endswith("…")
    assert render_line.alt_text("短い") == "短い"


def test_cards_go_as_text_only_when_five_messages_cannot_hold_them():
    cards = [guidance_message("defamation", []), articles_message(by_category("defamation")[:3], FREE_DAY)]
    # three texts more: merged, the cards kept
    payload = render_line.line_messages(cards + [BotMessage(f"{n}番目のご案内です。") for n in range(3)])
    assert [m["type"] for m in payload] == ["flex", "flex", "flex", "text", "text"]
    # three images more (they never merge): the cards go as their text, nothing lost
    images = [BotMessage("", image=f"https://example.jp/{n}.png") for n in range(3)]
    payload = render_line.line_messages(cards + images)
    assert [m["type"] for m in payload] == ["text", "text", "image", "image", "image"]
    assert [m["text"] for m in payload[:2]] == [cards[0].text, cards[1].text]


def test_quick_replies_sit_on_a_card_when_it_is_last():
    message = articles_message(by_category("privacy")[:2], FREE_DAY)
    message = BotMessage(message.text, (Button("はい", "/affirm"),), card=message.card)
    [flex] = render_line.line_messages([message])
    assert flex["type"] == "flex" and flex["quickReply"]["items"][0]["action"]["data"] == "/affirm"
    assert render_line.reply_problems([flex]) == []


# The checker must find each kind of break, or the tests above prove nothing.
def _bubble(text="本文", action=None):
    bubble = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": text}]},
    }
    if action:
        bubble["footer"] = {"type": "box", "layout": "vertical", "contents": [{"type": "button", "action": action}]}
    return bubble


@pytest.mark.parametrize(
    "message, expected",
    [
        ({"type": "flex", "contents": _bubble()}, "altText"),
        ({"type": "flex", "altText": "あ" * 1501, "contents": _bubble()}, "altText"),
        (
            {"type": "flex", "altText": "a", "contents": {"type": "carousel", "contents": [_bubble()] * 13}},
            "1 to 12 bubbles",
        ),
        ({"type": "flex", "altText": "a", "contents": _bubble("あ" * 11000)}, "bubble JSON larger"),
        (
            {"type": "flex", "altText": "a", "contents": {"type": "carousel", "contents": [_bubble("あ" * 9000)] * 2}},
            "carousel JSON larger",
        ),
        (
            {
                "type": "flex",
                "altText": "a",
                "contents": _bubble(action={"type": "uri", "label": "あ" * 21, "uri": "https://example.jp/"}),
            },
            "action label",
        ),
        (
            {
                "type": "flex",
                "altText": "a",
                "contents": _bubble(action={"type": "uri", "label": "電話", "uri": "tel:#9110"}),
            },
            "percent-encoded",
        ),
        (
            {
                "type": "flex",
                "altText": "a",
                "contents": _bubble(action={"type": "uri", "label": "開く", "uri": "ftp://example.jp/"}),
            },
            "uri",
        ),
        (
            {
                "type": "flex",
                "altText": "a",
                "contents": _bubble(action={"type": "uri", "label": "開く", "uri": "https://example.jp/" + "a" * 1000}),
            },
            "uri",
        ),
        ({"type": "flex", "altText": "a", "contents": _bubble("")}, "without text"),
    ],
)
def test_the_checker_finds_each_break(message, expected):
    assert any(expected in problem for problem in render_line.reply_problems([message]))


def test_the_checker_finds_breaks_of_a_whole_reply():
    text = {"type": "text", "text": "本文"}
    assert render_line.reply_problems([text] * 6)
    assert render_line.reply_problems([dict(text, quickReply={"items": []}), text])
    assert render_line.reply_problems([{"type": "text", "text": "あ" * 5001}])
    many = {"items": [{"type": "action", "action": {"type": "postback", "label": "は", "data": "/a"}}] * 14}
    assert render_line.reply_problems([dict(text, quickReply=many)])
