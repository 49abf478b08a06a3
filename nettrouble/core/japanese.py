"""Japanese word segmentation shared by the NLU pipeline and the article search.

SudachiPy in split mode C keeps chat words such as リツイート, インスタ or なりすまし whole, and
its normalised form folds spelling variants together (ﾂｲｯﾀｰ and ツイッター both become Twitter).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator, List, Tuple

if TYPE_CHECKING:
    # Imported when first needed at run time: loading the dictionary takes seconds.
    from sudachipy import Dictionary, Morpheme, Tokenizer

# Sudachi refuses input above 49,149 bytes of UTF-8; stay well below it.
MAX_CHUNK_BYTES = 40_000
# Where a long text is best cut so that no word is split in two.
_CUT_AFTER = set("。．.！!？?\n\r 　、，,")
# Lone surrogates (possible in JSON such as "\\ud800") cannot cross into Sudachi's Rust code.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Word:
    surface: str
    lemma: str
    start: int
    end: int
    # How the word is pronounced, in hiragana: 悪口 and わるぐち both read わるぐち.
    reading: str = ""


@lru_cache(maxsize=1)
def _dictionary() -> Dictionary:
    from sudachipy import Dictionary

    return Dictionary()


# A Sudachi tokenizer must not be used by two threads at once; the dictionary can be shared.
_per_thread = threading.local()


def _tokenizer() -> Tokenizer:
    tokenizer: Tokenizer | None = getattr(_per_thread, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import SplitMode

        tokenizer = _per_thread.tokenizer = _dictionary().tokenizer(mode=SplitMode.C)
    return tokenizer


def chunks(text: str, max_bytes: int = MAX_CHUNK_BYTES) -> Iterator[Tuple[int, str]]:
    """Yields (offset, piece) pieces of at most ``max_bytes`` UTF-8 bytes, cut after punctuation
    or whitespace where there is one in the second half of the piece."""
    start = 0
    while start < len(text):
        size = 0
        end = start
        last_cut = -1
        while end < len(text):
            char_bytes = len(text[end].encode("utf-8"))
            if size + char_bytes > max_bytes:
                break
            size += char_bytes
            if text[end] in _CUT_AFTER:
                last_cut = end + 1
            end += 1
        if end < len(text) and last_cut > start + (end - start) // 2:
            end = last_cut
        yield start, text[start:end]
        start = end


def _is_blank(surface: str) -> bool:
    """True for tokens made only of whitespace, control or formatting characters."""
    return all(char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zs", "Zl", "Zp") for char in surface)


def _morphemes(text: str) -> Iterator[Tuple[int, Morpheme]]:
    """(offset of its chunk, Sudachi morpheme) for every non-blank token of ``text``."""
    if not text:
        return
    tokenizer = _tokenizer()
    # Same length as the original, so offsets still point into ``text``.
    text = _LONE_SURROGATE.sub("\ufffd", text)
    for offset, piece in chunks(text):
        for morpheme in tokenizer.tokenize(piece):
            if not _is_blank(morpheme.surface()):
                yield offset, morpheme


_KATAKANA = re.compile("[\u30a1-\u30f6]")
_KANA_OR_KANJI = re.compile("[\u3041-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヵヶ]")


def hiragana(text: str) -> str:
    """Katakana letters as the hiragana of the same sound: スクショ → すくしょ."""
    return _KATAKANA.sub(lambda match: chr(ord(match.group()) - 0x60), text)


def _reading(morpheme: Morpheme) -> str:
    """The morpheme's sound in hiragana; words without kana or kanji (X, ID, 3) as written,
    lower-cased, since Sudachi spells their reading differently from how users type them."""
    surface = morpheme.surface()
    if not _KANA_OR_KANJI.search(surface):
        return surface.lower()
    return hiragana(morpheme.reading_form() or surface)


def words(text: str) -> List[Word]:
    """Segments ``text`` into words with offsets into ``text``; blank tokens are dropped."""
    return [
        Word(
            surface=morpheme.surface(),
            lemma=morpheme.normalized_form() or morpheme.surface(),
            start=offset + morpheme.begin(),
            end=offset + morpheme.end(),
            reading=_reading(morpheme),
        )
        for offset, morpheme in _morphemes(text)
    ]


_KANJI_OR_KATAKANA = re.compile("[\u30a1-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヵヶ]")


def kana_spelling(text: str) -> str:
    """``text`` as a phone user who types only kana writes it: words with kanji or katakana
    as their hiragana reading, Latin letters, digits and punctuation as they are:
    「インスタで悪口書かれた」 → 「いんすたでわるぐちかかれた」."""
    pieces, position = [], 0
    for word in words(text):
        pieces.append(text[position : word.start])
        pieces.append(word.reading if _KANJI_OR_KATAKANA.search(word.surface) else word.surface)
        position = word.end
    pieces.append(text[position:])
    return "".join(pieces)


def reading(text: str) -> str:
    """The whole text as it sounds, in hiragana, words joined without spaces: 「インスタで悪口
    書かれた」 and 「いんすたでわるぐちかかれた」 both give いんすたでわるぐちかかれた."""
    return "".join(word.reading for word in words(text))


# Parts of speech that carry the topic of a sentence. Particles, auxiliaries, symbols, pronouns,
# adverbs and the grammatical uses of する, なる, ある or くださる (tagged 非自立可能) do not.
_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞"}
# Nouns and verbs that Sudachi tags as ordinary words but that only hold a sentence together
# (formal nouns such as こと, light verbs such as 言う or 思う).
_FUNCTION_LEMMAS = {
    "こと",
    "物",
    "時",
    "為",
    "所",
    "訳",
    "筈",
    "方",
    "様",
    "積もり",
    "中",
    "上",
    "的",
    "言う",
    "思う",
}


def _content_morphemes(text: str) -> Iterator[Morpheme]:
    for _, morpheme in _morphemes(text):
        pos = morpheme.part_of_speech()
        if pos[0] not in _CONTENT_POS or pos[1] in ("非自立可能", "数詞"):
            continue
        if (morpheme.normalized_form() or morpheme.surface()) not in _FUNCTION_LEMMAS:
            yield morpheme


def content_lemmas(text: str) -> List[str]:
    """The normalised, lower-cased forms of the content words of ``text``, in order, for
    search: 「開示請求の記事が読みたいです」 gives ['開示', '請求', '記事', '読む']."""
    return [(m.normalized_form() or m.surface()).lower() for m in _content_morphemes(text)]
