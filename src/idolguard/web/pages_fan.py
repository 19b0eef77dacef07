"""Fan reports: the links fans reported through the public portal, as the analysts need them to act.

A link whose capture failed (site down, refused by the capture policy) has no media, so it never reaches the
media triage queue; here it is listed with its URL (as text, never a link that a browser would load), the
categories and artists its reporters chose, the report count and the failure reason (from its stored code, in
the reader's language; the capture's own English text only for admins). Analysts retry the
capture or record the outcome (the reporters' status pages follow). The portal data reach the web app through
the ``fan_links`` adapter the server installs (``idolguard.server.fan``): web and portal do not import each other.

Scope: a user limited to some artists sees the links whose reports named one of them; links whose reporters
were not sure of the artist only the roles that triage unattributed material see (analyst, manager, admin).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from idolguard.errors import IdolGuardError
from idolguard.web.custody import actor_name
from idolguard.web.deps import Denied, PageContext, form_data, need, need_csrf, render, ws_of
from idolguard.web.i18n import N_
from idolguard.web.roles import Principal
from idolguard.web.sealed_form import SealedRoute
from idolguard.workspace import Workspace

router = APIRouter(route_class=SealedRoute)  # body limits by route, not by Content-Type (sealed_form.py)

STATES = {
    "queued": N_("waiting for capture"),
    "captured": N_("captured"),
    "known": N_("already known"),
    "failed": N_("capture failed"),
}
DECISIONS = {"action_taken": N_("action taken"), "not_actionable": N_("not actionable")}


class FanLinks(Protocol):
    def rows(self, ws: Workspace, *, failed_only: bool, include_decided: bool) -> list[dict[str, Any]]: ...
    def retry(self, ws: Workspace, link_id: int) -> None: ...
    def decide(self, ws: Workspace, link_id: int, decision: str) -> None: ...


def _provider(request: Request) -> FanLinks | None:
    return getattr(request.app.state, "fan_links", None)


def visible(who: Principal, row: dict[str, Any]) -> bool:
    """As items are scoped (``triage.scoped``): a named artist in the user's scope, or, for the roles that
    triage unattributed material, a link whose reporters were not sure who is shown."""
    artists = row.get("artists", {})
    if who.unscoped and any(artists):
        return True
    if any(a and who.sees_artist(a) for a in artists):
        return True
    return who.sees_unattributed and ("" in artists or not artists)


def _rows(request: Request, ctx: PageContext, *, failed_only: bool, include_decided: bool) -> list[dict[str, Any]]:
    provider = _provider(request)
    if provider is None:
        return []
    rows = provider.rows(ws_of(request), failed_only=failed_only, include_decided=include_decided)
    return [r for r in rows if visible(ctx.user, r)]


@router.get("/fan-reports", response_class=HTMLResponse)
def fan_reports(request: Request, ctx: PageContext = Depends(need("read"))) -> Response:
    show_all = request.query_params.get("all") == "1"
    rows = _rows(request, ctx, failed_only=not show_all, include_decided=show_all)
    return render(
        ctx,
        "fan_reports.html.j2",
        rows=rows,
        show_all=show_all,
        available=_provider(request) is not None,
        states=STATES,
        decisions=DECISIONS,
    )


async def _act(request: Request, ctx: PageContext, link_id: int, action: str) -> Response:
    provider = _provider(request)
    if provider is None:
        raise Denied(404, "Not found.")
    rows = await run_in_threadpool(_rows, request, ctx, failed_only=False, include_decided=True)
    if link_id not in {r["link_id"] for r in rows}:
        raise Denied(404, "Not found.")
    form = await form_data(request)
    ws = ws_of(request).acting_as(actor_name(ctx.user.name))
    try:
        if action == "retry":
            await run_in_threadpool(provider.retry, ws, link_id)
        else:
            decision = str(form.get("decision") or "")
            if decision not in DECISIONS:
                raise Denied(400, "Request refused.")
            await run_in_threadpool(provider.decide, ws, link_id, decision)
    except IdolGuardError as exc:
        shown = await run_in_threadpool(_rows, request, ctx, failed_only=False, include_decided=True)
        return render(
            ctx,
            "fan_reports.html.j2",
            status=422,
            rows=[r for r in shown if r["link_id"] == link_id],
            show_all=True,
            available=True,
            states=STATES,
            decisions=DECISIONS,
            error=exc,
        )
    back = "/fan-reports?all=1" if form.get("back") == "all" else "/fan-reports"
    return RedirectResponse(back, status_code=303)


@router.post("/fan-reports/{link_id}/retry", response_class=HTMLResponse)
async def retry_link(request: Request, link_id: int, ctx: PageContext = Depends(need_csrf("decide"))) -> Response:
    return await _act(request, ctx, link_id, "retry")


@router.post("/fan-reports/{link_id}/decide", response_class=HTMLResponse)
async def decide_link(request: Request, link_id: int, ctx: PageContext = Depends(need_csrf("decide"))) -> Response:
    return await _act(request, ctx, link_id, "decide")
