"""Queueing an upload and the sweep that closes stuck uploads (``expire_receiving``) both change a job only
from "receiving", each in one compare-and-set UPDATE: an upload the sweep closed as interrupted is never
flipped back to "queued" by its request (which answers a coded ``upload.expired``, KO/EN), and a queued upload
is never closed. Checked in both orders and with the two racing in threads, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from idolguard.errors import ErrorCode, code_of
from idolguard.web import jobs, uploads
from idolguard.web.models import Job
from idolguard.web.pages_intake import spool_upload

from .conftest import STRONG, make_user, sign_in
from .test_api import bearer, token_for
from .test_jobs import upload

NOW = timedelta(0)  # the sweep's limit: a receiving job counts as stuck at once


def _jpeg(seed: int) -> bytes:
    from idolguard.demo import shapes_image

    buffer = io.BytesIO()
    shapes_image(seed, (64, 48)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _spooled(ws, seed: int = 1) -> tuple[int, dict[str, Any], int]:  # type: ignore[no-untyped-def]
    """A real upload job, "receiving", its file spooled as the page does; the params its request queues."""
    job_id, got = spool_upload(ws, "ana", [("one.jpg", io.BytesIO(_jpeg(seed)))], uploads.MAX_TOTAL_BYTES)
    params = {"files": got.files, "display": got.display, "platform": "", "source_url": "", "note": ""}
    return job_id, params, len(got.files)


def _events(ws, action: str, job_id: int) -> int:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.action == action))
        return sum(1 for row in rows if row.details.get("job") == job_id)


def _job(ws, job_id: int) -> Job:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_an_upload_closed_by_the_sweep_is_not_queued_by_its_request(app_ws):  # type: ignore[no-untyped-def]
    job_id, params, total = _spooled(app_ws)
    assert jobs.expire_receiving(app_ws, limit=NOW, job_ids=[job_id]) == [job_id]
    with pytest.raises(jobs.UploadExpired) as refused:
        jobs.queue_upload(app_ws, job_id, "ana", params, total)
    assert code_of(refused.value) is ErrorCode.UPLOAD_EXPIRED and refused.value.params == {"job": job_id}
    job = _job(app_ws, job_id)
    assert job.state == "error" and job.error == jobs.INTERRUPTED and job.total == 0 and job.params == {}
    assert _events(app_ws, "web.job_expire", job_id) == 1 and _events(app_ws, "web.job_submit", job_id) == 0
    assert not jobs.uploads_dir(app_ws, job_id).exists()
    assert jobs.huey_for(app_ws).pending_count() == 0  # nothing for a worker to pick up


def test_a_queued_upload_is_not_closed_by_the_sweep(app_ws):  # type: ignore[no-untyped-def]
    job_id, params, total = _spooled(app_ws)
    jobs.queue_upload(app_ws, job_id, "ana", params, total)
    assert jobs.expire_receiving(app_ws, limit=NOW, job_ids=[job_id]) == []
    job = _job(app_ws, job_id)
    assert job.state == "queued" and job.total == 1 and job.error is None
    assert _events(app_ws, "web.job_submit", job_id) == 1 and _events(app_ws, "web.job_expire", job_id) == 0
    assert jobs.uploads_dir(app_ws, job_id).exists() and jobs.huey_for(app_ws).pending_count() == 1


def test_queueing_and_the_sweep_racing_in_threads_change_each_job_once(app_ws):  # type: ignore[no-untyped-def]
    outcomes = []
    for round_ in range(12):
        job_id, params, total = _spooled(app_ws, seed=round_)
        start = threading.Barrier(2)
        got: dict[str, Any] = {}

        # The request starts 0 to 2.75 ms after the sweep: the rounds spread over the orders in which the two
        # statements (and the sweep's look at the spool before its own) can meet.
        def queue(
            job_id: int = job_id,
            params: dict[str, Any] = params,
            total: int = total,
            start: threading.Barrier = start,
            got: dict[str, Any] = got,
            delay: float = round_ / 4000,
        ) -> None:
            start.wait()
            time.sleep(delay)
            try:
                jobs.queue_upload(app_ws, job_id, "ana", params, total)
                got["queued"] = True
            except jobs.UploadExpired:
                got["queued"] = False

        def sweep(job_id: int = job_id, start: threading.Barrier = start, got: dict[str, Any] = got) -> None:
            start.wait()
            got["expired"] = jobs.expire_receiving(app_ws, limit=NOW, job_ids=[job_id])

        threads = [threading.Thread(target=queue), threading.Thread(target=sweep)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        job = _job(app_ws, job_id)
        submitted, expired = _events(app_ws, "web.job_submit", job_id), _events(app_ws, "web.job_expire", job_id)
        if got["queued"]:  # the request won: queued, never closed
            assert (job.state, submitted, expired, got["expired"]) == ("queued", 1, 0, []), round_
            assert jobs.uploads_dir(app_ws, job_id).exists()
        else:  # the sweep won: failed, never queued, its spool gone
            assert (job.state, job.error, submitted, expired) == ("error", jobs.INTERRUPTED, 0, 1), round_
            assert got["expired"] == [job_id] and not jobs.uploads_dir(app_ws, job_id).exists()
        outcomes.append(job.state)
    queued = outcomes.count("queued")
    assert jobs.huey_for(app_ws).pending_count() == queued  # one message per queued job, none for closed ones


def _swept_after_spooling(monkeypatch, ws) -> None:  # type: ignore[no-untyped-def]
    """The sweep (the dispatcher's, every few minutes) lands after the request spooled and before it queues."""
    store = uploads.store

    def store_then_sweep(*args: Any, **kwargs: Any) -> Any:
        got = store(*args, **kwargs)
        assert jobs.expire_receiving(ws, limit=NOW)
        return got

    monkeypatch.setattr(uploads, "store", store_then_sweep)


def test_the_page_and_the_api_say_the_upload_expired(app_ws, client, monkeypatch):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    _swept_after_spooling(monkeypatch, app_ws)
    page = upload(client, [("one.jpg", _jpeg(1))])
    assert page.status_code == 409
    assert "업로드가 도착하는 데 너무 오래 걸려" in page.text and "다시 업로드하세요" in page.text
    assert "took too long" not in page.text
    answer = client.post(
        "/api/v1/uploads",
        headers=bearer(token_for(app_ws, "bo", "analyst")),
        files=[("files", ("two.jpg", _jpeg(2), "image/jpeg"))],
    )
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "expired" and error["reason"] == "upload.expired"
    assert error["message"].startswith("The upload took too long to arrive")
    with app_ws.sessions() as session:
        rows = list(session.scalars(select(Job)))
    assert len(rows) == 2 and {(j.state, j.error) for j in rows} == {("error", jobs.INTERRUPTED)}
    assert all(_events(app_ws, "web.job_submit", j.id) == 0 for j in rows)
    assert jobs.huey_for(app_ws).pending_count() == 0
