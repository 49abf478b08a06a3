"""The console's ``GET /metrics`` and ``GET /health``, both public (``console.app.PUBLIC_PATHS``):
probes and Prometheus carry no session. Neither shows a case, a person or a secret.

/metrics: the process's metrics (nettrouble.monitoring.metrics: sign-in failures, notification failures)
and the outbox backlog read from this console's database at scrape time.

/health: 200 when the database answers and every notification worker
(``app.ctx.delivery_workers``, set by ``python -m console``; none when no outlet is switched
on) is running, else 503 naming the failed check: ``database``, or ``worker:<outlet>`` for a
worker whose thread has ended.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json, raw

from console.views import call
from nettrouble.monitoring import health, metrics

STOPPED = "stopped"


def worker_checks(workers: Optional[Iterable[Any]]) -> List[health.Check]:
    return [
        health.Check(f"worker:{worker.name}", worker.running, health.OK if worker.running else STOPPED)
        for worker in (workers or [])
    ]


async def health_page(request: Request) -> HTTPResponse:
    app = request.app
    checks = [await call(health.database, "database", app.ctx.engine)]
    checks += worker_checks(getattr(app.ctx, "delivery_workers", None))
    status, body = health.answer(checks)
    return json(body, status=status)


async def metrics_page(request: Request) -> HTTPResponse:
    # The backlog query is blocking, like every database call of the console.
    text = await call(metrics.render, request.app.ctx.outbox_backlog)
    return raw(text, content_type=metrics.CONTENT_TYPE)


def register(app: Sanic) -> None:
    app.ctx.outbox_backlog = metrics.OutboxBacklog(app.ctx.engine)
    app.add_route(health_page, "/health", methods=["GET"], name="health")
    app.add_route(metrics_page, "/metrics", methods=["GET"], name="metrics")
