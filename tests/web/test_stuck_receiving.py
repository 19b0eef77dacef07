"""An upload job left "receiving" by a process that died mid-upload (the tryout's job #1, from before uploads
removed their job on a storage error) is marked failed with a coded reason when a worker starts or when its
page is opened, and its spool files are deleted; an upload still arriving, and everything in the vault, are
left alone."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from idolguard.db.models import Item, LedgerEntry
from idolguard.web import jobs
from idolguard.web.models import Job

from .conftest import STRONG, make_user, sign_in


def _receiving(ws, user: str, *, age: timedelta, spool_age: timedelta | None) -> int:  # type: ignore[no-untyped-def]
    """A receiving upload job created ``age`` ago, with a spooled file last written ``spool_age`` ago."""
    with ws.sessions() as session, session.begin():
        job = Job(kind="upload", state="receiving", created_by=user, params={}, results=[])
        job.created_at = datetime.now(UTC) - age
        session.add(job)
        session.flush()
        job_id = int(job.id)
    if spool_age is not None:
        folder = jobs.uploads_dir(ws, job_id)
        folder.mkdir(parents=True)
        part = folder / "0000-half.jpg"
        part.write_bytes(b"\xff\xd8 half an upload")
        then = time.time() - spool_age.total_seconds()
        for path in (part, folder):
            os.utime(path, (then, then))
    return job_id


def _state(ws, job_id: int) -> Job:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return session.get(Job, job_id)


def test_a_worker_start_fails_stuck_uploads_and_spares_live_ones(app_ws, tmp_path):  # type: ignore[no-untyped-def]
    from idolguard.pipeline.scan import scan_paths
    from tests.conftest import jpeg_bytes

    kept = tmp_path / "kept.jpg"
    kept.write_bytes(jpeg_bytes(3))
    scan_paths(app_ws, [kept])  # something in the vault, which the sweep must not touch
    vault_before = sorted(p.name for p in app_ws.vault.root.rglob("*") if p.is_file())
    with app_ws.sessions() as session:
        items_before = session.scalar(select(func.count()).select_from(Item))
    stuck = _receiving(app_ws, "ana", age=timedelta(hours=3), spool_age=timedelta(hours=3))
    bare = _receiving(app_ws, "ana", age=timedelta(hours=3), spool_age=None)  # died before writing anything
    slow = _receiving(app_ws, "ana", age=timedelta(hours=3), spool_age=timedelta(seconds=5))  # still arriving
    fresh = _receiving(app_ws, "ana", age=timedelta(seconds=5), spool_age=None)
    jobs.recover(app_ws)  # what a starting worker (idolguard worker, serve) runs
    for job_id in (stuck, bare):
        job = _state(app_ws, job_id)
        assert job.state == "error" and job.error == jobs.INTERRUPTED and job.finished_at is not None
        assert not jobs.uploads_dir(app_ws, job_id).exists()
    assert _state(app_ws, slow).state == "receiving" and jobs.uploads_dir(app_ws, slow).exists()
    assert _state(app_ws, fresh).state == "receiving"
    with app_ws.sessions() as session:
        events = list(session.scalars(select(LedgerEntry).where(LedgerEntry.action == "web.job_expire")))
        assert session.scalar(select(func.count()).select_from(Item)) == items_before
    assert sorted(e.details["job"] for e in events) == sorted([stuck, bare])
    assert {e.details["reason"] for e in events} == {"upload.interrupted"} and events[0].actor == "web:system"
    assert sorted(p.name for p in app_ws.vault.root.rglob("*") if p.is_file()) == vault_before
    assert jobs.expire_receiving(app_ws) == []  # once


def test_the_job_page_says_what_happened_in_korean_and_english(app_ws, client, new_client):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    stuck = _receiving(app_ws, "ana", age=timedelta(hours=2), spool_age=timedelta(hours=2))
    page = client.get(f"/jobs/{stuck}").text  # no worker started: the page itself clears it
    assert "업로드가 중단되었습니다" in page and "다시 업로드하세요" in page and "upload interrupted" not in page
    assert _state(app_ws, stuck).state == "error" and not jobs.uploads_dir(app_ws, stuck).exists()
    progress = client.get(f"/jobs/{stuck}/progress.json").json()
    assert progress["state"] == "error" and "업로드가 중단되었습니다" in progress["error"]
    admin = sign_in(new_client(), make_user(app_ws, "root", "admin", password=STRONG), lang="en")
    assert "The upload was interrupted before every file arrived" in admin.get(f"/jobs/{stuck}").text
    live = _receiving(app_ws, "ana", age=timedelta(minutes=1), spool_age=timedelta(seconds=1))
    assert client.get(f"/jobs/{live}").status_code == 200 and _state(app_ws, live).state == "receiving"
