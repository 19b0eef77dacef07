"""The admin's re-analysis job (``analyze --stale`` from the triage page) never holds up the analysts' URL
captures and uploads: it re-analyses a short step per queue message and queues the next step behind what was
submitted meanwhile. Its page and the triage notice keep to the viewer's scope; its failures are said in the
reader's language; its rows are capped. Real workspace, real faces pipeline (tests/web/seed.py), real Huey
(SQLite storage) with the in-process consumer."""

from __future__ import annotations

import html
import threading
import time

import pytest

from idolguard.web import jobs
from idolguard.web.item_view import forget_stale_count, refresh_stale_count, stale_count
from idolguard.web.models import Job

from .conftest import STRONG, csrf_of, make_user, sign_in
from .seed import seed


@pytest.fixture
def bumped(app_ws, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    s = seed(app_ws, tmp_path / "media")
    from idolguard.faces.stage import FacesStage

    monkeypatch.setattr(FacesStage, "version", f"{FacesStage.version}-next")
    forget_stale_count(app_ws)
    assert refresh_stale_count(app_ws) == 2
    yield s
    forget_stale_count(app_ws)


def _job(ws, job_id):  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return session.get(Job, job_id)


def _failed_job(ws, sha256: str, actor: str, **counts: int) -> int:  # type: ignore[no-untyped-def]
    """A finished re-analysis job as the worker stores it: two items analysed, ``sha256``'s faces stage failed
    with an internal error (``stage.internal``); ``counts`` adds to its counts (e.g. ``rows_left_out``). One
    definition, so the scope test and the Korean test read the same stored job."""
    with ws.sessions() as session, session.begin():
        job = Job(
            kind=jobs.REANALYSE,
            state="done",
            created_by=actor,
            params={"counts": {"analysed": 2, "failed": 1, "skipped": 0, "stored": 3, "done": 2, **counts}},
            total=2,
            done=2,
            results=[
                {
                    "name": sha256[:12],
                    "sha256": sha256,
                    "stage": "faces",
                    "error": "faces: internal error in stage faces: RuntimeError: boom",
                    "error_code": "stage.internal",
                    "error_params": {},
                }
            ],
            error="1 of 2 failed",
        )
        session.add(job)
        session.flush()
        return int(job.id)


def _wait(predicate, timeout: float = 180.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_capture_queued_during_a_re_analysis_runs_before_it_finishes(app_ws, bumped, monkeypatch):
    """One consumer thread, as ``serve`` and ``worker`` run by default. The capture is submitted while the
    re-analysis's first step is running; it finishes before the re-analysis does, and the re-analysis still
    brings every item up to date."""
    from idolguard.pipeline import stale

    monkeypatch.setattr(jobs, "REANALYSE_STEP", 1)
    step_started, go_on = threading.Event(), threading.Event()
    real_refresh = stale.refresh
    steps: list[int] = []

    def refresh(*args, **kwargs):  # type: ignore[no-untyped-def]
        steps.append(len(args[1].runnable))
        step_started.set()
        go_on.wait(60)  # the first step is still running when the capture is submitted
        return real_refresh(*args, **kwargs)

    monkeypatch.setattr(stale, "refresh", refresh)
    make_user(app_ws, "adm", "admin", password=STRONG)
    make_user(app_ws, "ana", "analyst", password=STRONG)
    reanalysis = jobs.submit(app_ws, jobs.REANALYSE, "adm", {}, 2)
    worker = jobs.InProcessWorker(app_ws)  # one thread
    worker.start()
    try:
        assert step_started.wait(120), "the re-analysis did not start"
        assert _job(app_ws, reanalysis).state == "running"
        capture = jobs.submit(app_ws, "capture", "ana", {"urls": ["http://127.0.0.1:9/post/1"]}, 1)
        go_on.set()
        _wait(lambda: _job(app_ws, reanalysis).state == "done", what="the re-analysis")
        _wait(lambda: _job(app_ws, capture).state == "done", what="the capture")
    finally:
        go_on.set()
        worker.stop()
    captured, reanalysed = _job(app_ws, capture), _job(app_ws, reanalysis)
    assert captured.finished_at < reanalysed.finished_at, "the capture waited behind the whole re-analysis"
    assert steps[:2] == [1, 1], steps  # one item per step
    assert reanalysed.done == reanalysed.total == 2 and reanalysed.params["counts"]["analysed"] == 2
    assert reanalysed.attempts == 1, "steps are not shown as retries"
    assert stale.find_stale(app_ws).items == []


def test_the_next_step_continues_after_the_cursor(app_ws, bumped):
    """``next_stale`` walks the items in hash order from a cursor and stops at the step's size."""
    from idolguard.pipeline.stale import next_stale

    first, cursor = next_stale(app_ws, "", 1, 10_000)
    assert len(first.runnable) == 1 and cursor == first.runnable[0].sha256
    second, cursor2 = next_stale(app_ws, cursor, 1, 10_000)
    assert len(second.runnable) == 1 and second.runnable[0].sha256 > cursor
    rest, end = next_stale(app_ws, cursor2, 1, 10_000)
    assert rest.items == [] and end is None
    assert {first.runnable[0].sha256, second.runnable[0].sha256} == {bumped.suspect, bumped.shapes}


def test_the_notice_and_the_job_keep_to_the_viewers_scope(client, app_ws, bumped, new_client):
    """The count is of the whole workspace: an artist-scoped analyst (whose artist has no stale item) is not
    told it; a scoped admin may not start the workspace-wide job and does not see its items."""
    scoped = sign_in(new_client(), make_user(app_ws, "sco", "analyst", ["Someone Else"], password=STRONG))
    assert 'id="stale-notice"' not in scoped.get("/triage").text
    boss = sign_in(new_client(), make_user(app_ws, "sadm", "admin", ["Someone Else"], password=STRONG))
    assert 'id="stale-notice"' not in boss.get("/triage").text
    refused = boss.post("/admin/reanalyse", data={"csrf": csrf_of(boss.get("/triage").text)})
    assert refused.status_code == 403

    sign_in(client, make_user(app_ws, "adm", "admin", password=STRONG), lang="en")
    assert "Items analysed by older stage versions: 2." in html.unescape(client.get("/triage").text)
    job_id = _failed_job(app_ws, bumped.suspect, "adm")
    assert bumped.suspect[:12] in client.get(f"/jobs/{job_id}").text
    # not found for a scoped admin: its rows name items and its counts say how many the workspace holds
    assert boss.get(f"/jobs/{job_id}").status_code == 404
    assert boss.get(f"/jobs/{job_id}/progress.json").status_code == 404
    assert f'href="/jobs/{job_id}"' not in boss.get("/intake").text  # nor listed among the recent jobs
    assert f'href="/jobs/{job_id}"' in client.get("/intake").text
    from idolguard.web import accounts  # nor through the API

    bearer = {"authorization": f"Bearer {accounts.create_token(app_ws, 'sadm', 'write', '1d', by='test')}"}
    got = boss.get(f"/api/v1/jobs/{job_id}", headers=bearer)
    assert got.status_code == 404, got.text
    bearer = {"authorization": f"Bearer {accounts.create_token(app_ws, 'adm', 'write', '1d', by='test')}"}
    assert client.get(f"/api/v1/jobs/{job_id}", headers=bearer).json()["results"][0]["sha256"] == bumped.suspect


def test_a_stage_failure_is_said_in_korean_with_its_step(client, app_ws, bumped):
    from idolguard.error_messages import MESSAGES
    from idolguard.errors import ErrorCode

    sign_in(client, make_user(app_ws, "kadm", "admin", password=STRONG), lang="ko")
    job_id = _failed_job(app_ws, bumped.suspect, "kadm", rows_left_out=7)
    page = html.unescape(client.get(f"/jobs/{job_id}").text)
    row = page.split('id="job-results"', 1)[1].split("</table>", 1)[0]
    assert "이 분석 단계는 내부 오류로 중단되었습니다" in row and "boom" not in row
    assert MESSAGES[ErrorCode.STAGE_INTERNAL] not in row
    assert "건너뛰었거나 실패한 자료만 표시합니다. 7개는" in page  # rows beyond the cap are counted
    state = client.get(f"/jobs/{job_id}/progress.json").json()
    assert state["state"] == "done" and "2" in (state["error"] or "")  # 1 of 2, not 1 of 1 (rows are capped)


def test_rows_are_capped_and_successes_only_counted(app_ws, bumped, monkeypatch):
    """With a cap of one row, a run with two unreadable items keeps one row and counts the other."""
    monkeypatch.setattr(jobs, "REANALYSE_ROWS", 1)
    for sha in (bumped.suspect, bumped.shapes):  # a test workspace: its objects go missing
        app_ws.vault.path_for(sha).unlink()
    make_user(app_ws, "adm", "admin", password=STRONG)
    job_id = jobs.submit(app_ws, jobs.REANALYSE, "adm", {}, 2)
    worker = jobs.InProcessWorker(app_ws)
    worker.start()
    try:
        _wait(lambda: _job(app_ws, job_id).state == "done", what="the re-analysis")
    finally:
        worker.stop()
    job = _job(app_ws, job_id)
    counts = job.params["counts"]
    assert len(job.results) == 1 and counts["skipped"] == 2 and counts["rows_left_out"] == 1
    assert job.total == job.done == 0, "skipped items are not progress"


def test_the_count_is_read_not_computed_on_the_request(app_ws, bumped):
    """The page reads the stored count; a missing count is computed in the background (no notice meanwhile)
    and stored for every process of the workspace."""
    forget_stale_count(app_ws)
    assert stale_count(app_ws) is None  # nothing stored yet: no notice, a background count starts
    _wait(lambda: stale_count(app_ws) == 2, timeout=60, what="the background count")
    assert (app_ws.home / "jobs" / "stale_count.json").is_file()
