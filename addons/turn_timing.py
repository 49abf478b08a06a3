"""Timers on the Rasa server's path of a turn (nettrouble/monitoring/timing.py keeps the figures).

Rasa 3.6 has no timing hooks for NLU or policy prediction, so ``install`` wraps methods of
``MessageProcessor`` (parse_message, _predict_next_with_tracker, get_tracker, save_tracker,
handle_message) and adds a request and a response middleware to the Sanic app that
``rasa.core.run.configure_app`` builds. It changes no Rasa file and no behaviour: each wrapper
calls the original and only adds time to the record of the request it runs in. Calls to the
action server are timed by ``addons.action_client``, which also makes them.

scripts/launch.py calls ``install`` before Rasa starts.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from addons import action_client
from nettrouble.monitoring import timing

PROCESS = "rasa"


def _timed_async(method: Callable, span: str) -> Callable:
    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        with timing.span(span):
            return await method(*args, **kwargs)

    return timed


def _timed(method: Callable, span: str) -> Callable:
    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        with timing.span(span):
            return method(*args, **kwargs)

    return timed


def _timed_load(method: Callable) -> Callable:
    @functools.wraps(method)
    async def timed(self: Any, conversation_id: Any, *args: Any, **kwargs: Any) -> Any:
        with timing.span("tracker_load"):
            tracker = await method(self, conversation_id, *args, **kwargs)
        timing.add("tracker_events", len(tracker.events))
        return tracker

    return timed


def _timed_turn(method: Callable) -> Callable:
    """The whole handling of one user message. A message handled outside an HTTP request (a
    channel that answers in a background task) gets a record of its own."""

    @functools.wraps(method)
    async def timed(self: Any, message: Any) -> Any:
        own = timing.begin(PROCESS, f"message:{message.input_channel}") if timing.current() is None else None
        timing.set_conversation(message.sender_id or "")
        try:
            with timing.span("turn"):
                return await method(self, message)
        finally:
            if own is not None:
                timing.finish(own)

    return timed


def time_processor(processor_class: Any) -> None:
    processor_class.handle_message = _timed_turn(processor_class.handle_message)
    processor_class.parse_message = _timed_async(processor_class.parse_message, "nlu")
    processor_class._predict_next_with_tracker = _timed(processor_class._predict_next_with_tracker, "policy")
    processor_class.get_tracker = _timed_load(processor_class.get_tracker)
    processor_class.save_tracker = _timed_async(processor_class.save_tracker, "tracker_save")


def time_requests(app: Any) -> None:
    """A record for every request of ``app`` (those that handled a user message go to the file)."""

    @app.middleware("request")
    async def begin_record(request: Any) -> None:
        request.ctx.timing = timing.begin(PROCESS, request.path)

    @app.middleware("response")
    async def finish_record(request: Any, response: Any) -> None:
        record = getattr(request.ctx, "timing", None)
        if record is not None and not record.finished:
            timing.finish(record)


def time_app_factory(run_module: Any) -> None:
    original = run_module.configure_app

    @functools.wraps(original)
    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        time_requests(app)
        app.register_listener(action_client.close_sessions, "after_server_stop")
        return app

    run_module.configure_app = configure_app


# Set on what install() patched, so that a second call leaves it alone.
_INSTALLED = "_nettrouble_timed"


def install() -> None:
    """Wraps Rasa's turn path with timers (once per process)."""
    import rasa.core.run
    from rasa.core.processor import MessageProcessor

    if getattr(MessageProcessor, _INSTALLED, False):
        return
    time_processor(MessageProcessor)
    setattr(MessageProcessor, _INSTALLED, True)
    time_app_factory(rasa.core.run)
    timing.install_sql_timers()
    action_client.install()
