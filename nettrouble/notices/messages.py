"""The text of a new-article notice, per channel.

Both start with the service's name, so that the user knows who writes before reading further
(an SMS out of the blue is what smishing looks like), and end with how to stop. LINE carries
each article's one line; SMS, where every 67 characters cost a segment, the title and address
of at most ``SMS_MAX_ARTICLES`` and the list's address for the rest. Every address is one of
the service's own site (the catalogue allows no other), which the SMS link policy allows.
"""

from __future__ import annotations

from typing import List, Sequence

from nettrouble.content.articles import Article
from nettrouble.content.service import Service
from nettrouble.notices.addresses import SMS

SMS_MAX_ARTICLES = 3
# Far within LINE's 5,000 characters a text.
LINE_MAX_ARTICLES = 10
STOP_WORD = "配信停止"


def _heading(service: Service, count: int) -> str:
    return f"【{service.name}】\n新しい事例記事を{count}件公開しました。"


def _stop_line() -> str:
    return f"お知らせを止めるには「{STOP_WORD}」とお送りください。"


def notice_text(channel: str, found: Sequence[Article], service: Service) -> str:
    """One message announcing ``found`` (at least one article) on ``channel``."""
    if not found:
        raise ValueError("a notice needs at least one article")
    lines: List[str] = [_heading(service, len(found))]
    listed = SMS_MAX_ARTICLES if channel == SMS else LINE_MAX_ARTICLES
    for number, article in enumerate(found[:listed], start=1):
        if channel == SMS:
            lines += ["", f"・{article.title}", article.url]
        else:
            lines += ["", f"{number}. {article.title}", article.one_line, article.url]
    if len(found) > listed:
        lines += ["", f"ほか{len(found) - listed}件は {service.articles_url} からご覧いただけます。"]
    lines += ["", _stop_line()]
    return "\n".join(lines)
