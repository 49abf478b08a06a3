"""One run of ``make notify-new-articles``: the articles published since the last run go to
the conversations that asked for their trouble type, one message per recipient, within the
rules of ``schedule``.

1. **Plan**, in one transaction: the run is recorded with today's date, and every new article
   of a subscriber's trouble types (published after the day of the consent, since the last run,
   not given to that conversation before) joins the conversation's pending notice.
2. **Send** each waiting notice, oldest first, unless the quiet hours hold it (it goes on the
   next run between 08:00 and 21:00), the conversation already had one today (it goes on a
   later day, with whatever joins it meanwhile), the subscription has ended or the SMS sender
   sent STOP (cancelled), or its channel is not configured (held).

A crash mid-run: each notice is marked ``sending`` and committed before the platform is
called, and ``sent`` after. A rerun finds what a dead run was sending and cannot know whether
it went. LINE: it is pushed again with the record's retry key, which LINE accepts only once
(a repeat gets 409, taken as delivered), so the user gets it exactly once; LINE keeps a key
for 24 hours, so an older one is not pushed again. SMS: the provider has no such key, so the
notice is marked ``unknown`` and never sent again: a notice of new articles missed is a small
loss, an SMS received twice costs the user's trust (and looks like the smishing this service
warns about). Notices not yet started are simply sent by the rerun, once.

A dry run plans and decides the same way and writes and sends nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from sqlalchemy.engine import Engine

from nettrouble.channels import sms_usage
from nettrouble.content.articles import Article, Catalogue
from nettrouble.content.service import Service
from nettrouble.core.clock import in_japan
from nettrouble.notices import addresses, messages, records, schedule, subscriptions
from nettrouble.notices.senders import Sender
from nettrouble.notices.subscriptions import Subscription

logger = logging.getLogger(__name__)

# How long LINE keeps a retry key (Messaging API reference, "Retrying an API request").
LINE_RETRY_KEY_LIFETIME = timedelta(hours=24)

SENT, HELD, CANCELLED, FAILED, UNKNOWN = "sent", "held", "cancelled", "failed", "unknown"


@dataclass(frozen=True)
class Outcome:
    """What happened, or in a dry run would happen, to one recipient's notice."""

    conversation_id: str
    channel: str
    result: str
    article_ids: Tuple[str, ...]
    text: str = ""
    reason: str = ""


@dataclass
class Report:
    at: datetime
    since: Optional[date]
    through: date
    dry_run: bool
    new_articles: int = 0
    outcomes: List[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)


@dataclass
class _Waiting:
    """A notice to decide on: recorded (``notice``), or in a dry run perhaps only planned."""

    conversation_id: str
    channel: str
    article_ids: List[str]
    notice: Optional[records.Notice] = None

    @property
    def status(self) -> str:
        return self.notice.status if self.notice is not None else records.PENDING


def new_articles(
    catalogue: Catalogue,
    subscribed: Sequence[Subscription],
    since: Optional[date],
    through: date,
    notified: Set[Tuple[str, str]],
) -> Dict[str, List[str]]:
    """The articles each conversation is to be told of, by conversation, in catalogue order."""
    planned: Dict[str, List[str]] = {}
    for subscription in subscribed:
        consent_day = schedule.japan_day(subscription.consented_at)
        for article in catalogue.articles:
            if (
                article.category == subscription.topic
                # What was published by the day of the consent, the user could read that day.
                and consent_day < article.published <= through
                and (since is None or since <= article.published)
                and (subscription.conversation_id, article.id) not in notified
            ):
                planned.setdefault(subscription.conversation_id, []).append(article.id)
    return planned


class Run:
    def __init__(
        self,
        database: Engine,
        catalogue: Catalogue,
        service: Service,
        senders: Mapping[str, Sender],
        at: datetime,
        dry_run: bool = False,
        progress: Optional[Callable[[Outcome], None]] = None,
    ) -> None:
        self.database = database
        self.articles: Dict[str, Article] = {article.id: article for article in catalogue.articles}
        self.catalogue = catalogue
        self.service = service
        self.senders = senders
        self.at = at
        self.today = schedule.japan_day(at)
        self.dry_run = dry_run
        self.progress = progress
        # The conversations this run sent to (or would have): one message a day includes them.
        self.reached: Set[str] = set()

    async def __call__(self) -> Report:
        waiting, report, subscribed, run_id = self._plan()
        by_conversation: Dict[str, List[Subscription]] = {}
        for subscription in subscribed:
            by_conversation.setdefault(subscription.conversation_id, []).append(subscription)
        for item in waiting:
            outcome = await self._decide(item, by_conversation.get(item.conversation_id, []))
            report.outcomes.append(outcome)
            if self.progress is not None:
                self.progress(outcome)
        if run_id is not None:
            with self.database.begin() as connection:
                records.finish_run(connection, run_id, self.at)
        return report

    # ---- 1. plan -----------------------------------------------------------------------------

    def _plan(self) -> Tuple[List[_Waiting], Report, List[Subscription], Optional[int]]:
        with self.database.begin() as connection:
            since = records.last_through_day(connection)
            subscribed = subscriptions.every(connection)
            notified = records.notified(connection, {s.conversation_id for s in subscribed})
            planned = new_articles(self.catalogue, subscribed, since, self.today, notified)
            channels = {s.conversation_id: s.channel for s in subscribed}
            run_id = None
            if not self.dry_run:
                run_id = records.start_run(connection, self.at, self.today)
                for conversation_id, article_ids in planned.items():
                    records.add_articles(connection, conversation_id, channels[conversation_id], article_ids, self.at)
            recorded = records.waiting(connection)
        report = Report(self.at, since, self.today, self.dry_run, sum(len(ids) for ids in planned.values()))
        waiting = [_Waiting(n.conversation_id, n.channel, list(n.article_ids), n) for n in recorded]
        if self.dry_run:
            # What the plan would have added: to the conversation's pending notice, else a new one.
            pending = {item.conversation_id: item for item in waiting if item.status == records.PENDING}
            for conversation_id, article_ids in planned.items():
                if conversation_id in pending:
                    pending[conversation_id].article_ids += article_ids
                else:
                    waiting.append(_Waiting(conversation_id, channels[conversation_id], list(article_ids)))
        return waiting, report, subscribed, run_id

    # ---- 2. send -----------------------------------------------------------------------------

    async def _decide(self, item: _Waiting, subscribed: List[Subscription]) -> Outcome:
        found = [self.articles[article_id] for article_id in item.article_ids if article_id in self.articles]
        ids = tuple(article.id for article in found)

        def outcome(result: str, reason: str = "", text: str = "") -> Outcome:
            return Outcome(item.conversation_id, item.channel, result, ids, text, reason)

        resending = item.status == records.SENDING
        stopped = self._stopped(item, subscribed)
        if stopped:
            # A message a dead run was sending may have gone: it is not called cancelled.
            status, result = (records.UNKNOWN, UNKNOWN) if resending else (records.CANCELLED, CANCELLED)
            return self._finish(item, status, outcome(result, stopped))
        if resending and not self._may_resend(item):
            return self._finish(item, records.UNKNOWN, outcome(UNKNOWN, "a run died while sending it: not sent again"))
        if not found:
            return self._finish(item, records.CANCELLED, outcome(CANCELLED, "its articles left the catalogue"))
        if schedule.is_quiet(self.at):
            until = schedule.quiet_ends(self.at)
            return outcome(HELD, f"quiet hours (21:00-08:00): until {until:%Y-%m-%d %H:%M}")
        if not resending and self._reached_today(item):
            return outcome(HELD, "already notified today: goes on a later day")
        address = next((s.address for s in subscribed if s.address), None)
        sender = self.senders.get(item.channel)
        if address is None:
            return outcome(HELD, "the SMS number is not known yet")
        if sender is None:
            return outcome(HELD, f"{item.channel.upper()} is not configured")
        text = messages.notice_text(item.channel, found, self.service)
        self.reached.add(item.conversation_id)
        again = "again with the same LINE retry key" if resending else ""
        if self.dry_run:
            return outcome(SENT, again, text)
        notice = item.notice
        assert notice is not None  # recorded by the plan outside a dry run
        if not resending:
            with self.database.begin() as connection:
                if not records.claim(connection, notice.id, self.at):
                    return outcome(HELD, "taken by another run")
        try:
            accepted = await sender.send(address, text, notice.retry_key)
        except Exception:  # noqa: BLE001 - any fault: the record stays "sending" for the next run
            logger.exception("new-article notice %d: the send failed unexpectedly", notice.id)
            return outcome(FAILED, "unexpected error: the next run resolves it", text)
        if accepted:
            return self._finish(item, records.SENT, outcome(SENT, again, text))
        return self._finish(item, records.FAILED, outcome(FAILED, f"{item.channel.upper()} did not accept it", text))

    def _stopped(self, item: _Waiting, subscribed: List[Subscription]) -> str:
        """Why nothing may go to the conversation any more ("" when it may)."""
        if not subscribed:
            return "the subscription has ended"
        if item.channel == addresses.SMS and sms_usage.is_opted_out(self.database, item.conversation_id):
            return "the sender sent STOP"
        return ""

    def _may_resend(self, item: _Waiting) -> bool:
        notice = item.notice
        return (
            notice is not None
            and item.channel == addresses.LINE
            and notice.sending_at is not None
            and self.at - notice.sending_at < LINE_RETRY_KEY_LIFETIME
        )

    def _reached_today(self, item: _Waiting) -> bool:
        if item.conversation_id in self.reached:
            return True
        own = item.notice.id if item.notice is not None else 0
        with self.database.connect() as connection:
            return records.reached_on(connection, item.conversation_id, self.today, own)

    def _finish(self, item: _Waiting, status: str, outcome: Outcome) -> Outcome:
        if not self.dry_run and item.notice is not None:
            with self.database.begin() as connection:
                records.mark(connection, item.notice.id, status, self.at)
        return outcome


async def run(
    database: Engine,
    catalogue: Catalogue,
    service: Service,
    senders: Mapping[str, Sender],
    at: datetime,
    dry_run: bool = False,
    progress: Optional[Callable[[Outcome], None]] = None,
) -> Report:
    """One run at ``at`` (``nettrouble.core.clock.now()`` in production)."""
    return await Run(database, catalogue, service, senders, at, dry_run, progress)()


# ---- what the command prints --------------------------------------------------------------

_VERBS = {SENT: ("sent", "would send"), FAILED: ("failed", "failed")}


def title(at: datetime, dry_run: bool) -> str:
    mode = "dry run: nothing is sent or recorded" if dry_run else "sending"
    return f"notify-new-articles at {in_japan(at):%Y-%m-%d %H:%M} Japan time ({mode})"


def window(report: Report) -> str:
    since = f"since {report.since:%Y-%m-%d}" if report.since else "since each consent (first run)"
    return f"articles published {since} through {report.through:%Y-%m-%d}: {report.new_articles} new for subscribers"


def outcome_lines(outcome: Outcome, dry_run: bool) -> List[str]:
    """How one recipient's notice is reported: the recipient is its conversation id (for SMS a
    keyed hash, never the number), with the message in full when it is (or would be) sent."""
    verb = _VERBS.get(outcome.result, (outcome.result, "would be " + outcome.result))[1 if dry_run else 0]
    articles = ", ".join(outcome.article_ids) or "none"
    line = f"{verb}: {outcome.conversation_id} ({outcome.channel.upper()}; articles: {articles})"
    lines = [line + (f": {outcome.reason}" if outcome.reason else "")]
    lines += ["    " + text_line if text_line else "" for text_line in outcome.text.splitlines()]
    return lines


def summary(report: Report) -> str:
    counts = ", ".join(
        f"{report.count(result)} {name}"
        for result, name in (
            (SENT, "would be sent" if report.dry_run else "sent"),
            (HELD, "held"),
            (CANCELLED, "cancelled"),
            (UNKNOWN, "unknown"),
            (FAILED, "failed"),
        )
    )
    return f"notify-new-articles: {counts}"
