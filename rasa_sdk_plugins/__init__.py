"""rasa_sdk's plugin package: the action server trusts no caller that lacks the shared secret.

rasa_sdk 3.6 imports a top-level package of this name when it exists (``rasa_sdk/plugin.py``),
registers it through ``init_hooks`` and calls ``attach_sanic_app_extensions(app)`` before it
serves. It is found because the repository root is on the path: scripts/launch.py puts it there
and checks that the plugin was registered, since rasa_sdk silently runs without one it cannot
import.

What it adds to the action server's Sanic app:
  - every request but ``GET /health`` and ``GET /metrics`` must carry ``X-Action-Token`` equal
    to ACTION_SERVER_TOKEN (endpoints.yml makes Rasa send it), compared in constant time. Those
    two stay open for probes and Prometheus: they show counters, latencies by action name and
    the names of failed checks, never a conversation, a case or a secret;
  - ``GET /health`` checks the case database (``SELECT 1``) and answers 503 naming it when it
    does not answer; rasa_sdk's own route only said that the process was up, and Sanic refuses
    a second route on its path, so a request middleware answers before it;
  - ``GET /metrics`` (nettrouble.monitoring.metrics), with each action's run time by action name
    (``nettrouble_action_seconds``; only names of registered actions become labels);
  - a POST must be ``Content-Type: application/json``, which a web page cannot send to
    another site without a CORS preflight that this server never grants;
  - every request is timed (nettrouble/monitoring/timing.py) and its figures go back to Rasa in the
    ``Server-Timing`` header, so that a turn's record shows the action server's share;
  - refusals are returned as responses (a raised exception would reach rasa_sdk's handler,
    which answers 500 with the request body), and that handler is replaced by one that never
    echoes the request: an action call carries the whole conversation.
An empty ACTION_SERVER_TOKEN stops the server before it listens.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import sys
import time
from typing import Any, Callable

import pluggy
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from nettrouble.core import db
from nettrouble.core.settings import settings
from nettrouble.monitoring import health, metrics, timing

hookimpl = pluggy.HookimplMarker("rasa_sdk")
log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Action-Token"
HEALTH = ("GET", "/health")
OPEN_ROUTES = {HEALTH, ("GET", "/metrics")}


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(sys.modules[__name__])


def _media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def refusal(request: Request, token: bytes):
    """The response that refuses ``request``, or None when it may go on."""
    if (request.method, request.path) in OPEN_ROUTES:
        return None
    given = (request.headers.get(TOKEN_HEADER) or "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, token):
        log.warning(
            "action server: refused a %s request from %s without the right %s", request.method, request.ip, TOKEN_HEADER
        )
        return response.json({"error": "unauthorized"}, status=401)
    if request.method == "POST" and _media_type(request) != "application/json":
        return response.json({"error": "unsupported media type"}, status=415)
    return None


def guard(app: Sanic, token: str) -> None:
    """Adds the token and media-type checks and the non-echoing error handler to ``app``."""
    secret = token.encode("utf-8")

    @app.middleware("request")
    async def require_token(request: Request):
        return refusal(request, secret)

    @app.exception(Exception)
    async def no_echo(request: Request, exception: Exception):
        if isinstance(exception, SanicException):
            return response.json({"error": "request refused"}, status=exception.status_code)
        log.error(
            "action server: %s on %s %s", type(exception).__name__, request.method, request.path, exc_info=exception
        )
        return response.json({"error": "internal error"}, status=500)


def time_requests(app: Sanic) -> None:
    """A timing record per request, its figures in the response's ``Server-Timing``."""
    timing.install_sql_timers()

    @app.middleware("request")
    async def begin_record(request: Request):
        request.ctx.timing = timing.begin("actions", request.path)

    @app.middleware("response")
    async def finish_record(request: Request, answer):
        record = getattr(request.ctx, "timing", None)
        if record is not None and not record.finished:
            figures = timing.finish(record)
            # Only for calls that were let in: a refused caller learns nothing more.
            if answer.status not in (401, 415):
                answer.headers["Server-Timing"] = timing.server_timing_header(figures)


def _timed_run(run: Callable) -> Callable:
    @functools.wraps(run)
    async def timed(executor: Any, action_call: Any) -> Any:
        started = time.perf_counter()
        try:
            return await run(executor, action_call)
        finally:
            name = action_call.get("next_action") if isinstance(action_call, dict) else None
            metrics.observe_action(name, executor.actions, time.perf_counter() - started)

    return timed


def time_actions() -> None:
    """Each action's run time by name (``ActionExecutor.run``, once per process)."""
    from rasa_sdk.executor import ActionExecutor

    if not getattr(ActionExecutor, "_nettrouble_timed", False):
        ActionExecutor.run = _timed_run(ActionExecutor.run)
        ActionExecutor._nettrouble_timed = True


def operations(app: Sanic, database: db.LazyEngine) -> None:
    """``GET /metrics``, and ``GET /health`` with the case database checked."""

    def case_database() -> health.Check:
        try:
            engine = database.get()
        except db.Unavailable as error:
            log.warning("health: case database unavailable (%s)", type(error.__cause__).__name__)
            return health.Check("case_database", False, health.UNREACHABLE)
        return health.database("case_database", engine)

    @app.middleware("request")
    async def answer_health(request: Request):
        if (request.method, request.path) != HEALTH:
            return None
        check = await asyncio.get_running_loop().run_in_executor(None, case_database)
        status, body = health.answer([check])
        return response.json(body, status=status)

    async def metrics_route(request: Request):
        return response.raw(metrics.render(), content_type=metrics.CONTENT_TYPE)

    app.add_route(metrics_route, "/metrics", methods=["GET"], name="nettrouble_metrics")


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    token = settings().action_server_token
    if not token:
        raise SystemExit(
            "action server: ACTION_SERVER_TOKEN is empty; set it in .env (make setup "
            "writes one) or in the environment, the same for Rasa and the action server"
        )
    # First, so that the time of the checks is counted too.
    time_requests(app)
    guard(app, token)
    time_actions()
    operations(app, db.LazyEngine())
