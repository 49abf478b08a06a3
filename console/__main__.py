"""``python -m console``: the agent console on BIND_HOST:CONSOLE_PORT, and a notification
worker for each outlet of new cases that is switched on (``nettrouble.notify.outlets``: the signed
webhook HANDOFF_WEBHOOK_URL, Slack alerts SLACK_WEBHOOK_URL, helpdesk tickets TICKETS_API_URL).

Before it serves it runs the production checks, makes the files it creates private and masks
every log record (``nettrouble.monitoring.log_privacy``).

Each worker (``nettrouble.notify.outbox.run_forever`` for one outlet) makes blocking HTTP calls and
database writes, so it runs on a thread of its own, never on Sanic's event loop; one per
outlet, so that a helpdesk that is slow or down never holds up an urgent Slack alert. They
start once the server is up and are stopped, waiting for a delivery in flight, when the server
stops (Ctrl-C or SIGTERM); ``app.ctx.delivery_workers`` lists them (``name``, ``running``) for
the health check. A notification interrupted by the stop stays in the outbox and is sent on the
next start.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import sys
import threading
from typing import Any, Dict, List, Optional

from sanic import Sanic
from sanic.log import LOGGING_CONFIG_DEFAULTS
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from console.app import create_app
from nettrouble.core import db
from nettrouble.core.settings import ROOT, SettingsError, check_production, protect_files, settings
from nettrouble.monitoring import log_privacy
from nettrouble.notify import outbox, outlets

log = logging.getLogger("console")


class DeliveryWorker:
    """``outbox.run_forever`` for one outlet on a daemon thread, with a stop that waits for it."""

    def __init__(self, engine: Engine, outlet: outbox.Outlet, interval: float = 5.0):
        self.engine, self.outlet, self.interval = engine, outlet, interval
        self.name = outlet.name
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=outbox.run_forever,
            args=(self.engine, self.outlet, self._stop),
            kwargs={"interval": self.interval},
            name=f"outbox-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> bool:
        """Stops the loop; True once the thread has ended. A row in flight may take up to its
        requests' timeouts to end, so that is how long this waits."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.outlet.timeout * outbox.MAX_REQUESTS_PER_ROW + 5)
        return not self.running


def attach_workers(app: Sanic, workers: List[DeliveryWorker]) -> None:
    app.ctx.delivery_workers = workers

    async def start_workers(_app, _loop) -> None:
        for worker in workers:
            worker.start()
            log.info("case notifications: %s worker started", worker.name)

    async def stop_workers(_app, loop) -> None:
        # Joining blocks, so it waits on an executor thread while the loop winds down.
        for worker in workers:
            if not await loop.run_in_executor(None, worker.stop):
                log.warning("%s notification worker still busy at shutdown; its row will be retried", worker.name)

    app.register_listener(start_workers, "after_server_start")
    app.register_listener(stop_workers, "before_server_stop")


def logging_config() -> Dict[str, Any]:
    """Sanic's own log format for its loggers (the access log needs it), and one line per
    record for everything else (the console, the outbox worker, the case store)."""
    config = dict(LOGGING_CONFIG_DEFAULTS)
    config["loggers"] = {
        name: {**logger, "propagate": False} for name, logger in LOGGING_CONFIG_DEFAULTS["loggers"].items()
    }
    config["formatters"] = {
        **LOGGING_CONFIG_DEFAULTS["formatters"],
        "named": {
            "class": "logging.Formatter",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s",
        },
    }
    config["handlers"] = {
        **LOGGING_CONFIG_DEFAULTS["handlers"],
        "named_console": {
            "class": "logging.StreamHandler",
            "formatter": "named",
            "stream": "ext://sys.stderr",
        },
    }
    config["root"] = {"handlers": ["named_console"], "level": "INFO"}
    return config


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console", description="The agent console for phone staff.")
    parser.add_argument("--host", help="address to listen on (default BIND_HOST; the port is CONSOLE_PORT)")
    args = parser.parse_args(argv)

    logging.config.dictConfig(logging_config())
    log_privacy.install()
    try:
        config = settings()
        check_production(config)
        protect_files()
        engine = db.prepare(config.database_url)
        app = create_app(engine, config)
        workers = [DeliveryWorker(engine, outlet) for outlet in outlets.configured(config)]
    except (SettingsError, ValueError) as problem:
        # SettingsError names the missing secret; ValueError an outlet's address that is not http(s).
        print(f"console: {problem}", file=sys.stderr)
        return 2
    except SQLAlchemyError as problem:
        print(
            f"console: the case database cannot be opened ({type(problem).__name__}); check DATABASE_URL",
            file=sys.stderr,
        )
        return 2
    attach_workers(app, workers)
    switched_off = [name for name in outlets.NAMES if name not in {worker.name for worker in workers}]
    if switched_off:
        log.info("case notifications off (settings empty): %s", ", ".join(switched_off))
    host = args.host or config.bind_host
    print(
        f"エージェントコンソール: http://{host}:{config.console_port}/ "
        f"(最初の管理者は {ROOT / '.env'} の CONSOLE_USER / CONSOLE_PASSWORD。担当者は make agent-add NAME ROLE で追加)",
        flush=True,
    )
    app.run(host=host, port=config.console_port, access_log=True, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
