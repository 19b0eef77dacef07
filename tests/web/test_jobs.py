"""Uploads as durable jobs: streamed to disk, queued through Huey (SQLite storage), worked by the real
in-process consumer, progress visible; restarts, duplicates, traversal names and oversized uploads."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idolguard.db.models import Item, Sighting
from idolguard.web import jobs
from idolguard.web.models import Job

from .conftest import STRONG, csrf_of, make_user, sign_in


def jpeg(seed: int) -> bytes:
    from idolguard.demo import shapes_image

    buffer = io.BytesIO()
    shapes_image(seed, (256, 192)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def worker(app_ws):  # type: ignore[no-untyped-def]
    background = jobs.InProcessWorker(app_ws)
    background.start()
    yield background
    background.stop()


def wait_done(client, job_id: int, timeout: float = 180) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        state = client.get(f"/jobs/{job_id}/progress.json", headers={"accept": "application/json"}).json()
        seen.append(state["state"])
        if state["state"] in ("done", "error"):
            return state
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {seen[-5:]}")


def run_job(client, ws, job_id: int) -> dict:  # type: ignore[no-untyped-def]
    """Run the web's background worker until this job has finished; its final progress state."""
    background = jobs.InProcessWorker(ws)
    background.start()
    try:
        return wait_done(client, job_id)
    finally:
        background.stop()


def upload(client, files: list[tuple[str, bytes]], **fields: str):  # type: ignore[no-untyped-def]
    csrf = csrf_of(client.get("/intake").text)
    return client.post(
        "/intake/upload",
        data={"csrf": csrf, **fields},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )


def test_upload_job_runs_to_completion_with_progress(client, app_ws, worker):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    response = upload(client, [("one.jpg", jpeg(1)), ("two.jpg", jpeg(2))], platform="x", note="from a DM")
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    state = wait_done(client, job_id)
    assert state["state"] == "done" and state["done"] == state["total"] == 2
    page = client.get(f"/jobs/{job_id}")
    assert "one.jpg" in page.text and "two.jpg" in page.text
    with app_ws.sessions() as session:
        sightings = list(session.scalars(select(Sighting).where(Sighting.platform == "x")))
        assert len(sightings) == 2 and all(s.actor == "web:ana" for s in sightings)
        assert session.get(Job, job_id).results[0]["sha256"]
    assert not jobs.uploads_dir(app_ws, job_id).exists()  # the vault holds the originals now
    # The items are in the triage queue.
    assert all(r["sha256"][:12] in client.get("/triage").text for r in session.get(Job, job_id).results)


def test_upload_of_a_non_media_file_is_explained_in_the_readers_language(client, app_ws, worker):
    """The job stores why a file failed as a code (its probe stage failed), so the page says it in Korean."""
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    response = upload(client, [("notes.jpg", b"plain text, not a picture\n" * 10), ("one.jpg", jpeg(3))])
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert wait_done(client, job_id)["state"] == "done"
    with app_ws.sessions() as session:
        failed = [r for r in session.get(Job, job_id).results if r["error"]]
    assert [r["error_code"] for r in failed] == ["media.unsupported"]
    page = client.get(f"/jobs/{job_id}").text
    assert "파일은 보존했지만 분석할 수 있는 이미지나 동영상이 아닙니다." in page and "2건 중 1건 실패" in page
    assert "unsupported media type" not in page and "probe" not in page


def test_a_file_refused_at_intake_is_explained_with_its_own_code(client, app_ws, worker):
    """An empty file is refused before anything is stored (no stage runs): the job keeps the refusal's own code,
    so the Korean page says why in Korean, not a generic sentence and not the English text."""
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    damaged = jpeg(5)[: len(jpeg(5)) // 3]  # a JPEG cut short: probed, refused as damaged (not "unsupported")
    response = upload(client, [("empty.jpg", b""), ("cut.jpg", damaged), ("one.jpg", jpeg(4))])
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert wait_done(client, job_id)["state"] == "done"
    with app_ws.sessions() as session:
        failed = [r for r in session.get(Job, job_id).results if r["error"]]
    assert sorted(r["error_code"] for r in failed) == ["input.empty", "media.corrupt"]
    page = client.get(f"/jobs/{job_id}").text
    assert "빈 파일(0바이트)입니다. 보존할 내용이 없습니다." in page
    assert "이미지 또는 영상이 손상되었거나 잘려 있어 디코딩할 수 없습니다." in page and "truncated" not in page
    assert "empty file" not in page and "요청을 처리하지 못했습니다" not in page


def test_duplicate_upload_is_deduplicated(client, app_ws, worker):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    data = jpeg(3)
    first = int(upload(client, [("a.jpg", data)]).headers["location"].rsplit("/", 1)[1])
    wait_done(client, first)
    second = int(upload(client, [("again.jpg", data), ("copy.jpg", data)]).headers["location"].rsplit("/", 1)[1])
    wait_done(client, second)
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 1
        results = session.get(Job, second).results
    assert {r["sha256"] for r in results} == {session.get(Job, first).results[0]["sha256"]}
    assert any(r["duplicate"] for r in results)


def test_interrupted_job_is_recovered_and_completes_once(app_ws):
    """A worker died after ingesting the first file: a new worker finishes the job without a second copy."""
    from idolguard.intake.ingest import Ingestor, SightingInfo

    make_user(app_ws, "ana", "analyst", password=STRONG)
    with app_ws.sessions() as session, session.begin():
        job = Job(kind="upload", state="queued", created_by="ana", params={}, results=[], total=2)
        session.add(job)
        session.flush()
        job_id = job.id
    folder = jobs.uploads_dir(app_ws, job_id)
    folder.mkdir(parents=True)
    (folder / "0000-a.jpg").write_bytes(jpeg(5))
    (folder / "0001-b.jpg").write_bytes(jpeg(6))
    with app_ws.sessions() as session, session.begin():
        row = session.get(Job, job_id)
        row.params = {"files": ["0000-a.jpg", "0001-b.jpg"], "display": {}}
        row.state = "running"  # claimed by a worker that then died; its lease has lapsed
        from datetime import UTC, datetime, timedelta

        row.started_at = datetime.now(UTC) - timedelta(minutes=5)
    list(Ingestor(app_ws.acting_as("web:ana"), SightingInfo(platform="web-upload")).ingest([folder / "0000-a.jpg"]))
    background = jobs.InProcessWorker(app_ws)  # a fresh worker: recover() re-enqueues the job
    background.start()
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with app_ws.sessions() as session:
                if session.get(Job, job_id).state == "done":
                    break
            time.sleep(0.3)
    finally:
        background.stop()
    with app_ws.sessions() as session:
        job = session.get(Job, job_id)
        assert job.state == "done" and job.attempts == 1
        assert len(job.results) == 2 and not any(r["error"] for r in job.results)
        paths = list(session.scalars(select(Sighting.source_path)))
    assert sorted(Path(p).name for p in paths) == ["0000-a.jpg", "0001-b.jpg"]  # one sighting each


def test_traversal_names_stay_inside_the_upload_folder(client, app_ws, tmp_path):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    evil = "../../../../" + str(tmp_path.name) + "/escaped.jpg"
    response = upload(client, [(evil, jpeg(7)), ("/etc/passwd", jpeg(8)), ("..\\..\\win.jpg", jpeg(9))])
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    stored = sorted(p.name for p in jobs.uploads_dir(app_ws, job_id).iterdir())
    assert stored == ["0000-escaped.jpg", "0001-passwd", "0002-win.jpg"]
    assert not (tmp_path / "escaped.jpg").exists()
    with app_ws.sessions() as session:
        assert session.get(Job, job_id).params["display"]["0000-escaped.jpg"] == evil  # kept only as a label


def test_oversized_upload_is_refused_and_leaves_nothing(client, app_ws):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    app_ws.config.raw["web"] = {"max_upload_bytes": 50_000}
    response = upload(client, [("big.jpg", b"\xff\xd8" + b"\0" * 200_000)])
    assert response.status_code == 413
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        assert session.scalar(select(func.count()).select_from(Item)) == 0
    assert not any((app_ws.home / "uploads").glob("*/*")) if (app_ws.home / "uploads").exists() else True


def test_xss_through_a_file_name_is_escaped(client, app_ws, worker):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    name = "<img src=x onerror=alert(1)>.jpg"
    job_id = int(upload(client, [(name, jpeg(10))]).headers["location"].rsplit("/", 1)[1])
    wait_done(client, job_id)
    page = client.get(f"/jobs/{job_id}")
    assert name not in page.text and "&lt;img src=x onerror=alert(1)&gt;.jpg" in page.text


def redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.mark.skipif(not redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_jobs_through_redis_survive_a_worker_that_was_not_running(client, app_ws, monkeypatch):
    """The server option: Redis holds the queue; a job queued while no worker runs is done when one starts."""
    monkeypatch.setenv("IDOLGUARD_QUEUE", "redis://127.0.0.1:6379/0")
    huey = jobs.huey_for(app_ws)
    assert type(huey).__name__ == "RedisHuey"
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    job_id = int(upload(client, [("r.jpg", jpeg(21))]).headers["location"].rsplit("/", 1)[1])
    assert len(huey) >= 1  # waiting in Redis
    background = jobs.InProcessWorker(app_ws)
    background.start()
    try:
        assert wait_done(client, job_id)["state"] == "done"
    finally:
        background.stop()
        huey.flush()
