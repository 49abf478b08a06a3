"""The agent console as a Sanic app: ``create_app(engine, settings)``.

Access is denied by default, before routing reaches a handler: every path except the sign-in
page, the stylesheet, the health check and the metrics (``console.operations``) needs a
signed-in session (HTML) or the API token (``/api/``), and every POST needs the session's CSRF token and a same-site origin. So a route
added later is protected without anyone remembering to protect it. Pages for supervisors only
add ``auth.supervisor_only``.

Staff sign in with named accounts (``nettrouble.staff.agents``); on the first start the .env account
(CONSOLE_USER / CONSOLE_PASSWORD) becomes the first supervisor.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import quote

from sanic import Request, Sanic
from sanic.config import Config
from sanic.exceptions import SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse, html, redirect
from sqlalchemy.engine import Engine

from console import analytics_views, auth, callback_views, operations, queue_views, staff, templates, views
from nettrouble.cases import closing_reasons
from nettrouble.content import articles, hours
from nettrouble.core import db
from nettrouble.core.datafiles import DataFileError
from nettrouble.core.settings import Settings, SettingsError
from nettrouble.core.settings import settings as current_settings
from nettrouble.staff import agents

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
STYLESHEET = "/static/console.css"
PUBLIC_PATHS = ("/login", "/health", "/metrics", STYLESHEET)
REQUEST_MAX_BYTES = 64 * 1024
REQUIRED = ("console_user", "console_password", "console_api_token", "person_key_secret")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

CSRF_REFUSED = (
    "画面の有効期限が切れたか、このコンソール以外から送信されたため、受け付けませんでした。"
    "画面を開き直して、もう一度お試しください。"
)


def article_titles() -> Dict[str, Tuple[str, str]]:
    """Article id -> (title, url). The catalogue is the action server's to enforce; a broken
    one here only means ids are shown instead of titles, so staff can still read cases."""
    try:
        catalogue = articles.load()
    except (DataFileError, OSError):
        log.exception("article catalogue unreadable: the console shows article ids instead of titles")
        return {}
    return {article.id: (article.title, article.url) for article in catalogue.articles}


def _unauthenticated(request: Request) -> HTTPResponse:
    if request.method == "GET":
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        return redirect("/login?next=" + quote(auth.safe_next(target), safe=""), status=302)
    return redirect("/login", status=302)


async def gate(request: Request) -> Optional[HTTPResponse]:
    app = request.app
    request.ctx.session = app.ctx.sessions.decode(request.cookies.get(auth.COOKIE))
    if getattr(request.ctx, "refused", None) is not None:
        # Sanic runs request middleware again for a request it refused itself (unknown path,
        # oversized body): its error page, which shows no data, is the answer.
        return None
    if request.path.startswith("/api/"):
        problem = auth.bearer_problem(request.headers.get("authorization"), app.ctx.settings.console_api_token)
        if problem is None:
            return None
        challenge = 'Bearer realm="nettrouble-console"'
        if problem == auth.INVALID:
            challenge += ', error="invalid_token"'
        response = views.api_error(401, "unauthorized", "有効なAPIトークンが必要です。")
        response.headers["WWW-Authenticate"] = challenge
        return response
    session = request.ctx.session
    if (
        session is not None
        and session.signed_in
        and await views.call(agents.session_agent, app.ctx.engine, session.user, session.generation) is None
    ):
        # The agent was removed, or their password reset, after this session began.
        request.ctx.session = None
    public = request.path in PUBLIC_PATHS
    if not public and (request.ctx.session is None or not request.ctx.session.signed_in):
        return _unauthenticated(request)
    if request.method == "POST":
        submitted = request.form.get(auth.CSRF_FIELD)
        if not (auth.same_origin(request.headers, request.host) and auth.csrf_ok(request.ctx.session, submitted)):
            if request.path == "/login":
                return views.sign_in_form(request, status=403, error=CSRF_REFUSED, fresh=True)
            return html(templates.error_page(request.ctx.session, "受け付けできませんでした", CSRF_REFUSED), status=403)
    return None


async def remember_refusal(request: Request, exception: BaseException) -> None:
    request.ctx.refused = exception


async def security_headers(request: Request, response: BaseHTTPResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Case data must not stay in a browser or proxy cache; the stylesheet may.
    if request.path != STYLESHEET:
        response.headers["Cache-Control"] = "no-store"


ERROR_TEXT = {
    400: ("リクエストが正しくありません", "送信内容を読み取れませんでした。画面を開き直してお試しください。"),
    403: ("権限がありません", "このページはスーパーバイザーのみ利用できます。"),
    404: ("ページが見つかりません", "お探しのページは見つかりませんでした。"),
    405: ("この操作はできません", "このページではその操作はできません。"),
    413: ("送信内容が大きすぎます", "送信内容が大きすぎるため、受け付けませんでした。"),
    500: ("エラーが発生しました", "処理中にエラーが発生しました。時間をおいてもう一度お試しください。"),
}


def on_error(request: Request, error: Exception) -> HTTPResponse:
    status = error.status_code if isinstance(error, SanicException) else 500
    if status >= 500:
        # The traceback names the handler and the exception; request bodies (where a caller
        # number may be) are never logged.
        log.error("console request %s %s failed", request.method, request.path, exc_info=error)
    title, text = ERROR_TEXT.get(status, ERROR_TEXT[500 if status >= 500 else 400])
    if request.path.startswith("/api/"):
        return views.api_error(status, "error", text)
    session = getattr(request.ctx, "session", None)
    return html(templates.error_page(session, title, text), status=status)


def create_app(engine: Optional[Engine] = None, settings: Optional[Settings] = None) -> Sanic:
    """The console app over ``engine`` (default: the prepared DATABASE_URL database).

    A missing CONSOLE_USER, CONSOLE_PASSWORD, CONSOLE_API_TOKEN or PERSON_KEY_SECRET (needed to
    check a caller's number) is a ``SettingsError`` naming it, and a broken
    business/closing_reasons.yml or hours.yml a ``DataFileError``, before anything is served."""
    config = settings or current_settings()
    for name in REQUIRED:
        config.require(name)
    # The closing reasons and the calendar feed every queue and case page: a mistake in their
    # business files stops the console here (DataFileError names the file and the entry)
    # rather than failing each page.
    closing_reasons.catalogue()
    hours.calendar()
    engine = engine or db.prepare(config.database_url)
    try:
        agents.bootstrap(engine, config.console_user, config.console_password)
    except agents.AgentError as problem:
        raise SettingsError(f"CONSOLE_USER cannot name the first supervisor: {problem}") from None

    sanic_config = Config()
    # Apps are created per test and per process; Sanic's global registry would refuse the
    # same name twice.
    sanic_config.REGISTER = False
    sanic_config.REQUEST_MAX_SIZE = REQUEST_MAX_BYTES
    sanic_config.FALLBACK_ERROR_FORMAT = "html"
    app = Sanic("nettrouble_console", config=sanic_config, configure_logging=False)
    app.ctx.engine = engine
    app.ctx.settings = config
    app.ctx.sessions = auth.Sessions()
    app.ctx.throttle = auth.SignInThrottle()
    app.ctx.article_titles = article_titles()
    # Made at first use (views.tracker_store): only the pages that show a conversation read
    # the tracker store, which the Rasa server creates on its first start (until then a
    # case's transcript is empty).
    app.ctx.tracker_engine = None

    views.register(app)
    staff.register(app)
    queue_views.register(app)
    callback_views.register(app)
    analytics_views.register(app)
    operations.register(app)
    app.static(STYLESHEET, str(STATIC / "console.css"), name="stylesheet", content_type="text/css; charset=utf-8")
    app.register_middleware(gate, "request")
    app.register_middleware(security_headers, "response")
    app.add_signal(remember_refusal, "http.lifecycle.exception")
    app.error_handler.add(Exception, on_error)
    return app
