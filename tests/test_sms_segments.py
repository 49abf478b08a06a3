"""SMS encodings and segment counts (nettrouble/channels/sms_segments.py), against the GSM 03.38 and
UCS-2 rules: 160/153 septets, 70/67 code units, no escape or surrogate pair split."""

import pytest

from nettrouble.channels import sms_segments
from nettrouble.channels.sms_segments import GSM7, UCS2

EMOJI = "😀"  # outside the BMP: a surrogate pair in UCS-2


@pytest.mark.parametrize(
    "text, encoding, length, segments",
    [
        ("", GSM7, 0, 0),
        ("a", GSM7, 1, 1),
        ("a" * 160, GSM7, 160, 1),
        ("a" * 161, GSM7, 161, 2),
        ("a" * 306, GSM7, 306, 2),
        ("a" * 307, GSM7, 307, 3),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r", GSM7, 44, 1),
        ("€", GSM7, 2, 1),  # extension table: escape + character
        ("[]{}\\|^~", GSM7, 16, 1),
        ("€" * 80, GSM7, 160, 1),
        ("€" * 81, GSM7, 162, 2),
        ("a" + "€" * 80, GSM7, 161, 2),  # 153 septets hold 76 escapes and the "a"
        ("￥", UCS2, 1, 1),  # full-width yen is not GSM's ¥
        ("`", UCS2, 1, 1),  # the backtick is in neither GSM table
        ("あ", UCS2, 1, 1),
        ("あ" * 70, UCS2, 70, 1),
        ("あ" * 71, UCS2, 71, 2),
        ("あ" * 134, UCS2, 134, 2),
        ("あ" * 135, UCS2, 135, 3),
        ("a" * 159 + "あ", UCS2, 160, 3),  # one Japanese character makes the whole body UCS-2
        (EMOJI, UCS2, 2, 1),
        (EMOJI * 35, UCS2, 70, 1),
        ("あ" + EMOJI * 35, UCS2, 71, 2),
        ("€あ", UCS2, 2, 1),  # € is one UCS-2 unit
    ],
)
def test_encoding_length_and_segments(text, encoding, length, segments):
    assert sms_segments.encoding(text) == encoding
    assert sms_segments.length(text) == length
    assert sms_segments.segments(text) == segments
    assert "".join(sms_segments.segment(text).parts) == text


def test_a_surrogate_pair_is_never_split_and_moves_to_the_next_part():
    # 66 units, then an emoji that would straddle units 67 and 68
    text = "あ" * 66 + EMOJI + "あ" * 10
    parts = sms_segments.segment(text).parts
    assert parts[0] == "あ" * 66 and parts[1].startswith(EMOJI)
    assert all(sms_segments.length(part) <= 67 for part in parts)


def test_an_escape_is_never_split_from_its_character():
    text = "a" * 152 + "€" + "a" * 10
    parts = sms_segments.segment(text).parts
    assert parts[0] == "a" * 152 and parts[1].startswith("€")
    assert sms_segments.segments(text) == 2


def test_every_part_stays_within_the_concatenated_limit():
    text = ("誹謗中傷の投稿を保存しました。" + EMOJI) * 40
    segmented = sms_segments.segment(text)
    assert segmented.encoding == UCS2
    assert all(sms_segments.length(part) <= 67 for part in segmented.parts)
    assert segmented.segments == len(segmented.parts) >= -(-sms_segments.length(text) // 67)
