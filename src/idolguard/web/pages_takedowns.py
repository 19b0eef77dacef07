"""Takedown pages: draft a notice from a case (recipient, legal basis, language, the sightings to report),
the required-elements check per field, the notice with its "fields to paste" view, sending by e-mail
(``[takedowns.smtp]``), marking answers and removal, escalation, the overdue list and statistics.

Every step calls ``idolguard.takedowns.notices`` like the command line, acting as the signed-in user. A notice
is visible when its case is (the case's artist in scope; 404 otherwise). Counsel, managers and admins work on
notices (``cases``); the others read them. The draft form checks the elements the chosen basis requires
before anything is written, and names each missing one next to its field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from idolguard.errors import IdolGuardError
from idolguard.intake.source_url import is_web_url
from idolguard.web.custody import actor_name
from idolguard.web.deps import Denied, PageContext, form_data, need, need_csrf, render, ws_of
from idolguard.web.i18n import N_, translator
from idolguard.web.pages_cases import _case_row, _text
from idolguard.web.sealed_form import SealedRoute
from idolguard.workspace import Workspace

router = APIRouter(route_class=SealedRoute)  # body limits by route, not by Content-Type (sealed_form.py)

# Labels of the notice elements (NoticeFields names), for the per-field check and the "fields to paste" view.
ELEMENTS = {
    "urls": N_("Exact URLs"),
    "description": N_("What the content is"),
    "artist": N_("Person depicted"),
    "reporter_name": N_("Your name"),
    "reporter_email": N_("Your e-mail"),
    "authority": N_("Authority to act for the artist"),
    "hashes": N_("Evidence hashes"),
    "captures": N_("Preservation records"),
    "good_faith": N_("Good-faith statement"),
    "accuracy_under_perjury": N_("Accuracy statement under penalty of perjury"),
    "signature": N_("Signature"),
    "copyrighted_work": N_("The copyrighted work"),
    "reporter_phone": N_("Phone"),
    "reporter_address": N_("Postal address"),
    "substantiation": N_("Reasons (substantiation)"),
}
MISSING_HELP = {
    "urls": N_("The case has no sighting with a URL: record where the material is first."),
    "reporter_name": N_("Give the name of the person sending the notice."),
    "reporter_email": N_("Give an e-mail address for the recipient's answer."),
    "authority": N_("Say what authorises the agency to act for the artist (e.g. the power of attorney)."),
    "signature": N_("A DMCA notice needs a physical or electronic signature."),
    "copyrighted_work": N_("A DMCA notice names the copyrighted work (the official footage used)."),
    "accuracy_under_perjury": N_("A DMCA notice needs the statement that it is accurate under penalty of perjury."),
    "good_faith": N_("This basis needs your good-faith statement: tick it if you make it. It is never assumed."),
    "substantiation": N_("Explain why the material is illegal."),
}
# The statements a sender may affirm in the draft form (takedowns.bases AFFIRM_KEYS), with the bases that have them.
AFFIRM_BOXES = {
    "good_faith": N_(
        "Good faith (EU DSA, DMCA): I believe in good faith that the information and allegations in this notice are accurate and complete, and that the use of the material is not authorised."  # noqa: E501
    ),
    "accuracy": N_(
        "Accuracy (DMCA): I state, under penalty of perjury, that the information in the notice is accurate and that I am authorised to act."  # noqa: E501
    ),
}
CHANNELS = {"email": N_("E-mail"), "web_form": N_("Web form"), "api": N_("Platform API"), "postal": N_("Post")}
STATUSES_SHOWN = ("draft", "sent", "acknowledged", "removed", "partially_removed", "rejected", "no_response")
N_("acknowledged")
N_("partially_removed")
N_("rejected")
N_("no_response")
N_("sent")
N_("draft")


def _case_of_notices(ws: Workspace) -> dict[int, tuple[str, str]]:
    """notice id -> (case number, case artist)."""
    from idolguard.cases.models import Case
    from idolguard.takedowns.models import Notice

    with ws.sessions() as session:
        return {
            nid: (number, artist)
            for nid, number, artist in session.execute(
                select(Notice.id, Case.number, Case.artist).join(Case, Case.id == Notice.case_id)
            ).tuples()
        }


def _notice_case(ws: Workspace, ctx: PageContext, notice_id: int) -> str:
    """The number of the notice's case (404 when the notice is absent or its case out of scope)."""
    found = _case_of_notices(ws).get(notice_id)
    if found is None or not ctx.user.sees_artist(found[1]):
        raise Denied(404, "Not found.")
    return found[0]


def _visible_notices(ws: Workspace, ctx: PageContext, cases: dict[int, tuple[str, str]]) -> set[int] | None:
    """Notices whose case the user sees (None: every notice, for users who see every artist)."""
    if ctx.user.unscoped:
        return None
    return {nid for nid, (_number, artist) in cases.items() if ctx.user.sees_artist(artist)}


@router.get("/takedowns", response_class=HTMLResponse)
def takedowns(request: Request, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.takedowns.notices import list_notices, stats

    ws = ws_of(request)
    overdue = request.query_params.get("overdue") == "1"
    status = request.query_params.get("status", "")
    case_filter = request.query_params.get("case", "").strip().upper()
    cases = _case_of_notices(ws)
    rows = [
        {**r, "case": cases[r["id"]][0]}
        for r in list_notices(ws, overdue=overdue)
        if r["id"] in cases and ctx.user.sees_artist(cases[r["id"]][1])
    ]
    if status in STATUSES_SHOWN:
        rows = [r for r in rows if r["status"] == status]
    if case_filter:
        rows = [r for r in rows if r["case"] == case_filter]
    figures = stats(ws, _visible_notices(ws, ctx, cases))
    return render(
        ctx,
        "takedowns.html.j2",
        rows=rows,
        overdue=overdue,
        chosen=status,
        case=case_filter,
        statuses=STATUSES_SHOWN,
        stats=figures,
        labels=_labels(ws, ctx.lang),
    )


def _labels(ws: Workspace, lang: str) -> dict[str, str]:
    """Recipient and legal-basis keys -> their human names in ``lang`` (lists and statistics show names, not
    keys like "x" or "eu_dsa_16"); a key no longer known is shown as it is."""
    from idolguard.takedowns.bases import BASES
    from idolguard.takedowns.recipients import load_recipients

    names = {key: r.name(lang) for key, r in load_recipients(ws.home).items()}
    return {**names, **{key: b.label(lang) for key, b in BASES.items()}}


@router.get("/takedowns/stats.png")
def stats_chart(request: Request, ctx: PageContext = Depends(need("read"))) -> Response:
    from idolguard.takedowns.notices import stats, stats_chart_png

    ws = ws_of(request)
    figures = stats(ws, _visible_notices(ws, ctx, _case_of_notices(ws)))
    # The reader's language: recipients' names (never keys like "x") and the chart's words.
    return Response(stats_chart_png(figures, _labels(ws, ctx.lang), ctx.lang), media_type="image/png")


# --- drafting ---------------------------------------------------------------------------------------------


def _draft_page(
    request: Request, ctx: PageContext, number: str, *, values: dict[str, Any], errors: dict[str, Any], status: int
) -> Response:
    from idolguard.cases.views import case_detail
    from idolguard.takedowns.bases import BASES
    from idolguard.takedowns.notices import _settings
    from idolguard.takedowns.recipients import load_recipients

    ws = ws_of(request)
    case = _case_row(ws, ctx, number)
    detail = case_detail(ws, case.number)
    settings = _settings(ws)
    defaults = {
        "reporter_name": settings.get("reporter_name", ""),
        "reporter_email": settings.get("reporter_email", ""),
        "authority": settings.get("authority", ""),
        "lang": "",
    }
    recipients = load_recipients(ws.home)
    return render(
        ctx,
        "takedown_new.html.j2",
        status=status,
        d=detail,
        recipients=sorted(recipients.values(), key=lambda r: r.key),
        bases=BASES,
        v={**defaults, **values},
        errors=errors,
        elements=ELEMENTS,
        channels=CHANNELS,
        basis_labels={key: b.label(ctx.lang) for key, b in BASES.items()},
        affirm_boxes=AFFIRM_BOXES,
        sightings=[s for s in detail["sightings"] if is_web_url(s["url"])],
    )


@router.get("/cases/{number}/takedowns/new", response_class=HTMLResponse)
def new_notice(request: Request, number: str, ctx: PageContext = Depends(need("cases"))) -> Response:
    return _draft_page(request, ctx, number, values={}, errors={}, status=200)


def _form_errors(ws: Workspace, number: str, values: dict[str, Any]) -> dict[str, str]:
    """Per-field errors for the draft form: unknown recipient/basis, and every element the basis requires
    that the form (or the case) does not give."""
    from idolguard.cases.views import case_detail
    from idolguard.takedowns.bases import BASES, NoticeFields
    from idolguard.takedowns.recipients import load_recipients

    errors: dict[str, str] = {}
    recipients = load_recipients(ws.home)
    recipient = recipients.get(values["recipient"])
    basis = BASES.get(values["basis"])
    if recipient is None:
        errors["recipient"] = N_("Choose a recipient.")
    if basis is None:
        errors["basis"] = N_("Choose a legal basis.")
    if recipient is None or basis is None:
        return errors
    if basis.key not in recipient.bases:
        errors["basis"] = N_("This recipient does not take notices on this basis.")
        return errors
    if values["lang"] not in ("", "ko", "en"):
        errors["lang"] = N_("Choose Korean or English.")
    if recipient.channel == "email" and "@" not in (values["to"] or recipient.address or ""):
        errors["to"] = N_("This recipient is reached by e-mail: give the address.")
    for name, value in values.items():
        if isinstance(value, str) and any(ch in value for ch in "\r\n\x00") and name not in ("substantiation",):
            errors[name] = N_("Line breaks are not allowed here.")
    detail = case_detail(ws, number)
    chosen = set(values["sightings"])
    urls = [s["url"] for s in detail["sightings"] if is_web_url(s["url"]) and (not chosen or s["id"] in chosen)]
    fields = NoticeFields(
        urls=urls,
        description="-",
        artist=detail["artist"],
        reporter_name=values["reporter_name"],
        reporter_email=values["reporter_email"] if "@" in values["reporter_email"] else "",
        authority=values["authority"],
        hashes=["-"],
        captures=[],
        good_faith="good_faith" in values["affirm"],
        accuracy_under_perjury="accuracy" in values["affirm"],
        signature=values["signature"],
        copyrighted_work=values["copyrighted_work"],
        substantiation=values["substantiation"] or "-",
    )
    own = {a.key for a in basis.affirmations}
    for key in values["affirm"]:
        if key not in own:
            errors.setdefault(f"affirm_{key}", N_("This legal basis has no such statement: untick it."))
    for name in basis.missing(fields):
        errors.setdefault(name, MISSING_HELP.get(name, N_("This element is required.")))
    return errors


@router.post("/cases/{number}/takedowns", response_class=HTMLResponse)
async def draft_notice(request: Request, number: str, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.takedowns.notices import DraftOptions, draft

    form = await form_data(request)
    ws = ws_of(request)
    case = await run_in_threadpool(_case_row, ws, ctx, number)
    raw_sightings = form.get("sightings") or []
    if isinstance(raw_sightings, str):
        raw_sightings = [raw_sightings]
    values: dict[str, Any] = {
        "recipient": _text(form, "recipient", 64),
        "basis": _text(form, "basis", 32),
        "lang": _text(form, "lang", 4),
        "to": _text(form, "to", 320),
        "reporter_name": _text(form, "reporter_name", 200),
        "reporter_email": _text(form, "reporter_email", 320),
        "authority": _text(form, "authority", 1000),
        "signature": _text(form, "signature", 200),
        "copyrighted_work": _text(form, "copyrighted_work", 1000),
        "substantiation": _text(form, "substantiation", 4000),
        "affirm": [key for key in AFFIRM_BOXES if _text(form, f"affirm_{key}", 4) == "1"],
        "again": _text(form, "again", 4) == "1",
        "sightings": [int(s) for s in raw_sightings if str(s).isdigit()],
    }
    from idolguard.takedowns.notices import _settings

    settings = _settings(ws)  # empty fields fall back to [takedowns] in config.toml, as on the command line
    for name in ("reporter_name", "reporter_email", "authority"):
        values[name] = values[name] or str(settings.get(name) or "")
    errors = await run_in_threadpool(_form_errors, ws, case.number, values)
    if errors:
        shown = {k: ctx.gettext(v) for k, v in errors.items()}
        return await run_in_threadpool(_draft_page, request, ctx, case.number, values=values, errors=shown, status=422)
    options = DraftOptions(
        case=case.number,
        recipient=values["recipient"],
        basis=values["basis"],
        lang=values["lang"] or None,
        sightings=tuple(values["sightings"]),
        to=values["to"] or None,
        reporter_name=values["reporter_name"],
        reporter_email=values["reporter_email"],
        authority=values["authority"],
        substantiation=values["substantiation"],
        signature=values["signature"],
        copyrighted_work=values["copyrighted_work"],
        affirm=tuple(values["affirm"]),
        again=values["again"],
    )
    try:
        ids = await run_in_threadpool(draft, ws.acting_as(actor_name(ctx.user.name)), options)
    except IdolGuardError as exc:
        return await run_in_threadpool(
            _draft_page, request, ctx, case.number, values=values, errors={"_": exc}, status=422
        )
    return RedirectResponse(f"/takedowns/{ids[0]}", status_code=303)


# --- one notice -------------------------------------------------------------------------------------------


def _notice_page(
    request: Request, ctx: PageContext, notice_id: int, *, error: str | BaseException = "", status: int = 200
) -> Response:
    from idolguard.takedowns.bases import get_basis
    from idolguard.takedowns.models import Notice
    from idolguard.takedowns.notices import _before_due as running
    from idolguard.takedowns.recipients import load_recipients

    ws = ws_of(request)
    number = _notice_case(ws, ctx, notice_id)
    with ws.sessions() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        session.expunge(notice)
    basis = get_basis(notice.basis)
    recipient = load_recipients(ws.home).get(notice.recipient)
    fields = notice.fields or {}
    missing = set(basis.missing(_fields(fields)))
    check = [
        {"name": name, "label": ELEMENTS.get(name, name), "ok": name not in missing, "help": MISSING_HELP.get(name, "")}
        for name in basis.required
    ]
    # Values are pasted into the recipient's form in the notice's language: the words that are ours (yes/no)
    # follow the notice, not the page; what people typed is pasted as typed.
    in_notice_lang = translator(notice.lang if notice.lang in ("ko", "en") else ctx.lang)
    # A draft made before source URLs were checked may list a non-web "URL": never offered for pasting, and
    # the page says the draft cannot be sent (``send`` refuses it too).
    not_web = [u for u in notice.urls or [] if not is_web_url(u)]
    if not_web and not error:
        error = ctx.gettext(N_("This notice lists an address that is not an http(s) URL; draft a new notice."))
    fields = {**fields, "urls": [u for u in fields.get("urls") or [] if is_web_url(u)]} if not_web else fields
    paste = [
        {"name": name, "label": ELEMENTS.get(name, name), "value": _pasteable(fields.get(name), in_notice_lang)}
        for name in ELEMENTS
        if fields.get(name) not in (None, "", [], False)
    ]
    return render(
        ctx,
        "takedown.html.j2",
        status=status,
        error=error,
        n=notice,
        case=number,
        recipient=recipient,
        recipient_name=recipient.name(ctx.lang) if recipient else notice.recipient,
        basis=basis,
        check=check,
        missing=missing,
        paste=paste,
        markable=("sent", "acknowledged", "removed", "partially_removed", "rejected", "no_response"),
        channels=CHANNELS,
        to_affirm=[a.key for a in basis.affirmations if a.field in missing],
        affirm_boxes=AFFIRM_BOXES,
        before_due=running(notice),
    )


def _is_before_due(ws: Workspace, notice_id: int) -> bool:
    from idolguard.takedowns.models import Notice
    from idolguard.takedowns.notices import _before_due as running

    with ws.sessions() as session:
        notice = session.get(Notice, notice_id)
        return notice is not None and running(notice)


def _fields(stored: dict[str, Any]) -> Any:
    from idolguard.takedowns.bases import NoticeFields

    return NoticeFields(**stored)


def _pasteable(value: Any, gettext: Any) -> str:
    if isinstance(value, bool):
        return str(gettext("yes") if value else gettext("no"))
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


@router.get("/takedowns/{notice_id}", response_class=HTMLResponse)
def notice_page(request: Request, notice_id: int, ctx: PageContext = Depends(need("read"))) -> Response:
    return _notice_page(request, ctx, notice_id)


async def _act(request: Request, ctx: PageContext, notice_id: int, fn: Any, *args: Any) -> Response:
    ws = ws_of(request)
    await run_in_threadpool(_notice_case, ws, ctx, notice_id)
    try:
        await run_in_threadpool(fn, ws.acting_as(actor_name(ctx.user.name)), notice_id, *args)
    except IdolGuardError as exc:
        return await run_in_threadpool(_notice_page, request, ctx, notice_id, error=exc, status=422)
    return RedirectResponse(f"/takedowns/{notice_id}", status_code=303)


@router.post("/takedowns/{notice_id}/send", response_class=HTMLResponse)
async def send_notice(request: Request, notice_id: int, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.takedowns.notices import send

    return await _act(request, ctx, notice_id, send)


@router.post("/takedowns/{notice_id}/mark", response_class=HTMLResponse)
async def mark_notice(request: Request, notice_id: int, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.takedowns.notices import mark

    form = await form_data(request)
    return await _act(
        request,
        ctx,
        notice_id,
        mark,
        _text(form, "status", 32),
        _text(form, "ref", 200) or None,
        _text(form, "note", 1000) or None,
    )


@router.post("/takedowns/{notice_id}/affirm", response_class=HTMLResponse)
async def affirm_notice(request: Request, notice_id: int, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    """The sender affirms statements on a draft (ticked boxes only; nothing ticked is refused)."""
    from idolguard.takedowns.notices import affirm

    form = await form_data(request)
    keys = [key for key in AFFIRM_BOXES if _text(form, f"affirm_{key}", 4) == "1"]
    return await _act(request, ctx, notice_id, affirm, keys)


@router.post("/takedowns/{notice_id}/escalate", response_class=HTMLResponse)
async def escalate_notice(request: Request, notice_id: int, ctx: PageContext = Depends(need_csrf("cases"))) -> Response:
    from idolguard.takedowns.notices import escalate

    ws = ws_of(request)
    await run_in_threadpool(_notice_case, ws, ctx, notice_id)
    form = await form_data(request)
    early = _text(form, "early", 4) == "1"
    if not early and await run_in_threadpool(_is_before_due, ws, notice_id):
        message = ctx.gettext(
            N_("The recipient still has time to act: to escalate before the due time, tick the confirmation.")
        )
        return await run_in_threadpool(_notice_page, request, ctx, notice_id, error=message, status=422)
    try:
        new_id = await run_in_threadpool(escalate, ws.acting_as(actor_name(ctx.user.name)), notice_id, early=early)
    except IdolGuardError as exc:
        return await run_in_threadpool(_notice_page, request, ctx, notice_id, error=exc, status=422)
    return RedirectResponse(f"/takedowns/{new_id}", status_code=303)
