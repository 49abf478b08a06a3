import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.tokenizer import SudachiTokenizer
from nettrouble.core import japanese


@pytest.fixture(scope="module")
def tokenizer():
    return SudachiTokenizer(SudachiTokenizer.get_default_config())


def tokens(tokenizer, text):
    return tokenizer.tokenize(Message.build(text=text), TEXT)


def surfaces(tokenizer, text):
    return [t.text for t in tokens(tokenizer, text)]


@pytest.mark.parametrize(
    "text, whole_word",
    [
        ("リツイートしただけで訴えられる？", "リツイート"),
        ("インスタのアカウントが乗っ取られた", "インスタ"),
        ("友達になりすましされてる", "なりすまし"),
        ("PayPayで知らない決済があった", "PayPay"),
        ("メルペイの残高が減ってる", "メルペイ"),
        ("ツイッターで悪口書かれた", "ツイッター"),
    ],
)
def test_chat_words_stay_whole(tokenizer, text, whole_word):
    assert whole_word in surfaces(tokenizer, text)


@pytest.mark.parametrize(
    "text, surface, lemma",
    [
        ("ﾂｲｯﾀｰで晒された", "ﾂｲｯﾀｰ", "Twitter"),
        ("ツイッターで晒された", "ツイッター", "Twitter"),
        ("ｐａｙｐａｙで払った", "ｐａｙｐａｙ", "PayPay"),
        ("ＬＩＮＥが乗っ取られた", "ＬＩＮＥ", "LINE"),
    ],
)
def test_lemma_is_the_normalised_form(tokenizer, text, surface, lemma):
    found = {t.text: t.lemma for t in tokens(tokenizer, text)}
    assert found[surface] == lemma


def test_no_empty_or_whitespace_tokens(tokenizer):
    text = "LINE Pay … 　で\t請求が\n\n来た\u200b！ "
    result = tokens(tokenizer, text)
    assert result
    assert all(t.text.strip() and t.text != "\u200b" for t in result)


@pytest.mark.parametrize("text", ["", " ", "　\n\t", "\u200b"])
def test_blank_message_has_no_tokens(tokenizer, text):
    assert tokens(tokenizer, text) == []


def test_offsets_point_into_the_original_text(tokenizer):
    text = "ｲﾝｽﾀで　知らない人に　住所を晒された…どうしよう😢 LINE Payも心配"
    found = tokens(tokenizer, text)
    assert len(found) >= 10
    for token in found:
        assert text[token.start : token.end] == token.text


def test_twenty_thousand_characters(tokenizer):
    sentence = "リツイートしただけで訴えられる？"
    text = (sentence * (20_000 // len(sentence) + 1))[:20_000]
    result = tokens(tokenizer, text)
    assert sum(t.text == "リツイート" for t in result) == text.count("リツイート")
    assert all(text[t.start : t.end] == t.text for t in result)


def test_long_text_of_four_byte_characters_without_break_points(tokenizer):
    text = "😢" * 20_000
    result = tokens(tokenizer, text)
    assert "".join(t.text for t in result) == text


def test_chunks_respect_the_byte_limit_and_cover_the_text():
    text = ("あいうえお" * 5000) + "。" + ("かきくけこ" * 5000)
    pieces = list(japanese.chunks(text, max_bytes=10_000))
    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece.encode()) <= 10_000 for _, piece in pieces)
    assert [offset for offset, _ in pieces] == [sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))]


def test_lone_surrogates_do_not_break_tokenization(tokenizer):
    text = "偽の\ud800SMSが来た"
    result = tokens(tokenizer, text)
    assert "SMS" in [t.text for t in result]


def test_process_sets_rasa_tokens(tokenizer):
    message = Message.build(text="アカウントを乗っ取られました")
    tokenizer.process([message])
    assert [t.text for t in message.get(TOKENS_NAMES[TEXT])][:2] == ["アカウント", "を"]
