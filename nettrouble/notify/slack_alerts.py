"""Slack alerts of urgent cases (SLACK_WEBHOOK_URL, an incoming webhook), through the outbox.

A case with any urgency flag gets one row, posted as soon as the worker runs: the reference,
the urgency in Japanese, the trouble type, the channel, since when the person waits, and a
link to the case in the console when CONSOLE_PUBLIC_URL is set. Nothing the user wrote (no
summary, no triage answers) and no conversation id leaves for Slack: the channel's members
are not all staff who may read cases, and Slack keeps messages outside our retention. The row
stores only these facts, so the outbox holds no more for Slack than it sends.

Plain urllib (``outbox.http``) rather than ``slack_sdk.webhook.WebhookClient``: an incoming
webhook is one JSON POST, and going through the outbox's own request keeps one policy for
every outlet (no redirects, the same timeouts, the same reading of what is retried and what
is refused for good: Slack answers 400/403/404/410 to a bad payload, a revoked webhook or an
archived channel, which retrying cannot fix, and 429 or 5xx to "later").

Slack's incoming webhooks take no idempotency key: when Slack received a post but its answer
was lost, the retry posts the alert a second time. For an alert that is the right side to err
on; the ticket outlet, which must not duplicate, looks its ticket up instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict
from urllib.parse import quote

from nettrouble.cases.document import channel_label, is_urgent, type_label, urgency_labels
from nettrouble.core.clock import in_japan
from nettrouble.core.settings import Settings
from nettrouble.notify import outbox

SLACK = "slack"
# The case document's fields an alert shows; everything else stays out of the row.
ALERT_FIELDS = ("reference", "urgency", "trouble_type", "channel", "created_at")


def _escape(text: str) -> str:
    # Slack's mrkdwn reads & < > as markup (links, mentions).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(facts: Dict[str, Any], console_url: str = "") -> Dict[str, Any]:
    """The JSON body posted to Slack for the alert ``facts`` (``SlackAlerts.payload``)."""
    reference = _escape(facts["reference"])
    since = in_japan(datetime.fromisoformat(facts["created_at"])).strftime("%Y-%m-%d %H:%M")
    lines = [
        f":rotating_light: *緊急の相談ケース {reference}*",
        f"緊急度：{_escape('、'.join(urgency_labels(facts['urgency'])))}",
        f"種類：{_escape(type_label(facts['trouble_type']))}",
        f"窓口：{_escape(channel_label(facts['channel']))}",
        f"受付：{since}（この時刻からお待ちです）",
    ]
    if console_url:
        lines.append(f"<{console_url}/cases/{quote(facts['reference'])}|コンソールで開く>")
    return {"text": "\n".join(lines)}


class SlackAlerts:
    name = SLACK

    def __init__(self, url: str, console_url: str = "", timeout: float = outbox.DEFAULT_TIMEOUT):
        self.url = outbox.check_url(url, "SLACK_WEBHOOK_URL")
        self.console_url = outbox.check_url(console_url, "CONSOLE_PUBLIC_URL").rstrip("/") if console_url else ""
        self.timeout = timeout

    @staticmethod
    def switched_on(config: Settings) -> bool:
        return bool(config.slack_webhook_url)

    @classmethod
    def from_settings(cls, config: Settings) -> "SlackAlerts":
        return cls(config.slack_webhook_url, config.console_public_url)

    @staticmethod
    def concerns(document: Dict[str, Any]) -> bool:
        return is_urgent(document)

    @staticmethod
    def payload(document: Dict[str, Any]) -> Dict[str, Any]:
        return {name: document[name] for name in ALERT_FIELDS}

    def send(self, row: Any) -> outbox.Outcome:
        body = json.dumps(message(row.payload, self.console_url), ensure_ascii=False).encode("utf-8")
        answer = outbox.http(
            self.url, body=body, timeout=self.timeout, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        return outbox.done() if answer.ok else answer.failure()
