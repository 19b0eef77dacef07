"""Triage queue and item pages: blurred previews, decisions (optimistic locking), assignment, comments,
reveal with reason. Out-of-scope items answer 404, exactly like absent ones (no existence leak)."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from idolguard.errors import IdolGuardError
from idolguard.web import previews, reveal, triage
from idolguard.web.custody import actor_name
from idolguard.web.deps import Denied, PageContext, need, need_csrf, page_user, render, ws_of
from idolguard.web.errors import shown_error
from idolguard.web.models import STATUSES, Review
from idolguard.web.roles import Principal
from idolguard.web.sealed_form import SealedRoute
from idolguard.workspace import Workspace

router = APIRouter(route_class=SealedRoute)  # body limits by route, not by Content-Type (sealed_form.py)
SHA = re.compile(r"^[0-9a-f]{64}$")
PAGE = 50


def _date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).astimezone() if text else None
    except ValueError:
        return None


def visible(ws: Workspace, ctx: PageContext, sha: str) -> Review:
    if not SHA.match(sha):
        raise Denied(404, "Not found.")
    row = triage.visible_review(ws, ctx.user, sha)
    if row is None:
        from idolguard.db.models import Item

        with ws.sessions() as session:
            exists = session.get(Item, sha) is not None
        if exists:
            triage.sync_reviews(ws, [sha])
            row = triage.visible_review(ws, ctx.user, sha)
    if row is None:
        raise Denied(404, "Not found.")
    return row


def stale_count(ws: Workspace, who: Principal) -> int:
    """The triage notice's count of items awaiting re-analysis, for those who triage: the whole count for those
    who see the whole workspace; for an artist-scoped user, the items of their artists only
    (``item_view.stale_count_of``): the whole count would tell them how much the agency holds on other
    artists. Both are read from the stored count, never counted on the request."""
    from idolguard.web.item_view import stale_count as count
    from idolguard.web.item_view import stale_count_of

    if not who.can("decide"):
        return 0
    if who.sees_whole:
        return count(ws) or 0
    return stale_count_of(ws, who.artists) or 0


@router.get("/triage", response_class=HTMLResponse)
def triage_page(
    request: Request,
    ctx: PageContext = Depends(need("read")),
    status: str = Query("open", max_length=24),
    artist: str = Query("", max_length=256),
    decision: str = Query("", max_length=16),
    verdict: str = Query("", max_length=32),
    platform: str = Query("", max_length=128),
    since: str = Query("", max_length=32),
    until: str = Query("", max_length=32),
    fan: str = Query("", max_length=4),
    mine: str = Query("", max_length=4),
    after: str = Query("", max_length=100),
) -> Response:
    ws = ws_of(request)
    filters = triage.Filters(
        status,
        artist,
        decision,
        verdict,
        platform,
        _date(since),
        _date(until),
        bool(fan),
        ctx.user.name if mine else "",
    )
    cursor = triage.parse_cursor(after) if after else None
    rows, more = triage.queue(ws, ctx.user, filters, limit=PAGE, after=cursor)
    args = {
        "status": status,
        "artist": artist,
        "decision": decision,
        "verdict": verdict,
        "platform": platform,
        "since": since,
        "until": until,
        "fan": fan,
        "mine": mine,
    }
    return render(
        ctx,
        "triage.html.j2",
        rows=rows,
        more=more,
        first=cursor is None,
        next_cursor=triage.cursor_text(rows[-1]) if more and rows else "",
        f=args,
        statuses=STATUSES,
        stale_items=stale_count(ws, ctx.user),
        stale_scoped=not ctx.user.sees_whole,
        reasons=triage.review_reasons(ws, rows),
    )


@router.post("/triage/bulk")
async def bulk(request: Request, ctx: PageContext = Depends(need_csrf("decide"))) -> Response:
    form = await request.form()
    action = str(form.get("action") or "")
    shas = [str(s) for s in form.getlist("item") if SHA.match(str(s))]
    ws = ws_of(request)
    conflicts = []
    for sha in shas:
        version = int(str(form.get(f"v_{sha}") or "0") or 0)
        try:
            visible(ws, ctx, sha)
            if action == "assign_me":
                triage.assign(ws, ctx.user, sha, ctx.user.name, version)
            elif action in STATUSES:
                triage.decide(ws, ctx.user, sha, action, version, note="bulk")
        except triage.Conflict:
            conflicts.append(sha)
        except Denied:
            continue
    if conflicts:
        return render(
            ctx,
            "error.html.j2",
            status=409,
            code=409,
            message=ctx.gettext(
                "{n} items were changed by someone else meanwhile and were not updated.", n=len(conflicts)
            ),
        )
    return RedirectResponse("/triage", status_code=303)


@router.get("/items/{sha}", response_class=HTMLResponse)
def item_page(request: Request, sha: str, ctx: PageContext = Depends(need("read"))) -> Response:
    ws = ws_of(request)
    if not SHA.match(sha):  # a prefix, as the queue and the command line show hashes
        return by_prefix(ws, ctx, sha)
    row = visible(ws, ctx, sha)
    return _item(ws, ctx, row)


def _item(
    ws: Workspace, ctx: PageContext, row: Review, *, grant: object = None, status: int = 200, notice: str = ""
) -> Response:
    from idolguard.web import explain
    from idolguard.web.item_view import item_detail
    from idolguard.web.pages_more import item_incidents

    detail = item_detail(ws, row.item_sha256)
    obj, tz = detail["obj"], ctx.user.timezone
    return render(
        ctx,
        "item.html.j2",
        status=status,
        row=row,
        d=detail,
        o=detail["obj"],
        statuses=STATUSES,
        reasons=reveal.REASONS,
        grant=grant,
        notice=notice,
        incidents=item_incidents(ws, ctx.user, row.item_sha256, ctx),
        reveals_today=reveal.reveals_today(ws, ctx.user.user_id, ctx.user.timezone),
        reveal_window=reveal.reveal_seconds(ws),
        references=_references(ws, triage.item_artists(ws, row.item_sha256), ctx),
        explanation=explain.manipulation_lines(obj, ctx.gettext),
        stage_problems=explain.stage_problems(obj, ctx.gettext),
        custody_rows=explain.custody_rows(detail["entries"], ctx.gettext, tz),
        c2pa=explain.c2pa_rows(obj.get("content_credentials"), ctx.gettext, tz),
        file_name=explain.file_name(obj.get("path")),
        comment_time=lambda ts: explain.stamp(ts, tz),
        transform=lambda code: _report_label("transform", code, ctx.lang),
    )


def _report_label(group: str, code: object, lang: str) -> str:
    """A code the analysis stores (a match's transform) as the HTML report says it in ``lang``: one wording
    for both; a code without a label as stored."""
    from idolguard.report.i18n import catalog

    return catalog(lang).get(f"{group}.{code}", str(code)) if code else "-"


def _references(ws: Workspace, artists: list[str], ctx: PageContext) -> list[tuple[str, str]]:
    """Official reference photo (first enrolled) per artist the user may see: shown beside the blur."""
    from sqlalchemy import select

    from idolguard.gallery.models import Artist, ArtistReference

    out = []
    with ws.sessions() as session:
        for name in artists:
            if not ctx.user.sees_artist(name):
                continue
            ref = session.scalar(
                select(ArtistReference.crop_sha256)
                .join(Artist, Artist.id == ArtistReference.artist_id)
                .where(Artist.name == name)
                .limit(1)
            )
            if ref:
                out.append((name, ref))
    return out


@router.post("/items/{sha}/decision")
def decision(
    request: Request,
    sha: str,
    ctx: PageContext = Depends(need_csrf("decide")),
    status: str = Form(...),
    version: int = Form(...),
    note: str = Form(""),
    add_to_bank: str = Form(""),
) -> Response:
    ws = ws_of(request)
    row = visible(ws, ctx, sha)
    try:
        fresh = triage.decide(ws, ctx.user, sha, status, version, note=note)
    except triage.Conflict:
        return _item(
            ws,
            ctx,
            triage.visible_review(ws, ctx.user, sha) or row,
            status=409,
            notice=ctx.gettext(
                "Someone else changed this item meanwhile. Nothing was overwritten: review their decision below."
            ),
        )
    except IdolGuardError as exc:
        return render(ctx, "error.html.j2", status=400, code=400, message=exc)
    if status == "confirmed_abuse" and add_to_bank:
        try:
            triage.add_to_known_abuse(ws.acting_as(actor_name(ctx.user.name)), sha)
        except IdolGuardError as exc:
            why = shown_error(ctx.gettext, exc)
            return _item(ws, ctx, fresh, notice=f"{ctx.gettext('Not added to the bank')}: {why}")
    return RedirectResponse(f"/items/{sha}", status_code=303)


@router.post("/items/{sha}/assign")
def assign(
    request: Request,
    sha: str,
    ctx: PageContext = Depends(need_csrf("assign")),
    assignee: str = Form(""),
    version: int = Form(...),
) -> Response:
    ws = ws_of(request)
    row = visible(ws, ctx, sha)
    try:
        triage.assign(ws, ctx.user, sha, assignee.strip()[:128] or None, version)
    except triage.Conflict:
        return _item(
            ws,
            ctx,
            row,
            status=409,
            notice=ctx.gettext(
                "Someone else changed this item meanwhile. Nothing was overwritten: review their decision below."
            ),
        )
    return RedirectResponse(f"/items/{sha}", status_code=303)


@router.post("/items/{sha}/comment")
def add_comment(
    request: Request, sha: str, ctx: PageContext = Depends(need_csrf("comment")), text: str = Form("")
) -> Response:
    ws = ws_of(request)
    row = visible(ws, ctx, sha)
    if len(text.strip()) > triage.MAX_COMMENT:
        notice = ctx.gettext(
            "Comments have at most {limit} characters; this one has {n}. Shorten it and add it again.",
            limit=triage.MAX_COMMENT,
            n=len(text.strip()),
        )
        return _item(ws, ctx, row, status=400, notice=notice)
    try:
        triage.comment(ws, ctx.user, sha, text)
    except IdolGuardError:
        return _item(ws, ctx, row, status=400, notice=ctx.gettext("Write a comment before adding it."))
    return RedirectResponse(f"/items/{sha}#comments", status_code=303)


@router.get("/items/{sha}/preview.png")
def preview(request: Request, sha: str, ctx: PageContext = Depends(page_user)) -> Response:
    ws = ws_of(request)
    row = visible(ws, ctx, sha)
    return Response(previews.preview_png(ws, sha, row.media_type), media_type="image/png")


def _own_derived(ws: Workspace, ctx: PageContext, sha: str, child: str) -> None:
    """404 unless the item is visible to this user and ``child`` is a derived object of it (so a URL cannot
    borrow another item's heat map or face pair)."""
    from sqlalchemy import select

    from idolguard.db.models import DerivedObject

    visible(ws, ctx, sha)
    with ws.sessions() as session:
        ok = session.scalar(
            select(DerivedObject.id).where(DerivedObject.parent_sha256 == sha, DerivedObject.sha256 == child)
        )
    if not ok:
        raise Denied(404, "Not found.")


@router.get("/items/{sha}/heatmap/{heat}.png")
def heatmap(request: Request, sha: str, heat: str, ctx: PageContext = Depends(page_user)) -> Response:
    ws = ws_of(request)
    _own_derived(ws, ctx, sha, heat)
    return Response(previews.heatmap_over_blur(ws, heat), media_type="image/png")


@router.get("/items/{sha}/attribution/{pair}.png")
def attribution_pair(request: Request, sha: str, pair: str, ctx: PageContext = Depends(page_user)) -> Response:
    """The aligned suspect | official face pair of a source attribution, blurred like every preview."""
    ws = ws_of(request)
    _own_derived(ws, ctx, sha, pair)
    return Response(previews.blurred_derived(ws, pair), media_type="image/png")


@router.get("/reference/{sha}.png")
def reference(request: Request, sha: str, ctx: PageContext = Depends(page_user)) -> Response:
    """An artist's official reference crop (not sensitive), for users who may see that artist."""
    from sqlalchemy import select

    from idolguard.gallery.models import Artist, ArtistReference

    ws = ws_of(request)
    if not SHA.match(sha):
        raise Denied(404, "Not found.")
    with ws.sessions() as session:
        names = list(
            session.scalars(
                select(Artist.name)
                .join(ArtistReference, Artist.id == ArtistReference.artist_id)
                .where(ArtistReference.crop_sha256 == sha)
            )
        )
    if not any(ctx.user.sees_artist(n) for n in names):
        raise Denied(404, "Not found.")
    return Response(ws.vault.read_bytes(sha), media_type="image/png")


@router.post("/items/{sha}/reveal", response_class=HTMLResponse)
def reveal_original(
    request: Request,
    sha: str,
    ctx: PageContext = Depends(need_csrf("read")),
    reason: str = Form(""),
    other: str = Form(""),
) -> Response:
    ws = ws_of(request)
    row = visible(ws, ctx, sha)
    if not ctx.user.can("reveal"):
        raise Denied(403, "Your role cannot reveal originals.")
    if ctx.user.never_reveal:
        raise Denied(403, "You chose never to see originals (see My settings).")
    text = (other.strip() if reason == "other" else ctx.gettext(reason) if reason in reveal.REASONS else "").strip()
    if not text:
        return _item(ws, ctx, row, status=400, notice=ctx.gettext("Give a reason to reveal."))
    grant = reveal.grant(ws, ctx.user, sha, f"{reason}: {text}" if reason in reveal.REASONS else text)
    # Post-redirect-get: reloading the page that shows the original must not record a second reveal.
    return RedirectResponse(f"/items/{sha}/revealed/{grant.id}", status_code=303)


@router.get("/items/{sha}/revealed/{grant_id}", response_class=HTMLResponse)
def revealed(request: Request, sha: str, grant_id: int, ctx: PageContext = Depends(page_user)) -> Response:
    """The item page with the original shown, for as long as the grant lasts (no new custody event)."""
    ws = ws_of(request)
    row = visible(ws, ctx, sha)
    if not ctx.user.may_reveal:
        raise Denied(403, "Your role cannot reveal originals.")
    grant = reveal.active_grant(ws, ctx.user, sha, grant_id)
    if grant is None:
        return _item(ws, ctx, row, notice=ctx.gettext("This reveal has expired. Reveal again with a reason."))
    return _item(ws, ctx, row, grant=grant)


@router.get("/items/{sha}/original/{grant_id}")
def original(request: Request, sha: str, grant_id: int, ctx: PageContext = Depends(page_user)) -> Response:
    ws = ws_of(request)
    row = visible(ws, ctx, sha)
    if not ctx.user.may_reveal or reveal.active_grant(ws, ctx.user, sha, grant_id) is None:
        raise Denied(403, "This reveal has expired. Reveal again with a reason.")
    return _stream(ws, sha, row, attachment=False)


@router.post("/items/{sha}/download")
def download(
    request: Request, sha: str, ctx: PageContext = Depends(need_csrf("read")), reason: str = Form("")
) -> Response:
    ws = ws_of(request)
    row = visible(ws, ctx, sha)
    if not ctx.user.may_reveal:
        raise Denied(403, "Your role cannot reveal originals.")
    if not reason.strip():
        return _item(ws, ctx, row, status=400, notice=ctx.gettext("Give a reason to reveal."))
    reveal.grant(ws, ctx.user, sha, reason.strip(), action="web.download_original")
    return _stream(ws, sha, row, attachment=True)


def _stream(ws: Workspace, sha: str, row: Review, *, attachment: bool) -> Response:
    from idolguard.db.models import Item

    with ws.sessions() as session:
        item = session.get(Item, sha)
        mime = (item.mime if item else None) or "application/octet-stream"
    headers = {
        "cache-control": "no-store",
        "content-disposition": f'{"attachment" if attachment else "inline"}; filename="{sha}"',
    }
    return StreamingResponse(ws.vault.read_chunks(sha), media_type=mime, headers=headers)


@router.get("/items/{sha}/custody.json")
def custody_json(request: Request, sha: str, ctx: PageContext = Depends(page_user)) -> Response:
    from idolguard.web.item_view import custody_check

    ws = ws_of(request)
    visible(ws, ctx, sha)
    return JSONResponse(custody_check(ws, sha))


def by_prefix(ws: Workspace, ctx: PageContext, prefix: str) -> Response:
    """``/items/<prefix>``: a redirect to the one visible item whose hash starts with it, a page listing them
    when several do (status 300), else the same 404 as an unknown or out-of-scope item."""
    found = triage.visible_by_prefix(ws, ctx.user, prefix)
    if not found:
        raise Denied(404, "Not found.")
    if len(found) == 1:
        return RedirectResponse(f"/items/{found[0]}", status_code=303)
    return render(ctx, "item_prefix.html.j2", status=300, prefix=prefix.strip().lower(), shas=found)
