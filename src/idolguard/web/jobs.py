"""Durable background jobs (uploads to scan, URLs to capture) through Huey.

Huey keeps the queue: SQLite storage in ``HOME/jobs/queue.db`` by default, Redis when ``[web] queue`` in
``config.toml`` (or ``IDOLGUARD_QUEUE``) is a ``redis://`` URL. The queue message carries only the job id; the
``web_jobs`` row holds the state, progress and per-file results, so the page can show them.

Surviving restarts: a worker that starts re-enqueues every job still ``queued`` or ``running``. A job is
claimed with a lease that progress renews; a second copy of the message waits for the lease to lapse and
then finds the job either done (nothing to do) or abandoned (it takes over). Work is keyed by content: files
already ingested for this job (a sighting with the job's upload path) are not ingested again and stored
analysis results are reused, so an interrupted job completes once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from sqlalchemy import select, update

from idolguard.db.models import Sighting
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.web.custody import actor_name
from idolguard.web.models import Job
from idolguard.workspace import Workspace

LEASE = timedelta(seconds=60)
ENV_QUEUE = "IDOLGUARD_QUEUE"


def queue_url(ws: Workspace) -> str:
    return os.environ.get(ENV_QUEUE) or str(ws.config.section("web").get("queue") or "")


def uploads_dir(ws: Workspace, job_id: int) -> Path:
    return ws.home / "uploads" / str(job_id)


_OPEN: dict[str, Workspace] = {}


def shared_workspace(home: str) -> Workspace:
    """The workspace a task runs in: the server's own when the worker is in-process, else opened once."""
    with _LOCK:
        if home not in _OPEN:
            _OPEN[home] = Workspace.open(Path(home))
        return _OPEN[home]


_HUEYS: dict[str, Huey] = {}
_TASKS: dict[str, Any] = {}
_LOCK = threading.Lock()


def make_huey(ws: Workspace, lane: str = "") -> Huey:
    """A Huey queue on the workspace's job storage (the SQLite file, or the configured Redis). ``lane``
    names a further queue on the same storage (``idolguard.server`` runs reported links and scheduled watches in a
    ``background`` lane, so they never wait in front of the analysts' own jobs)."""
    url = queue_url(ws)
    # One queue name per workspace, so workspaces sharing a Redis server never take each other's jobs.
    name = "idolguard-" + hashlib.sha256(str(ws.home).encode("utf-8")).hexdigest()[:16] + (f"-{lane}" if lane else "")
    if url.startswith("redis://"):
        return RedisHuey(name, url=url)
    (ws.home / "jobs").mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(ws.home / "jobs" / "queue.db"))


def huey_for(ws: Workspace) -> Huey:
    """One Huey per workspace and process, with the job task registered on it."""
    url = queue_url(ws)
    key = f"{ws.home}|{url}"
    with _LOCK:
        if key in _HUEYS:
            return _HUEYS[key]
        huey = make_huey(ws)
        _TASKS[key] = huey.task(retries=3, retry_delay=2, name="idolguard.job")(_task)
        _HUEYS[key] = huey
        return huey


def _task(home: str, job_id: int) -> None:
    run_job(shared_workspace(home), job_id)


def enqueue(ws: Workspace, job_id: int) -> None:
    huey_for(ws)
    _TASKS[f"{ws.home}|{queue_url(ws)}"](str(ws.home), job_id)


def submit(
    ws: Workspace,
    kind: str,
    user: str,
    params: dict[str, Any],
    total: int,
    *,
    unless: Callable[[Any], int | None] | None = None,
) -> int:
    """Queue a job; returns its id. ``unless(session)`` (e.g. "a job of this kind already queued or running"),
    asked in the same write transaction, under the ledger lock that serialises writers: the id it returns is
    given back and nothing is queued. So two requests at once cannot both find none and start two jobs
    (review s8 finding 6)."""
    from idolguard.web.custody import custody

    with custody(ws, user) as (session, ledger):
        found = unless(session) if unless is not None else None
        if found is not None:
            return found
        job = Job(kind=kind, state="queued", created_by=user, params=params, total=total, results=[])
        session.add(job)
        session.flush()
        ledger.append("web.job_submit", details={"job": job.id, "kind": kind, "files": total})
        job_id = job.id
    enqueue(ws, job_id)
    return job_id


# An upload job is "receiving" while its request spools the files; the request then queues it (or, on a
# refusal, removes it). A process killed in between leaves it receiving for ever: once nothing has been
# written to its spool folder for this long, it is marked failed (``expire_receiving``).
RECEIVING_LIMIT = timedelta(minutes=30)
# The stored text of that failure (English, as job errors are), and its code for the pages.
INTERRUPTED = "upload interrupted while receiving: the server stopped before every file arrived; nothing was stored"
JOB_FAILURES = {str(ErrorCode.UPLOAD_INTERRUPTED): INTERRUPTED}


def _last_write(folder: Path) -> datetime | None:
    """When anything in an upload's spool folder was last written (None: no folder, nothing spooled)."""
    try:
        times = [folder.stat().st_mtime, *(entry.stat().st_mtime for entry in folder.rglob("*"))]
    except OSError:
        return None
    return datetime.fromtimestamp(max(times), UTC)


def expire_receiving(
    ws: Workspace, *, limit: timedelta = RECEIVING_LIMIT, job_ids: list[int] | None = None
) -> list[int]:
    """Mark upload jobs stuck in "receiving" as failed (code ``upload.interrupted``) and delete their spool
    files; returns their ids. Stuck: created more than ``limit`` ago and nothing spooled for ``limit`` (an
    upload still arriving keeps writing, so a slow one is left alone). Only the spool is touched: nothing of a
    receiving job is in the vault or the database yet (files are stored by the job, after queueing). One
    custody event per job (``web.job_expire``), as the submitter's jobs are recorded. Called when a worker
    starts, by the worker's dispatcher now and then, and by the job's own page."""
    now = datetime.now(UTC)
    query = select(Job.id).where(Job.state == "receiving", Job.created_at < now - limit)
    if job_ids is not None:
        query = query.where(Job.id.in_(job_ids))
    with ws.sessions() as session:
        candidates = list(session.scalars(query))
    expired = []
    for job_id in candidates:
        folder = uploads_dir(ws, job_id)
        written = _last_write(folder)
        if written is not None and now - written < limit:
            continue  # still arriving
        from idolguard.web.custody import custody

        with custody(ws, "system") as (session, ledger):
            # Compare-and-set in one statement: the request queueing the job sets it from "receiving" the
            # same way (``queue_upload``), so exactly one of the two changes it, on SQLite (whose reads take
            # no lock) as on PostgreSQL.
            changed = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "receiving")
                .values(state="error", error=INTERRUPTED, finished_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed != 1:
                continue  # queued (or removed) meanwhile
            user = session.scalar(select(Job.created_by).where(Job.id == job_id))
            ledger.append(
                "web.job_expire",
                details={"job": job_id, "user": user, "reason": str(ErrorCode.UPLOAD_INTERRUPTED)},
            )
        shutil.rmtree(folder, ignore_errors=True)
        expired.append(job_id)
    return expired


class UploadExpired(IdolGuardError):
    """The upload's job was no longer "receiving" when its request came to queue it: the sweep had closed it as
    interrupted (``expire_receiving``: nothing spooled for ``RECEIVING_LIMIT``). Nothing is queued or stored."""

    code = ErrorCode.UPLOAD_EXPIRED


def queue_upload(ws: Workspace, job_id: int, user: str, params: dict[str, Any], total: int) -> None:
    """Queue an upload job its request has spooled: "receiving" -> "queued" in one compare-and-set statement,
    with its ``web.job_submit`` event, then the queue message. Raises :class:`UploadExpired` (code
    ``upload.expired``) when the job is no longer receiving (expired by ``expire_receiving`` meanwhile, which
    also recorded ``web.job_expire``): it stays failed, nothing is queued, and what was spooled is deleted."""
    from idolguard.error_messages import MESSAGES
    from idolguard.web.custody import custody

    with custody(ws, user) as (session, ledger):
        changed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "receiving")
            .values(params=params, total=total, state="queued")
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed == 1:
            ledger.append("web.job_submit", details={"job": job_id, "kind": "upload", "files": total})
    if changed != 1:
        shutil.rmtree(uploads_dir(ws, job_id), ignore_errors=True)  # the sweep may have run mid-spool
        raise UploadExpired(MESSAGES[ErrorCode.UPLOAD_EXPIRED], job=job_id)
    enqueue(ws, job_id)


def recover(ws: Workspace) -> list[int]:
    """Re-enqueue jobs a stopped server or worker left behind (called when a worker starts); uploads it left
    receiving are marked failed (``expire_receiving``)."""
    try:
        expire_receiving(ws)
    except Exception:  # noqa: BLE001 - the queue must still start; the job page and the next sweep retry
        import logging

        logging.getLogger(__name__).exception("stuck uploads could not be cleared")
    with ws.sessions() as session:
        ids = list(session.scalars(select(Job.id).where(Job.state.in_(("queued", "running")))))
    for job_id in ids:
        enqueue(ws, job_id)
    return ids


def _claim(ws: Workspace, job_id: int) -> bool:
    now = datetime.now(UTC)
    with ws.sessions() as session, session.begin():
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.state in ("done", "error"):
            return False
        if job.state == "running" and job.started_at and now - job.started_at < LEASE:
            return False
        job.state = "running"
        job.started_at = now
        job.attempts += 1
        return True


def _renew(ws: Workspace, job_id: int, **values: Any) -> None:
    with ws.sessions() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(started_at=datetime.now(UTC), **values))


def run_job(ws: Workspace, job_id: int) -> None:
    deadline = time.monotonic() + LEASE.total_seconds() + 5
    while not _claim(ws, job_id):
        with ws.sessions() as session:
            job = session.get(Job, job_id)
            if job is None or job.state in ("done", "error"):
                return
        if time.monotonic() > deadline:
            return
        time.sleep(1.0)
    with ws.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        kind, params, user = job.kind, dict(job.params), job.created_by
    try:
        if kind == "upload":
            results = _run_upload(ws, job_id, params, user)
        elif kind == "capture":
            results = _run_capture(ws, job_id, params, user)
        elif kind == REANALYSE:
            if not _run_reanalyse(ws, job_id, params, user):
                return  # the next step is queued behind what was submitted meanwhile
            _finish_reanalyse(ws, job_id)
            return
        elif kind == REEMBED:
            if not _run_reembed(ws, job_id, params, user):
                return  # the next artist is queued behind what was submitted meanwhile
            results = _reembed_results(ws, job_id)
        else:
            raise ValueError(f"unknown job kind {kind!r}")
    except Exception as exc:  # the job shows the error; Huey retries (the work is idempotent)
        _renew(ws, job_id, state="running", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    failed = sum(1 for r in results if row_failed(kind, r))
    with ws.sessions() as session, session.begin():
        job = session.get(Job, job_id)
        assert job is not None
        job.results = results
        job.done = job.total
        job.state = "done"
        job.error = f"{failed} of {len(results)} failed" if failed else None
        job.finished_at = datetime.now(UTC)
    if kind == "upload":
        shutil.rmtree(uploads_dir(ws, job_id), ignore_errors=True)  # the vault holds the originals now


def _finish_reanalyse(ws: Workspace, job_id: int) -> None:
    from idolguard.web.item_view import forget_stale_count

    with ws.sessions() as session, session.begin():
        job = session.get(Job, job_id)
        assert job is not None
        counts = dict(job.params.get("counts") or {})
        failed = int(counts.get("failed", 0)) + int(counts.get("skipped", 0))
        job.total = job.done = int(counts.get("done", 0))
        job.state = "done"
        looked_at = int(counts.get("analysed", 0)) + int(counts.get("skipped", 0))
        job.error = f"{failed} of {looked_at} failed" if failed else None
        job.finished_at = datetime.now(UTC)
    forget_stale_count(ws)  # every process: the count is stored in the workspace, not in memory


class _Progress:
    def __init__(self, ws: Workspace, job_id: int) -> None:
        self.ws, self.job_id, self.done, self.last = ws, job_id, 0, 0.0

    def __call__(self, *_: Any) -> None:
        self.done += 1
        if time.monotonic() - self.last > 0.5:
            self.last = time.monotonic()
            _renew(self.ws, self.job_id, done=self.done)


def _run_upload(ws: Workspace, job_id: int, params: dict[str, Any], user: str) -> list[dict[str, Any]]:
    """Scan the spooled files a group at a time (``uploads.groups``): in an encrypted workspace only one
    group's plaintext is in memory-backed storage at once. Sightings record the spooled path, so an
    interrupted job recognises what it already ingested."""
    from idolguard.intake.ingest import SightingInfo
    from idolguard.pipeline.runner import analyze
    from idolguard.pipeline.scan import item_objects, scan_paths
    from idolguard.web.uploads import DECRYPT_GROUP_BYTES, groups, readable

    folder = uploads_dir(ws, job_id)
    files = [folder / name for name in params.get("files", [])]
    acting = ws.acting_as(actor_name(user))
    with ws.sessions() as session:
        done_paths = {
            p
            for (p,) in session.execute(
                select(Sighting.source_path).where(Sighting.source_path.in_([str(f) for f in files]))
            )
        }
    info = SightingInfo(
        source_url=params.get("source_url") or None,
        platform=params.get("platform") or "web-upload",
        note=params.get("note") or None,
    )
    progress = _Progress(ws, job_id)
    todo_names = [name for name in params.get("files", []) if str(folder / name) not in done_paths]
    objects: list[Any] = []
    budget = DECRYPT_GROUP_BYTES if ws.vault.key is not None else sys.maxsize  # plaintext spools are read in place
    for group in groups(folder, todo_names, budget):
        with readable(folder, group, ws.vault.key, ws.vault.plain_tmp) as plain:
            labels = {path: str(spooled) for path, spooled in plain.items()}
            objects += scan_paths(acting, list(plain), info, on_analyzed=progress, labels=labels)
    # Files ingested by an interrupted earlier attempt: bring their analysis up to date and report them too.
    with ws.sessions() as session:
        earlier = list(
            session.execute(
                select(Sighting.item_sha256, Sighting.source_path).where(
                    Sighting.source_path.in_([str(f) for f in files if str(f) in done_paths])
                )
            )
        )
    if earlier:
        analyze(acting, list(dict.fromkeys(sha for sha, _ in earlier)))
        objects += item_objects(ws, [(sha, path, False) for sha, path in earlier])
    # The runner's item hook (web area) has put every analysed item in the triage queue.
    names = {str(folder / name): name for name in params.get("files", [])}
    display = params.get("display", {})
    results = []
    for obj in objects:
        results.append(
            {
                "name": _shown_name(str(obj.get("path") or ""), names, display),
                "sha256": obj.get("sha256"),
                "duplicate": bool(obj.get("duplicate")),
                "error": obj.get("error"),
                **_upload_error_code(obj),
            }
        )
    return _mark_archive_contents(results)


def _mark_archive_contents(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tell an archive's own row from the refusal of its contents. A zip refused as a whole (a bomb, too many
    entries, unreadable) gives two results with the same name and hash: the archive stored (kept as evidence:
    an archive built that way is itself a finding) and the refusal of what is in it. Marked ``archive_kept``
    and ``contents``, the job page says so instead of showing what reads like the same file twice."""
    stored: dict[tuple[str, str], dict[str, Any]] = {}
    for row in results:
        key = (str(row.get("name")), str(row.get("sha256")))
        if not row.get("sha256"):
            continue
        if row.get("error") and key in stored:
            row["contents"] = True
            stored[key]["archive_kept"] = True
        elif not row.get("error"):
            stored.setdefault(key, row)
    return results


def _shown_name(path: str, names: dict[str, str], display: dict[str, str]) -> str:
    """The name a person gave a result's file: the client's name for an uploaded file, and for a zip member
    ``archive.zip!member`` with the client's archive name (the runner's path names the spool folder on the
    server, which the page must not show: it is an internal path, and not what the person uploaded)."""
    for full, stored in names.items():
        if path == full or path.startswith(full + "!"):
            return display.get(stored, stored) + path[len(full) :]
    stored = next((n for full, n in names.items() if path.endswith(n)), path)
    return display.get(stored, stored)


def _upload_error_code(obj: Any) -> dict[str, Any]:
    """The code of a file's failure, from which stage failed (the pipeline stores stage errors as text): the
    ``probe`` stage reads and decodes the media, so its failure means the file is not media we can analyse."""
    if obj.get("error_code"):  # refused at intake (empty, too large, a zip bomb...): its own code and values
        return {"error_code": str(obj["error_code"]), "error_params": obj.get("error_params") or {}}
    if obj.get("error") and not obj.get("stage_errors"):  # a zip member refused before analysis: its own form
        from idolguard.coded_text import recognise
        from idolguard.intake.archives import MEMBER_FORMS

        member = recognise(str(obj["error"]), MEMBER_FORMS)
        if member:
            return {"error_code": member["code"], "error_params": member["params"]}
    probe_error = (obj.get("stage_errors") or {}).get("probe")
    if obj.get("error") and probe_error:  # the probe's refusal, recognised from its text (damaged, too long...)
        from idolguard.coded_text import recognise
        from idolguard.media.probe import FAILURE_FORMS

        found = recognise(str(probe_error), FAILURE_FORMS)
        if found:
            return {"error_code": found["code"], "error_params": found["params"]}
    if obj.get("error") and "probe" in (obj.get("stage_errors") or {}):
        return {"error_code": str(ErrorCode.MEDIA_UNSUPPORTED), "error_params": {}}
    return {}


def row_failed(kind: str, row: dict[str, Any]) -> bool:
    """Whether one row of a finished job failed. A capture whose page was kept (``partial``: a capture with a
    problem, e.g. no trusted timestamp reached, or some media files not kept) has not failed: its row says the
    problem, and the job has finished with errors, not failed."""
    if not row.get("error"):
        return False
    return not (kind == "capture" and row.get("state") == "partial" and row.get("capture_id") is not None)


MEDIA_PROBLEMS = 50  # media files not kept that a capture job's row lists per URL (``capture show`` has all)


def _run_capture(ws: Workspace, job_id: int, params: dict[str, Any], user: str) -> list[dict[str, Any]]:
    from idolguard.capture.browser import BrowserPool
    from idolguard.capture.service import capture_urls
    from idolguard.capture.settings import CaptureSettings
    from idolguard.web.triage import sync_reviews

    acting = ws.acting_as(actor_name(user))
    settings = CaptureSettings.from_workspace(acting)
    results = []
    # One browser for the whole job (launching Chromium is the slow part), each URL still its own capture.
    pool = BrowserPool(settings.chromium_path) if settings.browser else None
    try:
        for url in params.get("urls", []):
            outcome = capture_urls(acting, [url], settings, pool=pool, note=params.get("note") or None)[0]
            shas = [m.sha256 for m in outcome.media if m.sha256]
            sync_reviews(ws, shas)
            results.append(
                {
                    "name": url,
                    "capture_id": outcome.capture_id,
                    "state": outcome.state,
                    "media": shas,
                    "error": outcome.error,
                    # the first error as a code and its values: the job page explains it in the reader's language
                    "error_code": str(outcome.error_code) if outcome.error_code else None,
                    "error_params": outcome.error_params,
                    # each media file of the page that was not kept, and why (coded: said in the reader's language)
                    "media_problems": [
                        {"url": m.url, "error": m.error, "error_code": m.error_code, "error_params": m.error_params}
                        for m in outcome.media
                        if m.error
                    ][:MEDIA_PROBLEMS],
                }
            )
            _renew(ws, job_id, done=len(results))
    finally:
        if pool is not None:
            pool.close()
    return results


REANALYSE = "reanalyse"  # an admin's ``idolguard analyze --stale`` (the triage page's button)
# Stale items re-analysed per queue message. The job shares the analysts' lane with uploads and URL captures
# (a capture that waits may find the post taken down): each message re-analyses one step and queues the next
# step behind whatever was submitted meanwhile, so a capture waits for at most one step, never the workspace.
REANALYSE_STEP = 20
REANALYSE_SCAN = 20_000  # items whose stored rows one step reads at most (a step stays short however few are stale)
REANALYSE_ROWS = 200  # per-item rows a re-analysis job keeps (skipped and failed ones; the rest are counts)


def _run_reanalyse(ws: Workspace, job_id: int, params: dict[str, Any], user: str) -> bool:
    """One step of ``idolguard analyze --stale`` (``pipeline.stale``: the runner stores results and custody
    events, recorded as the admin who asked): the next ``REANALYSE_STEP`` stale items after the job's cursor
    (items in hash order). Returns True when the workspace has been gone through; else the cursor and counts
    are saved, the job goes back to ``queued`` and its next step is enqueued behind the jobs queued meanwhile.
    Resumable: a retried or recovered step finds only what is still stale after the saved cursor."""
    from idolguard.pipeline.stale import next_stale, refresh

    acting = ws.acting_as(actor_name(user))
    counts: dict[str, int] = {k: int(v) for k, v in (params.get("counts") or {}).items()}
    renew = _Renewer(ws, job_id)
    report, cursor = next_stale(acting, str(params.get("after") or ""), REANALYSE_STEP, REANALYSE_SCAN, on_chunk=renew)
    progress = _Distinct(ws, job_id, counts.get("done", 0))
    result = refresh(acting, report, on_done=progress)
    rows = list(_reanalyse_rows(result))
    progress.seen -= {skipped.sha256 for skipped in result.skipped}  # skipped items are rows, not progress
    for key, n in (
        ("analysed", len(result.analysed)),
        ("failed", len(result.failures)),
        ("skipped", len(result.skipped)),
        ("stored", result.stored),
        ("done", len(progress.seen)),
    ):
        counts[key] = counts.get(key, 0) + n
    with ws.sessions() as session, session.begin():
        job = session.get(Job, job_id, with_for_update=True)
        assert job is not None
        kept = list(job.results or [])
        counts["rows_left_out"] = counts.get("rows_left_out", 0) + max(0, len(kept) + len(rows) - REANALYSE_ROWS)
        job.results = (kept + rows)[:REANALYSE_ROWS]
        job.params = {**params, "after": cursor or "", "counts": counts}
        job.done = counts["done"]
        job.total = max(job.total, job.done)  # the stored count was an estimate: never a bar past its end
        job.started_at = datetime.now(UTC)
        if cursor is not None:
            job.state = "queued"  # the next step claims it at once (no lease to wait for)
            job.attempts = max(0, job.attempts - 1)  # a step is not a retry: the page counts retries only
    if cursor is not None:
        enqueue(ws, job_id)
        return False
    return True


def _reanalyse_rows(result: Any) -> list[dict[str, Any]]:
    """The rows a person needs: items skipped (erased, missing, unreadable) and items a stage failed for, each
    with its code (the job page says it in the reader's language); the items brought up to date are counted."""
    rows: list[dict[str, Any]] = []
    for skipped in result.skipped:
        rows.append(
            {
                "name": skipped.sha256[:12],
                "sha256": skipped.sha256,
                "error": skipped.error or skipped.reason,
                "error_code": skipped.error_code,
                "error_params": skipped.error_params,
            }
        )
    for sha, errors in result.failures.items():
        stage, text = next(iter(errors.items()))
        coded = result.failure_codes.get(sha, {}).get(stage) or {}
        rows.append(
            {
                "name": sha[:12],
                "sha256": sha,
                "stage": stage,
                "error": f"{stage}: {text}",
                "error_code": coded.get("code"),
                "error_params": coded.get("params") or {},
            }
        )
    return rows


REEMBED = "reembed"  # an admin's ``idolguard artists reembed`` (the artists page's button)


def _run_reembed(ws: Workspace, job_id: int, params: dict[str, Any], user: str) -> bool:
    """One step of ``idolguard artists reembed``: the next artist of the job's list (``params["artists"]``,
    chosen and scope-checked when it was submitted), through the CLI's own ``faces.reembed.reembed_references``
    (one transaction and one signed ``gallery.reembed`` event per artist, recorded as the admin who asked).
    One row per reference re-embedded or kept (a kept one with its coded reason: ``reembed.vault_missing``,
    ``reembed.unreadable``); references already of the calibrated kind are counted (``tally``). Returns True
    when every artist has been done; else the cursor (``next``) is saved with the rows, the job goes back to
    ``queued`` and the next artist is enqueued behind the jobs queued meanwhile (uploads and captures never
    wait for the whole gallery). Resumable: a retried step re-runs its artist, whose references already
    converted are not touched again (``reembed_references`` is idempotent)."""
    from idolguard.faces.analysis import FaceAnalyzer
    from idolguard.faces.reembed import reembed_references
    from idolguard.gallery.store import GalleryError

    names = [str(n) for n in params.get("artists") or []]
    position = int(params.get("next") or 0)
    tally: dict[str, int] = {k: int(v) for k, v in (params.get("tally") or {}).items()}
    rows: list[dict[str, Any]] = []
    if position < len(names):
        name = names[position]
        progress = _Progress(ws, job_id)
        progress.done = tally.get("done", 0)
        try:
            report = reembed_references(ws.acting_as(actor_name(user)), FaceAnalyzer(), [name], on_reference=progress)
        except GalleryError as exc:  # removed (or renamed) since the job was submitted
            rows.append({"name": name, "artist": name, "error": str(exc)})
            tally["artists_gone"] = tally.get("artists_gone", 0) + 1
        else:
            for done in report:
                rows += _reembed_rows(done)
                tally["converted"] = tally.get("converted", 0) + len(done.converted)
                tally["kept"] = tally.get("kept", 0) + len(done.kept)
                tally["already"] = tally.get("already", 0) + done.already
                tally["done"] = tally.get("done", 0) + len(done.converted) + len(done.kept)
        position += 1
    more = position < len(names)
    with ws.sessions() as session, session.begin():
        job = session.get(Job, job_id, with_for_update=True)
        assert job is not None
        job.results = list(job.results or []) + rows
        job.params = {**params, "next": position, "tally": tally}
        job.done = tally.get("done", 0)
        job.total = max(job.total, job.done)
        job.started_at = datetime.now(UTC)
        if more:
            job.state = "queued"  # the next step claims it at once (no lease to wait for)
            job.attempts = max(0, job.attempts - 1)  # a step is not a retry
    if more:
        enqueue(ws, job_id)
        return False
    return True


def _reembed_rows(report: Any) -> list[dict[str, Any]]:
    """One artist's references as job rows: re-embedded, or kept with the code of the reason and its values
    (the job page says it in the reader's language; ``error`` keeps the English for the record)."""
    from idolguard.error_messages import MESSAGES
    from idolguard.errors import ErrorCode

    rows: list[dict[str, Any]] = []
    for ref in report.converted:
        photo = str(ref.get("photo") or "")
        rows.append(
            {"name": ref.get("name") or photo[:12], "artist": report.artist, "photo": photo, "reembedded": True}
        )
    for kept in report.kept:
        text = MESSAGES[ErrorCode(kept.code)].format(**kept.params)
        rows.append(
            {
                "name": kept.source_name or kept.photo_sha256[:12],
                "artist": report.artist,
                "photo": kept.photo_sha256,
                "error": text,
                "error_code": kept.code,
                "error_params": kept.params,
            }
        )
    return rows


def _reembed_results(ws: Workspace, job_id: int) -> list[dict[str, Any]]:
    with ws.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return list(job.results or [])


class _Renewer:
    """Renews the job's lease while a step reads stored rows (a long scan must not let a second worker take
    the job as abandoned)."""

    def __init__(self, ws: Workspace, job_id: int) -> None:
        self.ws, self.job_id, self.last = ws, job_id, time.monotonic()

    def __call__(self, *_: Any) -> None:
        if time.monotonic() - self.last > 5:
            self.last = time.monotonic()
            _renew(self.ws, self.job_id)


class _Distinct:
    """Progress of a re-analysis: each item once (the runner may report an item again when a batch is re-run
    without an unreadable item), skipped items not at all (the bar counts items that are re-analysed)."""

    def __init__(self, ws: Workspace, job_id: int, before: int) -> None:
        self.ws, self.job_id, self.before, self.last = ws, job_id, before, 0.0
        self.seen: set[str] = set()

    def __call__(self, sha: str, *_: Any) -> None:
        self.seen.add(sha)
        if time.monotonic() - self.last > 0.5:
            self.last = time.monotonic()
            _renew(self.ws, self.job_id, done=self.before + len(self.seen))


class InProcessWorker:
    """Huey's consumer on threads inside ``idolguard serve`` (``idolguard worker`` runs it on its own)."""

    def __init__(self, ws: Workspace, workers: int = 1) -> None:
        self.ws = ws
        self.consumer = huey_for(ws).create_consumer(workers=workers, worker_type="thread", periodic=False)

    def start(self) -> None:
        with _LOCK:
            _OPEN.setdefault(str(self.ws.home), self.ws)
        recover(self.ws)
        self.consumer.start()

    def stop(self) -> None:
        self.consumer.stop(graceful=True)
