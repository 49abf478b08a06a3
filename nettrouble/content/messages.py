"""The sentences of the content modules that only make sense built in code.

The articles' offer is a response in domain.yml (``utter_articles_*``); what it lists is built
per article, and whether an article is free now is a sentence of its own in the list. Whether the
centre is open now, or when it next opens (``hours.availability_sentence``), is worked out for the
moment it is said and is itself a value of other responses (the handoff's ``{centre_open}``, the
FAQ's ``{open_now}``), so it cannot be a response.

Plain Python (no Rasa); templates take their values with ``str.format``.
"""

from __future__ import annotations

# ---- articles (articles.offer_response): after each article's link -------------------------

ARTICLE_FREE_UNTIL = "今なら無料でお読みいただけます（{month}月{day}日まで）。"
ARTICLE_FOR_MEMBERS = "会員向けの記事です。"

# ---- the centre's hours (hours.availability_sentence) -------------------------------------

OPEN_NOW = "ただいま受付時間内です（本日{closes_at}まで）。"
# {closed_today} is CLOSED_TODAY on a day the calendar closes, else empty.
CLOSED_NEXT_OPENING = "ただいま受付時間外です。{closed_today}次の受付開始は {relative}{day} {time} です。"
CLOSED_NO_OPENING_KNOWN = "ただいま受付時間外です。{closed_today}次の受付開始日は、サービスサイトでご確認ください。"
CLOSED_TODAY = "本日は{closure}のため、お休みをいただいております。"
# Before the next opening's day when it is today or tomorrow.
TODAY = "本日 "
TOMORROW = "明日 "
