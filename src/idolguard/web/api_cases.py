"""REST API for cases and takedown notices (``/api/v1/cases``, ``/api/v1/takedowns``).

The same rules as the pages (``pages_cases.py``, ``pages_takedowns.py``): reading needs ``read``, every change
needs ``cases`` (counsel, managers, admins) and a ``write`` token; a case, or a notice through its case, is
visible when its artist is in the user's scope (404 otherwise, like an absent one). Each change calls the same
``idolguard.cases`` / ``idolguard.takedowns`` functions as the command line and the pages, acting as
``web:NAME``, so each is a custody event. A draft missing elements its legal basis requires answers 422 with
one entry per field in ``error.fields``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import select

from idolguard.errors import IdolGuardError
from idolguard.web.custody import actor_name
from idolguard.web.roles import Principal
from idolguard.workspace import Workspace

NUMBER_PATTERN = r"^[Ii][Gg]-\d{4}-\d{4,6}$"
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
TEXT_BLOCK = r"^[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f]*$"


def _clean(value: str) -> str:
    """Trimmed, and a lone surrogate (valid JSON, not valid UTF-8) replaced rather than failing in the database."""
    return value.encode("utf-8", "replace").decode("utf-8").strip()


# Control characters (NUL breaks PostgreSQL text; line breaks would break notice headers) are refused by the
# schema's pattern, so a client sees the rule in the OpenAPI document.
Line = Annotated[str, Field(pattern=ONE_LINE), AfterValidator(_clean)]
Block = Annotated[str, Field(pattern=TEXT_BLOCK), AfterValidator(_clean)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class CaseOut(BaseModel):
    number: str
    title: str
    artist: str
    status: Literal["open", "gathering", "filed", "closed"]
    legal_hold: bool
    items: int
    links: int
    opened_at: datetime
    destroyed: bool
    retention_days: int | None
    retention_due: bool


class CasePage(BaseModel):
    cases: list[CaseOut]
    offset: int
    limit: int
    next_offset: int | None


class CaseLinkOut(BaseModel):
    kind: str
    ref: str
    added_by: str | None


class CaseFilingOut(BaseModel):
    kind: str
    reference: str
    filed_on: str
    body: str | None


class CaseNoteOut(BaseModel):
    id: int
    text: str
    author: str | None
    at: datetime


class CaseItemOut(BaseModel):
    sha256: str
    md5: str | None
    size: int | None
    media_type: str | None
    first_seen_at: datetime | None
    why: list[str] = Field(description="how the item came into the case (linked, incident N, capture N ...)")
    destroyed: bool


class CaseSightingOut(BaseModel):
    id: int
    item: str
    platform: str | None
    account: str | None
    url: str | None
    seen_at: datetime | None
    recorded_at: datetime


class CaseDetailOut(BaseModel):
    number: str
    title: str
    artist: str
    status: Literal["open", "gathering", "filed", "closed"]
    legal_hold: bool
    retention_days: int | None
    opened_at: datetime
    opened_by: str | None
    closed_at: datetime | None
    destroyed_at: datetime | None
    links: list[CaseLinkOut]
    assignees: list[dict[str, str]] = Field(description="`{person, role}`")
    filings: list[CaseFilingOut]
    notes: list[CaseNoteOut]
    items: list[CaseItemOut]
    sightings: list[CaseSightingOut]
    captures: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    origin_candidates: list[dict[str, Any]]


class CaseIn(BaseModel):
    title: Line = Field(min_length=1, max_length=300)
    artist: Line = Field(min_length=1, max_length=200)
    incidents: list[Id] = Field(default_factory=list, max_length=100)


class LinksIn(BaseModel):
    refs: list[Annotated[Line, Field(min_length=1, max_length=200)]] = Field(
        min_length=1,
        max_length=500,
        description="item SHA-256 (or 8+ hex digits), incident:N, sighting:N, capture:N, account:ID or "
        "account:PLATFORM/HANDLE",
    )


class LinkResult(BaseModel):
    kind: str
    ref: str
    added: bool
    also_in: list[str] = Field(description="other cases already holding the same record")


class StatusIn(BaseModel):
    status: Literal["open", "gathering", "filed", "closed"]
    kind: Literal["police", "court", "platform"] | None = Field(None, description="filing kind (status filed)")
    reference: Line | None = Field(None, max_length=200, description="the filing's reference number (filed)")
    filed_on: date | None = Field(None, description="the date on the filing (filed)")
    body: Line | None = Field(None, max_length=300, description="the police station, court or platform")


class StatusOut(BaseModel):
    case: str
    previous: str
    status: str
    filing: dict[str, Any] | None


class NoticeOut(BaseModel):
    id: int
    case: str
    recipient: str
    basis: str
    status: str
    urls: list[str]
    sent_at: datetime | None
    due_at: datetime | None
    overdue: bool
    recipient_ref: str | None
    attempt: int
    parent: int | None
    message_sha256: str | None
    last_error: str | None


class NoticePage(BaseModel):
    notices: list[NoticeOut]
    offset: int
    limit: int
    next_offset: int | None


class ElementCheck(BaseModel):
    name: str
    ok: bool


class NoticeDetailOut(NoticeOut):
    lang: str
    to: str | None
    subject: str | None
    body: str | None
    fields: dict[str, Any] = Field(description="the notice's elements (NoticeFields)")
    required: list[ElementCheck] = Field(description="each element the legal basis requires, and whether given")


class NoticeIn(BaseModel):
    case: str = Field(pattern=NUMBER_PATTERN, description="case number, e.g. IG-2026-0007")
    recipient: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    basis: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_\-]+$")
    lang: Literal["", "ko", "en"] = ""
    sightings: list[Id] = Field(default_factory=list, max_length=500, description="default: every sighting")
    to: Line = Field("", max_length=320, description="recipient address when it is typed (e-mail recipients)")
    reporter_name: Line = Field("", max_length=200, description="default: [takedowns] reporter_name")
    reporter_email: Line = Field("", max_length=320, description="default: [takedowns] reporter_email")
    authority: Line = Field("", max_length=1000, description="default: [takedowns] authority")
    substantiation: Block = Field("", max_length=4000)
    signature: Line = Field("", max_length=200)
    copyrighted_work: Line = Field("", max_length=1000)
    affirm: list[Literal["good_faith", "accuracy"]] = Field(
        default_factory=list,
        max_length=2,
        description="statements the sender affirms (never assumed): good_faith (EU DSA, DMCA), accuracy (DMCA, "
        "under penalty of perjury); a basis that needs one cannot be sent without it",
    )
    perjury: bool = Field(False, description="the same as affirming accuracy (DMCA)")
    again: bool = Field(False, description="draft even if a notice to this recipient covers the URLs")


class DraftOut(BaseModel):
    ids: list[int]


def _notice_out(row: dict[str, Any], case: str) -> NoticeOut:
    return NoticeOut(**{k: v for k, v in row.items() if k in NoticeOut.model_fields}, case=case)


def register(api: FastAPI, ws: Workspace, allowed: Callable[[str], Any]) -> None:
    """Add the case and takedown routes to the API app (``api.py`` owns auth and the error shape)."""
    from idolguard.web.api import ERRORS, ApiError

    errors = ERRORS
    fail = ApiError

    def case_of(who: Principal, number: str) -> Any:
        from idolguard.cases.service import CaseError, get_case

        try:
            with ws.sessions() as session:
                case = get_case(session, number)
                session.expunge(case)
        except CaseError as exc:
            raise fail(404, "not_found", "no such case") from exc
        if not who.sees_artist(case.artist):
            raise fail(404, "not_found", "no such case")
        return case

    def acting(who: Principal) -> Workspace:
        return ws.acting_as(actor_name(who.name))

    number_path = Path(pattern=NUMBER_PATTERN, description="case number, e.g. IG-2026-0007")

    @api.get("/cases", response_model=CasePage, responses=errors)
    def list_cases(
        who: Principal = Depends(allowed("read")),
        status: Literal["", "open", "gathering", "filed", "closed", "due"] = "",
        artist: str = Query("", max_length=200),
        q: str = Query("", max_length=200, description="in the title or number"),
        hold: bool = False,
        offset: int = Query(0, ge=0, le=10_000_000),
        limit: int = Query(50, ge=1, le=500),
    ) -> CasePage:
        from idolguard.cases.views import list_cases as rows_of

        rows = [r for r in rows_of(ws) if who.sees_artist(r["artist"])]
        if status == "due":
            rows = [r for r in rows if r["retention_due"]]
        elif status:
            rows = [r for r in rows if r["status"] == status]
        if artist.strip():
            rows = [r for r in rows if r["artist"] == artist.strip()]
        if hold:
            rows = [r for r in rows if r["legal_hold"]]
        if q.strip():
            needle = q.strip().lower()
            rows = [r for r in rows if needle in r["title"].lower() or needle in r["number"].lower()]
        page = rows[offset : offset + limit]
        return CasePage(
            cases=[CaseOut(**r) for r in page],
            offset=offset,
            limit=limit,
            next_offset=offset + limit if offset + limit < len(rows) else None,
        )

    @api.get("/cases/{number}", response_model=CaseDetailOut, responses=errors)
    def get_case(number: str = number_path, who: Principal = Depends(allowed("read"))) -> CaseDetailOut:
        from idolguard.cases.views import case_detail

        case = case_of(who, number)
        detail = case_detail(ws, case.number)
        return CaseDetailOut(**{k: v for k, v in detail.items() if k in CaseDetailOut.model_fields})

    @api.post("/cases", response_model=CaseDetailOut, status_code=201, responses=errors)
    def open_case(body: CaseIn, who: Principal = Depends(allowed("cases"))) -> CaseDetailOut:
        from idolguard.cases.service import open_case as open_in_ws
        from idolguard.cases.views import case_detail
        from idolguard.web.pages_more import visible_incident_ids

        if not who.sees_artist(body.artist):
            raise fail(404, "not_found", "no such artist within your scope")
        if body.incidents and not set(body.incidents) <= visible_incident_ids(ws, who):
            raise fail(404, "not_found", "no such incident within your scope")
        try:
            number = open_in_ws(acting(who), body.title, body.artist, body.incidents)
        except IdolGuardError as exc:
            raise fail(422, "refused", str(exc), refusal=exc) from exc
        detail = case_detail(ws, number)
        return CaseDetailOut(**{k: v for k, v in detail.items() if k in CaseDetailOut.model_fields})

    @api.post("/cases/{number}/links", response_model=list[LinkResult], responses=errors)
    def add_links(body: LinksIn, number: str = number_path, who: Principal = Depends(allowed("cases"))) -> Any:
        from idolguard.cases.service import add_to_case, parse_ref
        from idolguard.web.pages_cases import visible_items
        from idolguard.web.pages_more import visible_incident_ids

        case = case_of(who, number)
        try:
            with ws.sessions() as session:
                parsed = [parse_ref(session, r) for r in body.refs]
        except IdolGuardError as exc:
            raise fail(422, "invalid", f"refs: {exc}") from exc
        items = [p.ref for p in parsed if p.kind == "item"]
        incidents = {int(p.ref) for p in parsed if p.kind == "incident"}
        if set(items) - visible_items(ws, who, items) or incidents - visible_incident_ids(ws, who):
            raise fail(404, "not_found", "no such record within your scope")
        try:
            return add_to_case(acting(who), case.number, list(body.refs))
        except IdolGuardError as exc:
            raise fail(422, "refused", str(exc), refusal=exc) from exc

    @api.post("/cases/{number}/status", response_model=StatusOut, responses=errors)
    def change_status(body: StatusIn, number: str = number_path, who: Principal = Depends(allowed("cases"))) -> Any:
        from idolguard.cases.service import set_status

        case = case_of(who, number)
        try:
            return set_status(
                acting(who),
                case.number,
                body.status,
                filing_kind=body.kind,
                reference=body.reference or None,
                filed_on=body.filed_on.isoformat() if body.filed_on else None,
                body=body.body or None,
            )
        except IdolGuardError as exc:
            raise fail(422, "refused", str(exc), refusal=exc) from exc

    # --- takedowns -----------------------------------------------------------------------------------------

    def notice_cases() -> dict[int, tuple[str, str]]:
        from idolguard.web.pages_takedowns import _case_of_notices

        return _case_of_notices(ws)

    @api.get("/takedowns", response_model=NoticePage, responses=errors)
    def list_notices(
        who: Principal = Depends(allowed("read")),
        status: Literal[
            "", "draft", "sent", "acknowledged", "removed", "partially_removed", "rejected", "no_response"
        ] = "",
        case: str = Query("", max_length=20, pattern=r"^$|" + NUMBER_PATTERN[1:]),
        overdue: bool = False,
        offset: int = Query(0, ge=0, le=10_000_000),
        limit: int = Query(50, ge=1, le=500),
    ) -> NoticePage:
        from idolguard.takedowns.notices import list_notices as rows_of

        cases = notice_cases()
        rows = [
            _notice_out(r, cases[r["id"]][0])
            for r in rows_of(ws, overdue=overdue)
            if r["id"] in cases and who.sees_artist(cases[r["id"]][1])
        ]
        if status:
            rows = [r for r in rows if r.status == status]
        if case:
            rows = [r for r in rows if r.case == case.upper()]
        return NoticePage(
            notices=rows[offset : offset + limit],
            offset=offset,
            limit=limit,
            next_offset=offset + limit if offset + limit < len(rows) else None,
        )

    @api.get("/takedowns/{notice_id}", response_model=NoticeDetailOut, responses=errors)
    def get_notice(
        notice_id: int = Path(ge=1, le=2**31 - 1), who: Principal = Depends(allowed("read"))
    ) -> NoticeDetailOut:
        return notice_detail(who, notice_id)

    def notice_detail(who: Principal, notice_id: int) -> NoticeDetailOut:
        from idolguard.takedowns.bases import NoticeFields, get_basis
        from idolguard.takedowns.models import Notice
        from idolguard.takedowns.notices import list_notices as rows_of

        found = notice_cases().get(notice_id)
        if found is None or not who.sees_artist(found[1]):
            raise fail(404, "not_found", "no such notice")
        with ws.sessions() as session:
            notice = session.scalars(select(Notice).where(Notice.id == notice_id)).one()
            session.expunge(notice)
        row = next(r for r in rows_of(ws) if r["id"] == notice_id)
        basis = get_basis(notice.basis)
        missing = set(basis.missing(NoticeFields(**(notice.fields or {}))))
        return NoticeDetailOut(
            **_notice_out(row, found[0]).model_dump(),
            lang=notice.lang,
            to=notice.to_address,
            subject=notice.subject,
            body=notice.body,
            fields=dict(notice.fields or {}),
            required=[ElementCheck(name=name, ok=name not in missing) for name in basis.required],
        )

    @api.post(
        "/takedowns",
        response_model=NoticeDetailOut,
        status_code=201,
        responses={
            **errors,
            422: {
                "model": errors[422]["model"],
                "description": "invalid parameters, or required elements missing (one entry per field in "
                "`error.fields`)",
            },
        },
    )
    def draft_notice(body: NoticeIn, who: Principal = Depends(allowed("cases"))) -> NoticeDetailOut:
        from idolguard.takedowns.notices import DraftOptions, _settings, draft
        from idolguard.web.pages_takedowns import _form_errors

        case = case_of(who, body.case)
        settings = _settings(ws)
        values: dict[str, Any] = body.model_dump()
        values["affirm"] = list(dict.fromkeys([*body.affirm, *(["accuracy"] if body.perjury else [])]))
        for name in ("reporter_name", "reporter_email", "authority"):
            values[name] = values[name] or str(settings.get(name) or "")
        problems = _form_errors(ws, case.number, values)
        if problems:
            fields = [{"field": name, "message": message} for name, message in sorted(problems.items())]
            raise fail(
                422,
                "missing_elements",
                "the notice is incomplete: " + ", ".join(f["field"] for f in fields),
                fields,
            )
        options = DraftOptions(
            case=case.number,
            recipient=body.recipient,
            basis=body.basis,
            lang=body.lang or None,
            sightings=tuple(body.sightings),
            to=body.to or None,
            reporter_name=values["reporter_name"],
            reporter_email=values["reporter_email"],
            authority=values["authority"],
            substantiation=body.substantiation,
            signature=body.signature,
            copyrighted_work=body.copyrighted_work,
            affirm=tuple(values["affirm"]),
            again=body.again,
        )
        try:
            ids = draft(acting(who), options)
        except IdolGuardError as exc:
            raise fail(422, "refused", str(exc), refusal=exc) from exc
        return notice_detail(who, ids[0])
