"""Watching the service run: logs without personal data (``log_privacy``), the Prometheus metrics
of all three processes (``metrics``), where a turn's time goes (``timing``) and what each server's
``GET /health`` answers (``health``).
"""
