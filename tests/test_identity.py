"""Normalising docomo mobile numbers and the keyed hash that stands for the person."""

import hashlib
import hmac

import pytest

from nettrouble.core.settings import SettingsError
from nettrouble.eligibility import identity

SECRET = "test-secret-for-identity"
NATIONAL = "09012345678"


@pytest.mark.parametrize(
    "text",
    [
        "09012345678",
        "090-1234-5678",
        "090 1234 5678",
        "０９０－１２３４－５６７８",
        "０９０　１２３４　５６７８",
        "０９０ー１２３４ー５６７８",
        "090ｰ1234ｰ5678",
        "090‐1234‐5678",
        "090‑1234‑5678",
        "090–1234–5678",
        "090—1234—5678",
        "090―1234―5678",
        "090−1234−5678",
        "(090)1234-5678",
        "（０９０）１２３４－５６７８",
        "+81 90 1234 5678",
        "+81-90-1234-5678",
        "+819012345678",
        "＋８１　９０－１２３４－５６７８",
        "+81(0)90-1234-5678",
        "+81 (0) 90 1234 5678",
        "+81 090 1234 5678",
        "819012345678",
        "8109012345678",
        "番号は090-1234-5678です",
        "ドコモの番号は 090 1234 5678 です。",
        "2回目の相談です。090-1234-5678",
        "tel:090-1234-5678",
    ],
)
def test_accepted_spellings_normalise_to_the_same_number(text):
    assert identity.normalise(text) == NATIONAL


@pytest.mark.parametrize("prefix", ["070", "080", "090"])
def test_every_mobile_prefix_is_accepted(prefix):
    assert identity.normalise(f"{prefix}-0000-1111") == f"{prefix}00001111"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", identity.EMPTY),
        ("   ", identity.EMPTY),
        (None, identity.EMPTY),
        ("わかりません", identity.NO_NUMBER),
        ("abcdefghijk", identity.NO_NUMBER),
        ("03-1234-5678", identity.NOT_MOBILE),
        ("06-6123-4567", identity.NOT_MOBILE),
        ("050-1234-5678", identity.NOT_MOBILE),
        ("0120-221-360", identity.NOT_MOBILE),
        ("0570-064-556", identity.NOT_MOBILE),
        ("020-1234-5678", identity.NOT_MOBILE),
        ("12345678901", identity.NOT_MOBILE),
        ("090-1234-567", identity.TOO_SHORT),
        ("090-1234", identity.TOO_SHORT),
        ("090", identity.TOO_SHORT),
        ("090-1234-56789", identity.TOO_LONG),
        ("+81 90 1234 56789", identity.TOO_LONG),
        ("+1 415 555 1234", identity.NOT_JAPANESE),
        ("+44 20 7946 0958", identity.NOT_JAPANESE),
        ("090-1234-5678x", identity.MALFORMED),
        ("a090-1234-5678", identity.MALFORMED),
        ("090-12ab-5678", identity.MALFORMED),
        ("090+1234+5678", identity.MALFORMED),
        ("090.1234.5678", identity.MALFORMED),
        ("090-1234-5678 と 080-1111-2222", identity.SEVERAL),
        ("090-1234-5678 080-1111-2222", identity.SEVERAL),
        ("0" * 5000, identity.TOO_LONG_INPUT),
    ],
)
def test_refused_numbers_say_why(text, reason):
    with pytest.raises(identity.InvalidNumber) as refused:
        identity.normalise(text)
    assert refused.value.reason == reason


def test_the_refusal_never_carries_the_number():
    with pytest.raises(identity.InvalidNumber) as refused:
        identity.normalise("090-1234-567")
    assert "1234" not in str(refused.value) and "567" not in repr(refused.value)


def test_person_key_is_hex_hmac_sha256_of_the_national_number():
    expected = hmac.new(SECRET.encode(), NATIONAL.encode(), hashlib.sha256).hexdigest()
    assert identity.person_key("＋８１ ９０ １２３４ ５６７８", SECRET) == expected
    assert len(expected) == 64


def test_different_secrets_or_numbers_give_different_keys():
    key = identity.person_key(NATIONAL, SECRET)
    assert identity.person_key(NATIONAL, SECRET + "x") != key
    assert identity.person_key("09012345679", SECRET) != key


def test_the_secret_comes_from_settings(env):
    env(PERSON_KEY_SECRET=SECRET)
    assert identity.person_key(NATIONAL) == identity.key_for(NATIONAL, SECRET)


def test_a_missing_secret_is_an_error_naming_it(env):
    env(PERSON_KEY_SECRET="")
    with pytest.raises(SettingsError, match="PERSON_KEY_SECRET"):
        identity.person_key(NATIONAL)


def test_same_person_compares_a_typed_number_with_a_stored_key():
    stored = identity.person_key("090-1234-5678", SECRET)
    assert identity.same_person("０９０１２３４５６７８", stored, SECRET)
    assert not identity.same_person("090-1234-5679", stored, SECRET)
    assert not identity.same_person("not a number", stored, SECRET)
    assert not identity.same_person("090-1234-5678", "", SECRET)
    assert not identity.same_person("090-1234-5678", "ｘ" * 64, SECRET)
