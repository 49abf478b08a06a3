"""Telling the outside about new cases through the outbox: one row per case and outlet, written
in the case's own transaction (``outbox``), the outlets that are switched on (``outlets``), and the
three senders: the signed handoff webhook (in ``outbox``), Slack alerts of urgent cases
(``slack_alerts``) and helpdesk tickets (``ticketing``).
"""
