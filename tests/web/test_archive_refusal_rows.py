"""A zip refused as a whole (a zip bomb, too many entries, unreadable) appeared twice on its upload job's page,
"stored" and then refused, like two files. Both rows are right (the archive itself is kept as evidence: an
archive built that way is itself a finding; its contents were not unpacked), so the page now says which is
which: the archive's row says it was stored as evidence, the refusal's row is its contents'."""

from __future__ import annotations

import io
import zipfile

from idolguard.web.models import Job

from .conftest import STRONG, make_user, sign_in
from .test_jobs import jpeg, run_job, upload


def _bomb() -> bytes:
    """One member of 20 MB of zeros: it compresses about 1000:1, over the 200:1 limit for the whole archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("movie.mp4", b"\0" * (20 * 1024 * 1024))
    return buffer.getvalue()


def _job(client, ws, files) -> tuple[Job, str]:  # type: ignore[no-untyped-def]
    response = upload(client, files)
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    run_job(client, ws, job_id)
    with ws.sessions() as session:
        job = session.get(Job, job_id)
    return job, client.get(f"/jobs/{job_id}").text


def test_a_zip_bomb_reads_as_one_archive_kept_and_its_contents_refused(client, app_ws):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    job, page = _job(client, app_ws, [("party.zip", _bomb()), ("photo.jpg", jpeg(31))])
    archive, contents = [r for r in job.results if r["name"] == "party.zip"]
    assert archive["sha256"] == contents["sha256"] and not archive["error"]
    assert archive["archive_kept"] and contents["contents"] and contents["error_code"] == "archive.bomb"
    assert "party.zip (its contents)" in page
    assert "stored as evidence (the archive itself; its contents are on the next row)" in page
    assert "nothing in it was stored" in page
    assert "finished with errors" in page and "1 of 3 failed." in page
    sign_in(client, make_user(app_ws, "bo", "analyst", password=STRONG), lang="ko")
    job, page = _job(client, app_ws, [("파티.zip", _bomb())])
    assert "파티.zip (압축 파일의 내용)" in page and "증거로 보관됨(압축 파일 자체" in page
    assert "그 안의 파일은 저장하지 않았습니다" in page and "보존됨</td>" not in page
