"""``python -m console``: the agent console on BIND_HOST:CONSOLE_PORT, and the handoff
notification worker when HANDOFF_WEBHOOK_URL is set (each POST signed with
HANDOFF_WEBHOOK_SECRET).

Before it serves it runs the production checks, makes the files it creates private and masks
every log record (``nettrouble.log_privacy``).

The worker (``nettrouble.outbox.run_forever``) makes blocking HTTP calls and database writes,
so it runs on a thread of its own, never on Sanic's event loop. It starts once the server is up
and is stopped, waiting for a delivery in flight, when the server stops (Ctrl-C or SIGTERM).
A notification interrupted by the stop stays in the outbox and is sent on the next start.
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

from nettrouble import db, log_privacy, outbox
from nettrouble.settings import ROOT, SettingsError, check_production, protect_files, settings

from console.app import create_app

log = logging.getLogger("console")


class DeliveryWorker:
    """``outbox.run_forever`` on a daemon thread, with a stop that waits for it. The signing
    key is HANDOFF_WEBHOOK_SECRET unless ``secret`` is given; without one it does not start."""

    def __init__(self, engine: Engine, url: str, interval: float = 5.0,
                 timeout: float = outbox.DEFAULT_TIMEOUT, secret: Optional[str] = None):
        self.engine, self.url = engine, outbox.check_url(url)
        self.secret = secret or settings().require("handoff_webhook_secret")
        self.interval, self.timeout = interval, timeout
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
            args=(self.engine, self.url, self._stop),
            kwargs={"interval": self.interval, "timeout": self.timeout, "secret": self.secret},
            name="handoff-outbox",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> bool:
        """Stops the loop; True once the thread has ended. A POST in flight may take up to its
        timeout to end, so that is how long this waits."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5)
        return not self.running


def attach_worker(app: Sanic, worker: DeliveryWorker) -> None:
    async def start_worker(_app, _loop) -> None:
        worker.start()
        log.info("handoff notifications: delivering to %s", worker.url)

    async def stop_worker(_app, loop) -> None:
        # Joining blocks, so it waits on an executor thread while the loop winds down.
        if not await loop.run_in_executor(None, worker.stop):
            log.warning("handoff notification worker still busy at shutdown; its row will be retried")

    app.register_listener(start_worker, "after_server_start")
    app.register_listener(stop_worker, "before_server_stop")


def logging_config() -> Dict[str, Any]:
    """Sanic's own log format for its loggers (the access log needs it), and one line per
    record for everything else (the console, the outbox worker, the case store)."""
    config = dict(LOGGING_CONFIG_DEFAULTS)
    config["loggers"] = {name: {**logger, "propagate": False}
                         for name, logger in LOGGING_CONFIG_DEFAULTS["loggers"].items()}
    config["formatters"] = {**LOGGING_CONFIG_DEFAULTS["formatters"], "named": {
        "class": "logging.Formatter", "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
        "format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s",
    }}
    config["handlers"] = {**LOGGING_CONFIG_DEFAULTS["handlers"], "named_console": {
        "class": "logging.StreamHandler", "formatter": "named", "stream": "ext://sys.stderr",
    }}
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
        worker = DeliveryWorker(engine, config.handoff_webhook_url) if config.handoff_webhook_url else None
    except (SettingsError, ValueError) as problem:
        # SettingsError names the missing secret; ValueError a HANDOFF_WEBHOOK_URL that is not http(s).
        print(f"console: {problem}", file=sys.stderr)
        return 2
    except SQLAlchemyError as problem:
        print(f"console: the case database cannot be opened ({type(problem).__name__}); "
              f"check DATABASE_URL", file=sys.stderr)
        return 2
    if worker is not None:
        attach_worker(app, worker)
    else:
        log.info("handoff notifications: off (HANDOFF_WEBHOOK_URL is empty)")
    host = args.host or config.bind_host
    print(
        f"エージェントコンソール: http://{host}:{config.console_port}/ "
        f"(ユーザー名とパスワードは {ROOT / '.env'} の CONSOLE_USER / CONSOLE_PASSWORD)",
        flush=True,
    )
    app.run(host=host, port=config.console_port, access_log=True, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
