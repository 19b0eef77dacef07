"""A capture job's page lists the media files of each page that were not kept, each said in the reader's
language from its stored code (``capture.media_*``), never the English text capture records as evidence. A real
capture job (page form, the in-process worker, the local fixture site)."""

from __future__ import annotations

import time

from idolguard.web import jobs
from idolguard.web.models import Job
from tests.capture.server import Site

from .conftest import STRONG, csrf_of, make_user, sign_in

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>p</title></head><body>
<img src="/media/photo.jpg"><img src="/media/gone.jpg"><img src="/text-not-image.jpg"></body></html>"""


def test_the_job_page_says_why_each_media_file_was_not_kept(
    client, new_client, app_ws, site: Site, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    app_ws.config.raw.setdefault("capture", {})["browser"] = False  # the media are what is tested, not Chromium
    site.overrides["/with-problems"] = (200, PAGE.encode())
    site.overrides["/text-not-image.jpg"] = (200, b"<html><body>text</body></html>")
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    csrf = csrf_of(client.get("/intake").text)
    response = client.post("/intake/capture", data={"csrf": csrf, "urls": f"{site.base}/with-problems"})
    assert response.status_code == 303, response.text
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    worker = jobs.InProcessWorker(app_ws)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while client.get(f"/jobs/{job_id}/progress.json").json()["state"] not in ("done", "error"):
            assert time.monotonic() < deadline, "the capture job did not finish"
            time.sleep(0.3)
    finally:
        worker.stop()
    with app_ws.sessions() as session:
        [row] = session.get(Job, job_id).results
    problems = {p["url"].rsplit("/", 1)[-1]: p for p in row["media_problems"]}
    assert set(problems) == {"gone.jpg", "text-not-image.jpg"} and len(row["media"]) == 1
    assert (problems["gone.jpg"]["error_code"], problems["gone.jpg"]["error_params"]) == (
        "capture.media_http",
        {"status": 404},
    )
    page = client.get(f"/jobs/{job_id}").text
    assert "보존하지 않은 페이지의 미디어 파일:" in page
    assert "서버가 이 파일에 HTTP 상태 404(으)로 응답했습니다" in page
    assert "은 읽을 수 있는 이미지나 동영상이 아닙니다(손상되었거나" in page
    assert "HTTP 404" not in page and "not an image or video" not in page
    admin = sign_in(new_client(), make_user(app_ws, "root", "admin", password=STRONG), lang="en")
    english = admin.get(f"/jobs/{job_id}").text
    assert "Media files of the page that were not kept:" in english
    assert "The server answered HTTP status 404 for this file; it was not captured." in english


def test_a_capture_kept_without_a_trusted_timestamp_has_not_failed(client, app_ws, site: Site, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Offline (no time-stamping service reached), the page is still captured and kept: the job has finished
    with errors (the row says why), it has not "failed" ("1 of 1 failed" told the user nothing was kept)."""
    import socket

    with socket.socket() as s:  # a local port nothing listens on: the time-stamping service cannot be reached
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    capture = app_ws.config.raw.setdefault("capture", {})
    capture["browser"] = False
    capture["tsa_urls"] = [f"http://127.0.0.1:{dead}/tsa"]
    site.overrides["/plain"] = (200, PAGE.encode())
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    csrf = csrf_of(client.get("/intake").text)
    response = client.post("/intake/capture", data={"csrf": csrf, "urls": f"{site.base}/plain"})
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    worker = jobs.InProcessWorker(app_ws)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while (state := client.get(f"/jobs/{job_id}/progress.json").json())["state"] not in ("done", "error"):
            assert time.monotonic() < deadline, "the capture job did not finish"
            time.sleep(0.3)
    finally:
        worker.stop()
    with app_ws.sessions() as session:
        job = session.get(Job, job_id)
        [row] = job.results
        assert row["state"] == "partial" and row["capture_id"] and row["error_code"] == "capture.timestamp"
        assert job.error is None  # nor "1 of 1 failed" through the API
    assert state["state_label"] == "finished with errors" and state["error"] is None
    page = client.get(f"/jobs/{job_id}").text
    assert "finished with errors" in page and "failed." not in page and "No trusted timestamp came from" in page


def test_a_capture_job_stored_as_failed_before_is_not_said_as_an_unknown_error(client, app_ws) -> None:  # type: ignore[no-untyped-def]
    """A job finished before kept captures stopped counting as failed keeps "1 of 1 failed" as its error: the
    page must not show it as an unexplained English error ("요청을 처리하지 못했습니다. 1 of 1 failed")."""
    row = {
        "name": "https://example.com/p",
        "capture_id": 1,
        "state": "partial",
        "media": [],
        "error": "timestamp from http://tsa.invalid failed: offline",
        "error_code": "capture.timestamp",
        "error_params": {"tsa": "http://tsa.invalid"},
        "media_problems": [],
    }
    with app_ws.sessions() as session, session.begin():
        job = Job(kind="capture", state="done", created_by="ana", params={}, total=1, done=1, results=[row])
        job.error = "1 of 1 failed"
        session.add(job)
        session.flush()
        job_id = job.id
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    page = client.get(f"/jobs/{job_id}").text
    assert "1 of 1 failed" not in page and 'id="job-error"' not in page
    assert "일부 오류와 함께 완료" in page  # finished with errors; the row says why
    assert client.get(f"/jobs/{job_id}/progress.json").json()["error"] is None
