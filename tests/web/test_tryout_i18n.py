"""Bugs from the 2026-12-02 new-user tryout: Korean pages never show English error text or internals (CLI
flags, config keys, server paths, errno), times in the user's zone with its label, a readable audit log, human
labels in English, artist names by alias and any case, URL lines reported back, honest job outcomes."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest

from idolguard.web.models import Job

from .conftest import STRONG, csrf_of, make_user, sign_in

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def english(client, timezone: str = "Europe/London"):  # type: ignore[no-untyped-def]
    csrf = csrf_of(client.get("/account").text)
    client.post("/account", data={"csrf": csrf, "lang": "en", "timezone": timezone})
    return client


def no_internals(html: str) -> None:
    for leak in ("--kind", "--ref", "--again", "IDOLGUARD_", "capture.allow", "[Errno", "/tmp/", "Traceback"):
        assert leak not in html, leak


def job_row(ws, results: list[dict], error: str | None, user: str) -> int:  # type: ignore[no-untyped-def]
    with ws.sessions() as session, session.begin():
        job = Job(kind="capture", state="done", created_by=user, params={}, total=len(results), results=results)
        job.done, job.error = len(results), error
        session.add(job)
        session.flush()
        return int(job.id)


SSRF = (
    "refused http://10.1.2.3/a: 10.1.2.3, a private network address; capture only reaches public addresses "
    "(allow it explicitly with capture.allow or IDOLGUARD_CAPTURE_ALLOW)"
)
DNS = "cannot resolve host 'nowhere.invalid': [Errno -2] Name or service not known"
# What a capture job stores per URL: the English text and, beside it, its code and values (pages read those).
SSRF_CODE = {"error_code": "capture.private_address", "error_params": {"url": "http://10.1.2.3/a"}}
DNS_CODE = {"error_code": "capture.host_not_found", "error_params": {"host": "nowhere.invalid"}}


def test_job_page_translates_errors_and_says_failed(app_ws, client, new_client):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    both_failed = job_row(
        app_ws,
        [
            {"name": "http://10.1.2.3/a", "error": SSRF, **SSRF_CODE},
            {"name": "https://nowhere.invalid/", "error": DNS, **DNS_CODE},
        ],
        "2 of 2 failed",
        "ana",
    )
    page = client.get(f"/jobs/{both_failed}").text
    no_internals(page)
    assert "사설·내부 네트워크 주소" in page and "nowhere.invalid을(를) 찾을 수 없습니다" in page
    assert "2건 중 2건 실패" in page and '<strong id="job-state">실패</strong>' in page
    assert client.get(f"/jobs/{both_failed}/progress.json").json()["state_label"] == "실패"
    partial = job_row(
        app_ws, [{"name": "a", "error": DNS, **DNS_CODE}, {"name": "b", "error": None}], "1 of 2 failed", "ana"
    )
    assert "일부 오류와 함께 완료" in client.get(f"/jobs/{partial}").text
    assert "일부 오류와 함께 완료" in client.get("/intake").text  # the recent-jobs list says it too
    # An admin sees where the private address could be allowed; in English.
    admin = sign_in(
        new_client(), make_user(app_ws, "root", "admin", password=STRONG), lang="en", timezone="Europe/London"
    )
    mine = job_row(app_ws, [{"name": "http://10.1.2.3/a", "error": SSRF, **SSRF_CODE}], "1 of 1 failed", "root")
    page = admin.get(f"/jobs/{mine}").text
    assert "capture.allow" in page and "IDOLGUARD_CAPTURE_ALLOW" not in page
    assert '<strong id="job-state">failed</strong>' in page and "1 of 1 failed." in page


def test_capture_form_reports_each_bad_line(app_ws, client):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    before = client.get("/intake").text
    text = "https://example.org/a\nnot a url\n\njavascript:alert(1)\nhttps://user:pw@example.org/"
    response = client.post("/intake/capture", data={"csrf": csrf_of(before), "urls": text})
    assert response.status_code == 422
    page = response.text
    assert "2번째 줄: 수집하지 않음: 올바른 웹 주소가 아닙니다." in page
    assert "4번째 줄: 수집하지 않음: http 또는 https 주소만 수집할 수 있습니다." in page
    assert "5번째 줄:" in page and "1번째 줄" not in page
    assert "javascript:alert(1)" in page and "아무것도 대기열에 넣지 않았습니다" in page  # the text comes back
    with app_ws.sessions() as session:
        assert session.query(Job).count() == 0  # nothing queued
    empty = client.post("/intake/capture", data={"csrf": csrf_of(before), "urls": "  \n"})
    assert empty.status_code == 422 and "http(s) URL을 하나 이상 입력하세요" in empty.text


def test_admin_form_errors_in_korean(app_ws, client):  # type: ignore[no-untyped-def]
    admin = sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    make_user(app_ws, "mina", "viewer")
    csrf = csrf_of(admin.get("/admin/users").text)
    page = admin.post("/admin/users", data={"csrf": csrf, "name": "mina", "role": "viewer"}).text
    assert "mina 사용자가 이미 있습니다." in page and "already exists" not in page
    page = admin.post("/admin/tokens", data={"csrf": csrf, "name": "root", "scope": "read", "expires": "abc"}).text
    page = html.unescape(page)
    assert "'abc'은(는) 기간 형식이 아닙니다" in page and "bad duration" not in page
    page = admin.post("/admin/users/nobody/reset-2fa", data={"csrf": csrf}).text
    assert "nobody 사용자가 없습니다." in page and "no user" not in page


def _not_an_image() -> bytes:
    return b"this is plain text, not a picture\n" * 10


def test_non_image_uploads_never_show_a_server_path(app_ws, client):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    csrf = csrf_of(client.get("/banks").text)
    response = client.post(
        "/banks/debug", data={"csrf": csrf}, files={"image": ("notes.jpg", io.BytesIO(_not_an_image()), "image/jpeg")}
    )
    assert response.status_code == 400
    assert "읽을 수 있는 이미지 파일이 아닙니다." in response.text
    no_internals(response.text)
    assert str(app_ws.home) not in response.text and "cannot identify" not in response.text
    csrf = csrf_of(client.get("/artists").text)
    response = client.post(
        "/artists/enrol",
        data={"csrf": csrf, "name": "New Artist"},
        files={"photos": ("a.jpg", io.BytesIO(_not_an_image()), "image/jpeg")},
    )
    assert str(app_ws.home) not in response.text and "cannot identify" not in response.text
    assert "읽을 수 있는 이미지 파일이 아닙니다." in response.text


def test_audit_log_is_readable(app_ws, client):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    make_user(app_ws, "mina", "viewer", ["민아"])  # details with Hangul: no \\uXXXX escapes on the page
    page = client.get("/admin/ledger").text
    assert "사용자 추가" in page and "로그인" in page  # action names, translated
    assert 'title="web.user_add"' in page  # the code stays available on hover
    assert "\\u" not in page and "민아" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d KST", page)  # local time with its zone
    assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}", page)  # no raw ISO microseconds
    assert "<details><summary>원본 기록(JSON)</summary>" in page  # raw JSON only behind an expander
    details_cells = re.findall(r'<td class="details">(.*?)</td>', page, re.S)
    assert details_cells and all(not cell.startswith("{") for cell in details_cells)
    english(client)
    page = client.get("/admin/ledger").text
    assert "User added" in page and "Signed in" in page


def test_english_labels_are_words_not_codes(app_ws, client):  # type: ignore[no-untyped-def]
    from idolguard.web.i18n import DYNAMIC, catalog

    en = catalog("en")
    for code in DYNAMIC:
        if "_" in code:
            assert en.get(code) and "_" not in en[code], code
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en", timezone="Europe/London")
    page = client.get("/triage").text
    for label in ("in review", "not detected", "likely manipulated", "confirmed abuse", "not identified"):
        assert label in page, label
    for code in ("in_review", "not_detected", "confirmed_abuse", "not_our_artist"):
        assert f">{code}<" not in page, code


@pytest.mark.slow
def test_case_times_aliases_and_filed_needs_fields(app_ws, new_client, tmp_path: Path):  # type: ignore[no-untyped-def]
    from idolguard.cases.service import add_to_case, open_case
    from idolguard.gallery.store import add_alias

    from .seed import seed

    world = seed(app_ws, tmp_path / "media")
    add_alias(app_ws, world.artist, "에일린", "hangul")
    counsel = sign_in(new_client(), make_user(app_ws, "kc", "counsel", password=STRONG), lang="ko")
    number = open_case(app_ws, "t", world.artist)
    add_to_case(app_ws, number, [world.suspect])
    page = counsel.get(f"/cases/{number}").text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d KST", page)
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?</", page)  # no unlabelled time in a cell
    # The item page: one C2PA heading, sizes people read, stages by name, no empty decision heading.
    item = counsel.get(f"/items/{world.suspect}").text
    assert item.count("콘텐츠 자격 증명(C2PA)") <= 1
    assert re.search(r"\d+(\.\d)? KB \([\d,]+ B\)", item) and not re.search(r"\d{4,} B ·", item)
    assert "판정</h2>" not in item and "face_match" not in item and "얼굴 대조" in item
    assert "와 0." not in item  # "0.50 이상 0.70 미만": no particle after a number
    # Filing needs fields: said with the form's field names, never CLI flags.
    csrf = csrf_of(page)
    response = counsel.post(f"/cases/{number}/status", data={"csrf": csrf, "status": "filed"})
    assert response.status_code == 422
    assert "다음 항목을 입력하세요: 종류, 접수번호, 일자." in response.text
    no_internals(response.text)
    # Aliases and other spellings resolve to the enrolled artist, in filters and forms.
    for name in ("에일린", "eileen", "EILEEN"):
        assert world.suspect[:12] in counsel.get("/triage", params={"artist": name, "status": "all"}).text, name
        listing = counsel.get("/cases", params={"artist": name}).text
        assert f"/cases/{number}" in listing, name
    opened = counsel.post("/cases", data={"csrf": csrf, "title": "by alias", "artist": "에일린"})
    assert opened.status_code == 303
    assert "Eileen" in counsel.get(opened.headers["location"]).text
    # Platform filter ignores case (the seed's sightings have no platform; the web upload sets one).
    with app_ws.sessions() as session:
        from idolguard.web.models import Review

        session.get(Review, world.suspect).platform = "X"
        session.commit()
    assert world.suspect[:12] in counsel.get("/triage", params={"platform": "x", "status": "all"}).text
