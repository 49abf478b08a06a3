"""How a callback slot is written for users and staff: 「12月14日(月) 10:00〜10:30」, the button
labels of the offer, and the Japanese names of a callback's states."""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from nettrouble.callbacks.slots import SLOT
from nettrouble.callbacks.store import CHAT
from nettrouble.content.hours import WEEKDAY_JA, format_day
from nettrouble.core.clock import in_japan

# The last button of the offer, which declines it, and of a move, which keeps the booked time
# (the payload of both is /deny).
DECLINE = "予約しない"
KEEP = "変更しない"

# The states of nettrouble.callbacks.store, as the console shows them.
STATE_LABELS = {
    "booked": "予約済み",
    "no_answer": "不在",
    "retried": "再発信済み",
    "done": "完了",
    "cancelled": "キャンセル",
}
CHANGED_FROM_CHAT = "お客さま（チャット）"
# The staff's marks (POSTed outcome -> button label).
OUTCOME_LABELS = {"done": "完了", "no_answer": "不在", "retried": "再発信した"}


def slot_text(start: datetime, today: Optional[date] = None) -> str:
    """「12月14日(月) 10:00〜10:30」 (with the year when it is not ``today``'s)."""
    start = in_japan(start)
    return f"{format_day(start.date(), today)} {start:%H:%M}〜{start + SLOT:%H:%M}"


def slot_time(start: datetime) -> str:
    """「10:00〜10:30」, for a list of one day's callbacks."""
    start = in_japan(start)
    return f"{start:%H:%M}〜{start + SLOT:%H:%M}"


def changed_by(who: str) -> str:
    """Who last changed a callback: a staff member's name, or the user from the chat."""
    return CHANGED_FROM_CHAT if who == CHAT else who


def button_label(start: datetime) -> str:
    """「12/14(月) 10:00」: short enough for a LINE quick reply (20 characters). No number in
    front: the SMS menu numbers its options itself, and 「2番」 counts the buttons."""
    start = in_japan(start)
    return f"{start.month}/{start.day}({WEEKDAY_JA[start.weekday()]}) {start:%H:%M}"


def state_label(state: str, attempts: int = 0) -> str:
    """「予約済み」, 「不在（2回目）」, 「再発信済み（不在1回）」: the state, and how many calls
    nobody answered."""
    label = STATE_LABELS.get(state, state)
    if not attempts:
        return label
    return f"{label}（{attempts}回目）" if state == "no_answer" else f"{label}（不在{attempts}回）"
