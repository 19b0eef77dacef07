"""Who may open a background job and which of its rows they see: one rule for the job page, its progress and
the REST API's ``GET /api/v1/jobs/{id}`` (review s8 finding 3: the API listed rows the page withholds).

- A job is opened by its creator or an admin; a re-embedding (``jobs.REEMBED``) only by one who sees every
  artist of it (its rows, counts and failed-of-total name their references): to anyone else it is not found.
- A re-analysis (``jobs.REANALYSE``) goes through every item of the workspace: it is opened only by those who
  see the whole workspace (unscoped and seeing unattributed items). Its counts and progress say how many items
  the workspace holds (the triage notice never tells an artist-scoped user that), and its rows name items'
  hashes and stage errors: to anyone else it is not found, and not listed among the intake page's jobs.
- Every other kind (uploads, captures) shows its rows to whoever may open it.
"""

from __future__ import annotations

from typing import Any

from idolguard.web import jobs
from idolguard.web.models import Job
from idolguard.web.roles import Principal


def may_open(job: Job, user: Principal) -> bool:
    """Whether ``user`` may open ``job`` at all (otherwise: not found)."""
    if job.created_by != user.name and not user.can("admin"):
        return False
    if job.kind == jobs.REANALYSE and not (user.unscoped and user.sees_unattributed):
        return False
    artists = (job.params or {}).get("artists") or [] if job.kind == jobs.REEMBED else []
    return all(user.sees_artist(str(a)) for a in artists)


def rows_hidden(job: Job, user: Principal) -> bool:
    """Whether ``job``'s rows are withheld from ``user``, who may open it."""
    return job.kind == jobs.REANALYSE and not (user.unscoped and user.sees_unattributed)


def visible_rows(job: Job, user: Principal) -> list[dict[str, Any]]:
    """The rows of ``job`` that ``user``, who may open it, sees."""
    return [] if rows_hidden(job, user) else list(job.results or [])
