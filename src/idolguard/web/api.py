"""REST API ``/api/v1``: bearer tokens (``Authorization: Bearer TOKEN``), the same authorisation rules as the
pages, cursor pagination (``next_cursor``; the older ``offset`` stops at ``MAX_OFFSET`` with a 400 that says
to use the cursor), one error shape ``{"error": {"code", "message"}}``, OpenAPI at ``/api/v1/openapi.json``.
No cookie is ever accepted here, so there is no CSRF surface.

401: no or invalid token. 403: valid token but the role or token scope does not allow the action. 404: absent
or outside the user's artist scope (the same answer, so scope does not leak existence). 413 (``too_large``): an
upload over the workspace's upload limit, or any other body (JSON) over 1 MiB, refused before it is read
(``reason``: ``request.too_large``, ``params.limit``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from idolguard.error_messages import MESSAGES
from idolguard.errors import ErrorCode, IdolGuardError, code_of, error_params
from idolguard.web import accounts, jobs, triage, uploads
from idolguard.web.models import STATUSES, Job, Review
from idolguard.web.roles import Principal
from idolguard.web.sealed_form import RequestTooLarge, SealedRoute, gated
from idolguard.workspace import Workspace

SHA_PATTERN = r"^[0-9a-f]{64}$"
SHA = re.compile(SHA_PATTERN)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[dict[str, str]] | None = None,
        refusal: BaseException | None = None,
    ) -> None:
        self.status, self.code, self.message, self.fields = status, code, message, fields
        # A domain refusal's stable code and values, so clients can say it in their own language.
        self.reason = (
            str(code_of(refusal)) if refusal is not None and code_of(refusal) is not ErrorCode.GENERIC else None
        )
        self.params = error_params(refusal) if self.reason and refusal is not None else None


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldError] | None = Field(None, description="one entry per invalid or missing field, when known")
    reason: str | None = Field(
        None, description="stable code of a refused action (idolguard.errors.ErrorCode), when it has one"
    )
    params: dict[str, Any] | None = Field(None, description="the values the reason's message names")


class Error(BaseModel):
    error: ErrorBody


# The older ``offset`` paging skips rows of the merged queue order, so a page costs what it skips (offset 2000:
# p95 403 ms at 100,000 items, docs/BENCHMARKS.md); up to here it stays within the pages' budget, deeper pages
# are refused with a 400 that points to ``cursor`` (constant cost per page).
MAX_OFFSET = 500

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "missing or invalid token"},
    403: {"model": Error, "description": "not allowed for this role or token scope"},
    404: {"model": Error, "description": "not found (or outside your artist scope)"},
    422: {"model": Error, "description": "invalid parameters"},
}


class ItemOut(BaseModel):
    sha256: str
    status: str
    version: int
    assignee: str | None
    artist: str | None
    artist_decision: str | None
    similarity: float | None
    manipulation_score: float | None
    verdict: str | None
    platform: str | None
    matches: int
    sightings: int
    fan_reported: bool
    media_type: str
    risk: float
    first_seen_at: datetime
    updated_at: datetime
    updated_by: str | None


class ItemPage(BaseModel):
    items: list[ItemOut]
    offset: int
    limit: int
    next_offset: int | None
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page (constant-time paging)")


class DecisionIn(BaseModel):
    status: Literal["new", "in_review", "confirmed_abuse", "not_our_artist", "authentic", "duplicate"]
    version: int = Field(ge=1, le=2**31 - 1)
    note: str = Field("", max_length=2000)


class JobOut(BaseModel):
    id: int
    kind: str
    state: str
    total: int
    done: int
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    results: list[dict[str, Any]]


HttpUrlText = Annotated[str, Field(pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$", max_length=2000)]


class CaptureIn(BaseModel):
    urls: list[HttpUrlText] = Field(min_length=1, max_length=100)
    note: str = Field("", max_length=2000)


class IncidentOut(BaseModel):
    id: int
    title: str | None
    state: str
    items: int
    sightings: int
    platforms: list[str]
    accounts: int
    first_seen: str | None
    last_seen: str | None


class ArtistOut(BaseModel):
    name: str
    references: int
    consent_ref: str | None
    threshold: float | None


class BankOut(BaseModel):
    name: str
    kind: str
    enabled: bool
    entries: int
    matches: int
    pdq_threshold: int


class C2paAssertionOut(BaseModel):
    action: str | None = None
    digital_source_type: str | None = Field(None, description="IPTC digital source type, e.g. trainedAlgorithmicMedia")
    software_agent: str | None = None
    active: bool | None = Field(None, description="in the active manifest (not an ingredient's)")


class ContentCredentialsOut(BaseModel):
    """The C2PA summary's key fields, the ones the item page shows (the raw summary only for admins)."""

    present: bool | None = Field(description="manifest found; null when the file could not be checked")
    signature_valid: bool | None = None
    trusted_signer: bool | None = Field(None, description="signed by a certificate on the trust list")
    signer: str | None = None
    signed_at: datetime | None = Field(None, description="signing time (ISO 8601), when the signature carries one")
    claim_generator: str | None = Field(None, description="the software that made the claim")
    ai_generated: bool | None = Field(None, description="the manifest declares generative AI")
    ai_assertions: list[C2paAssertionOut] = Field(default_factory=list)
    problem: str | None = Field(None, description="why the manifest is invalid or could not be read")
    raw: dict[str, Any] | None = Field(None, description="the stored summary as read (admins only)")


class ItemDetailOut(BaseModel):
    triage: ItemOut
    content_credentials: ContentCredentialsOut | None = Field(
        None, description="C2PA key fields; null when not analysed for Content Credentials"
    )
    analysis: dict[str, Any] = Field(description="stored analysis results (faces, manipulation, hashes, sightings)")
    outdated_stages: list[str] = Field(
        default_factory=list,
        description="analysis steps whose stored result is older than the step installed now: their fields are "
        "missing from analysis because it is out of date, not because nothing was found (idolguard analyze --stale)",
    )


ARTIST_FIELDS = ("artist", "closest_artist", "runner_up")  # every face field that names an enrolled artist


def faces_for(who: Principal, face: dict[str, Any]) -> dict[str, Any]:
    """A stored face as the API shows it to ``who``: as ``scan --json`` shows it (a ``no_match`` face names no
    artist; its nearest one is ``closest_artist``, issue #10), without the identity vector, and with no artist
    name the caller's scope does not cover (a scoped user never learns which other artists are enrolled, nor
    which one a face came close to: ``closest_artist`` and ``runner_up`` are names too)."""
    from idolguard.faces.outputs import named_only_when_matched

    shown = named_only_when_matched({k: v for k, v in face.items() if k != "embedding"})
    for key in ARTIST_FIELDS:
        name = shown.get(key)
        if name and not who.sees_artist(str(name)):
            shown[key] = None
    return shown


def _content_credentials_out(stored: Any, admin: bool) -> ContentCredentialsOut | None:
    """The same key fields as ``explain.c2pa_rows`` puts on the page, typed; odd stored values become null."""
    if not isinstance(stored, dict):
        return None

    def when(value: Any) -> datetime | None:
        try:
            return datetime.fromisoformat(str(value)) if value else None
        except ValueError:
            return None

    def flag(key: str) -> bool | None:
        value = stored.get(key)
        return value if isinstance(value, bool) else None

    def text(key: str) -> str | None:
        value = stored.get(key)
        return str(value)[:1000] if value not in (None, "") else None

    assertions = [
        C2paAssertionOut(
            action=str(a["action"]) if a.get("action") else None,
            digital_source_type=str(a["digital_source_type"]) if a.get("digital_source_type") else None,
            software_agent=str(a["software_agent"]) if a.get("software_agent") else None,
            active=a["active"] if isinstance(a.get("active"), bool) else None,
        )
        for a in stored.get("ai_assertions") or []
        if isinstance(a, dict)
    ]
    return ContentCredentialsOut(
        present=flag("present"),
        signature_valid=flag("signature_valid"),
        trusted_signer=flag("trusted_signer"),
        signer=text("signer"),
        signed_at=when(stored.get("signed_at")),
        claim_generator=text("claim_generator"),
        ai_generated=flag("ai_generated"),
        ai_assertions=assertions,
        problem=text("error") or text("note"),
        raw=dict(stored) if admin else None,
    )


class TokenOut(BaseModel):
    id: int
    scope: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool = Field(description="neither revoked nor expired")
    current: bool = Field(description="the token this request was made with")


class TokenList(BaseModel):
    tokens: list[TokenOut]


class MeOut(BaseModel):
    user: str
    role: str
    artists: list[str]
    scope: str


def _item_out(row: Review) -> ItemOut:
    return ItemOut(
        sha256=row.item_sha256,
        status=row.status,
        version=row.version,
        assignee=row.assignee,
        artist=row.artist,
        artist_decision=row.artist_decision,
        similarity=row.similarity,
        manipulation_score=row.manipulation,
        verdict=row.verdict,
        platform=row.platform,
        matches=row.matches,
        sightings=row.sightings,
        fan_reported=row.fan_reported,
        media_type=row.media_type,
        risk=row.risk,
        first_seen_at=row.first_seen_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        state=job.state,
        total=job.total,
        done=job.done,
        attempts=job.attempts,
        created_at=job.created_at,
        finished_at=job.finished_at,
        error=job.error,
        results=list(job.results or []),
    )


def create_api(ws: Workspace) -> FastAPI:
    api = FastAPI(
        title="IdolGuard API",
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        description=__doc__,
    )
    api.state.ws = ws
    api.router.route_class = SealedRoute  # uploads spool sealed when the vault is encrypted (sealed_form.py)
    bearer = HTTPBearer(auto_error=False)

    @api.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = {"www-authenticate": "Bearer"} if exc.status == 401 else None
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.fields:
            body["fields"] = exc.fields
        if exc.reason:
            body["reason"], body["params"] = exc.reason, exc.params
        return JSONResponse({"error": body}, exc.status, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": {"code": "invalid", "message": f"{where}: {first.get('msg', 'invalid')}"}}, 422)

    @api.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}.get(
            exc.status_code, "error"
        )
        body: dict[str, Any] = {"code": code, "message": str(exc.detail)}
        if isinstance(exc, RequestTooLarge):  # a JSON body over the small limit: coded, with the limit
            body["reason"], body["params"] = str(exc.code), exc.params
        return JSONResponse({"error": body}, exc.status_code)

    def principal(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(401, "unauthenticated", "send Authorization: Bearer TOKEN")
        who = accounts.principal_for_token(ws, credentials.credentials[:256])
        if who is None:
            raise ApiError(401, "unauthenticated", "invalid, expired or revoked token")
        return who

    def allowed(permission: str) -> Any:
        def check(who: Principal = Depends(principal)) -> Principal:
            if not who.can(permission):
                raise ApiError(403, "forbidden", f"this token or role may not {permission}")
            return who

        return check

    def visible(who: Principal, sha: str) -> Review:
        row = triage.visible_review(ws, who, sha)
        if row is None:
            raise ApiError(404, "not_found", "no such item")
        return row

    from idolguard.web import api_cases

    api_cases.register(api, ws, allowed)

    @api.get("/me", response_model=MeOut, responses=ERRORS)
    def me(who: Principal = Depends(principal)) -> MeOut:
        return MeOut(user=who.name, role=who.role, artists=list(who.artists), scope=who.token_scope or "")

    @api.get(
        "/items",
        response_model=ItemPage,
        responses={**ERRORS, 400: {"model": Error, "description": f"offset above {MAX_OFFSET}: page with cursor"}},
    )
    def list_items(
        who: Principal = Depends(allowed("read")),
        status: Literal[
            "open", "all", "new", "in_review", "confirmed_abuse", "not_our_artist", "authentic", "duplicate"
        ] = "open",
        artist: str = Query("", max_length=256),
        decision: Literal["", "match", "possible", "none"] = "",
        verdict: Literal["", "likely_manipulated", "uncertain", "not_detected"] = "",
        platform: str = Query("", max_length=128),
        fan_reported: bool = False,
        # The schema states the maximum; the handler (not the validator) refuses a deeper offset, so the answer
        # is the 400 that names the cursor rather than a bare validation error.
        offset: int = Query(
            0,
            ge=0,
            json_schema_extra={"maximum": MAX_OFFSET},
            description=f"older paging, at most {MAX_OFFSET} (a deeper offset answers 400 `use_cursor`); "
            "page with `cursor` instead",
        ),
        limit: int = Query(50, ge=1, le=500),
        cursor: str = Query(
            "",
            max_length=100,
            description="the previous page's `next_cursor`: every page costs the same however deep",
            pattern=r"^$|^-?[0-9]{1,17}(\.[0-9]{0,17})?([eE][+-]?[0-9]{1,2})?:[0-9a-f]{64}$",
        ),
    ) -> ItemPage:
        filters = triage.Filters(status, artist, decision, verdict, platform, fan=fan_reported)
        after = triage.parse_cursor(cursor) if cursor else None
        if cursor and after is None:
            raise ApiError(422, "invalid", "cursor: not a cursor from next_cursor")
        if offset > MAX_OFFSET and after is None:
            raise ApiError(
                400,
                "use_cursor",
                f"offset: at most {MAX_OFFSET}; deeper pages cost what they skip, so page with cursor "
                "(pass the previous page's next_cursor; every page then costs the same)",
                [{"field": "offset", "message": f"at most {MAX_OFFSET}; use cursor"}],
            )
        rows, more = triage.queue(ws, who, filters, offset=offset, limit=limit, after=after)
        following = offset + limit
        return ItemPage(
            items=[_item_out(r) for r in rows],
            offset=offset,
            limit=limit,
            next_offset=following if more and after is None and following <= MAX_OFFSET else None,
            next_cursor=triage.cursor_text(rows[-1]) if more and rows else None,
        )

    @api.get("/items/{sha256}", response_model=ItemDetailOut, responses=ERRORS)
    def get_item(sha256: str = Path(pattern=SHA_PATTERN), who: Principal = Depends(allowed("read"))) -> ItemDetailOut:
        from idolguard.pipeline.scan import item_object

        row = visible(who, sha256)
        obj = item_object(ws, sha256)
        obj.pop("path", None)
        credentials = _content_credentials_out(obj.pop("content_credentials", None), who.role == "admin")
        if "faces" in obj:  # absent when not analysed or out of date (outdated_stages): never an empty "no face"
            obj["faces"] = [faces_for(who, f) for f in (obj.get("faces") or [])]
        return ItemDetailOut(
            triage=_item_out(row),
            content_credentials=credentials,
            analysis=obj,
            outdated_stages=list(obj.get("outdated_stages") or []),
        )

    @api.post(
        "/items/{sha256}/decision",
        response_model=ItemOut,
        responses={**ERRORS, 409: {"model": Error, "description": "changed by someone else (reload)"}},
    )
    def decide(
        body: DecisionIn, sha256: str = Path(pattern=SHA_PATTERN), who: Principal = Depends(allowed("decide"))
    ) -> ItemOut:
        visible(who, sha256)
        try:
            row = triage.decide(ws, who, sha256, body.status, body.version, note=body.note)
        except triage.Conflict as exc:
            raise ApiError(409, "conflict", str(exc)) from exc
        return _item_out(row)

    @api.get("/items/{sha256}/matches", response_model=list[dict[str, Any]], responses=ERRORS)
    def matches(
        sha256: str = Path(pattern=SHA_PATTERN), who: Principal = Depends(allowed("read"))
    ) -> list[dict[str, Any]]:
        from idolguard.pipeline.scan import item_object

        visible(who, sha256)
        return list(item_object(ws, sha256).get("matches") or [])

    async def upload_gate(request: Request) -> None:
        """The upload's token and role, checked before its body is read (``sealed_form.gated``)."""
        who = await run_in_threadpool(principal, await bearer(request))
        allowed("upload")(who)

    @api.post(
        "/uploads",
        response_model=JobOut,
        status_code=202,
        responses={
            **ERRORS,
            413: {"model": Error, "description": "too large"},
            409: {"model": Error, "description": "closed as interrupted before it was queued (reason upload.expired)"},
            507: {"model": Error, "description": "the upload could not be stored (reason upload.not_stored)"},
        },
    )
    @gated(upload_gate)
    async def upload(
        files: list[UploadFile] = File(...),
        platform: str = Form("", max_length=128),
        source_url: str = Form("", max_length=2000),
        note: str = Form("", max_length=2000),
        who: Principal = Depends(allowed("upload")),
    ) -> JobOut:
        from idolguard.intake.source_url import BadSourceUrl, check_source_url
        from idolguard.web.pages_intake import NotStored, spool_upload

        try:  # refused before anything is stored
            source_url = check_source_url(source_url) or ""
        except BadSourceUrl as exc:
            raise ApiError(
                422, "invalid", f"source_url: {exc}", [{"field": "source_url", "message": str(exc)}]
            ) from exc
        try:  # the job and its spool are removed when the files cannot all be spooled (as the page does)
            job_id, got = await run_in_threadpool(
                spool_upload,
                ws,
                who.name,
                [(f.filename or "file", f.file) for f in files],
                int(ws.config.section("web").get("max_upload_bytes") or uploads.MAX_TOTAL_BYTES),
            )
        except uploads.TooLarge as exc:
            raise ApiError(413, "too_large", str(exc)) from exc
        except NotStored as exc:
            refusal = IdolGuardError(MESSAGES[ErrorCode.UPLOAD_NOT_STORED], code=ErrorCode.UPLOAD_NOT_STORED)
            raise ApiError(507, "not_stored", str(refusal), refusal=refusal) from exc
        params = {
            "files": got.files,
            "display": got.display,
            "platform": platform,
            "source_url": source_url,
            "note": note,
        }
        try:  # queued only if still receiving: the sweep may have closed it as interrupted (jobs.queue_upload)
            await run_in_threadpool(jobs.queue_upload, ws, job_id, who.name, params, len(got.files))
        except jobs.UploadExpired as exc:
            raise ApiError(409, "expired", str(exc), refusal=exc) from exc
        return await run_in_threadpool(_get_job, who, job_id)

    @api.post("/captures", response_model=JobOut, status_code=202, responses=ERRORS)
    def capture(body: CaptureIn, who: Principal = Depends(allowed("upload"))) -> JobOut:
        from idolguard.capture.links import check_capture_link
        from idolguard.capture.netpolicy import CaptureRefused, check_url_syntax
        from idolguard.web.pages_intake import capture_allow

        urls = [u.strip() for u in body.urls]
        allow = capture_allow(ws)
        for index, url in enumerate(urls):  # refused before anything is queued, as the form and the portal do
            try:
                check_url_syntax(url)
                check_capture_link(url, allow)
            except CaptureRefused as exc:
                raise ApiError(
                    422, "invalid", f"urls[{index}]: {exc}", [{"field": f"urls.{index}", "message": str(exc)}], exc
                ) from exc
        job_id = jobs.submit(ws, "capture", who.name, {"urls": urls, "note": body.note}, len(urls))
        return _get_job(who, job_id)

    def _get_job(who: Principal, job_id: int) -> JobOut:
        with ws.sessions() as session:
            job = session.get(Job, job_id)
        from idolguard.web import job_access

        # the job page's rule (``web/job_access.py``): a re-embedding of artists outside the caller's scope and a
        # re-analysis (items of every artist) to one who does not see the whole workspace are not found; another
        # user's upload or capture, to an artist-scoped admin, only with the rows (and counts) of the items they
        # see, and not found when they see none
        seen = job_access.seen_job(ws, job, who)
        if seen is None:
            raise ApiError(404, "not_found", "no such job")
        return _job_out(seen)

    @api.get("/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
    def get_job(job_id: int = Path(ge=1, le=2**31 - 1), who: Principal = Depends(allowed("read"))) -> JobOut:
        return _get_job(who, job_id)

    @api.get("/incidents", response_model=list[IncidentOut], responses=ERRORS)
    def incidents(who: Principal = Depends(allowed("read"))) -> list[IncidentOut]:
        from idolguard.incidents.views import list_incidents
        from idolguard.web.pages_more import visible_incident_ids

        allowed_ids = visible_incident_ids(ws, who)
        return [IncidentOut(**r) for r in list_incidents(ws) if r["id"] in allowed_ids]

    @api.get("/incidents/{incident_id}", response_model=dict[str, Any], responses=ERRORS)
    def incident(
        incident_id: int = Path(ge=1, le=2**31 - 1), who: Principal = Depends(allowed("read"))
    ) -> dict[str, Any]:
        from idolguard.incidents.views import incident_detail
        from idolguard.web.pages_more import visible_incident_ids

        if incident_id not in visible_incident_ids(ws, who):
            raise ApiError(404, "not_found", "no such incident")
        try:
            return incident_detail(ws, incident_id)
        except IdolGuardError as exc:
            raise ApiError(404, "not_found", str(exc)) from exc

    @api.get("/artists", response_model=list[ArtistOut], responses=ERRORS)
    def artists(who: Principal = Depends(allowed("read"))) -> list[ArtistOut]:
        from idolguard.gallery.store import list_artists

        return [
            ArtistOut(
                name=a["name"], references=a["references"], consent_ref=a["consent_ref"], threshold=a["threshold"]
            )
            for a in list_artists(ws)
            if who.sees_artist(a["name"])
        ]

    @api.get("/banks", response_model=list[BankOut], responses=ERRORS)
    def banks(who: Principal = Depends(allowed("read"))) -> list[BankOut]:
        from idolguard.web.pages_more import banks_seen

        # the banks page's rule: counts of the entries and matched items the caller sees (web/pages_more.py)
        return [BankOut(**{k: b[k] for k in BankOut.model_fields}) for b in banks_seen(ws, who)]

    @api.get("/tokens", response_model=TokenList, responses=ERRORS)
    def list_tokens(who: Principal = Depends(principal)) -> TokenList:
        """The caller's own API tokens (never the token values: only their hashes are stored)."""
        moment = datetime.now(UTC)
        return TokenList(
            tokens=[
                TokenOut(
                    id=t.id,
                    scope=t.scope,
                    created_at=t.created_at,
                    expires_at=t.expires_at,
                    last_used_at=t.last_used_at,
                    revoked_at=t.revoked_at,
                    active=t.revoked_at is None and (t.expires_at is None or t.expires_at > moment),
                    current=t.id == who.token_id,
                )
                for t in accounts.own_tokens(ws, who.user_id)
            ]
        )

    @api.delete("/tokens/{token_id}", status_code=204, responses=ERRORS)
    def revoke_token(token_id: int = Path(ge=1, le=2**31 - 1), who: Principal = Depends(principal)) -> Response:
        """Revoke one of the caller's own tokens. A token may always revoke itself; revoking another one
        changes the account, so it needs a write token. Revoking a revoked token changes nothing (204)."""
        if token_id != who.token_id and who.token_scope != "write":
            raise ApiError(403, "forbidden", "a read token may only revoke itself")
        try:
            accounts.revoke_own_token(ws, who.user_id, token_id, by=who.name)
        except accounts.AccountError as exc:
            raise ApiError(404, "not_found", "no such token") from exc
        return Response(status_code=204)

    assert set(STATUSES) <= {"new", "in_review", "confirmed_abuse", "not_our_artist", "authentic", "duplicate"}
    return api
