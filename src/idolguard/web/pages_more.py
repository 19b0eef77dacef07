"""Incidents (list, detail with timeline, accounts and the spread chart), artists (gallery, consent reference,
thresholds, enrolment from uploads) and banks (counts, enable/disable, hash-list import/export, a match
debugger). Scoping: an incident is visible when one of its items is; an artist when in the user's scope."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from idolguard.errors import IdolGuardError
from idolguard.web.custody import actor_name
from idolguard.web.deps import Denied, PageContext, need, need_csrf, render, ws_of
from idolguard.web.i18n import N_
from idolguard.web.models import Review
from idolguard.web.roles import Principal
from idolguard.web.sealed_form import SealedRoute, takes_files
from idolguard.web.triage import scoped
from idolguard.workspace import Workspace

router = APIRouter(route_class=SealedRoute)  # file forms spool sealed (sealed_form.py)


def visible_incident_ids(ws: Workspace, who: Principal) -> set[int]:
    from idolguard.incidents.models import Incident, IncidentMember

    with ws.sessions() as session:
        query = scoped(
            select(IncidentMember.incident_id).join(Review, Review.item_sha256 == IncidentMember.item_sha256), who
        )
        direct = set(session.scalars(query))
        # Merged incidents show under their surviving root.
        parents = dict(session.execute(select(Incident.id, Incident.merged_into)).all())
    out = set()
    for incident_id in direct:
        seen = set()
        while parents.get(incident_id) is not None and incident_id not in seen:
            seen.add(incident_id)
            incident_id = parents[incident_id]
        out.add(incident_id)
    return out


def item_incidents(ws: Workspace, who: Principal, sha: str, ctx: PageContext) -> list[dict[str, Any]]:
    """The incidents item ``sha`` belongs to, under their surviving root (merged ones show there), that ``who``
    may open: the rule of ``visible_incident_ids`` (an incident is visible when one of its items is), asked
    for this item's membership alone (a scoped query of one row, not every incident). Title said in the
    reader's language, as on the incidents page."""
    from idolguard.coded_text import recognised
    from idolguard.incidents.models import Incident, IncidentMember
    from idolguard.incidents.sync import TITLES, root_incident

    with ws.sessions() as session:
        query = scoped(
            select(IncidentMember.incident_id)
            .join(Review, Review.item_sha256 == IncidentMember.item_sha256)
            .where(IncidentMember.item_sha256 == sha),
            who,
        )
        found: list[Incident] = []
        for incident_id in session.scalars(query):
            incident = session.get(Incident, root_incident(session, incident_id))
            if incident is not None and incident not in found:
                found.append(incident)
        rows = [{"id": i.id, "state": i.state, "title": i.title, **recognised("title", i.title, TITLES)} for i in found]
    return [_said_in_language(row, ctx) for row in rows]


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.incidents.views import list_incidents

    ws = ws_of(request)
    allowed = visible_incident_ids(ws, ctx.user)
    rows = [_said_in_language(r, ctx) for r in list_incidents(ws) if r["id"] in allowed]
    return render(ctx, "incidents.html.j2", rows=rows)


def _incident(request: Request, ctx: PageContext, incident_id: int) -> dict:
    from idolguard.incidents.views import incident_detail

    ws = ws_of(request)
    if incident_id not in visible_incident_ids(ws, ctx.user):
        raise Denied(404, "Not found.")
    try:
        detail = incident_detail(ws, incident_id)
    except IdolGuardError as exc:
        raise Denied(404, "Not found.") from exc
    return _said_in_language(detail, ctx)


def _said_in_language(detail: dict, ctx: PageContext) -> dict:
    """The incident's title and its members' reasons, which the incidents area writes as English sentences,
    in the reader's language from their codes (``coded_text``); other text (a title a person gave) as stored."""
    from idolguard.coded_text import said
    from idolguard.incidents.sync import MEMBER_REASONS, TITLES

    forms = {**MEMBER_REASONS, **TITLES}

    def lookup(code: str) -> str | None:
        return ctx.gettext(forms[code]) if code in forms else None

    out = {**detail, "title_text": said(detail, "title", lookup)}
    if isinstance(detail.get("items"), list):  # the incident page's members (the list has only counts)
        out["items"] = [{**item, "reason_text": said(item, "reason", lookup)} for item in detail["items"]]
    return out


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(request: Request, incident_id: int, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.incidents.models import INCIDENT_STATES

    return render(ctx, "incident.html.j2", d=_incident(request, ctx, incident_id), states=INCIDENT_STATES)


@router.post("/incidents/{incident_id}/state")
async def incident_state(
    request: Request, incident_id: int, ctx: PageContext = Depends(need_csrf("close"))
) -> Response:
    """Managers move an incident (e.g. to ``closed``); the incidents area writes the custody event."""
    from starlette.concurrency import run_in_threadpool

    from idolguard.incidents.views import set_state

    _incident(request, ctx, incident_id)
    form = await request.form()
    try:
        await run_in_threadpool(
            set_state,
            ws_of(request).acting_as(actor_name(ctx.user.name)),
            incident_id,
            str(form.get("state") or ""),
            str(form.get("reason") or "")[:500] or None,
        )
    except IdolGuardError as exc:
        return render(ctx, "error.html.j2", status=400, code=400, message=exc)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.get("/incidents/{incident_id}/spread.svg")
def spread(request: Request, incident_id: int, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.incidents.views import spread_chart_svg

    return Response(spread_chart_svg(_incident(request, ctx, incident_id), ctx.lang), media_type="image/svg+xml")


# --- artists ---------------------------------------------------------------------------------------------


@router.get("/artists", response_class=HTMLResponse)
def artists(request: Request, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.gallery.models import Artist, ArtistReference
    from idolguard.gallery.store import list_artists, reference_embedding_status, reference_warning

    ws = ws_of(request)
    rows = [a for a in list_artists(ws) if ctx.user.sees_artist(a["name"])]
    with ws.sessions() as session:
        refs: dict[str, list[str]] = {}
        for name, crop in session.execute(
            select(Artist.name, ArtistReference.crop_sha256).join(
                ArtistReference, Artist.id == ArtistReference.artist_id
            )
        ):
            refs.setdefault(name, []).append(crop)
    from idolguard.faces.analysis import REFERENCE_EMBEDDING
    from idolguard.signals.official import official_counts

    # per artist, the references ``artists reembed`` would convert (admins get a button: POST /admin/reembed)
    reembed_rows = {
        a["name"]: n
        for a in rows
        if (n := sum(c for kind, c in a["reference_embeddings"].items() if kind != REFERENCE_EMBEDDING))
    }
    # References embedded otherwise than the thresholds were calibrated for (their artists are never decided
    # ``match`` until ``idolguard artists reembed``): said on the page, in the page's language. Counted over
    # the artists this user sees only: an artist-scoped user must not learn of other artists or their photos.
    status = reference_embedding_status(ws)
    if not ctx.user.unscoped:
        shown = {a["name"] for a in rows}
        status["artists"] = [name for name in status["artists"] if name in shown]
        status["mismatched"] = sum(
            c for a in rows for kind, c in a["reference_embeddings"].items() if kind != status["calibrated_for"]
        )
    reembed = reference_warning(status, ctx.lang)
    return render(
        ctx,
        "artists.html.j2",
        rows=rows,
        refs=refs,
        official=official_counts(ws),
        reembed=reembed,
        reembed_rows=reembed_rows,
    )


@router.post("/artists/enrol", response_class=HTMLResponse)
@takes_files
async def enrol(request: Request, ctx: PageContext = Depends(need_csrf("artists"))) -> Response:
    from starlette.concurrency import run_in_threadpool

    from idolguard.faces.analysis import FaceAnalyzer
    from idolguard.gallery.store import GalleryError, enrol_artist
    from idolguard.web.uploads import TooLarge, store

    form = await request.form(max_files=50)
    name = str(form.get("name") or "").strip()[:200]
    if name:
        from idolguard.web.artist_names import canonical_artist

        name = await run_in_threadpool(canonical_artist, ws_of(request), name, ctx.user.artists)
    if not name or not ctx.user.sees_artist(name):
        raise Denied(400, "Give an artist name within your scope.")
    parts = [(f.filename or "photo", f.file) for f in form.getlist("photos") if hasattr(f, "file")]
    ws = ws_of(request)
    with tempfile.TemporaryDirectory(dir=ws.home) as tmp:
        try:
            got = await run_in_threadpool(store, Path(tmp) / "photos", parts, 200 * 1024 * 1024)
        except TooLarge as exc:
            raise Denied(413, "The upload is too large.") from exc
        photos = [Path(tmp) / "photos" / n for n in got.files]
        try:
            result = await run_in_threadpool(
                enrol_artist,
                ws.acting_as(actor_name(ctx.user.name)),
                name,
                photos,
                str(form.get("consent_ref") or "") or None,
                FaceAnalyzer(),
            )
        except GalleryError as exc:
            if not exc.outcomes:
                return render(ctx, "error.html.j2", status=400, code=400, message=exc)
            # Nothing was stored: say so, and why each photo could not be used.
            rows = _enrol_rows([o.as_dict() for o in exc.outcomes], [], got.display, ctx.lang, name)
            return render(ctx, "enrolled.html.j2", status=400, artist_name=name, rows=rows, refused=exc, general=[])
        except IdolGuardError as exc:
            return render(ctx, "error.html.j2", status=400, code=400, message=exc)
    from idolguard.gallery.store import advice_lines

    data = result.as_dict()
    rows = _enrol_rows(data["references"], data["lookalikes"], got.display, ctx.lang, name)
    general = advice_lines(name, result.advice, ctx.lang)
    return render(
        ctx, "enrolled.html.j2", artist_name=name, rows=rows, refused=None, general=general, created=data["created"]
    )


def _enrol_rows(
    references: list[dict[str, Any]], lookalikes: list[dict[str, Any]], display: dict[str, str], lang: str, name: str
) -> list[dict[str, Any]]:
    """One row per uploaded photo: the name it was uploaded under, accepted or why not (from the reason's code),
    and its own warnings (a face that looks more like another enrolled artist), in the page's language."""
    from idolguard.gallery.messages import lookalike

    rows = []
    for ref in references:
        stored = Path(str(ref.get("path") or "")).name
        shown_name = display.get(stored, stored)
        warnings = [
            lookalike(
                lang,
                photo=shown_name,
                other=hit["other"],
                other_score=hit["other_score"],
                artist=name,
                score="-" if hit.get("score") is None else f"{hit['score']:.2f}",
            )
            for hit in lookalikes
            if hit.get("photo") == stored
        ]
        reason = {
            "error": ref.get("reason"),
            "error_code": ref.get("reason_code"),
            "error_params": ref.get("reason_params"),
        }
        rows.append({"name": shown_name, "accepted": ref.get("accepted"), "reason": reason, "warnings": warnings})
    return rows


@router.post("/artists/{name}/threshold")
async def threshold(request: Request, name: str, ctx: PageContext = Depends(need_csrf("artists"))) -> Response:
    from idolguard.gallery.store import set_threshold

    form = await request.form()
    if not ctx.user.sees_artist(name):
        raise Denied(404, "Not found.")
    raw = str(form.get("threshold") or "").strip()
    try:
        value = float(raw) if raw else None
        set_threshold(
            ws_of(request).acting_as(actor_name(ctx.user.name)), name, value, str(form.get("reason") or "") or None
        )
    except (ValueError, IdolGuardError) as exc:
        return render(ctx, "error.html.j2", status=400, code=400, message=exc)
    return RedirectResponse("/artists", status_code=303)


# --- banks -----------------------------------------------------------------------------------------------
# Banks are the workspace's, shared by every artist. Their names, kinds, thresholds and states are settings
# anyone who reads sees; their entries are hashes of items (an entry added from an item names it in
# ``source_item``), so a user who does not see the whole workspace (artist-scoped, or not seeing unattributed
# items) is told only of entries and matches of items they see (``banks_seen``, the page and ``GET
# /api/v1/banks``; webtry left item 12): an entry of an item they see, an entry with no item (imported or added
# by hand, like an unattributed item) when their role sees unattributed items, and matches of items they see.
# The match debugger compares with those entries only. Changing, importing and exporting a bank (every
# artist's hashes) needs a user who sees the whole workspace (``need_whole_banks``): 403 for anyone else.
WHOLE_BANKS = N_("Only a user who sees the whole workspace can change, import or export a hash bank.")


def need_whole_banks() -> Any:
    """``need_csrf("banks")`` for a user who sees the whole workspace (403 with ``WHOLE_BANKS`` otherwise)."""

    def dependency(ctx: PageContext = Depends(need_csrf("banks"))) -> PageContext:
        if not ctx.user.sees_whole:
            raise Denied(403, WHOLE_BANKS)
        return ctx

    return dependency


def entry_seen(who: Principal) -> Any:
    """A condition on ``BankEntry``: the entries ``who`` is told of (all for one who sees the whole workspace)."""
    from sqlalchemy import or_, true

    from idolguard.signals.models import BankEntry

    if who.sees_whole:
        return true()
    of_item = BankEntry.source_item.in_(scoped(select(Review.item_sha256), who))
    if who.sees_unattributed:
        return or_(of_item, BankEntry.source_item.is_(None))
    return of_item


def banks_seen(ws: Workspace, who: Principal) -> list[dict[str, Any]]:
    """``signals.banks.list_banks`` as ``who`` may see it: for one who does not see the whole workspace, each
    bank's entries and matches counted over the entries and matched items they see."""
    from sqlalchemy import func

    from idolguard.signals.banks import list_banks
    from idolguard.signals.models import Bank, BankEntry, EntryHit

    rows = list_banks(ws)
    if who.sees_whole:
        return rows
    with ws.sessions() as session:
        entries = dict(
            session.execute(
                select(BankEntry.bank_id, func.count(BankEntry.id)).where(entry_seen(who)).group_by(BankEntry.bank_id)
            )
            .tuples()
            .all()
        )
        matches = dict(
            session.execute(
                select(BankEntry.bank_id, func.count())
                .join(EntryHit, EntryHit.entry_id == BankEntry.id)
                .where(EntryHit.item_sha256.in_(scoped(select(Review.item_sha256), who)))
                .group_by(BankEntry.bank_id)
            )
            .tuples()
            .all()
        )
        ids = dict(session.execute(select(Bank.name, Bank.id)).tuples().all()) if rows else {}
    return [
        {**b, "entries": int(entries.get(ids.get(b["name"]), 0)), "matches": int(matches.get(ids.get(b["name"]), 0))}
        for b in rows
    ]


@router.get("/banks", response_class=HTMLResponse)
def banks(request: Request, ctx: PageContext = Depends(need("read"))) -> Response:
    return render(ctx, "banks.html.j2", rows=banks_seen(ws_of(request), ctx.user), nearest=None)


@router.post("/banks/{name}/toggle")
def toggle(request: Request, name: str, ctx: PageContext = Depends(need_whole_banks())) -> Response:
    from idolguard.signals.banks import list_banks, set_enabled

    ws = ws_of(request)
    current = {b["name"]: b["enabled"] for b in list_banks(ws)}
    if name not in current:
        raise Denied(404, "Not found.")
    set_enabled(ws.acting_as(actor_name(ctx.user.name)), name, None, not current[name])
    return RedirectResponse("/banks", status_code=303)


@router.post("/banks/{name}/export")
def export(request: Request, name: str, ctx: PageContext = Depends(need_whole_banks())) -> Response:
    from idolguard.signals.exchange import export_bank

    ws = ws_of(request)
    with tempfile.TemporaryDirectory(dir=ws.home) as tmp:
        dest = Path(tmp) / f"{name}.txt"
        try:
            export_bank(
                ws.acting_as(actor_name(ctx.user.name)), name, "threatexchange", dest, f"web export by {ctx.user.name}"
            )
        except IdolGuardError as exc:
            return render(ctx, "error.html.j2", status=400, code=400, message=exc)
        data = dest.read_bytes()
    return Response(
        data, media_type="text/plain", headers={"content-disposition": f'attachment; filename="{name}-hashes.txt"'}
    )


@router.post("/banks/{name}/import", response_class=HTMLResponse)
@takes_files
async def import_hashes(request: Request, name: str, ctx: PageContext = Depends(need_whole_banks())) -> Response:
    from starlette.concurrency import run_in_threadpool

    from idolguard.signals.exchange import import_file
    from idolguard.web.uploads import TooLarge, store

    form = await request.form(max_files=1)
    upload = form.get("file")
    fmt = str(form.get("format") or "threatexchange")
    if not hasattr(upload, "file"):
        raise Denied(400, "Choose a file.")
    ws = ws_of(request)
    with tempfile.TemporaryDirectory(dir=ws.home) as tmp:
        try:
            got = await run_in_threadpool(store, Path(tmp) / "in", [("hashes.txt", upload.file)], 512 * 1024 * 1024)  # type: ignore[union-attr]
        except TooLarge as exc:
            raise Denied(413, "The upload is too large.") from exc
        try:
            report = await run_in_threadpool(
                import_file, ws.acting_as(actor_name(ctx.user.name)), Path(tmp) / "in" / got.files[0], name, fmt
            )
        except IdolGuardError as exc:
            return render(ctx, "error.html.j2", status=400, code=400, message=exc)
    from idolguard.signals.banks import list_banks

    # On the banks page (an "Error 200" page said a successful import before), with what happened.
    return render(
        ctx,
        "banks.html.j2",
        status=200 if report.imported else 422,
        rows=list_banks(ws),
        nearest=None,
        imported=_imported(report, ctx),
        imported_ok=report.imported,
    )


def _imported(report: Any, ctx: PageContext) -> str:
    """What an import did, in the reader's language: how many hashes were added, or why nothing was (the page
    printed the added entries' ids, and an empty list when bad lines stopped the import)."""
    if report.imported:
        return ctx.gettext(
            N_("{added} hash(es) added to the bank, {duplicates} already in it."),
            added=len(report.added),
            duplicates=report.duplicates,
        )
    if report.rejected_count:
        lines = ", ".join(str(r.line) for r in report.rejected[:10]) + (", …" if report.rejected_count > 10 else "")
        return ctx.gettext(
            N_("Nothing was imported: {n} line(s) are not valid hashes (lines {lines})."),
            n=report.rejected_count,
            lines=lines,
        )
    return ctx.gettext(N_("Nothing was imported: the file has no hash."))


@router.post("/banks/debug", response_class=HTMLResponse)
@takes_files
async def debug(request: Request, ctx: PageContext = Depends(need_csrf("read"))) -> Response:
    """Match debugger: PDQ of an uploaded image and the nearest bank entries, with distances (no threshold)."""
    from starlette.concurrency import run_in_threadpool

    from idolguard.web.uploads import TooLarge, store

    form = await request.form(max_files=1)
    upload = form.get("image")
    if not hasattr(upload, "file"):
        raise Denied(400, "Choose a file.")
    ws = ws_of(request)
    with tempfile.TemporaryDirectory(dir=ws.home) as tmp:
        try:
            got = await run_in_threadpool(store, Path(tmp) / "in", [("probe", upload.file)], 100 * 1024 * 1024)  # type: ignore[union-attr]
        except TooLarge as exc:
            raise Denied(413, "The upload is too large.") from exc
        try:
            result = await run_in_threadpool(nearest_entries, ws, Path(tmp) / "in" / got.files[0], ctx.user)
        except IdolGuardError as exc:
            return render(ctx, "error.html.j2", status=400, code=400, message=exc)
    return render(ctx, "banks.html.j2", rows=banks_seen(ws, ctx.user), nearest=result)


def nearest_entries(ws: Workspace, path: Path, who: Principal, limit: int = 10) -> dict:
    import numpy as np

    from idolguard.signals.compute import image_signals
    from idolguard.signals.models import Bank, BankEntry

    signals = image_signals(path, ws.config.limits)
    with ws.sessions() as session:
        rows = session.execute(
            select(BankEntry.id, BankEntry.value, Bank.name, Bank.pdq_threshold, BankEntry.enabled)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(BankEntry.signal_type == "pdq", entry_seen(who))  # only entries the reader is told of
        ).all()
    if not rows:
        return {"pdq": signals["pdq"], "quality": signals["pdq_quality"], "entries": []}
    hashes = np.stack([np.frombuffer(bytes.fromhex(r.value), dtype=np.uint8) for r in rows])
    variants = [np.frombuffer(bytes.fromhex(v), dtype=np.uint8) for v in signals["pdq_dihedral"]]
    distances = np.stack([np.unpackbits(hashes ^ v, axis=1).sum(axis=1) for v in variants])  # (8, N)
    best_variant = distances.argmin(axis=0)
    best = distances.min(axis=0)
    order = np.argsort(best)[:limit]
    from idolguard.signals.pdq import DIHEDRAL

    names = [str(n) for n in DIHEDRAL]
    entries = [
        {
            "entry": rows[i].id,
            "bank": rows[i].name,
            "distance": int(best[i]),
            "threshold": rows[i].pdq_threshold,
            "would_match": bool(best[i] <= rows[i].pdq_threshold and rows[i].enabled),
            "transform": names[int(best_variant[i])]
            if int(best_variant[i]) < len(names)
            else str(int(best_variant[i])),
        }
        for i in order
    ]
    return {"pdq": signals["pdq"], "quality": signals["pdq_quality"], "entries": entries}
