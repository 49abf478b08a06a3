"""Helpdesk tickets in a Zendesk-compatible API (TICKETS_API_URL), through the outbox.

Every new case becomes one ticket, ``POST /api/v2/tickets.json`` with Zendesk's API-token basic
auth (``{email}/token:{token}``):

- ``external_id``: the case reference;
- ``priority``: "urgent" when the case has any urgency flag, else "normal" (Zendesk's other
  levels, "high" and "low", are left to the staff who triage the ticket);
- ``tags``: ``nettrouble``, ``trouble_<type>`` and ``urgency_<flag>`` for each flag;
- ``subject``: the reference, the trouble type and the urgency in Japanese;
- the first comment, private to agents: a short heading, then the case document as JSON
  (docs/case-schema.md), the same document the webhook and the console's API give.

Exactly once: Zendesk answers 201 with the ticket, whose id is kept on the outbox row
(``remote_id``). Zendesk has no idempotency key for tickets, so when an earlier attempt may
have reached it (the row's ``attempts`` counts every attempt started, including one whose
answer was lost or whose worker died before recording it), the ticket is first looked up by
its external id (``GET /api/v2/tickets.json?external_id=...``, read from the database, not from
the search index, so a ticket made a moment ago is found); only when none exists is it posted.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, Optional
from urllib.parse import urlencode

from nettrouble.cases.document import is_urgent, type_label, urgency_labels
from nettrouble.core.settings import Settings
from nettrouble.notify import outbox

TICKETS = "tickets"
URGENT = "urgent"
NORMAL = "normal"
TICKETS_PATH = "/api/v2/tickets.json"


def priority(document: Dict[str, Any]) -> str:
    return URGENT if is_urgent(document) else NORMAL


def ticket(document: Dict[str, Any]) -> Dict[str, Any]:
    """The ``ticket`` object posted for a case document."""
    reference = document["reference"]
    urgency = "、".join(urgency_labels(document["urgency"]))
    subject = f"相談ケース {reference}：{type_label(document['trouble_type'])}"
    heading = [
        f"ネットトラブルあんしんサポートの相談ケース {reference}",
        f"種類：{type_label(document['trouble_type'])}",
    ]
    if urgency:
        subject += f"（緊急：{urgency}）"
        heading.append(f"緊急度：{urgency}")
    body = "\n".join(heading) + "\n\n" + json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    return {
        "subject": subject,
        "comment": {"body": body, "public": False},
        "priority": priority(document),
        "external_id": reference,
        "tags": ["nettrouble", f"trouble_{document['trouble_type']}"]
        + [f"urgency_{flag}" for flag in document["urgency"]],
    }


def _ticket_id(answer: outbox.Answer, key: str) -> Optional[str]:
    """The id in a ``{"ticket": {...}}`` answer, or the oldest in ``{"tickets": [...]}``;
    None when there is none or the body is not what Zendesk sends."""
    try:
        found = answer.json()[key]
        ids = [item["id"] for item in (found if isinstance(found, list) else [found])]
        return str(min(ids)) if ids else None
    except (ValueError, KeyError, TypeError):
        return None


class Tickets:
    name = TICKETS

    def __init__(self, base_url: str, email: str, token: str, timeout: float = outbox.DEFAULT_TIMEOUT):
        self.base_url = outbox.check_url(base_url, "TICKETS_API_URL").rstrip("/")
        credentials = base64.b64encode(f"{email}/token:{token}".encode("utf-8")).decode("ascii")
        self.headers = {
            "Authorization": f"Basic {credentials}",
            "Accept": "application/json",
            "User-Agent": "nettrouble-tickets/1",
        }
        self.timeout = timeout

    @staticmethod
    def switched_on(config: Settings) -> bool:
        return bool(config.tickets_api_url)

    @classmethod
    def from_settings(cls, config: Settings) -> "Tickets":
        return cls(config.tickets_api_url, config.require("tickets_api_email"), config.require("tickets_api_token"))

    @staticmethod
    def concerns(document: Dict[str, Any]) -> bool:
        return True

    @staticmethod
    def payload(document: Dict[str, Any]) -> Dict[str, Any]:
        return document

    def send(self, row: Any) -> outbox.Outcome:
        reference = row.payload["reference"]
        if row.attempts > 0:
            query = urlencode({"external_id": reference})
            found = outbox.http(
                f"{self.base_url}{TICKETS_PATH}?{query}", method="GET", headers=self.headers, timeout=self.timeout
            )
            if not found.ok:
                return found.failure()
            existing = _ticket_id(found, "tickets")
            if existing is not None:
                return outbox.done(existing)
        body = json.dumps({"ticket": ticket(row.payload)}, ensure_ascii=False).encode("utf-8")
        answer = outbox.http(
            f"{self.base_url}{TICKETS_PATH}",
            body=body,
            timeout=self.timeout,
            headers={**self.headers, "Content-Type": "application/json; charset=utf-8"},
        )
        if not answer.ok:
            return answer.failure()
        created = _ticket_id(answer, "ticket")
        # Accepted but unreadable: the ticket probably exists, and the next attempt (counted)
        # looks it up before posting again.
        return outbox.done(created) if created else outbox.Outcome(False, "answer without a ticket id")
