"""Starts a server of the assistant in this process, with no secret on any command line.

    python scripts/launch.py rasa --model PATH [--port N] [--endpoints FILE] [--credentials FILE]
    python scripts/launch.py actions [--port N]
    python scripts/launch.py shell --model PATH [--port N] [--endpoints FILE]

``rasa`` is `rasa run` with the HTTP API on, ``actions`` the rasa_sdk action server, ``shell``
`rasa shell` in this terminal. The launcher reads the settings (environment, then .env), refuses
to start on what production forbids (``check_production``) or on a missing secret, makes the
files it creates private (``protect_files``), masks every log record (``log_privacy``) and turns
Sanic's access log off (Rasa's API token travels as ``?token=``). Then it builds Rasa's or
rasa_sdk's arguments in memory and runs their command-line entry point here: ``ps`` shows only
the line above, never RASA_API_TOKEN.

Both servers listen on BIND_HOST (127.0.0.1 unless the deployment says otherwise): Rasa through
``--interface``, the action server through rasa_sdk's ``SANIC_HOST``. The ports default to
RASA_PORT and ACTIONS_PORT.

Rasa compares the API token with ``==``; ``constant_time_api_token`` replaces the decorator of
``rasa.server`` that does it before Rasa builds its routes. The action server gets its shared
secret check from the package ``rasa_sdk_plugins`` at the repository root, which the launcher
imports itself: rasa_sdk skips a plugin it cannot import without a word, and the server would
then answer anyone.
"""

from __future__ import annotations

import argparse
import functools
import hmac
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nettrouble.core.settings import Settings, SettingsError, check_production, protect_files, settings  # noqa: E402

# The secrets each mode cannot start without: Rasa's API token, and the action server's shared
# secret that endpoints.yml sends and rasa_sdk_plugins checks.
REQUIRED = {
    "rasa": ("rasa_api_token", "action_server_token"),
    "actions": ("action_server_token",),
    "shell": ("action_server_token",),
}

# Given to Rasa's own check instead of the token: a string never equals it, so Rasa's `==`
# never lets a request through and only its JWT path and its 401 remain.
_NO_TOKEN = object()


def constant_time_api_token(server_module: Any) -> None:
    """Makes ``server_module.requires_auth`` (rasa.server's) compare ``?token=`` with
    ``hmac.compare_digest``. Rasa's decorator still handles JWT and the refusal."""
    original: Callable = server_module.requires_auth

    def requires_auth(app: Any, token: Optional[str] = None) -> Callable:
        if token is None:
            return original(app, None)
        secret = token.encode("utf-8")
        otherwise = original(app, _NO_TOKEN)

        def decorator(handler: Callable) -> Callable:
            fallback = otherwise(handler)

            @functools.wraps(handler)
            async def decorated(request: Any, *args: Any, **kwargs: Any) -> Any:
                provided = request.args.get("token")
                if provided is not None and hmac.compare_digest(provided.encode("utf-8", "surrogateescape"), secret):
                    result = handler(request, *args, **kwargs)
                    return await result if inspect.isawaitable(result) else result
                return await fallback(request, *args, **kwargs)

            return decorated

        return decorator

    server_module.requires_auth = requires_auth


def prepare(mode: str) -> Settings:
    """The checks and the process-wide set-up that come before Rasa or rasa_sdk is imported."""
    current = settings()
    check_production(current)
    for name in REQUIRED[mode]:
        current.require(name)
    protect_files()
    # Sanic reads SANIC_* variables into the configuration of every app it creates.
    os.environ["SANIC_ACCESS_LOG"] = "false"
    from nettrouble.monitoring import log_privacy

    log_privacy.install()
    return current


def rasa_arguments(args: argparse.Namespace, current: Settings) -> List[str]:
    """`rasa run` or `rasa shell` as the command line would give them, without the `rasa`."""
    port = str(args.port or current.rasa_port)
    if args.mode == "shell":
        return [
            "shell",
            "--model",
            args.model,
            "--endpoints",
            args.endpoints,
            "--interface",
            current.bind_host,
            "--port",
            port,
        ]
    # One "--auth-token=…" item: a token beginning with "-" would read as an option.
    return [
        "run",
        "--model",
        args.model,
        "--enable-api",
        f"--auth-token={current.rasa_api_token}",
        "--interface",
        current.bind_host,
        "--port",
        port,
        "--credentials",
        args.credentials,
        "--endpoints",
        args.endpoints,
    ]


def run_rasa(arguments: List[str]) -> None:
    import rasa.__main__
    import rasa.server

    from addons import action_payload, operations, prediction_window, tracker_replay, turn_timing

    constant_time_api_token(rasa.server)
    tracker_replay.install()
    # Before the timers, so that the policy's time includes building its window.
    prediction_window.install()
    turn_timing.install()
    # /metrics, /health, and each turn's figures and log context.
    operations.install()
    action_payload.install()
    # Rasa's main parses sys.argv; changing it here does not change /proc/<pid>/cmdline.
    sys.argv = ["rasa", *arguments]
    rasa.__main__.main()


def run_actions(port: int, current: Settings) -> None:
    os.environ["SANIC_HOST"] = current.bind_host
    from rasa_sdk import __main__ as sdk
    from rasa_sdk.endpoint import create_argument_parser
    from rasa_sdk.plugin import plugin_manager

    import rasa_sdk_plugins

    if not plugin_manager().is_registered(rasa_sdk_plugins):
        raise SystemExit(
            "launch: rasa_sdk did not register rasa_sdk_plugins; the action server "
            "would accept calls without ACTION_SERVER_TOKEN"
        )
    sdk.main_from_args(create_argument_parser().parse_args(["--actions", "actions", "--port", str(port)]))


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="launch.py", description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    for mode in ("rasa", "shell"):
        sub = modes.add_parser(mode)
        sub.add_argument("--model", required=True, help="model file or directory (newest model)")
        sub.add_argument("--port", type=int, help="default RASA_PORT")
        sub.add_argument("--endpoints", default="endpoints.yml")
        if mode == "rasa":
            sub.add_argument("--credentials", default="credentials.yml")
    modes.add_parser("actions").add_argument("--port", type=int, help="default ACTIONS_PORT")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        current = prepare(args.mode)
    except SettingsError as error:
        print(f"launch: {error}", file=sys.stderr)
        return 2
    if args.mode == "actions":
        run_actions(args.port or current.actions_port, current)
    else:
        run_rasa(rasa_arguments(args, current))
    return 0


if __name__ == "__main__":
    # Run as a script, the first path entry is scripts/, whose module names (run, train) are
    # too generic to sit in front of Rasa's imports.
    if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    sys.exit(main())
