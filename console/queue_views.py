"""The phone team's work in the console: the queue (「今日の対応」), taking a case, a
supervisor's (re)assignment, notes, closing with a reason, the conversation as text to copy
into other notes, and the supervisors' view of who holds what.

Handlers stay thin over ``nettrouble.staff.queue`` and ``nettrouble.cases.store``. Every POST has passed
the gate's CSRF and origin checks (``console.app``), answers with a redirect (303) to the case
page when it worked or when the case changed meanwhile, and with the case page itself (400)
when the form was wrong, so that what staff typed is offered again. Changes are recorded under
the signed-in agent's name.
"""

from __future__ import annotations

import logging

from sanic import Request, Sanic
from sanic.response import HTTPResponse, html, raw, redirect

from console import auth, templates
from console.views import call, case_turns, detail_response, find
from nettrouble.callbacks import store as callbacks
from nettrouble.cases import closing_reasons, schema, store, summary
from nettrouble.cases.transcript import notes_text
from nettrouble.content import hours
from nettrouble.core.clock import now
from nettrouble.staff import agents, queue

log = logging.getLogger(__name__)

NOTE_EMPTY = "メモが空です。内容を入力してから追加してください。"
REASON_REFUSED = "対応終了の理由を一覧から選んでください。案件は完了にしていません。"
ASSIGNEE_REFUSED = "担当者を一覧から選んでください。担当は変更していません。"


def note_too_long(length: int) -> str:
    return f"メモは{schema.MAX_NOTE_CHARS}文字までです（入力は{length}文字）。分けて追加してください。"


def case_page(reference: str, notice: str) -> HTTPResponse:
    return redirect(f"/cases/{reference}?notice={notice}", status=303)


def refused_page(reference: str, refused: schema.CaseError) -> HTTPResponse:
    # Codes the case page cannot explain (a name the store refused) read as an invalid change.
    code = refused.code if refused.code in templates.STATUS_ERRORS else "invalid"
    return redirect(f"/cases/{reference}?error={code}", status=303)


# --- pages -----------------------------------------------------------------------------------


async def queue_page(request: Request) -> HTTPResponse:
    session = request.ctx.session
    mine = request.args.get("mine") == "1"
    today = request.args.get("today") == "1"
    items = await call(
        queue.queue, request.app.ctx.engine, now(), agent=session.user if mine else None, today_only=today
    )
    # The day's callbacks (nettrouble/callbacks/), in slot order, whatever the filters.
    todays_callbacks = await call(callbacks.on_day, request.app.ctx.engine, now().date())
    body = templates.render(
        "queue.html",
        session=session,
        items=items,
        mine=mine,
        today=today,
        alert_minutes=hours.calendar().queue_wait_alert_minutes,
        callbacks=todays_callbacks,
    )
    return html(body)


@auth.supervisor_only
async def holdings_page(request: Request) -> HTTPResponse:
    engine = request.app.ctx.engine
    held = await call(queue.holdings, engine, now())
    active = {agent.name for agent in await call(agents.list_agents, engine) if agent.active}
    # Every active agent, holding something or not, and anyone removed who still holds cases.
    names = sorted(active | set(held.by_agent), key=str.lower)
    rows = [(name, name in active, held.by_agent.get(name, [])) for name in names]
    body = templates.render("holdings.html", session=request.ctx.session, rows=rows, unassigned=held.unassigned)
    return html(body)


async def notes_view(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    turns = await case_turns(request, case)
    body = templates.render("notes_view.html", session=request.ctx.session, case=case, text=notes_text(turns))
    return html(body)


async def transcript_text(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    turns = await case_turns(request, case)
    return raw(
        (notes_text(turns) + "\n" if turns else "").encode("utf-8"),
        content_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{case.reference}-transcript.txt"'},
    )


# --- changes ---------------------------------------------------------------------------------


async def take_case(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    who = request.ctx.session.user
    try:
        await call(store.take, request.app.ctx.engine, case.reference, who, now())
    except schema.CaseError as refused:
        return refused_page(case.reference, refused)
    log.info("case %s taken by %s", case.reference, who)
    return case_page(case.reference, "taken")


@auth.supervisor_only
async def assign_case(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    engine = request.app.ctx.engine
    chosen = request.form.get("agent") or ""
    active = [agent.name for agent in await call(agents.list_agents, engine) if agent.active]
    # An empty choice hands the case back to the queue.
    if chosen and chosen not in active:
        return await detail_response(request, case, status=400, problem=ASSIGNEE_REFUSED)
    who = request.ctx.session.user
    try:
        await call(store.assign, engine, case.reference, chosen or None, who, now())
    except schema.CaseError as refused:
        return refused_page(case.reference, refused)
    log.info("case %s assigned to %s by %s", case.reference, chosen or "nobody", who)
    return case_page(case.reference, "assigned" if chosen else "released")


async def add_note(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    typed = request.form.get("text") or ""
    try:
        summary.clean_note(typed)
    except schema.CaseError:
        refusal = NOTE_EMPTY if not typed.strip() else note_too_long(len(typed.strip()))
        return await detail_response(request, case, status=400, problem=refusal, note_draft=typed)
    try:
        await call(store.add_note, request.app.ctx.engine, case.reference, request.ctx.session.user, typed, now())
    except schema.CaseError as refused:
        return refused_page(case.reference, refused)
    # Notes may hold the caller's personal data: the log names the case and the author only.
    log.info("note added to case %s by %s", case.reference, request.ctx.session.user)
    return case_page(case.reference, "note_added")


async def close_case(request: Request, reference: str) -> HTTPResponse:
    case = await find(request, reference)
    if isinstance(case, HTTPResponse):
        return case
    reason = request.form.get("reason") or ""
    if reason not in {item.code for item in closing_reasons.catalogue()}:
        return await detail_response(request, case, status=400, problem=REASON_REFUSED)
    who = request.ctx.session.user
    try:
        await call(store.close, request.app.ctx.engine, case.reference, reason, who, now())
    except schema.CaseError as refused:
        return refused_page(case.reference, refused)
    log.info("case %s closed by %s: %s", case.reference, who, reason)
    return case_page(case.reference, "closed")


def register(app: Sanic) -> None:
    app.add_route(queue_page, "/queue", methods=["GET"], name="queue_page")
    app.add_route(holdings_page, "/holdings", methods=["GET"], name="holdings_page")
    app.add_route(notes_view, "/cases/<reference>/notes-view", methods=["GET"], name="notes_view")
    app.add_route(transcript_text, "/cases/<reference>/transcript.txt", methods=["GET"], name="transcript_text")
    app.add_route(take_case, "/cases/<reference>/take", methods=["POST"], name="take_case")
    app.add_route(assign_case, "/cases/<reference>/assign", methods=["POST"], name="assign_case")
    app.add_route(add_note, "/cases/<reference>/notes", methods=["POST"], name="add_note")
    app.add_route(close_case, "/cases/<reference>/close", methods=["POST"], name="close_case")
