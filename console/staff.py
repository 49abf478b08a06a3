"""The supervisors' page of staff accounts: list, add, reset a password, remove
(``nettrouble.staff.agents``; ``scripts/agents.py`` does the same from the command line).

A one-time password is shown in the response to the POST that made it, never in a redirect URL,
a log or the database in clear. Removing or resetting an account ends its sessions at their
next request (the gate in ``console.app``).
"""

from __future__ import annotations

import logging
from typing import Optional, Tuple

from sanic import Request, Sanic
from sanic.response import HTTPResponse, html

from console import auth, templates
from console.views import call
from nettrouble.staff import agents

log = logging.getLogger(__name__)

ROLE_LABELS = {agents.AGENT: "担当者", agents.SUPERVISOR: "スーパーバイザー"}
NAME_REFUSED = "名前は半角の英数字と . _ - で、40文字までです。「assistant」は使えません。"


async def page(
    request: Request,
    status: int = 200,
    error: Optional[str] = None,
    notice: Optional[str] = None,
    shown_password: Optional[Tuple[str, str]] = None,
) -> HTTPResponse:
    accounts = await call(agents.list_agents, request.app.ctx.engine)
    body = templates.render(
        "agents.html",
        session=request.ctx.session,
        accounts=accounts,
        ROLE_LABELS=ROLE_LABELS,
        error=error,
        notice=notice,
        shown_password=shown_password,
    )
    return html(body, status=status)


@auth.supervisor_only
async def agents_page(request: Request) -> HTTPResponse:
    return await page(request)


@auth.supervisor_only
async def add_agent(request: Request) -> HTTPResponse:
    name, role = request.form.get("name") or "", request.form.get("role") or ""
    try:
        agents.check_name(name)
    except agents.AgentError:
        return await page(request, status=400, error=NAME_REFUSED)
    if role not in ROLE_LABELS:
        return await page(request, status=400, error="権限を一覧から選んでください。")
    try:
        password = await call(agents.add, request.app.ctx.engine, name, role)
    except agents.AgentError:
        return await page(
            request, status=409, error=f"「{name}」はすでに使われています（削除済みの担当者の名前も再利用できません）。"
        )
    log.info("agent %s added as %s by %s", name.strip(), role, request.ctx.session.user)
    return await page(request, notice=f"{name.strip()} さんを追加しました。", shown_password=(name.strip(), password))


@auth.supervisor_only
async def reset_agent(request: Request) -> HTTPResponse:
    name = request.form.get("name") or ""
    agent = await call(agents.get, request.app.ctx.engine, name)
    try:
        password = await call(agents.reset, request.app.ctx.engine, name)
    except agents.AgentError:
        agent = None
    if agent is None:
        return await page(request, status=404, error="有効な担当者が見つかりません。")
    log.info("agent %s: password reset by %s", agent.name, request.ctx.session.user)
    return await page(
        request, notice=f"{agent.name} さんのパスワードを再発行しました。", shown_password=(agent.name, password)
    )


@auth.supervisor_only
async def remove_agent(request: Request) -> HTTPResponse:
    try:
        removed = await call(agents.remove, request.app.ctx.engine, request.form.get("name") or "")
    except agents.AgentError:
        return await page(request, status=404, error="有効な担当者が見つかりません。")
    log.info("agent %s removed by %s", removed.name, request.ctx.session.user)
    return await page(request, notice=f"{removed.name} さんを削除しました。記録上の名前は残ります。")


def register(app: Sanic) -> None:
    app.add_route(agents_page, "/agents", methods=["GET"], name="agents_page")
    app.add_route(add_agent, "/agents", methods=["POST"], name="add_agent")
    app.add_route(reset_agent, "/agents/reset", methods=["POST"], name="reset_agent")
    app.add_route(remove_agent, "/agents/remove", methods=["POST"], name="remove_agent")
