"""SMS bodies of a turn, the link policy and the channel's own answers
(addons/channels/render_sms.py)."""

import pytest

from addons.channels import render, render_sms
from addons.channels.messages import SMS_LINK_LEFT_OUT
from addons.channels.render import BotMessage, Button
from addons.channels.turns import clean_text
from nettrouble.channels import sms_segments
from nettrouble.content import service
from nettrouble.triage import guidance
from tests.fakes.dispatcher import filled

TWILIO_LIMIT = 1600


# ---- one body per turn ---------------------------------------------------------------------


def test_a_turn_is_one_body_in_order_with_the_menu_and_hint_at_the_end():
    messages = [
        BotMessage("SNSなどでの誹謗中傷についてのご相談ですね。"),
        BotMessage(
            "書き込みの画面は保存されていますか。", buttons=(Button("はい", "/affirm"), Button("いいえ", "/deny"))
        ),
    ]
    assert render_sms.sms_bodies(messages, TWILIO_LIMIT) == [
        "SNSなどでの誹謗中傷についてのご相談ですね。\n\n"
        "書き込みの画面は保存されていますか。\n1: はい\n2: いいえ\n" + render_sms.SMS_MENU_HINT
    ]


def test_the_trouble_menu_is_one_body_with_every_option_and_the_number(responses, messages_of):
    bodies = render_sms.sms_bodies(messages_of(responses["utter_default"]), TWILIO_LIMIT)
    assert len(bodies) == 1
    assert "1: SNSでの誹謗中傷" in bodies[0] and "10: 子どものネットいじめ" in bodies[0]
    assert bodies[0].endswith(render_sms.SMS_MENU_HINT) and "0120-221-360" in bodies[0]


def test_the_self_harm_answer_keeps_every_number_in_one_body(responses, messages_of):
    text = responses["utter_urgent_self_harm"]["text"]
    bodies = render_sms.sms_bodies(messages_of(responses["utter_urgent_self_harm"]), TWILIO_LIMIT)
    numbers = render.PHONE.findall(text)
    assert len(bodies) == 1 and numbers
    for number in numbers:
        assert number in bodies[0]


def test_a_turn_longer_than_the_limit_is_split_between_messages_in_order():
    messages = [
        BotMessage(f"{number}番目のご案内です。" + "ひとつずつ確認してまいりましょう。" * 3) for number in range(1, 7)
    ]
    limit = sms_segments.length(messages[0].text) * 2 + 2  # two messages and the gap fit
    bodies = render_sms.sms_bodies(messages, limit)
    assert bodies == [m1.text + "\n\n" + m2.text for m1, m2 in zip(messages[::2], messages[1::2])]


def test_a_message_longer_than_the_limit_is_cut_at_sentence_ends_and_keeps_its_numbers():
    text = (
        "ご不安なことと存じます。" * 6
        + "受付番号は NT-2507-12345-6 です。"
        + "お電話は 0120-221-360 までお願いいたします。"
        + "落ち着いて確認してまいりましょう。" * 6
    )
    bodies = render_sms.sms_bodies([BotMessage(text)], 60)
    assert len(bodies) > 1 and "".join(bodies) == text
    assert all(sms_segments.length(body) <= 60 for body in bodies)
    assert all(body.endswith("。") for body in bodies)
    assert any("NT-2507-12345-6" in body for body in bodies) and any("0120-221-360" in body for body in bodies)


def test_a_question_stays_with_its_menu_when_the_turn_is_split():
    filler = BotMessage("ご不安なことと存じます。" * 4)
    question = BotMessage(
        "ドコモの携帯電話回線をお使いですか？",
        buttons=(Button("はい（ドコモ回線です）", "/affirm"), Button("いいえ（他社です）", "/deny")),
    )
    bodies = render_sms.sms_bodies([filler, question], 80)
    assert bodies[0] == filler.text
    assert bodies[1] == (
        "ドコモの携帯電話回線をお使いですか？\n1: はい（ドコモ回線です）\n2: いいえ（他社です）\n"
        + render_sms.SMS_MENU_HINT
    )


def test_nothing_is_dropped_from_a_long_turn():
    messages = [
        BotMessage("ご不安なことと存じます。落ち着いて、ひとつずつ確認してまいりましょう。" * 30) for _ in range(3)
    ]
    bodies = render_sms.sms_bodies(messages, TWILIO_LIMIT)
    assert all(sms_segments.length(body) <= TWILIO_LIMIT for body in bodies)
    assert "".join(bodies).replace("\n", "") == "".join(m.text for m in messages)


# ---- links ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://nettrouble.docomo.ne.jp/article/sextortion/", True),
        ("https://NETTROUBLE.docomo.ne.jp/", True),
        ("https://www.npa.go.jp/bureau/soumu/9110.html", True),
        ("https://go.jp/", True),
        ("https://www.houterasu.or.jp/", False),
        ("https://docomo.ne.jp/", False),  # not the service's own host
        ("https://www.npa.go.jp.example.com/", False),
        ("https://nettrouble.docomo.ne.jp@evil.example/", False),  # user info before the real host
        ("https://bit.ly/3abcd", False),
        ("https://example.com:99999/", False),
    ],
)
def test_link_policy(url, allowed):
    assert render_sms.link_allowed(url) is allowed


def test_a_link_of_a_body_in_the_guidance_card_becomes_its_name_to_search_for():
    card = guidance.guidance_card("defamation", {}, [])
    response, values = guidance.guidance_response("defamation", {}, [])
    text = filled({"response": response, **values})["text"]
    assert "https://ihaho.jp/" in text  # a body without a phone number shows its address
    bodies = render_sms.sms_bodies([BotMessage(text, card=card)], TWILIO_LIMIT)
    assert len(bodies) == 1
    assert [bodies[0][start:end] for start, end in render.url_spans(bodies[0])] == ["https://www.jinken.go.jp/"]
    assert "・違法・有害情報相談センター（ウェブサイトは「違法・有害情報相談センター」で検索してください）" in bodies[0]
    assert render.PHONE.findall(bodies[0]) == render.PHONE.findall(text)  # bodies with a number: unchanged


def test_a_link_without_a_card_becomes_a_general_sentence_and_allowed_ones_stay():
    text = (
        "記事は https://nettrouble.docomo.ne.jp/a/ 、窓口は https://www.npa.go.jp/ です。"
        "詳しくは https://www.example.org/x?y=1 をご覧ください。"
    )
    assert render_sms.with_allowed_links(text) == (
        "記事は https://nettrouble.docomo.ne.jp/a/ 、窓口は https://www.npa.go.jp/ です。"
        f"詳しくは{SMS_LINK_LEFT_OUT} をご覧ください。"
    )


def test_the_web_chat_address_counts_as_our_own(env):
    env(WEB_CHAT_PUBLIC_URL="https://chat.nettrouble.example/")
    assert render_sms.web_chat_url() == "https://chat.nettrouble.example/"
    assert render_sms.link_allowed("https://chat.nettrouble.example/?open=1")
    assert render_sms.web_chat_url() in render_sms.budget_notice()
    env(WEB_CHAT_PUBLIC_URL=None)
    assert render_sms.web_chat_url() == service.facts().site_url


# ---- the channel's own answers -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ヘルプ", render_sms.HELP),
        ("へるぷ", render_sms.HELP),
        ("HELP", render_sms.HELP),
        ("Help!", render_sms.HELP),
        ("ﾍﾙﾌﾟ", render_sms.HELP),
        ("ＨＥＬＰ", render_sms.HELP),
        (" ヘルプ？ ", render_sms.HELP),
        ("停止", render_sms.STOP),
        ("ていし", render_sms.STOP),
        ("stop", render_sms.STOP),
        ("配信停止", render_sms.STOP),
        ("「停止」", render_sms.STOP),
        ("STOP。", render_sms.STOP),
        ("開始", render_sms.START),
        ("START", render_sms.START),
        ("Start!", render_sms.START),
        ("ヘルプしてください", None),
        ("停止してほしい投稿があります", None),
        ("stop it", None),
        ("", None),
        ("1", None),
    ],
)
def test_keywords_are_whole_messages(text, expected):
    assert render_sms.keyword(text) == expected


def test_help_says_what_this_is_how_to_answer_the_number_the_web_chat_and_how_to_stop():
    text = render_sms.help_text()
    facts = service.facts()
    for part in (facts.name, "番号", "言葉", facts.phone, facts.hours_text, render_sms.web_chat_url(), "「停止」"):
        assert part in text


def test_the_budget_notice_is_short_and_gives_the_number_and_the_web_chat():
    text = render_sms.budget_notice()
    assert service.facts().phone in text and render_sms.web_chat_url() in text
    assert sms_segments.segments(text) <= 3


# ---- replies to a menu ---------------------------------------------------------------------


def test_menu_choice_reads_full_width_digits_after_nfkc():
    menu = [Button("はい", "/affirm"), Button("いいえ", "/deny")]
    assert render_sms.menu_choice(clean_text("１"), menu) == menu[0]
    assert render_sms.menu_choice(" 2 ", menu) == menu[1]
    for reply in ("0", "3", "1a", "", "٣", "①"):
        assert render_sms.menu_choice(reply, menu) is None
