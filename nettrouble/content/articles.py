"""The case-article catalogue of business/articles.yml: loading, search and free reading.

The catalogue is read and indexed once per process (``index()``), when the action server
starts; a mistake in the file stops it with ``DataFileError`` naming the file, the article and
the field. Search is Okapi BM25 over the Sudachi content words of each article's title, tags
and summary, with the user's trouble type as a boost, so that the user's own words decide and
the trouble type breaks near-ties and fills in when the words say little.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from nettrouble.content import messages
from nettrouble.content.service import Service
from nettrouble.core import datafiles
from nettrouble.core.clock import JST, now
from nettrouble.core.japanese import content_lemmas, reading

SITE_ROOT = "https://nettrouble.docomo.ne.jp/"
ACCESS_LEVELS = ("members",)
FIELDS = (
    "id",
    "title",
    "category",
    "tags",
    "summary",
    "url",
    "published",
    "access",
    "free_windows",
)
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[。！？])")
MAX_TITLE_CHARS = 80
MAX_SUMMARY_CHARS = 200
MAX_TAG_CHARS = 40

# Words of a request for articles rather than of a trouble: 「記事を読みたい」 names no topic.
_REQUEST_WORDS = {
    "記事",
    "事例",
    "事例集",
    "読む",
    "読み物",
    "教える",
    "知る",
    "見る",
    "見せる",
    "探す",
    "紹介",
    "関連",
    "参考",
    "ページ",
    "資料",
    "勉強",
    "載る",
}
# Field weights: the title and the tags say what an article is about; the summary adds
# context words that should count, but less.
FIELD_WEIGHTS = (("title", 2.0), ("tags", 2.0), ("summary", 1.0))
# Okapi BM25 with its usual parameters.
K1 = 1.2
B = 0.75
# An article of the user's trouble type scores this much more than its words alone.
CATEGORY_BOOST = 1.5
# The user's side of the story (the triage's user_role) favours the articles written for it:
# someone who posted reads the poster's articles, a parent or a teacher the children's ones.
ROLE_CATEGORIES = {
    "poster": ("own_post",),
    "parent": ("bullying", "sexual_image"),
    "teacher": ("bullying",),
    "student": ("bullying",),
}
ROLE_BOOST = 1.3
# Chat words as users type them, spelled as the catalogue does: RT, 垢, リプ.
SLANG = (
    (re.compile(r"(?<![A-Za-z])RT(?![A-Za-z])|りついーと"), "リツイート"),
    (re.compile(r"(?<![本裏捨鍵])垢(?!消|BAN)|あか(?=を|が|の|乗|のっと)"), "アカウント"),
    (re.compile(r"裏垢|うらあか"), "裏アカウント"),
    (re.compile(r"捨て垢|すてあか"), "捨てアカウント"),
    (re.compile(r"リプ(?!ライ)|りぷ(?!らい)"), "リプライ"),
    (re.compile(r"(?<![A-Za-z])DM(?![A-Za-z])"), "ダイレクトメッセージ"),
    (re.compile(r"スクショ|すくしょ"), "スクリーンショット"),
)
# A query typed in kana (「わるぐちをかかれた」) shares no word with an article written in
# kanji (「悪口」), and Sudachi cuts kana text elsewhere than the kanji words. For such a query
# the pairs of sounds of the whole query count too: an article matches on them when it holds at
# least MIN_PAIR_COVERAGE of the query's pairs (so that gibberish matches nothing), and they weigh
# PAIR_WEIGHT of a word in the index.
KANA_QUERY_SHARE = 0.6
MIN_PAIR_COVERAGE = 0.3
PAIR_WEIGHT = 0.1
_PAIR = "~"
_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ffー]")
_LETTER = re.compile(r"\w")
# A match scoring under this share of the best one shares too little with the user's words
# to be worth a place (架空請求 for someone asking about 開示請求).
MIN_SHARE_OF_BEST = 1 / 3
# The user's words beyond this add nothing to the ranking but would cost time.
MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class FreeWindow:
    start: date
    end: date

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    category: str
    tags: Tuple[str, ...]
    summary: str
    url: str
    published: date
    access: str
    free_windows: Tuple[FreeWindow, ...]

    @property
    def one_line(self) -> str:
        """The first sentence of the summary, for a chat list."""
        return next(s for s in _SENTENCE_END.split(self.summary) if s.strip()).strip()


@dataclass(frozen=True)
class Catalogue:
    articles: Tuple[Article, ...]
    topic_labels: Dict[str, str]


def _fail(path: Path, where: str, message: str) -> datafiles.DataFileError:
    return datafiles.DataFileError(f"{path}: {where} {message}")


def _text(path: Path, where: str, field: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, f"field '{field}' must be non-empty text")
    text = value.strip()
    if len(text) > limit:
        raise _fail(path, where, f"field '{field}' is longer than {limit} characters")
    return text


def _day(path: Path, where: str, field: str, value: Any) -> date:
    return datafiles.day(value, f"{path}: {where} field '{field}'")


def _tags(path: Path, where: str, value: Any) -> Tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(path, where, "field 'tags' must be a non-empty list")
    tags = []
    for tag in value:
        # A bare number such as 188 is a fine tag; YAML reads it as an int.
        if isinstance(tag, int) and not isinstance(tag, bool):
            tag = str(tag)
        tags.append(_text(path, where, "tags", tag, MAX_TAG_CHARS))
    return tuple(tags)


def _summary(path: Path, where: str, value: Any) -> str:
    text = _text(path, where, "summary", value, MAX_SUMMARY_CHARS)
    # A folded YAML block joins its lines with spaces, which Japanese does not put between
    # sentences.
    text = re.sub(r"(?<=[。！？])\s+", "", text)
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if not 1 <= len(sentences) <= 2 or not text.endswith(("。", "！", "？")):
        raise _fail(path, where, "field 'summary' must be one or two sentences ending in 。")
    return text


def _url(path: Path, where: str, value: Any) -> str:
    url = _text(path, where, "url", value, 300)
    if not url.startswith(SITE_ROOT) or re.search(r"\s", url):
        raise _fail(path, where, f"field 'url' must be an address under {SITE_ROOT}")
    return url


def _windows(path: Path, where: str, value: Any) -> Tuple[FreeWindow, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(path, where, "field 'free_windows' must be a list of {from, to}")
    windows = []
    for position, window in enumerate(value, start=1):
        field = f"free_windows[{position}]"
        if not isinstance(window, Mapping) or set(window) != {"from", "to"}:
            raise _fail(path, where, f"field '{field}' must have exactly 'from' and 'to'")
        start = _day(path, where, f"{field}.from", window["from"])
        end = _day(path, where, f"{field}.to", window["to"])
        if end < start:
            raise _fail(path, where, f"field '{field}' ends before it starts")
        windows.append(FreeWindow(start, end))
    return tuple(windows)


def _article(path: Path, item: Mapping[str, Any], index: int) -> Article:
    values = datafiles.require_fields(path, item, index, FIELDS[:-1])
    where = datafiles.entry_name(item, index)
    unknown = sorted(f"'{key}'" for key in item if key not in FIELDS)
    if unknown:
        raise _fail(path, where, f"has unknown field(s) {', '.join(unknown)} (a typo?)")
    article_id = values["id"]
    if not isinstance(article_id, str) or not _ID.fullmatch(article_id) or len(article_id) > 80:
        raise _fail(path, where, "field 'id' must be lower-case letters, digits and hyphens")
    category = values["category"]
    if category not in datafiles.TROUBLE_TYPES:
        raise _fail(
            path,
            where,
            f"field 'category' has unknown trouble type {category!r} (one of {', '.join(datafiles.TROUBLE_TYPES)})",
        )
    if values["access"] not in ACCESS_LEVELS:
        raise _fail(path, where, f"field 'access' must be one of {', '.join(ACCESS_LEVELS)}")
    return Article(
        id=article_id,
        title=_text(path, where, "title", values["title"], MAX_TITLE_CHARS),
        category=category,
        tags=_tags(path, where, values["tags"]),
        summary=_summary(path, where, values["summary"]),
        url=_url(path, where, values["url"]),
        published=_day(path, where, "published", values["published"]),
        access=values["access"],
        free_windows=_windows(path, where, item.get("free_windows")),
    )


def _topic_labels(path: Path, document: Mapping[str, Any]) -> Dict[str, str]:
    labels = document.get("topics")
    if not isinstance(labels, Mapping):
        raise datafiles.DataFileError(f"{path}: expected a top-level 'topics:' mapping")
    unknown = sorted(str(key) for key in labels if key not in datafiles.TROUBLE_TYPES)
    if unknown:
        raise datafiles.DataFileError(f"{path}: 'topics' has unknown trouble type(s) {', '.join(unknown)}")
    result = {}
    for topic in datafiles.TROUBLE_TYPES:
        result[topic] = _text(path, f"topic '{topic}'", "label", labels.get(topic), 20)
    return result


def load(path: Optional[Path] = None) -> Catalogue:
    """Reads and checks the catalogue; raises DataFileError on the first mistake."""
    path = path or datafiles.business_file("articles.yml")
    document = datafiles.read_yaml(path)
    items = datafiles.entries(path, document, "articles")
    if not items:
        raise datafiles.DataFileError(f"{path}: 'articles' is empty")
    # Each id is checked to be text before ids are compared.
    articles = tuple(_article(path, item, index) for index, item in enumerate(items))
    datafiles.unique_ids(path, items)
    return Catalogue(articles=articles, topic_labels=_topic_labels(path, document))


def japan_day(at: datetime) -> date:
    """The calendar day in Japan at the moment ``at``, whatever the server's own zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        # astimezone() would read a naive time in the server's zone: refuse to guess.
        raise ValueError(f"expected an aware datetime, got the naive {at.isoformat()}")
    return at.astimezone(JST).date()


def is_free(article: Article, at: datetime) -> bool:
    """Whether ``article`` can be read free at ``at``: on a day, in Japan, that one of its
    free windows covers and that is not before its publication."""
    day = japan_day(at)
    return article.published <= day and any(window.covers(day) for window in article.free_windows)


def free_until(article: Article, at: datetime) -> Optional[date]:
    """The last free day of the window that makes ``article`` free at ``at``, or None."""
    if not is_free(article, at):
        return None
    day = japan_day(at)
    return max(window.end for window in article.free_windows if window.covers(day))


def _unslang(text: str) -> str:
    for pattern, spelled in SLANG:
        text = pattern.sub(spelled, text)
    return text


def _terms(text: str) -> List[str]:
    """Search terms of ``text``: its content words and each pair of neighbouring content
    words, so that 開示請求 matches 「発信者情報開示請求」 better than 架空請求 does."""
    words = [word for word in content_lemmas(_unslang(text)) if word not in _REQUEST_WORDS]
    return words + [f"{first} {second}" for first, second in zip(words, words[1:])]


def _sound_pairs(text: str) -> List[str]:
    """Pairs of hiragana of the text's reading: 「悪口」 and 「わるぐち」 give わる, るぐ, ぐち."""
    spoken = "".join(ch for ch in reading(_unslang(text)) if "\u3041" <= ch <= "\u3096")
    return [_PAIR + spoken[i : i + 2] for i in range(len(spoken) - 1)]


def _typed_in_kana(text: str) -> bool:
    letters = _LETTER.findall(text)
    return bool(letters) and len(_KANA.findall(text)) / len(letters) >= KANA_QUERY_SHARE


def query_terms(text: str) -> List[str]:
    """The terms of the user's words that the search uses, without repeats; empty when the
    words name no trouble (「記事を読みたい」)."""
    return list(dict.fromkeys(_terms((text or "")[:MAX_QUERY_CHARS])))


class Index:
    """BM25 over the catalogue, built once; searching only reads it, so threads may share it."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.articles = catalogue.articles
        self._weights: List[Dict[str, float]] = []
        for article in self.articles:
            weights: defaultdict[str, float] = defaultdict(float)
            for field, weight in FIELD_WEIGHTS:
                value = getattr(article, field)
                # Tags one by one, so that no pair spans two tags.
                for text in value if isinstance(value, tuple) else (value,):
                    for term in _terms(text):
                        weights[term] += weight
                    for term in _sound_pairs(text):
                        weights[term] += weight * PAIR_WEIGHT
            self._weights.append(dict(weights))
        self._lengths = [sum(weights.values()) for weights in self._weights]
        self._average_length = (sum(self._lengths) / len(self._lengths)) if self._lengths else 1.0
        documents = Counter(term for weights in self._weights for term in weights)
        count = len(self.articles)
        self._idf = {term: math.log(1 + (count - n + 0.5) / (n + 0.5)) for term, n in documents.items()}

    def _bm25(self, position: int, terms: Sequence[str]) -> float:
        weights = self._weights[position]
        norm = K1 * (1 - B + B * self._lengths[position] / self._average_length)
        score = 0.0
        for term in terms:
            tf = weights.get(term)
            if tf:
                score += self._idf[term] * tf * (K1 + 1) / (tf + norm)
        return score

    def search(
        self,
        text: str,
        topic: Optional[str] = None,
        at: Optional[datetime] = None,
        limit: int = 3,
        role: Optional[str] = None,
    ) -> List[Article]:
        """Up to ``limit`` published articles for the user's words and trouble type, best first.

        Articles that match the words come first, those of ``topic`` boosted, ties going to the
        topic and then to the catalogue's order; matches far weaker than the best are left out.
        When fewer remain than ``limit`` (or the words name nothing), the topic's articles fill
        the list in the catalogue's order."""
        today = japan_day(at or now())
        terms = query_terms(text)
        query = (text or "")[:MAX_QUERY_CHARS]
        pairs = list(dict.fromkeys(_sound_pairs(query))) if terms and _typed_in_kana(query) else []
        favoured = ROLE_CATEGORIES.get(role or "", ())
        published = [p for p, article in enumerate(self.articles) if article.published <= today]
        matched: List[Tuple[float, int, int]] = []
        for position in published:
            score = self._bm25(position, terms) if terms else 0.0
            in_topic = self.articles[position].category == topic
            if pairs:
                shared = sum(1 for pair in pairs if pair in self._weights[position])
                if score > 0 or shared >= MIN_PAIR_COVERAGE * len(pairs):
                    score += self._bm25(position, pairs)
            if score > 0:
                boosted = score * (CATEGORY_BOOST if in_topic else 1.0)
                boosted *= ROLE_BOOST if self.articles[position].category in favoured else 1.0
                matched.append((-boosted, 0 if in_topic else 1, position))
        matched.sort()
        floor = -matched[0][0] * MIN_SHARE_OF_BEST if matched else 0.0
        chosen = [position for score, _, position in matched if -score >= floor]
        chosen += [p for p in published if self.articles[p].category == topic and p not in chosen]
        return [self.articles[position] for position in chosen[: max(limit, 0)]]


@lru_cache(maxsize=1)
def index() -> Index:
    """The index of business/articles.yml, built on first use (the action server's start)."""
    return Index(load())


def offer_card(found: Sequence[Article], at: datetime, service: Service) -> Dict[str, object]:
    """The articles of ``offer_response`` as data for channels that draw cards (LINE): each with
    its one line, address and the last free day (ISO date) or None for members only."""
    return {
        "kind": "articles",
        "articles": [
            {
                "id": a.id,
                "title": a.title,
                "summary": a.one_line,
                "url": a.url,
                "free_until": last_day.isoformat() if (last_day := free_until(a, at)) else None,
            }
            for a in found
        ],
        "more_url": service.articles_url,
    }


def offer_response(found: Sequence[Article], at: datetime, service: Service) -> Tuple[str, Dict[str, Any]]:
    """The response of one chat message listing ``found`` (title, one line, link, and whether it
    is free now) with its values: utter_articles_none when nothing was found, and
    utter_articles_found_for_members, which adds how to join, when an article is for members
    (texts; typed as utter_message takes them, ``**kwargs: Any``)."""
    if not found:
        return "utter_articles_none", {"articles_url": service.articles_url}
    items = []
    for number, article in enumerate(found, start=1):
        last_day = free_until(article, at)
        access = (
            messages.ARTICLE_FREE_UNTIL.format(month=last_day.month, day=last_day.day)
            if last_day
            else messages.ARTICLE_FOR_MEMBERS
        )
        items.append("\n".join([f"{number}. {article.title}", article.one_line, article.url, access]))
    values: Dict[str, Any] = {"article_list": "\n\n".join(items)}
    if all(free_until(article, at) is not None for article in found):
        return "utter_articles_found", values
    values.update(
        service_name=service.name,
        service_fee=service.monthly_fee_text,
        service_eligibility=service.eligibility_text,
        service_site=service.site_url,
    )
    return "utter_articles_found_for_members", values
