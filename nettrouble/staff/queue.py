"""The phone team's queue: the open cases in the order to call back, how long each has waited
in business hours, and who holds what.

Order: urgency first (``URGENCY_RANKS``), then the longest wait, then the earliest arrival. A
case waits from the moment it entered the queue (created, or last handed back to new) until
someone takes it; only opening minutes count (``hours.business_minutes_between``), since nobody
could have called back at night, on a weekend, a holiday or a closure. A case nobody has taken
is overdue once it has waited ``queue_wait_alert_minutes`` of business/hours.yml; a case in
someone's hands shows how long it waited and is never overdue.

Pure reading: the writes (take, assign, close, notes) are in ``nettrouble.cases.store``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy.engine import Engine

from nettrouble.cases import schema, store
from nettrouble.content import hours
from nettrouble.core.clock import in_japan
from nettrouble.triage.urgency import LIFE_THREATENING, MINOR, SEXUAL_IMAGE

# Most urgent first; a case ranks by the first group any of its flags is in, and a case
# without any of these flags comes after all of them.
# - danger, self_harm: a life or someone's safety may be at risk right now.
# - minor, sexual_image: a child is involved, or an intimate image keeps spreading; the harm
#   grows by the hour, but nobody is in immediate danger.
URGENCY_RANKS: Tuple[FrozenSet[str], ...] = (
    frozenset(LIFE_THREATENING),
    frozenset({MINOR, SEXUAL_IMAGE}),
)


def urgency_rank(flags: Iterable[str]) -> int:
    """0 for the most urgent group, ``len(URGENCY_RANKS)`` for a case without a ranked flag."""
    flags = set(flags)
    return next((rank for rank, group in enumerate(URGENCY_RANKS) if flags & group), len(URGENCY_RANKS))


@dataclass(frozen=True)
class QueueItem:
    """One open case as the queue shows it. ``waited_minutes`` are business minutes from
    ``waiting_since`` to the moment the queue was read (a case nobody holds) or to when it was
    taken (a case in progress)."""

    reference: str
    status: str
    urgency: List[str]
    urgency_rank: int
    trouble_type: str
    channel: str
    created_at: datetime
    waiting_since: datetime
    waited_minutes: int
    overdue: bool
    assigned_to: Optional[str]
    assigned_at: Optional[datetime]

    @property
    def waited_text(self) -> str:
        return format_wait(self.waited_minutes)


@dataclass(frozen=True)
class Holdings:
    """Who holds what (open cases, in queue order per agent) and how many nobody holds."""

    by_agent: Dict[str, List[QueueItem]]
    unassigned: int


def format_wait(minutes: int) -> str:
    """A waiting time as staff read it: 「45分」, 「2時間5分」, 「3時間」."""
    hours_part, minutes_part = divmod(max(0, minutes), 60)
    if not hours_part:
        return f"{minutes_part}分"
    return f"{hours_part}時間{minutes_part}分" if minutes_part else f"{hours_part}時間"


def _waiting_span(case: schema.Case, history: Sequence[schema.StatusEvent]) -> Tuple[datetime, Optional[datetime]]:
    """When the case last entered the queue and when it was taken after that (None if not)."""
    since, taken = case.created_at, None
    for event in history:
        if event.to_status == schema.NEW:
            since, taken = event.at, None
        elif event.to_status == schema.IN_PROGRESS and taken is None:
            taken = event.at
    return since, taken


def _item(case: schema.Case, history: Sequence[schema.StatusEvent], now: datetime, cal: hours.Calendar) -> QueueItem:
    since, taken = _waiting_span(case, history)
    waiting = case.status == schema.NEW
    waited = hours.business_minutes_between(since, now if waiting or taken is None else taken, cal)
    return QueueItem(
        reference=case.reference,
        status=case.status,
        urgency=case.urgency,
        urgency_rank=urgency_rank(case.urgency),
        trouble_type=case.trouble_type,
        channel=case.channel,
        created_at=case.created_at,
        waiting_since=since,
        waited_minutes=waited,
        overdue=waiting and waited >= cal.queue_wait_alert_minutes,
        assigned_to=case.assigned_to,
        assigned_at=case.assigned_at,
    )


def _order(item: QueueItem) -> Tuple[int, int, datetime, str]:
    return item.urgency_rank, -item.waited_minutes, item.waiting_since, item.reference


def _items(engine: Engine, now: datetime, today_only: bool, cal: Optional[hours.Calendar]) -> List[QueueItem]:
    now = in_japan(now)
    cal = cal or hours.calendar()
    found = store.open_cases(engine, created_on=now.date() if today_only else None)
    return sorted((_item(case, history, now, cal) for case, history in found), key=_order)


def queue(
    engine: Engine,
    now: datetime,
    agent: Optional[str] = None,
    today_only: bool = False,
    cal: Optional[hours.Calendar] = None,
) -> List[QueueItem]:
    """The open cases (new and in progress) in the order to call back, as of ``now``.

    ``agent``: only what that agent may act on, the cases nobody holds and their own.
    ``today_only``: only the cases made on ``now``'s Japan date (the day's list).
    ``cal``: the calendar (default: business/hours.yml)."""
    items = _items(engine, now, today_only, cal)
    if agent is not None:
        items = [item for item in items if item.assigned_to in (None, agent)]
    return items


def holdings(engine: Engine, now: datetime, cal: Optional[hours.Calendar] = None) -> Holdings:
    """For supervisors: each agent's open cases in queue order, agents by name, and the number
    of open cases nobody holds, as of ``now``."""
    by_agent: Dict[str, List[QueueItem]] = {}
    unassigned = 0
    for item in _items(engine, now, False, cal):
        if item.assigned_to is None:
            unassigned += 1
        else:
            by_agent.setdefault(item.assigned_to, []).append(item)
    return Holdings(by_agent=dict(sorted(by_agent.items())), unassigned=unassigned)
