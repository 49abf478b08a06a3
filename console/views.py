"""The console's pages and JSON API: thin handlers over ``nettrouble.cases.store``.

Sign-in, CSRF and bearer checks happen before any handler runs (``console.app``); a handler
finds the session in ``request.ctx.session``. Database calls run on a worker thread so that a
busy database never stalls the event loop. The caller number typed by an agent is only passed
to ``store.matches_person``: never stored, logged or shown back.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
from datetime import date
from typing import Any, Callable, Dict, List, Mapping, Optional, ParamSpec, TypeVar, Union

from sanic import Request, Sanic
from sanic.response import HTTPResponse, html, raw, redirect
from sanic.response import json as json_response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from console import auth, callback_views, templates
from nettrouble.cases import closing_reasons, schema, store, tracker_events
from nettrouble.cases.document import case_document
from nettrouble.cases.export import export_csv
from nettrouble.cases.reference import parse_reference
from nettrouble.cases.transcript import Turn, case_transcript
from nettrouble.core.clock import now
from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.staff import agents
from nettrouble.triage.urgency import URGENCY_FLAGS

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGE_NUMBER = 10000
API_DEFAULT_LIMIT = 50
MAX_FILTER_CHARS = 40
MAX_OFFSET = 10_000_000
CSV_BOM = "\ufeff"


class BadRequest(ValueError):
    """A query the console refuses; the message is shown to staff as it is."""


_P = ParamSpec("_P")
_T = TypeVar("_T")


async def call(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(function, *args, **kwargs))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- cookies -------------------------------------------------------------------------------------


def set_session(request: Request, response: HTTPResponse, session: auth.Session) -> None:
    sessions: auth.Sessions = request.app.ctx.sessions
    response.cookies[auth.COOKIE] = sessions.encode(session)
    cookie = response.cookies[auth.COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = sessions.seconds_left(session)
    # Secure outside development, and whenever the request came over HTTPS: in development the
    # console is reached over plain http on localhost, where a Secure cookie would not come back.
    if request.scheme == "https" or not request.app.ctx.settings.is_development:
        cookie["secure"] = True


def clear_session(response: HTTPResponse) -> None:
    response.cookies[auth.COOKIE] = ""
    response.cookies[auth.COOKIE]["max-age"] = 0
    response.cookies[auth.COOKIE]["path"] = "/"
    response.cookies[auth.COOKIE]["httponly"] = True
    response.cookies[auth.COOKIE]["samesite"] = "Strict"


def sign_in_form(
    request: Request,
    status: int = 200,
    error: Optional[str] = None,
    next_path: str = "/",
    username: str = "",
    fresh: bool = False,
) -> HTTPResponse:
    """The sign-in page with a usable CSRF token: the current pre-sign-in session, or a new one."""
    session = request.ctx.session
    if fresh or session is None or session.signed_in:
        session = request.app.ctx.sessions.new()
    body = templates.login_page(session, next_path, error, username, setup_hint=request.app.ctx.settings.is_development)
    response = html(body, status=status)
    set_session(request, response, session)
    return response


# --- filters -------------------------------------------------------------------------------------

ELIGIBILITY_VALUES = (schema.NONE, *templates.ELIGIBILITY_LABELS)
URGENCY_VALUES = (schema.NONE, *URGENCY_FLAGS)
TYPE_VALUES = (*TROUBLE_TYPES, schema.UNKNOWN)


def read_filters(args: Mapping[str, Any]) -> Dict[str, str]:
    """The filter values of a query string, as typed (trimmed, empty ones dropped)."""
    values = {}
    for name in templates.FILTER_NAMES:
        raw_value = args.get(name)
        if isinstance(raw_value, str) and raw_value.strip():
            values[name] = raw_value.strip()[:MAX_FILTER_CHARS]
    return values


def check_filters(values: Mapping[str, str]) -> Dict[str, Any]:
    """Keyword arguments for ``store.list_cases`` / ``export_csv``; BadRequest names the field."""
    allowed = {
        "status": (schema.STATUSES, "状態"),
        "trouble_type": (TYPE_VALUES, "種類"),
        "eligibility": (ELIGIBILITY_VALUES, "無料相談"),
        "urgency": (URGENCY_VALUES, "緊急度"),
    }
    for name, (choices, label) in allowed.items():
        if name in values and values[name] not in choices:
            raise BadRequest(f"{label}の指定が正しくありません。一覧から選んでください。")
    days = {}
    for name, label in (("date_from", "受付日（から）"), ("date_to", "受付日（まで）")):
        if name in values:
            try:
                days[name] = date.fromisoformat(values[name])
            except ValueError:
                raise BadRequest(f"{label}は 2026-07-01 の形の日付でご指定ください。") from None
    if "date_from" in days and "date_to" in days and days["date_from"] > days["date_to"]:
        raise BadRequest("受付日の「から」が「まで」より後になっています。")
    return {**values, **days}


def whole_number(args: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw_value = args.get(name)
    if raw_value is None or raw_value == "":
        return default
    if not (
        isinstance(raw_value, str)
        and raw_value.isascii()
        and raw_value.isdigit()
        and len(raw_value) <= 9
        and low <= int(raw_value) <= high
    ):
        raise BadRequest(f"{name} は {low} から {high} までの整数でご指定ください。")
    return int(raw_value)


# --- pages ---------------------------------------------------------------------------------------


async def login_page(request: Request) -> HTTPResponse:
    if request.ctx.session is not None and request.ctx.session.signed_in:
        return redirect("/", status=303)
    return sign_in_form(request, next_path=auth.safe_next(request.args.get("next")))


async def login(request: Request) -> HTTPResponse:
    # The CSRF token and origin were checked before this handler (console.app).
    app: Sanic = request.app
    next_path = auth.safe_next(request.form.get("next"))
    username = request.form.get("username") or ""
    # Counted per account, not per address: staff share one proxy (console.auth.SignInThrottle).
    key = await call(agents.throttle_key, app.ctx.engine, username)
    wait = app.ctx.throttle.wait_for(key)
    if wait > 0:
        response = sign_in_form(
            request,
            status=429,
            next_path=next_path,
            username=username[: auth.MAX_USER_CHARS],
            error=f"サインインの失敗が続いたため、一時的に受け付けを止めています。{math.ceil(wait)}秒ほど待ってから、もう一度お試しください。",
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    agent = await call(agents.authenticate, app.ctx.engine, username, request.form.get("password"))
    if agent is None:
        app.ctx.throttle.failed(key)
        return sign_in_form(
            request,
            next_path=next_path,
            username=username[: auth.MAX_USER_CHARS],
            error="ユーザー名またはパスワードが違います。",
        )
    app.ctx.throttle.succeeded(key)
    if request.ctx.session is not None:
        app.ctx.sessions.revoke(request.ctx.session)
    # A new id and CSRF token at sign-in: a session planted before it is worth nothing after.
    session = app.ctx.sessions.new(agent.name, agent.role, agent.generation)
    logger.info("console: %s signed in (%s)", agent.name, agent.role)
    response = redirect(next_path, status=303)
    set_session(request, response, session)
    return response


async def logout(request: Request) -> HTTPResponse:
    request.app.ctx.sessions.revoke(request.ctx.session)
    response = redirect("/login", status=303)
    clear_session(response)
    return response


async def case_list(request: Request) -> HTTPResponse:
    filters = read_filters(request.args)
    try:
        page_number = whole_number(request.args, "page", 1, 1, MAX_PAGE_NUMBER)
        kwargs = check_filters(filters)
    except BadRequest as problem:
        body = templates.list_page(request.ctx.session, filters, [], 1, False, str(problem))
        return html(body, status=400)
    found = await call(
        store.list_cases, request.app.ctx.engine, **kwargs, limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE
    )
    body = templates.list_page(request.ctx.session, filters, found[:PAGE_SIZE], page_number, len(found) > PAGE_SIZE)
    return html(body)


async def lookup(request: Request) -> HTTPResponse:
    typed = request.args.get("reference") or ""
    status, case = await call(store.lookup, request.app.ctx.engine, typed)
    if case is not None:  # the status is OK
        return redirect(f"/cases/{case.reference}", status=303)
    canonical = parse_reference(typed).reference if status != schema.UNKNOWN else None
    code = 404 if status == schema.UNKNOWN else 400
    return html(templates.lookup_page(request.ctx.session, typed[:64], status, canonical), status=code)


async def find(request: Request, reference: str) -> Union[schema.Case, HTTPResponse]:
    """The case named in a path, or the page that says why there is none."""
    status, case = await call(store.lookup, request.app.ctx.engine, reference)
    if case is not None:  # the status is OK
        return case
    code = 404 if status == schema.UNKNOWN else 400
    body = templates.error_page(request.ctx.session, "案件が見つかりません", templates.LOOKUP_MESSAGES[status])
    return html(body, status=code)


def tracker_store(app: Sanic) -> Engine:
    """The tracker store's read-only engine, one per app, made at its first use. Called on the
    event loop, never in a worker thread, so that two requests cannot make two engines."""
    if app.ctx.tracker_engine is None:
        app.ctx.tracker_engine = tracker_events.tracker_engine(app.ctx.settings.tracker_db_url)
    return app.ctx.tracker_engine


async def case_turns(request: Request, case: schema.Case) -> List[Turn]:
    """The masked conversation the case was opened from (empty before Rasa made its store)."""
    return await call(case_transcript, case, tracker_store(request.app))


async def detail_response(
    request: Request,
    case: schema.Case,
    status: int = 200,
    caller_result: Optional[str] = None,
    holder: Optional[str] = None,
    problem: Optional[str] = None,
    note_draft: str = "",
) -> HTTPResponse:
    """The case page; ``problem`` and ``note_draft`` answer a refused form (status 400)."""
    engine = request.app.ctx.engine
    session = request.ctx.session
    history = await call(store.status_history, engine, case.reference)
    claim_state = await call(store.claim_state_at, engine, case)
    notes = await call(store.notes, engine, case.reference)
    try:
        turns: Optional[List[Turn]] = await case_turns(request, case)
    except SQLAlchemyError:
        # The case itself is still worth showing: staff call back from the triage answers.
        logger.exception("tracker store unreadable: case %s shown without its conversation", case.reference)
        turns = None
    assignees: List[str] = []
    if session.supervisor:
        assignees = [agent.name for agent in await call(agents.list_agents, engine) if agent.active]
    callback = await call(callback_views.case_callback, engine, case, session.user)
    work = templates.CaseWork(
        transcript=turns,
        notes=notes,
        reasons=closing_reasons.catalogue(),
        assignees=assignees,
        problem=problem,
        note_draft=note_draft,
        callback=callback,
    )
    body = templates.detail_page(
        session,
        case,
        history,
        request.app.ctx.article_titles,
        work,
        notice=request.args.get("notice"),
        error=request.args.get("error"),
        caller_result=caller_result,
        claim_state=claim_state,
        holder=holder,
    )
    return html(body, status=status)


async def case_detail(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    if case.reference != reference:
        return redirect(f"/cases/{case.reference}", status=302)
    return await detail_response(request, case)


async def change_status(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    target = request.form.get("status") or ""
    reopen = request.form.get("reopen") == "1"
    if target == schema.CLOSED:
        # A closed case carries why it was closed: only the close form closes (queue_views).
        return redirect(f"/cases/{case.reference}?error=needs_reason", status=303)
    try:
        await call(
            store.change_status, request.app.ctx.engine, case.reference, target, request.ctx.session.user, reopen=reopen
        )
    except schema.CaseError as refused:
        code = refused.code if refused.code in templates.STATUS_ERRORS else "invalid"
        return redirect(f"/cases/{case.reference}?error={code}", status=303)
    return redirect(f"/cases/{case.reference}?notice=status_changed", status=303)


async def check_caller(request: Request, reference: str) -> HTTPResponse:
    """Staff check the number the caller phones from; a match proves the number and confirms
    the case's free-consultation claim (the chat alone never can, unless the user proved it)."""
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    result, holder = await call(
        store.confirm_caller, request.app.ctx.engine, case.reference, request.form.get("phone") or ""
    )
    if result in (store.CONFIRMED, store.HELD_ELSEWHERE):
        logger.info("free-consultation claim of %s checked by %s: %s", case.reference, request.ctx.session.user, result)
        # Read again for its new claim state (as read before, should it have been purged meanwhile).
        case = await call(store.get_case, request.app.ctx.engine, case.reference) or case
    status = 400 if result == schema.INVALID_NUMBER else 200
    return await detail_response(request, case, status=status, caller_result=result, holder=holder)


async def release_claim(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    released = await call(store.release_claim, request.app.ctx.engine, case.reference)
    if released:
        logger.info("free-consultation claim of %s released by %s", case.reference, request.ctx.session.user)
    notice = "claim_released" if released else "claim_not_pending"
    return redirect(f"/cases/{case.reference}?notice={notice}", status=303)


async def export(request: Request) -> HTTPResponse:
    filters = read_filters(request.args)
    try:
        kwargs = check_filters(filters)
    except BadRequest as problem:
        body = templates.list_page(request.ctx.session, filters, [], 1, False, str(problem))
        return html(body, status=400)
    text = await call(export_csv, request.app.ctx.engine, **kwargs)
    stamp = now().strftime("%Y%m%d-%H%M%S")
    return raw(
        (CSV_BOM + text).encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="nettrouble-cases-{stamp}.csv"'},
    )


# --- JSON API ------------------------------------------------------------------------------------


def api_error(status: int, code: str, message: str) -> HTTPResponse:
    return json_response({"error": code, "message": message}, status=status, dumps=dumps)


def case_json(case: schema.Case, transcript: Optional[List[Any]] = None) -> Dict[str, Any]:
    # The documented case JSON (docs/case-schema.md), the same the webhook and tickets get.
    return case_document(case, transcript)


async def api_cases(request: Request) -> HTTPResponse:
    try:
        kwargs = check_filters(read_filters(request.args))
        limit = whole_number(request.args, "limit", API_DEFAULT_LIMIT, 1, schema.MAX_PAGE)
        offset = whole_number(request.args, "offset", 0, 0, MAX_OFFSET)
    except BadRequest as problem:
        return api_error(400, "invalid", str(problem))
    found = await call(store.list_cases, request.app.ctx.engine, **kwargs, limit=limit + 1, offset=offset)
    return json_response(
        {
            "cases": [case_json(case) for case in found[:limit]],
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if len(found) > limit else None,
        },
        dumps=dumps,
    )


async def api_case(request: Request, reference: str) -> HTTPResponse:
    status, case = await call(store.lookup, request.app.ctx.engine, reference)
    if case is None:  # the status is not OK
        code = 404 if status == schema.UNKNOWN else 400
        return api_error(code, status, templates.LOOKUP_MESSAGES[status])
    history = await call(store.status_history, request.app.ctx.engine, case.reference)
    try:
        turns, unavailable = await case_turns(request, case), False
    except SQLAlchemyError:
        # As on the case page: the case answers, and says that its conversation could not be read.
        logger.exception("tracker store unreadable: case %s sent without its conversation", case.reference)
        turns, unavailable = [], True
    return json_response(
        {
            "case": case_json(case, turns),
            "transcript_unavailable": unavailable,
            "status_history": [
                {"at": event.at.isoformat(), "by": event.by, "from": event.from_status, "to": event.to_status}
                for event in history
            ],
        },
        dumps=dumps,
    )


def register(app: Sanic) -> None:
    app.add_route(login_page, "/login", methods=["GET"], name="login_page")
    app.add_route(login, "/login", methods=["POST"], name="login")
    app.add_route(logout, "/logout", methods=["POST"], name="logout")
    app.add_route(case_list, "/", methods=["GET"], name="case_list")
    app.add_route(lookup, "/cases/lookup", methods=["GET"], name="lookup")
    app.add_route(case_detail, "/cases/<reference>", methods=["GET"], name="case_detail")
    app.add_route(change_status, "/cases/<reference>/status", methods=["POST"], name="change_status")
    app.add_route(check_caller, "/cases/<reference>/check-caller", methods=["POST"], name="check_caller")
    app.add_route(release_claim, "/cases/<reference>/release-claim", methods=["POST"], name="release_claim")
    app.add_route(export, "/export.csv", methods=["GET"], name="export")
    app.add_route(api_cases, "/api/cases", methods=["GET"], name="api_cases")
    app.add_route(api_case, "/api/cases/<reference>", methods=["GET"], name="api_case")
