"""Bugs from the 2026-12-03 new-user tryout at the upload door: a long Korean file name (more bytes than the file
system allows in one name) failed with a raw 500 and left its job "receiving" for ever; any failure to spool
now removes the job and says so in the reader's language."""

from __future__ import annotations

from sqlalchemy import func, select

from idolguard.web import jobs, uploads
from idolguard.web.models import Job

from .conftest import STRONG, make_user, sign_in
from .test_jobs import jpeg, upload, wait_done, worker  # noqa: F401 (the fixture)


def test_safe_name_is_capped_in_bytes_and_keeps_the_extension():
    name = uploads.safe_name(3, "가" * 300 + ".png")
    assert len(name.encode("utf-8")) <= 255
    assert name.startswith("0003-가") and name.endswith("가.png")
    # A cut never leaves half a character, whatever the byte boundary falls on.
    for extra in range(4):
        cut = uploads.safe_name(0, "a" * extra + "한" * 200 + ".jpg")
        cut.encode("utf-8").decode("utf-8")
        assert len(cut.encode("utf-8")) <= 255 and cut.endswith(".jpg")
    assert uploads.safe_name(1, "short.jpg") == "0001-short.jpg"  # short names unchanged


def test_a_long_korean_file_name_is_received_and_analysed(client, app_ws, worker):  # noqa: F811
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    long_name = "아이돌" * 100 + ".jpg"  # 900 bytes of UTF-8: over the 255-byte name limit
    response = upload(client, [(long_name, jpeg(21))], platform="x")
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert wait_done(client, job_id)["state"] == "done"
    with app_ws.sessions() as session:
        job = session.get(Job, job_id)
        assert job.results[0]["sha256"] and not job.results[0]["error"]
        assert list(job.params["display"].values()) == [long_name[:255]]  # the client's name kept as a label


def test_a_spool_that_cannot_be_written_leaves_no_job_and_says_why_in_korean(client, app_ws):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    # A real file-system refusal: a plain file stands where the next job's upload folder would be created.
    (app_ws.home / "uploads").mkdir(exist_ok=True)
    jobs.uploads_dir(app_ws, 1).write_bytes(b"in the way")
    response = upload(client, [("one.jpg", jpeg(22))])
    assert response.status_code == 507
    assert "서버에 업로드를 저장하지 못했습니다" in response.text
    assert "Errno" not in response.text and "Traceback" not in response.text
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0  # no job left "receiving"


def _hostile_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../../../tmp/escape.jpg", jpeg(23))
        archive.writestr("/abs/evil.jpg", jpeg(24))
        archive.writestr("ok/normal.jpg", jpeg(25))
    return buffer.getvalue()


def test_zip_members_are_named_as_uploaded_and_refusals_said_in_korean(client, app_ws, worker):  # noqa: F811
    """A zip member's row named the server's spool path (``/…/uploads/1/0000-x.zip!member``) and its refusal
    (a traversal or absolute name) had no code, so Korean readers got only "the request could not be processed"."""
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    job_id = int(upload(client, [("보낸 파일.zip", _hostile_zip())]).headers["location"].rsplit("/", 1)[1])
    wait_done(client, job_id)
    with app_ws.sessions() as session:
        results = session.get(Job, job_id).results
    names = [r["name"] for r in results]
    assert "보낸 파일.zip!../../../../tmp/escape.jpg" in names and "보낸 파일.zip!ok/normal.jpg" in names
    assert not any(str(app_ws.home) in n or "uploads" in n for n in names)
    refused = {r["name"]: r for r in results if r["error"]}
    assert {r["error_code"] for r in refused.values()} == {"archive.member_path"}
    page = client.get(f"/jobs/{job_id}").text
    assert page.count("저장하지 않음: 압축 파일 안의 이름이") == 2
    assert str(app_ws.home) not in page and "요청을 처리하지 못했습니다" not in page


def test_every_member_refusal_is_recognised_with_its_code(tmp_path):
    """Each sentence ``list_members`` stores for a refused member comes back as its code (``MEMBER_FORMS``)."""
    import zipfile

    from idolguard.coded_text import recognise
    from idolguard.config import Limits
    from idolguard.intake.archives import MEMBER_FORMS, list_members

    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../up.jpg", b"x" * 10)
        archive.writestr("C:\\\\drive.jpg", b"x" * 10)
        archive.writestr("empty.jpg", b"")
        archive.writestr("zeros.bin", b"\0" * (1024 * 1024))  # ~1000:1
        link = zipfile.ZipInfo("link.jpg")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "target")
    with zipfile.ZipFile(path) as archive:
        problems = {m.name: m.problem for m in list_members(archive, Limits()) if m.problem}
    codes = {name: (recognise(text, MEMBER_FORMS) or {}).get("code") for name, text in problems.items()}
    assert codes == {
        "../up.jpg": "archive.member_path",
        "C:\\\\drive.jpg": "archive.member_path",
        "empty.jpg": "input.empty",
        "zeros.bin": "archive.member_ratio",
        "link.jpg": "archive.member_link",
    }
    assert recognise(problems["zeros.bin"], MEMBER_FORMS)["params"]["limit"] == str(Limits().zip_max_ratio)


def test_a_capture_jobs_rows_are_headed_url_not_file(client, app_ws):
    """A URL-capture job's result table was headed "파일" (file) above web addresses."""
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    with app_ws.sessions() as session, session.begin():
        job = Job(kind="capture", state="done", created_by="ana", params={}, total=1, results=[])
        job.done, job.results = 1, [{"name": "https://x.com/a/status/1", "sha256": None, "error": None}]
        session.add(job)
        session.flush()
        job_id = job.id
    page = client.get(f"/jobs/{job_id}").text
    head = page[page.index('id="job-results"') :]
    head = head[: head.index("</thead>")]
    assert "<th>URL</th>" in head and "파일" not in head


def test_an_unnamed_member_has_its_own_code_and_sentence():
    """An empty name or a NUL byte is not "an absolute path or '..'": its own code, said in Korean too."""
    from idolguard.coded_text import recognise
    from idolguard.error_messages import MESSAGES
    from idolguard.errors import ErrorCode
    from idolguard.intake.archives import MEMBER_FORMS, unsafe_name_reason

    for name in ("", "bad\x00name.jpg"):
        found = recognise(unsafe_name_reason(name) or "", MEMBER_FORMS)
        assert found and found["code"] == "archive.member_name", name
    sentence = MESSAGES[ErrorCode.ARCHIVE_MEMBER_NAME]
    assert "no usable name" in sentence and ".." not in sentence
