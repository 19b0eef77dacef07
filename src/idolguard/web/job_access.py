"""Who may open a background job and what of it they see: one rule for the job page, its progress, the intake
page's recent jobs and the REST API's ``GET /api/v1/jobs/{id}`` (review s8 finding 3: the API listed rows the
page withholds).

- A job is opened by its creator or an admin; a re-embedding (``jobs.REEMBED``) only by one who sees every
  artist of it (its rows, counts and failed-of-total name their references): to anyone else it is not found.
- A re-analysis (``jobs.REANALYSE``) goes through every item of the workspace: it is opened only by those who
  see the whole workspace (unscoped and seeing unattributed items). Its counts and progress say how many items
  the workspace holds (the triage notice never tells an artist-scoped user that), and its rows name items'
  hashes and stage errors: to anyone else it is not found, and not listed among the intake page's jobs.
- Every other kind (uploads, captures) is whole to its creator and to those who see the whole workspace. An
  admin who does not (artist-scoped) sees another user's upload or capture only as far as it concerns items
  they see (``Principal.sees_item``, the triage scope): an upload's row when its item is visible, a capture's
  row when one of its media items is (listing only the visible ones). A row with no item (a file refused
  before it was stored) names no artist and is left out. The job's counts are those of the rows they see
  (progress ``n/n``, failed-of-total, state), and a job with no row they see (also one still running: its rows
  are written when it ends) is not found, and not listed (``webtry`` left item 11).
"""

from __future__ import annotations

from typing import Any

from idolguard.web import jobs
from idolguard.web.models import Job
from idolguard.web.roles import Principal
from idolguard.workspace import Workspace


def _gate(job: Job, user: Principal) -> bool:
    """The rule that needs no item: creator or admin; a re-embedding's artists; a re-analysis's whole."""
    if job.created_by != user.name and not user.can("admin"):
        return False
    if job.kind == jobs.REANALYSE and not user.sees_whole:
        return False
    artists = (job.params or {}).get("artists") or [] if job.kind == jobs.REEMBED else []
    return all(user.sees_artist(str(a)) for a in artists)


def _by_item(job: Job, user: Principal) -> bool:
    """Whether ``user`` sees ``job`` only as far as its items are visible to them."""
    return job.kind not in (jobs.REANALYSE, jobs.REEMBED) and job.created_by != user.name and not user.sees_whole


def _row_items(row: dict[str, Any]) -> list[str]:
    items = [str(row["sha256"])] if row.get("sha256") else []
    return items + [str(m) for m in row.get("media") or []]


def seen_jobs(ws: Workspace, found: list[Job], user: Principal) -> list[Job]:
    """The jobs among ``found`` that ``user`` may open, each as they see it (in order): the job itself, or for
    an upload or capture they see only in part, a copy (never stored) with the rows and counts they see."""
    from idolguard.web.pages_cases import visible_items

    opened = [job for job in found if _gate(job, user)]
    partial = [job for job in opened if _by_item(job, user)]
    shas = sorted({sha for job in partial for row in job.results or [] for sha in _row_items(row)})
    visible = visible_items(ws, user, shas) if shas else set()
    out = []
    for job in opened:
        if not _by_item(job, user):
            out.append(job)
            continue
        rows = []
        for row in job.results or []:
            if row.get("media"):
                media = [m for m in row["media"] if m in visible]
                if media:
                    rows.append({**row, "media": media})
            elif row.get("sha256") and row["sha256"] in visible:
                rows.append(dict(row))
        if rows:
            out.append(_narrowed(job, rows))
    return out


def _narrowed(job: Job, rows: list[dict[str, Any]]) -> Job:
    """``job`` as one who sees only ``rows`` of it: its counts are theirs (a transient copy, never stored)."""
    failed = sum(1 for r in rows if jobs.row_failed(job.kind, r))
    return Job(
        id=job.id,
        kind=job.kind,
        state=job.state,
        created_by=job.created_by,
        params={},  # an upload's file names and a capture's URLs are all the job's, not only the visible rows'
        total=len(rows),
        done=len(rows),
        results=rows,
        error=f"{failed} of {len(rows)} failed" if failed else None,
        attempts=job.attempts,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def seen_job(ws: Workspace, job: Job | None, user: Principal) -> Job | None:
    """``job`` as ``user`` sees it (``seen_jobs``), or None: not found for them."""
    if job is None:
        return None
    found = seen_jobs(ws, [job], user)
    return found[0] if found else None
