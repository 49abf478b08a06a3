"""The outlets of new cases and which are switched on: the signed webhook
(HANDOFF_WEBHOOK_URL), Slack alerts of urgent cases (SLACK_WEBHOOK_URL) and helpdesk tickets
(TICKETS_API_URL). An outlet whose setting is empty gets no outbox rows and no worker.

The case store calls ``enqueue_case`` inside the transaction that creates the case; the
console builds one worker per outlet from ``configured``.
"""

from __future__ import annotations

from typing import Any, Collection, Dict, List, Optional, Tuple

from sqlalchemy.engine import Connection

from nettrouble.core.settings import Settings, settings
from nettrouble.notify import outbox
from nettrouble.notify.slack_alerts import SlackAlerts
from nettrouble.notify.ticketing import Tickets

OUTLETS = (outbox.Webhook, SlackAlerts, Tickets)
NAMES: Tuple[str, ...] = tuple(outlet.name for outlet in OUTLETS)
_BY_NAME = {outlet.name: outlet for outlet in OUTLETS}


def switched_on(config: Optional[Settings] = None) -> Tuple[str, ...]:
    """The names of the outlets whose settings are set."""
    config = config or settings()
    return tuple(outlet.name for outlet in OUTLETS if outlet.switched_on(config))


def configured(config: Optional[Settings] = None) -> List[outbox.Outlet]:
    """A sender for each outlet switched on; a missing secret or an address that is not
    http(s) raises (SettingsError, ValueError) so that the console refuses to start."""
    config = config or settings()
    return [outlet.from_settings(config) for outlet in OUTLETS if outlet.switched_on(config)]


def enqueue_case(
    connection: Connection, case_id: int, kind: str, document: Dict[str, Any], names: Collection[str]
) -> List[str]:
    """One outbox row for each named outlet the case concerns (Slack: urgent cases only),
    inside the caller's transaction; returns the names given a row."""
    unknown = set(names) - set(NAMES)
    if unknown:
        raise ValueError(f"unknown outlets: {', '.join(sorted(unknown))}")
    queued = []
    for name in NAMES:
        outlet = _BY_NAME[name]
        if name in names and outlet.concerns(document):
            outbox.enqueue(connection, case_id, kind, outlet.payload(document), outlet=name)
            queued.append(name)
    return queued
