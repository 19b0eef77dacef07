"""Cases and accounts pages: the case list and filters, opening a case, the case page (parties, evidence,
filings, hold, notes, custody timeline, origin candidates, provenance leads, impact charts), its changes, the
report and evidence package downloads, and the accounts (suspects) with aliases and suggestions.

Every change calls the same ``idolguard.cases`` functions as the command line, acting as the signed-in user
(``web:NAME`` in the ledger). Scoping: a case is visible when its artist is in the user's scope (404
otherwise, like an absent case). Counsel, managers and admins work on cases (``cases``); the others read them.
Legal steps (filings, hold, retention, destruction) are checked again by the cases area against the user's
role (``cases/people.py``). Downloads are written to a private temporary folder, sent with
``Cache-Control: no-store`` (the app's middleware) and removed; each is a custody event (``case.report`` /
``case.package_written``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from idolguard.errors import IdolGuardError
from idolguard.web.custody import actor_name
from idolguard.web.deps import Denied, PageContext, form_data, need, need_csrf, render, ws_of
from idolguard.web.i18n import N_
from idolguard.web.ledger_view import action_name
from idolguard.web.models import Review
from idolguard.web.roles import Principal
from idolguard.web.sealed_form import SealedRoute
from idolguard.web.triage import scoped
from idolguard.workspace import Workspace

router = APIRouter(route_class=SealedRoute)  # body limits by route, not by Content-Type (sealed_form.py)

CASE_STATUSES_SHOWN = ("open", "gathering", "filed", "closed")
FILING_KINDS_SHOWN = ("police", "court", "platform")
ASSIGNEE_ROLES_SHOWN = ("counsel", "manager")
N_("gathering")
N_("filed")
N_("police")
N_("court")
N_("platform")
N_("counsel")
N_("manager")


def _text(form: dict[str, Any], name: str, limit: int = 2000) -> str:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()[:limit]


def visible_items(ws: Workspace, who: Principal, shas: list[str]) -> set[str]:
    """The items among ``shas`` this user may see (their triage row's artists are in scope)."""
    from idolguard.db.session import in_chunks

    out: set[str] = set()
    with ws.sessions() as session:
        for chunk in in_chunks(shas):
            out.update(session.scalars(scoped(select(Review.item_sha256).where(Review.item_sha256.in_(chunk)), who)))
    return out


def _case_row(ws: Workspace, ctx: PageContext, number: str) -> Any:
    """The case (404 when absent or its artist is out of the user's scope)."""
    from idolguard.cases.service import CaseError, get_case

    try:
        with ws.sessions() as session:
            case = get_case(session, number)
            session.expunge(case)
    except CaseError as exc:
        raise Denied(404, "Not found.") from exc
    if not ctx.user.sees_artist(case.artist):
        raise Denied(404, "Not found.")
    return case


# What ``cases.report`` writes for generator settings it leaves out (a prompt can describe the abuse itself).
PARAMETERS_PRESENT = N_("(parameters present; full text in the evidence package)")
# What a C2PA lead's value says when its manifest names no generator, tool or signer (cases.provenance).
MANIFEST_PRESENT = N_("manifest present")


def _leads_said(leads: list[dict[str, Any]], lang: str, gettext: Any) -> list[dict[str, Any]]:
    """Provenance leads in the reader's language: where each was found and what it means from the codes the
    provenance stage stores (the HTML report's catalog, ``report.i18n.said``; leads stored before the codes keep
    their English), the trust level as a word, never the stored English or a raw code."""
    from idolguard.cases.provenance import recoded
    from idolguard.report.i18n import catalog, said

    words = catalog(lang)

    def value(lead: dict[str, Any]) -> Any:
        if lead.get("value") == PARAMETERS_PRESENT:
            return gettext(PARAMETERS_PRESENT)
        if lead.get("kind") == "c2pa" and lead.get("value") == MANIFEST_PRESENT:
            return gettext(MANIFEST_PRESENT)
        return lead.get("value")

    return [
        {
            **lead,
            "where": said(lead, "source", lang) or lead.get("kind") or "-",
            "meaning_said": said(lead, "meaning", lang),
            "trust_said": words.get(f"provenance.trust.{lead.get('trust')}", lead.get("trust") or "-"),
            "value": value(lead),
        }
        for lead in map(recoded, leads)  # stored before their place had a code: said from the text
    ]


def _page_data(ws: Workspace, number: str) -> dict[str, Any]:
    from idolguard.cases import impact
    from idolguard.cases.report import provenance_leads
    from idolguard.cases.service import get_case
    from idolguard.cases.views import custody_timeline, detail_in_session
    from idolguard.web.models import ReviewArtist

    with ws.sessions() as session:
        case = get_case(session, number)
        detail = detail_in_session(session, case)
        timeline = custody_timeline(session, detail)
        leads = provenance_leads(session, detail)
        shas = [i["sha256"] for i in detail["items"]]
        artists = sorted(
            set(session.scalars(select(ReviewArtist.artist).where(ReviewArtist.item_sha256.in_(shas[:5000]))))
            | {case.artist}
        )
    return {
        "d": detail,
        "timeline": timeline,
        "leads": leads,
        "record": impact.impact_record(detail),
        "artists": artists,
    }


WHY = re.compile(r"^(linked|incident|sighting|capture) ?(\d*) ?(manifest|media)?$")


def why_label(gettext: Any, text: str) -> str:
    """Why an item is in a case (``linked``, ``incident 3``, ``capture 2 media``...) in the page's language."""
    found = WHY.match(text)
    if not found:
        return text
    kind, ref, part = found.groups()
    labels = {
        "linked": N_("linked directly"),
        "incident": N_("incident {ref}"),
        "sighting": N_("sighting {ref}"),
        "capture": N_("capture {ref} (page)") if part == "manifest" else N_("capture {ref} (media)"),
    }
    return str(gettext(labels[kind], ref=ref) if ref else gettext(labels[kind]))


def _show(
    request: Request, ctx: PageContext, number: str, *, error: str | BaseException = "", status: int = 200
) -> Response:
    from idolguard.web.accounts import list_users

    ws = ws_of(request)
    case = _case_row(ws, ctx, number)
    data = _page_data(ws, case.number)
    data["leads"] = _leads_said(data["leads"], ctx.lang, ctx.gettext)
    for event in data["timeline"]["events"]:  # actions by name in the reader's language, as on item pages
        event["label"] = action_name(str(event["action"]), ctx.gettext)
    people = (
        [u.name for u in list_users(ws) if not u.disabled and u.role in ("counsel", "manager", "admin")]
        if ctx.user.can("cases")
        else []
    )
    return render(
        ctx,
        "case.html.j2",
        status=status,
        error=error,
        statuses=CASE_STATUSES_SHOWN,
        filing_kinds=FILING_KINDS_SHOWN,
        assignee_roles=ASSIGNEE_ROLES_SHOWN,
        people=people,
        why=lambda text: why_label(ctx.gettext, text),
        **data,
    )


async def _change(request: Request, ctx: PageContext, number: str, fn: Any, *args: Any, **kwargs: Any) -> Response:
    """Run one cases function as the signed-in user; a refusal re-shows the case page with its reason."""
    ws = ws_of(request)
    case = await run_in_threadpool(_case_row, ws, ctx, number)
    try:
        await run_in_threadpool(fn, ws.acting_as(actor_name(ctx.user.name)), case.number, *args, **kwargs)
    except IdolGuardError as exc:
        return await run_in_threadpool(_show, request, ctx, case.number, error=exc, status=422)
    return RedirectResponse(f"/cases/{case.number}", status_code=303)


# --- list and open ---------------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def cases(request: Request, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.cases.views import list_cases

    ws = ws_of(request)
    status = request.query_params.get("status", "")
    artist = request.query_params.get("artist", "").strip()
    query = request.query_params.get("q", "").strip().lower()
    hold = request.query_params.get("hold", "")
    rows = [r for r in list_cases(ws) if ctx.user.sees_artist(r["artist"])]
    artists = sorted({r["artist"] for r in rows})
    if status in CASE_STATUSES_SHOWN:
        rows = [r for r in rows if r["status"] == status]
    elif status == "due":
        rows = [r for r in rows if r["retention_due"]]
    if artist:
        from idolguard.web.artist_names import canonical_artist

        wanted = canonical_artist(ws, artist, ctx.user.artists)
        rows = [r for r in rows if r["artist"] == wanted]
    if hold == "on":
        rows = [r for r in rows if r["legal_hold"]]
    if query:
        rows = [r for r in rows if query in r["title"].lower() or query in r["number"].lower()]
    return render(
        ctx,
        "cases.html.j2",
        rows=rows,
        artists=artists,
        statuses=CASE_STATUSES_SHOWN,
        f={"status": status, "artist": artist, "q": query, "hold": hold},
        incident=request.query_params.get("incident", "")[:20]
        if request.query_params.get("incident", "").isdigit()
        else "",
    )


@router.post("/cases", response_class=HTMLResponse)
async def open_case(request: Request, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.cases.service import open_case as open_in_ws
    from idolguard.web.pages_more import visible_incident_ids

    form = await form_data(request)
    title, artist = _text(form, "title", 300), _text(form, "artist", 200)
    if artist:
        from idolguard.web.artist_names import canonical_artist

        artist = await run_in_threadpool(canonical_artist, ws_of(request), artist, ctx.user.artists)
    if not artist or not ctx.user.sees_artist(artist):
        raise Denied(400, "Give an artist name within your scope.")
    ws = ws_of(request)
    raw = [p for p in re.split(r"[\s,]+", _text(form, "incidents")) if p]
    if any(not p.isdigit() for p in raw):
        raise Denied(400, "Incident numbers are whole numbers.")
    incidents = [int(p) for p in raw]
    if incidents:
        visible = await run_in_threadpool(visible_incident_ids, ws, ctx.user)
        if not set(incidents) <= visible:
            raise Denied(400, "No such incident within your scope.")
    try:
        number = await run_in_threadpool(open_in_ws, ws.acting_as(actor_name(ctx.user.name)), title, artist, incidents)
    except IdolGuardError as exc:
        return render(ctx, "error.html.j2", status=422, code=422, message=exc)
    return RedirectResponse(f"/cases/{number}", status_code=303)


# --- one case ---------------------------------------------------------------------------------------------


@router.get("/cases/{number}", response_class=HTMLResponse)
def case_page(request: Request, number: str, ctx: PageContext = Depends(need("read"))) -> Response:
    return _show(request, ctx, number)


@router.get("/cases/{number}/chart/{name}.png")
def case_chart(request: Request, number: str, name: str, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.cases import impact
    from idolguard.cases.views import case_detail

    ws = ws_of(request)
    case = _case_row(ws, ctx, number)
    if name not in ("sightings", "platforms"):
        raise Denied(404, "Not found.")
    detail = case_detail(ws, case.number)
    png = (
        impact.sightings_chart_png(detail, ctx.lang)
        if name == "sightings"
        else impact.platforms_chart_png(impact.impact_record(detail), ctx.lang)
    )
    if png is None:
        raise Denied(404, "Not found.")
    return Response(png, media_type="image/png")


def _links_refused(ws: Workspace, ctx: PageContext, refs: list[str]) -> str | IdolGuardError:
    """Why these references cannot be linked by this user ("" when they can): unreadable, or records the
    user cannot see (items through their triage row, incidents through theirs)."""
    from idolguard.cases.service import parse_ref
    from idolguard.web.pages_more import visible_incident_ids

    if not refs:
        return ctx.gettext("Nothing to add.")
    with ws.sessions() as session:
        try:
            parsed = [parse_ref(session, r) for r in refs]
        except IdolGuardError as exc:
            return exc
    items = [p.ref for p in parsed if p.kind == "item"]
    incidents = {int(p.ref) for p in parsed if p.kind == "incident"}
    hidden = set(items) - visible_items(ws, ctx.user, items)
    if incidents:
        hidden |= {str(i) for i in incidents - visible_incident_ids(ws, ctx.user)}
    return ctx.gettext("No such record within your scope.") if hidden else ""


@router.post("/cases/{number}/links", response_class=HTMLResponse)
async def add_links(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.cases.service import add_to_case

    form = await form_data(request)
    refs = [r for r in re.split(r"[\s,]+", _text(form, "refs", 20000)) if r]
    ws = ws_of(request)
    case = await run_in_threadpool(_case_row, ws, ctx, number)
    refused = await run_in_threadpool(_links_refused, ws, ctx, refs)
    if refused:
        return await run_in_threadpool(_show, request, ctx, case.number, error=refused, status=422)
    return await _change(request, ctx, case.number, add_to_case, refs)


@router.post("/cases/{number}/status", response_class=HTMLResponse)
async def change_status(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.cases.service import set_status

    form = await form_data(request)
    return await _change(
        request,
        ctx,
        number,
        set_status,
        _text(form, "status", 32),
        filing_kind=_text(form, "kind", 32) or None,
        reference=_text(form, "reference", 200) or None,
        filed_on=_text(form, "filed_on", 32) or None,
        body=_text(form, "body", 300) or None,
    )


@router.post("/cases/{number}/notes", response_class=HTMLResponse)
async def add_note(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.cases.service import add_note as note

    form = await form_data(request)
    return await _change(request, ctx, number, note, _text(form, "text", 10000))


@router.post("/cases/{number}/assign", response_class=HTMLResponse)
async def assign(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.cases.service import assign as assign_person

    form = await form_data(request)
    return await _change(
        request,
        ctx,
        number,
        assign_person,
        _text(form, "person", 128),
        _text(form, "role", 32),
        remove=_text(form, "remove", 8) == "1",
    )


@router.post("/cases/{number}/hold", response_class=HTMLResponse)
async def hold(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.cases.service import set_hold

    form = await form_data(request)
    return await _change(request, ctx, number, set_hold, _text(form, "on", 8) == "1", _text(form, "reason", 500))


@router.post("/cases/{number}/retention", response_class=HTMLResponse)
async def retention(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.cases.service import set_retention

    form = await form_data(request)
    days = _text(form, "days", 8)
    if not days.isdigit():
        return await run_in_threadpool(
            _show, request, ctx, number, error=ctx.gettext("Retention is a number of days, 0 or more."), status=422
        )
    return await _change(request, ctx, number, set_retention, int(days))


@router.post("/cases/{number}/destroy", response_class=HTMLResponse)
async def destroy(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    """One approval per manager/admin; the second different approver's request erases the media."""
    from idolguard.cases.retention import destroy as destroy_case

    form = await form_data(request)
    case = await run_in_threadpool(_case_row, ws_of(request), ctx, number)
    if _text(form, "confirm", 200) != case.number:
        return await run_in_threadpool(
            _show, request, ctx, number, error=ctx.gettext("Type the case number to confirm."), status=422
        )
    return await _change(request, ctx, number, destroy_case, _text(form, "reason", 500))


# --- downloads --------------------------------------------------------------------------------------------


def _download(folder: Path, path: Path, name: str, media_type: str) -> FileResponse:
    return FileResponse(
        path,
        media_type=media_type,
        filename=name,
        content_disposition_type="attachment",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.post("/cases/{number}/report")
async def report(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    """The court report (blurred previews only) as PDF or HTML; written, recorded (``case.report``), sent."""
    from idolguard.cases.report import write_report

    form = await form_data(request)
    lang, fmt = _text(form, "lang", 8) or "both", _text(form, "format", 8) or "pdf"
    if lang not in ("ko", "en", "both") or fmt not in ("pdf", "html"):
        raise Denied(400, "Some fields are missing or invalid.")
    ws = ws_of(request)
    case = await run_in_threadpool(_case_row, ws, ctx, number)
    folder = Path(tempfile.mkdtemp(prefix=".download-", dir=ws.home))
    name = f"{case.number}-report-{lang}.{fmt}"
    try:
        await run_in_threadpool(
            write_report, ws.acting_as(actor_name(ctx.user.name)), case.number, folder / name, lang=lang, fmt=fmt
        )
    except IdolGuardError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return await run_in_threadpool(_show, request, ctx, case.number, error=exc, status=422)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    media = "application/pdf" if fmt == "pdf" else "text/html"
    return _download(folder, folder / name, name, media)


@router.post("/cases/{number}/package")
async def package(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    """The evidence package. With originals it needs the ``export`` permission (counsel) and a user not
    barred from seeing originals; ``hashes only`` is open to everyone who works on cases."""
    from idolguard.cases.package import build_package

    form = await form_data(request)
    hashes_only = _text(form, "hashes_only", 8) == "1"
    encrypt_to = _text(form, "encrypt_to", 4000) or None
    if not hashes_only and not (ctx.user.can("export") and ctx.user.may_reveal):
        raise Denied(403, "Only counsel may take originals out; choose hashes only.")
    ws = ws_of(request)
    case = await run_in_threadpool(_case_row, ws, ctx, number)
    folder = Path(tempfile.mkdtemp(prefix=".download-", dir=ws.home))
    name = f"{case.number}-package{'-hashes' if hashes_only else ''}.zip{'.age' if encrypt_to else ''}"
    try:
        await run_in_threadpool(
            build_package,
            ws.acting_as(actor_name(ctx.user.name)),
            case.number,
            folder / name,
            hashes_only=hashes_only,
            encrypt_to=encrypt_to,
        )
    except IdolGuardError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return await run_in_threadpool(_show, request, ctx, case.number, error=exc, status=422)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return _download(folder, folder / name, name, "application/octet-stream")


# --- accounts (sources and suspects) ---------------------------------------------------------------------


def _visible_accounts(ws: Workspace, who: Principal) -> list[dict[str, Any]]:
    from idolguard.cases.accounts import list_accounts

    rows = list_accounts(ws)
    if who.sees_whole:
        return rows
    seen = visible_items(ws, who, sorted({sha for r in rows for sha in r["items"]}))
    return [r for r in rows if set(r["items"]) & seen]


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.cases.accounts import alias_suggestions

    ws = ws_of(request)
    rows = _visible_accounts(ws, ctx.user)
    names = {f"{r['platform']}/{r['handle']}" for r in rows}
    try:
        hours = min(max(float(request.query_params.get("hours", "24")), 0.1), 24 * 365)
    except ValueError:
        hours = 24.0
    suggestions = [s for s in alias_suggestions(ws, hours) if set(s["accounts"]) <= names]
    by_id = {r["id"]: r for r in rows}
    return render(ctx, "accounts.html.j2", rows=rows, by_id=by_id, suggestions=suggestions, hours=hours)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(request: Request, account_id: int, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.db.models import Sighting

    ws = ws_of(request)
    rows = {r["id"]: r for r in _visible_accounts(ws, ctx.user)}
    if account_id not in rows:
        raise Denied(404, "Not found.")
    account = rows[account_id]
    seen = visible_items(ws, ctx.user, account["items"])
    with ws.sessions() as session:
        posts = [
            {"id": s.id, "item": s.item_sha256, "url": s.source_url, "seen_at": s.seen_at, "recorded_at": s.recorded_at}
            for s in session.scalars(
                select(Sighting)
                .where(Sighting.platform == account["platform"], Sighting.account == account["handle"])
                .order_by(Sighting.id)
            )
            if s.item_sha256 in seen
        ]
    return render(ctx, "account_detail.html.j2", a=account, posts=posts, others=rows)


@router.post("/accounts/alias", response_class=HTMLResponse)
async def alias(request: Request, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.cases.accounts import link_alias

    form = await form_data(request)
    ws = ws_of(request)
    first, second, reason = _text(form, "a", 300), _text(form, "b", 300), _text(form, "reason", 500)
    visible = await run_in_threadpool(_visible_accounts, ws, ctx.user)
    names = {f"{r['platform']}/{r['handle']}" for r in visible} | {str(r["id"]) for r in visible}
    if first not in names or second not in names:
        raise Denied(400, "No such record within your scope.")
    try:
        await run_in_threadpool(link_alias, ws.acting_as(actor_name(ctx.user.name)), first, second, reason)
    except IdolGuardError as exc:
        return render(ctx, "error.html.j2", status=422, code=422, message=exc)
    return RedirectResponse("/accounts", status_code=303)


@router.post("/accounts/record", response_class=HTMLResponse)
async def record(request: Request, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    """Create account records for every platform handle that sightings name."""
    from idolguard.cases.accounts import record_from_sightings

    ws = ws_of(request)
    await run_in_threadpool(record_from_sightings, ws.acting_as(actor_name(ctx.user.name)))
    return RedirectResponse("/accounts", status_code=303)
