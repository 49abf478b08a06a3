"""SMS texts of a turn (addons/channels/render_sms.py)."""
from pathlib import Path

import pytest
import yaml

from addons.channels import render, render_sms
from addons.channels.render import BotMessage, Button
from addons.channels.turns import clean_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def responses():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {name: variants[0] for name, variants in domain["responses"].items()}


def from_response(response):
    return render.bot_messages([{"text": response["text"], "buttons": response.get("buttons")}])


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


