"""What operators read off the Rasa server: ``GET /metrics`` and ``GET /health``, and the figures
and log context of each turn.

``install`` (called by scripts/launch.py before Rasa starts) changes no Rasa file:
  - it wraps ``MessageProcessor.handle_message``, so that the turn's time goes to
    ``nettrouble_turn_seconds`` by channel and every log record made during the turn carries
    its conversation id (keyed when it is a phone number) and channel (``log_privacy.turn``);
  - it wraps ``MessageProcessor.execute_side_effects``, where every response the bot sends
    passes with its name (``utter_action``), to count safety answers and fallbacks;
  - it adds the two routes to the Sanic app that ``rasa.core.run.configure_app`` builds.

Both routes are public, like Rasa's own ``/`` and ``/version``: they show counters and the
names of failed checks, never a conversation, a secret or a path. ``/health`` answers 200 when
the model is loaded and the tracker store's database answers, else 503 naming the failed check.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any, Callable, Iterable, List, Optional

from rasa.shared.core.events import BotUttered
from sanic import response
from sqlalchemy.engine import Engine

from nettrouble.monitoring import health, log_privacy, metrics

NOT_LOADED = "not loaded"


def _observed_turn(method: Callable) -> Callable:
    @functools.wraps(method)
    async def observed(self: Any, message: Any) -> Any:
        started = time.perf_counter()
        with log_privacy.turn(message.sender_id or "", message.input_channel or ""):
            try:
                return await method(self, message)
            finally:
                metrics.observe_turn(message.input_channel, time.perf_counter() - started)

    return observed


def response_names(events: Iterable[Any]) -> List[Optional[str]]:
    """The response name of every bot message among ``events`` (None for a text an action
    wrote itself)."""
    return [(event.metadata or {}).get("utter_action") for event in events if isinstance(event, BotUttered)]


def _counted_side_effects(method: Callable) -> Callable:
    @functools.wraps(method)
    async def counted(self: Any, events: List[Any], *args: Any, **kwargs: Any) -> Any:
        metrics.count_responses(response_names(events))
        return await method(self, events, *args, **kwargs)

    return counted


def tracker_store_engine(agent: Any) -> Optional[Engine]:
    """The SQL engine behind the agent's tracker store (Rasa wraps it in a fail-safe store)."""
    store = getattr(agent, "tracker_store", None)
    store = getattr(store, "_tracker_store", store)
    return getattr(store, "engine", None)


async def checks(agent: Any) -> List[health.Check]:
    ready = agent is not None and agent.is_ready()
    found = [health.Check("model", ready, health.OK if ready else NOT_LOADED)]
    engine = tracker_store_engine(agent)
    if engine is None:
        # The project's endpoints always name the SQL store; without it nothing is kept.
        found.append(health.Check("tracker_store", False, NOT_LOADED))
    else:
        loop = asyncio.get_running_loop()
        found.append(await loop.run_in_executor(None, health.database, "tracker_store", engine))
    return found


async def health_route(request: Any) -> Any:
    status, body = health.answer(await checks(getattr(request.app.ctx, "agent", None)))
    return response.json(body, status=status)


async def metrics_route(request: Any) -> Any:
    return response.raw(metrics.render(), content_type=metrics.CONTENT_TYPE)


def add_routes(app: Any) -> None:
    app.add_route(health_route, "/health", methods=["GET"], name="nettrouble_health")
    app.add_route(metrics_route, "/metrics", methods=["GET"], name="nettrouble_metrics")


def _app_factory(run_module: Any) -> None:
    original = run_module.configure_app

    @functools.wraps(original)
    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        add_routes(app)
        return app

    run_module.configure_app = configure_app


# Set on what install() patched, so that a second call leaves it alone.
_INSTALLED = "_nettrouble_operations"


def install() -> None:
    """The routes and the turn's figures and log context (once per process)."""
    import rasa.core.run
    from rasa.core.processor import MessageProcessor

    if getattr(MessageProcessor, _INSTALLED, False):
        return
    MessageProcessor.handle_message = _observed_turn(MessageProcessor.handle_message)
    MessageProcessor.execute_side_effects = _counted_side_effects(MessageProcessor.execute_side_effects)
    setattr(MessageProcessor, _INSTALLED, True)
    _app_factory(rasa.core.run)
