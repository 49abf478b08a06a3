"""Masking phone numbers and e-mail addresses in what users type (its speed:
scripts/bench_masking.py)."""

import re
from datetime import datetime, timezone

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nettrouble.cases.reference import new_reference
from nettrouble.core.masking import EMAIL_MASK, PHONE_MASK, mask_data, mask_text
from scripts.bench_masking import HOSTILE

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
    assert mask_text(text) == (f"ＬＩＮＥで{PHONE_MASK}と {EMAIL_MASK} から　連絡が来ました！＋ {PHONE_MASK}")


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


@pytest.mark.parametrize("hostile", [text[:20_000] for text in HOSTILE], ids=lambda text: text[:6])
def test_hostile_input_is_masked_to_the_end(hostile):
    # The benchmark's input of the same shapes, shorter: its time is judged by
    # scripts/bench_masking.py (`make test` runs it on its own), not by a stopwatch here that a
    # loaded machine can fail. Here: nothing that looks like a number or an address is left.
    masked = mask_text(hostile)
    assert mask_text(masked) == masked


# ---- generated forms (hypothesis) ------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
KANJI = str.maketrans("0123456789", "〇一二三四五六七八九")
SEPARATORS = ["", "-", ".", "/", "_", " ", "ー", "－", "‐", "　", " - "]
# Japanese text around a number, without digits of any kind (kanji numerals included: 一 right
# before a number written in kanji would be read as part of it) and without ASCII letters.
AROUND = st.text(
    alphabet="あいうえおかきくけこさしすせそ電話番号連絡先はですまでにおねがいしますカタコーヒ、。！（）「」",
    max_size=12,
)
GROUPINGS = {
    11: [(3, 4, 4), (3, 8), (11,), (1,) * 11],
    10: [(2, 4, 4), (3, 3, 4), (4, 2, 4), (4, 3, 3), (10,), (1,) * 10],
}


@st.composite
def national_numbers(draw):
    kind = draw(st.sampled_from(["mobile", "landline", "0120", "0570", "050"]))
    rest = lambda n: "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n)))  # noqa: E731
    if kind == "mobile":
        number = draw(st.sampled_from(["070", "080", "090"])) + draw(st.sampled_from("123456789")) + rest(7)
    elif kind == "050":
        number = "050" + draw(st.sampled_from("123456789")) + rest(7)
    elif kind in ("0120", "0570"):
        number = kind + draw(st.sampled_from("123456789")) + rest(5)
    else:
        number = "0" + draw(st.sampled_from("3456789")) + draw(st.sampled_from("123456789")) + rest(7)
    # the oracle: only numbers that phonenumbers holds valid for Japan
    assume(phonenumbers.is_valid_number(phonenumbers.parse(number, "JP")))
    return number


@st.composite
def written(draw, national):
    """``national`` as a person may write it: grouped, separated, with a prefix, in some digits."""
    grouping = draw(st.sampled_from(GROUPINGS[len(national)]))
    separator = draw(st.sampled_from(SEPARATORS))
    if grouping == (1,) * len(national):
        separator = draw(st.sampled_from([" ", "-", "."]))  # one digit at a time needs one
    groups, at = [], 0
    for size in grouping:
        groups.append(national[at : at + size])
        at += size
    prefix = draw(st.sampled_from(["", "", "+81 ", "+81-", "81-", "81 ", "+81(0)", "＋８１ "]))
    if prefix:
        groups[0] = groups[0][1:]  # the prefix stands for the trunk 0
        groups = [g for g in groups if g]
    text = prefix + separator.join(groups)
    style = draw(st.sampled_from(["ascii", "full", "kanji"]))
    if style == "full":
        text = text.translate(FULL_WIDTH)
    elif style == "kanji" and not prefix:
        text = text.translate(KANJI)
    return text


def digits_in(text):
    return re.sub(
        r"[^0-9]",
        "",
        text.translate({ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")}).translate(
            {ord(c): ord("0") + i for i, c in enumerate("〇一二三四五六七八九")}
        ),
    )


@pytest.mark.system  # slow: hundreds of generated messages
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data(), before=AROUND, after=AROUND)
def test_generated_numbers_leave_no_digit_behind(data, before, after):
    national = data.draw(national_numbers())
    number = data.draw(written(national))
    masked = mask_text(before + number + after)
    assert digits_in(masked) == "", (number, masked)
    assert masked == before + PHONE_MASK + after


@pytest.mark.system  # slow: hundreds of generated messages
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_two_generated_numbers_in_one_message_are_both_masked(data):
    first = data.draw(written(data.draw(national_numbers())))
    second = data.draw(written(data.draw(national_numbers())))
    masked = mask_text(f"携帯は{first}、自宅は{second}です")
    assert digits_in(masked) == "", masked


LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-+", min_size=1, max_size=20).filter(
    lambda s: s[0] not in "._-+"
)
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12).filter(
    lambda s: s[0] != "-" and s[-1] != "-"
)


@pytest.mark.system  # slow: hundreds of generated messages
@settings(max_examples=300, deadline=None)
@given(
    local=LOCAL, labels=st.lists(LABEL, min_size=1, max_size=4), before=AROUND, after=AROUND, full_width=st.booleans()
)
def test_generated_addresses_are_masked_whole(local, labels, before, after, full_width):
    address = f"{local}@{'.'.join(labels)}"
    if full_width:
        address = address.translate({code - 0xFEE0: code for code in range(0xFF01, 0xFF5F)})
    masked = mask_text(before + address + after)
    assert masked == before + EMAIL_MASK + after, (address, masked)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(timezone.utc)
    ),
    before=AROUND,
    after=AROUND,
)
def test_case_references_survive(moment, before, after):
    reference = new_reference(moment)
    text = f"{before}受付番号は{reference}{after}"
    assert mask_text(text) == text
    assert mask_text(f"{reference} 090-1234-5678") == f"{reference} {PHONE_MASK}"


@settings(max_examples=300, deadline=None)
@given(
    year=st.integers(1990, 2099),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    amount=st.integers(0, 99_999_999),
    separator=st.sampled_from(["-", "/", "."]),
)
def test_dates_and_amounts_survive(year, month, day, amount, separator):
    for text in [
        f"{year}{separator}{month:02d}{separator}{day:02d}に投稿",
        f"{year}年{month}月{day}日",
        f"{month:02d}/{day:02d} {hour_minute(day)}",
        f"{amount}円",
        f"{amount:,}円",
        f"¥{amount:,}",
        f"{amount // 10000}万円",
        f"被害額は{amount}円、{year}{separator}{month:02d}{separator}{day:02d}に振り込みました",
    ]:
        assert mask_text(text) == text, text


def hour_minute(seed):
    return f"{seed % 24:02d}:{seed % 60:02d}"


@pytest.mark.parametrize(
    "text",
    [
        "NT-2007-16230-7",
        "受付番号 NT-2007-16230-7 です",
        "nt2007162307",
        "ＮＴ－２００７－１６２３０－７",
        "30000円",
        "3万円",
        "2020-07-15",
        "2020/07/15 10:30",
        "〒100-0001",
        "郵便番号100-0001",
        "第一回",
        "二〇二〇年七月一五日",
        "3,000,000円",
        "127.0.0.1:5005",
        "2024-05-01 12:34:56,789",
    ],
)
def test_ordinary_figures_survive(text):
    assert mask_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "090.1234.5678",
        "090/1234/5678",
        "090_1234_5678",
        "0 9 0 1 2 3 4 5 6 7 8",
        "〇九〇一二三四五六七八",
        "〇九〇-一二三四-五六七八",
        "81-90-1234-5678",
        "81 3 1234 5678",
        "090ー1234ー5678",
        "０９０ー１２３４ー５６７８",
        "+81 90 1234 5678",
        "+81-3-1234-5678",
        "090 1234-5678",
        "090\n1234\n5678",
        "0120-221-360",
        "0570-064-556",
        "050-1234-5678",
        "03-1234-56789",
    ],
)
def test_the_forms_found_in_issue_13_are_masked(text):
    assert mask_text(f"番号は{text}です") == f"番号は{PHONE_MASK}です"


@pytest.mark.parametrize("address", ["user@localhost", "taro@example", "ｔａｒｏ＠ｌｏｃａｌｈｏｓｔ"])
def test_addresses_at_a_bare_host_name_are_masked(address):
    assert mask_text(f"連絡は{address}まで") == f"連絡は{EMAIL_MASK}まで"


def test_a_conversation_key_hashes_only_personal_sender_ids():
    from nettrouble.core.masking import conversation_key

    secret = "k" * 32
    assert conversation_key("web-3f2a9c", secret) == "web-3f2a9c"
    key = conversation_key("+819012345678", secret)
    assert key.startswith("hmac:") and len(key) == 69 and "9012345678" not in key
    assert conversation_key("taro@example.com", secret).startswith("hmac:")
    assert conversation_key(key, secret) == key  # a stored key reads back as itself
    assert conversation_key("+819012345678", "other" * 8) != key
