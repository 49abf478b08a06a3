"""Masking phone numbers and e-mail addresses in what users type."""
import time

import pytest

from nettrouble.masking import EMAIL_MASK, PHONE_MASK, mask_data, mask_text

PHONES = [
    "090-1234-5678",
    "09012345678",
    "090 1234 5678",
    "０９０－１２３４－５６７８",
    "０９０ー１２３４ー５６７８",  # the IME's long vowel mark used as a hyphen
    "０９０１２３４５６７８",
    "090‐1234‐5678",
    "080−1234−5678",
    "070-1234-5678",
    "+81 90-1234-5678",
    "+81-90-1234-5678",
    "+819012345678",
    "＋８１　９０　１２３４　５６７８",
    "+81(0)90-1234-5678",
    "03-1234-5678",
    "(03)1234-5678",
    "03(1234)5678",
    "0120-221-360",
    "0570-064-556",
    "050-1234-5678",
    "06 1234 5678",
]


@pytest.mark.parametrize("number", PHONES)
def test_phone_numbers_are_masked_in_a_sentence(number):
    text = f"電話番号は{number}です。折り返しお願いします"
    assert mask_text(text) == f"電話番号は{PHONE_MASK}です。折り返しお願いします"


@pytest.mark.parametrize("number", PHONES)
def test_phone_numbers_alone_and_glued_to_latin_text(number):
    assert mask_text(number) == PHONE_MASK
    assert mask_text("TEL:" + number) == "TEL:" + PHONE_MASK


EMAILS = [
    "taro@example.com",
    "taro.yamada+sns@docomo.ne.jp",
    "abc..def.@docomo.ne.jp",  # old docomo addresses allowed this
    "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    "09012345678@docomo.ne.jp",
    "user_name-1@mail.sub.example.co.jp",
]


@pytest.mark.parametrize("address", EMAILS)
def test_email_addresses_are_masked(address):
    assert mask_text(f"メールは{address}まで") == f"メールは{EMAIL_MASK}まで"
    assert mask_text(f"連絡先 {address} です") == f"連絡先 {EMAIL_MASK} です"


@pytest.mark.parametrize(
    "text",
    [
        "2026-07-01 12:30に投稿されました",
        "令和8年07月01日",
        "被害額は50000円です",
        "123456789012",
        "注文番号 0000123456",
        "090123456789",  # twelve digits: not a Japanese number
        "郵便番号 100-0001",
        "2回目のご相談です",
        "@taro_sns というアカウントに",
        "https://x.com/taro/status/1809999999999999999",
        "",
    ],
)
def test_other_text_is_left_alone(text):
    assert mask_text(text) == text


def test_several_items_and_the_rest_kept_exactly():
    text = "ＬＩＮＥで０９０－１２３４－５６７８と bad@example.org から　連絡が来ました！＋ 03-1234-5678"
    assert mask_text(text) == (
        f"ＬＩＮＥで{PHONE_MASK}と {EMAIL_MASK} から　連絡が来ました！＋ {PHONE_MASK}"
    )


def test_mask_data_walks_structures_without_touching_keys():
    event = {
        "event": "user",
        "text": "090-1234-5678に電話して",
        "parse_data": {"entities": [{"entity": "phone_number", "value": "09012345678"}]},
        "timestamp": 1.5,
        "tags": ("a@b.jp", 3),
        "09012345678": None,
    }
    masked = mask_data(event)
    assert masked["text"] == f"{PHONE_MASK}に電話して"
    assert masked["parse_data"]["entities"][0] == {"entity": "phone_number", "value": PHONE_MASK}
    assert masked["timestamp"] == 1.5 and masked["tags"] == (EMAIL_MASK, 3)
    assert "09012345678" in masked
    assert event["text"] == "090-1234-5678に電話して"  # the original is not changed


@pytest.mark.parametrize(
    "hostile",
    ["a" * 200_000, "0" * 200_000, "@" * 100_000, ("a" * 60 + "@") * 5000, "0-" * 100_000,
     ("0 " * 9 + "a") * 20_000, ("a." * 50 + "@") * 3000],
)
def test_hostile_input_stays_fast(hostile):
    started = time.perf_counter()
    mask_text(hostile)
    assert time.perf_counter() - started < 2.0
