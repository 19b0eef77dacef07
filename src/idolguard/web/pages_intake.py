"""Intake: uploads of files and zips, URL submissions for capture, each a durable job with progress."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from idolguard.error_messages import MESSAGES
from idolguard.errors import ErrorCode
from idolguard.web import job_access, jobs, uploads
from idolguard.web.deps import Denied, PageContext, need, need_csrf, render, ws_of
from idolguard.web.errors import shown_error
from idolguard.web.i18n import N_
from idolguard.web.models import Job
from idolguard.web.sealed_form import SealedRoute, takes_files

log = logging.getLogger(__name__)
router = APIRouter(route_class=SealedRoute)  # uploads spool sealed (sealed_form.py)
MAX_URLS = 100


def upload_limit(request: Request) -> int:
    return int(request.app.state.ws.config.section("web").get("max_upload_bytes") or uploads.MAX_TOTAL_BYTES)


def job_error(job: Job) -> dict[str, Any] | None:
    """The job's error as a record pages explain: a finished job's error is how many of its files or URLs
    failed (each result says why); any other is the worker's own failure, explained as unknown."""
    if not job.error:
        return None
    if job.state == "error":  # a failure this area wrote itself (an upload interrupted while receiving)
        from idolguard.coded_text import recognise

        found = recognise(job.error, jobs.JOB_FAILURES)
        if found:
            return {"error": job.error, "error_code": found["code"], "error_params": found["params"]}
    if job.state == "done" and (job.results or _counted(job)):
        failed, total = _failed_of(job)
        if failed:
            params = {"failed": failed, "total": total}
            return {"error": job.error, "error_code": ErrorCode.BATCH_PARTLY_FAILED, "error_params": params}
        return None  # a job stored before a kept capture stopped counting as failed: its rows say what went wrong
    return {"error": job.error}


def _counted(job: Job) -> dict[str, Any] | None:
    """A re-analysis job's counts (it keeps rows only for skipped and failed items, at most
    ``jobs.REANALYSE_ROWS``); ``None`` for jobs that keep one row per file or URL."""
    counts = (job.params or {}).get("counts")
    return counts if isinstance(counts, dict) else None


def _failed_of(job: Job) -> tuple[int, int]:
    """How many of the job's files, URLs or items failed, and of how many."""
    counts = _counted(job)
    if counts is not None:
        failed = int(counts.get("failed", 0)) + int(counts.get("skipped", 0))
        return failed, int(counts.get("analysed", 0)) + int(counts.get("skipped", 0))
    return sum(1 for r in job.results if jobs.row_failed(job.kind, r)), len(job.results)


def outcome(job: Job) -> str:
    """The state a person reads: a finished job where every file or URL failed has *failed*; one where some
    failed has *finished with errors*; otherwise the queue state (queued, running, done...)."""
    if job.state == "done" and (job.results or _counted(job)):
        failed, total = _failed_of(job)
        if failed == total:
            return N_("failed")
        if failed or any(r.get("error") for r in job.results or []):  # e.g. a capture kept with a problem
            return N_("finished with errors")
    return job.state


def _intake_page(
    request: Request,
    ctx: PageContext,
    *,
    url_text: str = "",
    url_errors: list[str] | None = None,
    upload_error: str = "",
    status: int = 200,
) -> Response:
    ws = ws_of(request)
    query = select(Job).order_by(Job.id.desc()).limit(200)
    if not ctx.user.can("admin"):
        query = query.where(Job.created_by == ctx.user.name)
    with ws.sessions() as session:
        found = list(session.scalars(query))
    # only jobs this user may open, as they see them (an artist-scoped admin: not another artist's re-embedding,
    # whose progress counts that artist's photos, nor the workspace's re-analysis; another user's upload or
    # capture only with the rows of items they see, and its counts theirs: ``web/job_access.py``)
    recent = job_access.seen_jobs(ws, found, ctx.user)[:30]
    return render(
        ctx,
        "intake.html.j2",
        status=status,
        jobs=recent,
        outcome=outcome,
        url_text=url_text,
        url_errors=url_errors or [],
        upload_error=upload_error,
        limit_bytes=upload_limit(request),
    )


@router.get("/intake", response_class=HTMLResponse)
def intake(request: Request, ctx: PageContext = Depends(need("upload"))) -> Response:
    return _intake_page(request, ctx)


@router.post("/intake/upload")
@takes_files
async def upload(request: Request, ctx: PageContext = Depends(need_csrf("upload"))) -> Response:
    limit = upload_limit(request)
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit + 1024 * 1024:
        raise Denied(413, "The upload is too large.")
    form = await request.form(max_files=uploads.MAX_FILES)
    parts = [(f.filename or "file", f.file) for f in form.getlist("files") if hasattr(f, "file")]
    if not parts:
        raise Denied(400, "Choose at least one file.")
    problem = source_url_problem(str(form.get("source_url") or ""), ctx.gettext)
    if problem:  # refused before anything is stored: the form comes back saying what to give instead
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_intake_page, request, ctx, upload_error=problem, status=422)
    ws = ws_of(request)
    from starlette.concurrency import run_in_threadpool

    try:
        job_id, got = await run_in_threadpool(spool_upload, ws, ctx.user.name, parts, limit)
    except uploads.TooLarge as exc:
        raise Denied(413, "The upload is too large.") from exc
    except NotStored as exc:
        raise Denied(507, MESSAGES[ErrorCode.UPLOAD_NOT_STORED]) from exc
    params = {
        "files": got.files,
        "display": got.display,
        "platform": str(form.get("platform") or "")[:128],
        "source_url": str(form.get("source_url") or "").strip(),
        "note": str(form.get("note") or "")[:2000],
    }
    try:  # "receiving" -> "queued" only if the sweep has not closed the job meanwhile (jobs.queue_upload)
        await run_in_threadpool(jobs.queue_upload, ws, job_id, ctx.user.name, params, len(got.files))
    except jobs.UploadExpired as exc:
        raise Denied(409, MESSAGES[ErrorCode.UPLOAD_EXPIRED]) from exc
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


class NotStored(Exception):
    """The upload could not be written to the spool (disk full, a name the file system refuses...): the job
    and what was spooled are removed, the error is logged, and the client is answered 507 (``upload.not_stored``)."""


def spool_upload(ws: Any, user: str, parts: list[tuple[str, Any]], limit: int) -> tuple[int, Any]:
    """Create the upload job ("receiving") and spool its files (``uploads.store``): the page and the API share
    it, so neither leaves a job "receiving" for ever, or partly written (plaintext, when the vault is not
    encrypted) spool files behind. Raises ``uploads.TooLarge`` or :class:`NotStored`; both leave nothing."""
    with ws.sessions() as session, session.begin():
        job = Job(kind="upload", state="receiving", created_by=user, params={}, results=[])
        session.add(job)
        session.flush()
        job_id = int(job.id)
    try:
        return job_id, uploads.store(jobs.uploads_dir(ws, job_id), parts, limit, ws.vault.key)
    except uploads.TooLarge:
        _drop_job(ws, job_id)
        raise
    except OSError as exc:
        _drop_job(ws, job_id)
        # For the admin the page sends: the kind and errno only (the path holds the client's file name).
        log.warning("upload job %s could not be spooled: %s (errno %s)", job_id, type(exc).__name__, exc.errno)
        raise NotStored from exc


def _drop_job(ws: Any, job_id: int) -> None:
    """Remove an upload job whose files could not all be spooled, and what it spooled (nothing was queued)."""
    import shutil

    shutil.rmtree(jobs.uploads_dir(ws, job_id), ignore_errors=True)
    with ws.sessions() as session, session.begin():
        row = session.get(Job, job_id)
        if row is not None:
            session.delete(row)


SOURCE_URL_PROBLEMS = {
    "scheme": N_("'Where it was found' must be the http:// or https:// address of the post or page."),
    "host": N_("'Where it was found' is not a valid web address."),
    "characters": N_("'Where it was found' contains spaces or control characters: give one web address."),
    "length": N_("'Where it was found' is too long (at most 2000 characters)."),
}


def source_url_problem(text: str, gettext: Any) -> str:
    """What is wrong with a submitted source URL, in the reader's language ("" when it is fine or empty)."""
    from idolguard.intake.source_url import BadSourceUrl, check_source_url

    try:
        check_source_url(text)
    except BadSourceUrl as exc:
        return str(gettext(SOURCE_URL_PROBLEMS[exc.reason]))
    return ""


@router.post("/intake/capture")
async def capture(request: Request, ctx: PageContext = Depends(need_csrf("upload"))) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    text = str(form.get("urls") or "")[: MAX_URLS * 2100]
    urls, problems = await run_in_threadpool(url_lines, text, ctx, capture_allow(ws_of(request)))
    if not problems and not urls:
        problems = [ctx.gettext(N_("Give at least one http(s) URL."))]
    if not problems and len(urls) > MAX_URLS:
        problems = [ctx.gettext(N_("Too many URLs at once (at most {n})."), n=MAX_URLS)]
    if problems:  # nothing is queued: the form comes back with the lines as typed and what is wrong with each
        return await run_in_threadpool(_intake_page, request, ctx, url_text=text, url_errors=problems, status=422)

    job_id = await run_in_threadpool(
        jobs.submit,
        ws_of(request),
        "capture",
        ctx.user.name,
        {"urls": urls, "note": str(form.get("note") or "")[:2000]},
        len(urls),
    )
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def capture_allow(ws: Any) -> list[str]:
    """Capture's allowlist (``[capture] allow`` and ``IDOLGUARD_CAPTURE_ALLOW``): hosts the forms accept even
    though private, because the capture job may reach them."""
    from idolguard.capture.settings import CaptureSettings

    return list(CaptureSettings.from_workspace(ws).allow)


def url_lines(text: str, ctx: PageContext, allow: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The URLs in ``text`` (one per line, blank lines skipped) and, for each line that is not a URL capture
    could take, "Line N: why" in the reader's language: malformed, not http(s), credentials, or a private or
    local address the portal refuses too (``capture.links.check_capture_link``, ``allow`` respected)."""
    from idolguard.capture.links import check_capture_link
    from idolguard.capture.netpolicy import CaptureRefused, check_url_syntax

    urls: list[str] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        why = ""
        if len(line) > 2000:
            why = ctx.gettext(N_("the address is longer than 2000 characters."))
        else:
            try:
                check_url_syntax(line)
                check_capture_link(line, allow or [])
            except CaptureRefused as exc:  # an admin is also told where a private host could be allowed
                why = shown_error(ctx.gettext, exc, admin=ctx.user.can("admin"))
        if why:
            problems.append(ctx.gettext(N_("Line {n}: {why}"), n=number, why=why))
        else:
            urls.append(line)
    return urls, problems


def _own_job(request: Request, ctx: PageContext, job_id: int) -> Job:
    ws = ws_of(request)
    with ws.sessions() as session:
        job = session.get(Job, job_id)
    seen = job_access.seen_job(ws, job, ctx.user)  # the API's rule too (``web/job_access.py``)
    if seen is None:
        raise Denied(404, "Not found.")
    if seen.state == "receiving" and jobs.expire_receiving(ws, job_ids=[job_id]):
        with ws.sessions() as session:  # its process died: the page says so instead of "receiving" for ever
            seen = job_access.seen_job(ws, session.get(Job, job_id), ctx.user)
        if seen is None:
            raise Denied(404, "Not found.")
    return seen


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: int, ctx: PageContext = Depends(need("upload"))) -> Response:
    from idolguard.web.explain import stage_problems

    job = _own_job(request, ctx, job_id)
    return render(
        ctx,
        "job.html.j2",
        job=job,
        outcome=outcome,
        job_error=job_error(job),
        results=list(job.results or []),
        tally=dict((job.params or {}).get("tally") or {}) if job.kind == jobs.REEMBED else {},
        counts=_counted(job) or {},
        step_failure=lambda row: "; ".join(f"{s}: {w}" for s, w in stage_problems(_as_item(row), ctx.gettext)),
    )


def _as_item(row: dict[str, Any]) -> dict[str, Any]:
    """A re-analysis row as ``explain.stage_problems`` reads an item (the item page's form): the failed step
    named in words and its error said from its code."""
    stage = str(row.get("stage") or "")
    text = str(row.get("error") or "").removeprefix(f"{stage}: ")
    coded = {"code": row.get("error_code"), "params": row.get("error_params") or {}} if row.get("error_code") else {}
    return {
        "stage_errors": {stage: text},
        "stage_error_codes": {stage: coded} if coded else {},
    }


@router.get("/jobs/{job_id}/progress.json")
def job_json(request: Request, job_id: int, ctx: PageContext = Depends(need("upload"))) -> Response:
    job = _own_job(request, ctx, job_id)
    return JSONResponse(
        {
            "id": job.id,
            "state": job.state,
            "state_label": ctx.gettext(outcome(job)),
            "total": job.total,
            "done": job.done,
            "error": shown_error(ctx.gettext, job_error(job), admin=ctx.user.can("admin"), english=ctx.lang == "en")
            or None,
        }
    )
