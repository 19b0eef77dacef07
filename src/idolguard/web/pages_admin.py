"""Administration: users, roles, scopes, API tokens, the custody ledger as an audit view, verify."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from idolguard.db.models import LedgerEntry
from idolguard.web import accounts
from idolguard.web.deps import Denied, PageContext, need, need_csrf, render, ws_of
from idolguard.web.i18n import N_
from idolguard.web.models import ROLES, ApiToken, Reveal, User
from idolguard.web.reveal import day_start
from idolguard.web.sealed_form import SealedRoute

router = APIRouter(prefix="/admin", route_class=SealedRoute)  # body limits by route (sealed_form.py)
PAGE = 100
WHOLE_ONLY = N_("Only an administrator of the whole workspace can manage users and tokens or see the audit log.")


def need_whole(csrf: bool = False) -> Any:
    """``need("admin")`` (``need_csrf`` for forms) for an administrator of the whole workspace: the users, API
    tokens, audit log and verification cover every artist, so an artist-scoped admin is refused (403). Else
    they could widen their own scope, add an unscoped admin or take a token in another admin's name."""
    base = need_csrf("admin") if csrf else need("admin")

    def dependency(ctx: PageContext = Depends(base)) -> PageContext:
        if not ctx.user.unscoped:
            raise Denied(403, WHOLE_ONLY)
        return ctx

    return dependency


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, ctx: PageContext = Depends(need_whole())) -> Response:
    ws = ws_of(request)
    with ws.sessions() as session:
        rows = list(session.scalars(select(User).order_by(User.name)))
        counts = dict(
            session.execute(
                select(Reveal.user_id, func.count())
                .where(Reveal.created_at >= day_start(ctx.user.timezone))
                .group_by(Reveal.user_id)
            ).all()
        )
        tokens = list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc()).limit(200)))
    names = {u.id: u.name for u in rows}
    return render(
        ctx,
        "admin_users.html.j2",
        users=rows,
        roles=ROLES,
        counts=counts,
        tokens=tokens,
        names=names,
        now=accounts.now(),
    )


@router.post("/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    ctx: PageContext = Depends(need_whole(csrf=True)),
    name: str = Form(""),
    role: str = Form("viewer"),
    artists: str = Form(""),
) -> Response:
    ws = ws_of(request)
    try:
        created = accounts.add_user(ws, name, role, artists.split(","), by=ctx.user.name)
    except accounts.AccountError as exc:
        return render(ctx, "error.html.j2", status=400, message=exc, code=400)
    return render(ctx, "admin_created.html.j2", created=created)


@router.post("/users/{name}/disable")
def disable(request: Request, name: str, ctx: PageContext = Depends(need_whole(csrf=True))) -> Response:
    """Refused (409, with the reason) for one's own account and for the last active administrator."""
    try:
        accounts.disable_user(ws_of(request), name, by=ctx.user.name)
    except accounts.AccountError as exc:
        return render(ctx, "error.html.j2", status=409, message=exc, code=409)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{name}/enable")
def enable(request: Request, name: str, ctx: PageContext = Depends(need_whole(csrf=True))) -> Response:
    try:
        accounts.enable_user(ws_of(request), name, by=ctx.user.name)
    except accounts.AccountError as exc:
        return render(ctx, "error.html.j2", status=409, message=exc, code=409)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{name}/role")
def change_role(
    request: Request,
    name: str,
    ctx: PageContext = Depends(need_whole(csrf=True)),
    role: str = Form(""),
    artists: str = Form(""),
) -> Response:
    try:
        accounts.change_user(ws_of(request), name, role, artists.split(","), by=ctx.user.name)
    except accounts.AccountError as exc:
        return render(ctx, "error.html.j2", status=400, message=exc, code=400)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{name}/reset-2fa", response_class=HTMLResponse)
def reset(request: Request, name: str, ctx: PageContext = Depends(need_whole(csrf=True))) -> Response:
    try:
        uri = accounts.reset_2fa(ws_of(request), name, by=ctx.user.name)
    except accounts.AccountError as exc:
        return render(ctx, "error.html.j2", status=404, message=exc, code=404)
    return render(ctx, "admin_created.html.j2", created=accounts.NewUser(name, "", uri))


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    ctx: PageContext = Depends(need_whole(csrf=True)),
    name: str = Form(""),
    scope: str = Form("read"),
    expires: str = Form("30d"),
) -> Response:
    try:
        token = accounts.create_token(ws_of(request), name, scope, expires, by=ctx.user.name)
    except accounts.AccountError as exc:
        return render(ctx, "error.html.j2", status=400, message=exc, code=400)
    return render(ctx, "admin_token.html.j2", token=token, name=name)


@router.post("/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: int, ctx: PageContext = Depends(need_whole(csrf=True))) -> Response:
    try:
        accounts.revoke_token(ws_of(request), token_id, by=ctx.user.name)
    except accounts.AccountError as exc:
        return render(ctx, "error.html.j2", status=404, message=exc, code=404)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/ledger", response_class=HTMLResponse)
def ledger(
    request: Request,
    ctx: PageContext = Depends(need_whole()),
    actor: str = Query("", max_length=200),
    action: str = Query("", max_length=64),
    item: str = Query("", max_length=64),
    before: int | None = Query(None, ge=0),
) -> Response:
    ws = ws_of(request)
    query = select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(PAGE)
    if actor:
        query = query.where(LedgerEntry.actor == actor)
    if action:
        query = query.where(LedgerEntry.action == action)
    if item:
        query = query.where(LedgerEntry.item_sha256 == item.lower())
    if before is not None:
        query = query.where(LedgerEntry.seq < before)
    with ws.sessions() as session:
        rows = list(session.scalars(query))
        actions = [a for (a,) in session.execute(select(LedgerEntry.action).distinct().order_by(LedgerEntry.action))]
    from idolguard.web.ledger_view import action_name, ledger_rows

    tz = ctx.user.timezone
    return render(
        ctx,
        "admin_ledger.html.j2",
        rows=ledger_rows(rows, ctx.gettext, tz),
        actions=[(a, action_name(a, ctx.gettext)) for a in actions],
        f={"actor": actor, "action": action, "item": item},
    )


@router.post("/verify", response_class=HTMLResponse)
def verify(request: Request, ctx: PageContext = Depends(need_whole(csrf=True)), objects: str = Form("")) -> Response:
    from idolguard.evidence.verify import verify_workspace

    report = verify_workspace(ws_of(request), objects=bool(objects))
    found = report.as_dict()
    for finding in [*found["problems"], *found["warnings"]]:
        finding["said"] = _said(finding, ctx)
    return render(ctx, "admin_verify.html.j2", report=found)


def _said(finding: dict[str, Any], ctx: PageContext) -> str:
    """A verify finding in the page's language: a coded one (``evidence.verify.Finding``) from the web catalogs
    with its values, any other as ``verify`` wrote it (the English the CLI matches its templates against)."""
    from idolguard.evidence.verify import FINDING_MESSAGES, Finding, finding_values

    try:
        template = FINDING_MESSAGES[Finding(finding.get("code"))]
    except ValueError:
        return str(finding["message"])
    return ctx.gettext(template, **finding_values(finding.get("params", {}), ctx.gettext))


@router.post("/reanalyse")
def reanalyse(request: Request, ctx: PageContext = Depends(need_csrf("admin"))) -> Response:
    """Start ``idolguard analyze --stale`` as a background job (the triage page's notice offers it to admins):
    every item holding results of older stage versions is analysed again, as this admin, a short step per
    queue message (``jobs.REANALYSE_STEP``: captures and uploads go between the steps). One at a time: a job
    already queued or running is shown instead of a second one. Nothing is counted here: the progress bar
    starts from the stored count (``item_view.stale_count``) and the job corrects it. The job goes through
    the whole workspace, so an artist-scoped admin may not start it."""
    from idolguard.web import jobs
    from idolguard.web.item_view import stale_count
    from idolguard.web.models import Job

    if not ctx.user.sees_whole:
        raise Denied(403, N_("Only an administrator of the whole workspace can re-analyse every item."))
    ws = ws_of(request)

    def running(session: Any) -> int | None:  # asked in the submitting transaction: two clicks start one job
        found = session.scalar(
            select(Job.id).where(Job.kind == jobs.REANALYSE, Job.state.in_(("queued", "running"))).limit(1)
        )
        return int(found) if found is not None else None

    job_id = jobs.submit(ws, jobs.REANALYSE, ctx.user.name, {}, stale_count(ws) or 0, unless=running)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/reembed")
def reembed(
    request: Request, ctx: PageContext = Depends(need_csrf("admin")), artist: str = Form("", max_length=200)
) -> Response:
    """Start ``idolguard artists reembed`` as a background job (the artists page offers it to admins): one
    artist per queue message (``jobs.REEMBED``), each through the CLI's function, with its signed
    ``gallery.reembed`` event recorded as this admin. ``artist`` (any name or alias) re-embeds that artist;
    without it, every artist whose references are not of the calibrated kind. An artist-scoped admin re-embeds
    only artists of their scope: another artist is refused as not found (404, no existence leak), and "every
    artist" means every artist of their scope. A job already queued or running for the same artists is shown
    instead of a second one."""
    from idolguard.faces.analysis import REFERENCE_EMBEDDING
    from idolguard.gallery.store import find_artist, list_artists
    from idolguard.web import jobs
    from idolguard.web.models import Job

    ws = ws_of(request)
    pending = {
        a["name"]: sum(n for kind, n in a["reference_embeddings"].items() if kind != REFERENCE_EMBEDDING)
        for a in list_artists(ws)
    }
    if artist.strip():
        with ws.sessions() as session:
            found = find_artist(session, artist.strip())
            name = found.name if found is not None else None
        if name is None or not ctx.user.sees_artist(name):
            raise Denied(404, N_("No such artist within your scope."))
        chosen = [name]
    else:
        chosen = [name for name, n in pending.items() if n and ctx.user.sees_artist(name)]
    if not chosen:
        return render(
            ctx, "error.html.j2", status=409, code=409, message=ctx.gettext("No reference photo needs re-embedding.")
        )

    def same(session: Any) -> int | None:  # asked in the submitting transaction: two clicks start one job
        running = [
            (job.id, set(job.params.get("artists") or []))
            for job in session.scalars(
                select(Job).where(Job.kind == jobs.REEMBED, Job.state.in_(("queued", "running")))
            )
        ]
        # a job the admin may open (every artist of it in their scope) that already covers these artists
        return next(
            (job_id for job_id, names in running if set(chosen) <= names and all(map(ctx.user.sees_artist, names))),
            None,
        )

    total = sum(pending.get(name, 0) for name in chosen)
    job_id = jobs.submit(ws, jobs.REEMBED, ctx.user.name, {"artists": chosen}, total, unless=same)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/verify", response_class=HTMLResponse)
def verify_form(ctx: PageContext = Depends(need_whole())) -> Response:
    return render(ctx, "admin_verify.html.j2", report=None)
