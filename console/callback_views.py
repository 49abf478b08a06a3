"""Callbacks on the console: staff mark each call done, no answer or retried, from the day's
list on the queue page or from the case page (nettrouble/callbacks/store.py says what each
mark allows). The number to call is shown on the case page only, to signed-in staff, and every
showing is logged by case and agent (never the number).

Every POST has passed the gate's CSRF and origin checks (``console.app``) and answers with a
redirect (303): to the queue's list when the form came from there, else to the case page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from sanic import Request, Sanic
from sanic.response import HTTPResponse, redirect
from sqlalchemy.engine import Engine

from console import views
from nettrouble.callbacks import sealing
from nettrouble.callbacks import store as callbacks
from nettrouble.cases import schema
from nettrouble.core.clock import now

log = logging.getLogger(__name__)

QUEUE_ANCHOR = "/queue#h-callbacks"


@dataclass(frozen=True)
class CallbackView:
    """What the case page shows of the case's callback: the booking, and the number to call
    while one is kept (``number_problem`` when the key cannot open it)."""

    callback: callbacks.Callback
    number: Optional[str] = None
    number_problem: bool = False


def case_callback(engine: Engine, case: schema.Case, viewer: str) -> Optional[CallbackView]:
    found = callbacks.latest_for_case(engine, case.id)
    if found is None:
        return None
    if not found.has_number:
        return CallbackView(found)
    try:
        number = callbacks.number_for_staff(engine, found)
    except (sealing.Unreadable, sealing.NoKey):
        log.error("callback number of %s cannot be opened with CALLBACK_NUMBER_KEY", case.reference)
        return CallbackView(found, number_problem=True)
    if number is not None:
        log.info("callback number of %s shown to %s", case.reference, viewer)
    return CallbackView(found, number)


async def mark_callback(request: Request, reference: str) -> HTTPResponse:
    case = await views.find(request, reference)
    if isinstance(case, HTTPResponse):
        return case  # the page that says why there is no such case
    engine = request.app.ctx.engine
    back_to_queue = request.form.get("back") == "queue"
    outcome = request.form.get("outcome") or ""
    shown = await views.call(callbacks.latest_for_case, engine, case.id)
    submitted = request.form.get("callback") or ""
    # The mark applies to the callback the page showed; a stale page (the case booked another
    # since) is refused rather than marking the wrong call.
    if shown is None or submitted != str(shown.id) or outcome not in callbacks.MARKS:
        notice = "error=callback_not_allowed"
    else:
        who = request.ctx.session.user
        try:
            await views.call(callbacks.mark, engine, shown.id, outcome, now(), who)
        except callbacks.CallbackError:
            notice = "error=callback_not_allowed"
        else:
            log.info("callback of %s marked %s by %s", case.reference, outcome, who)
            notice = "notice=callback_marked"
    if back_to_queue:
        return redirect(QUEUE_ANCHOR, status=303)
    return redirect(f"/cases/{case.reference}?{notice}", status=303)


def register(app: Sanic) -> None:
    app.add_route(mark_callback, "/cases/<reference>/callback", methods=["POST"], name="mark_callback")
