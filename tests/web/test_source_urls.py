"""Tryout #2: only http(s) addresses are taken as where media was found (web intake form, API, CLI), and a
takedown notice never lists anything else, even a sighting recorded before the doors checked."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from idolguard.db.models import Sighting
from idolguard.intake.source_url import BadSourceUrl, check_source_url, is_web_url
from idolguard.web import accounts
from idolguard.web.models import Job

from .conftest import STRONG, csrf_of, make_user, sign_in
from .seed import seed

HOSTILE = ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "//x.test/a"]


def jpeg() -> bytes:
    from idolguard.demo import shapes_image

    buffer = io.BytesIO()
    shapes_image(7, (64, 48)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("url", HOSTILE + ["https://x.test/a\u202egpj", "https:///nohost", "http://x.test/ a"])
def test_only_http_and_https_addresses_are_source_urls(url):
    with pytest.raises(BadSourceUrl):
        check_source_url(url)
    assert not is_web_url(url)


def test_web_addresses_pass_as_given():
    assert check_source_url("  https://x.example/post/1?a=b  ") == "https://x.example/post/1?a=b"
    assert check_source_url("HTTP://예시.테스트/글") == "HTTP://예시.테스트/글"
    assert check_source_url("") is None and check_source_url(None) is None
    with pytest.raises(BadSourceUrl):
        check_source_url("https://x.test/" + "a" * 2000)


def test_intake_form_refuses_a_javascript_url_in_korean_and_stores_nothing(client, app_ws):
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    csrf = csrf_of(client.get("/intake").text)
    response = client.post(
        "/intake/upload",
        data={"csrf": csrf, "source_url": "javascript:alert(1)"},
        files=[("files", ("a.jpg", jpeg(), "application/octet-stream"))],
    )
    assert response.status_code == 422
    assert "http:// 또는 https:// 주소를 입력하세요" in response.text and 'id="upload-error"' in response.text
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    sign_in(client, make_user(app_ws, "ben", "analyst", password=STRONG), lang="en")
    csrf = csrf_of(client.get("/intake").text)
    english = client.post(
        "/intake/upload",
        data={"csrf": csrf, "source_url": "data:text/html,x"},
        files=[("files", ("a.jpg", jpeg(), "application/octet-stream"))],
    )
    assert english.status_code == 422 and "must be the http:// or https:// address" in english.text


def test_api_upload_refuses_a_javascript_url(client, app_ws):
    make_user(app_ws, "api", "analyst")
    token = accounts.create_token(app_ws, "api", "write", "1d", by="test")
    response = client.post(
        "/api/v1/uploads",
        headers={"authorization": f"Bearer {token}"},
        data={"source_url": "javascript:alert(1)"},
        files=[("files", ("a.jpg", jpeg(), "application/octet-stream"))],
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["fields"][0]["field"] == "source_url"
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_cli_scan_refuses_a_javascript_source_url_in_korean(tmp_path, monkeypatch):
    from idolguard.cli import app

    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "home"
    assert CliRunner().invoke(app, ["init", "--home", str(home)]).exit_code == 0
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(jpeg())
    args = ["scan", str(tmp_path / "in"), "--home", str(home), "--source-url", "javascript:alert(1)"]
    result = CliRunner().invoke(app, args, env={"IDOLGUARD_LANG": "ko"})
    assert result.exit_code == 2, result.output
    assert "웹 주소가 아닙니다" in result.stderr and "http:// 또는 https://" in result.stderr
    english = CliRunner().invoke(app, args, env={"IDOLGUARD_LANG": "en"})
    assert english.exit_code == 2 and "is not a web address" in english.stderr
    assert "javascript" not in CliRunner().invoke(app, ["log", "--home", str(home)]).stdout


def test_notices_never_list_a_stored_non_web_url(client, app_ws, tmp_path):
    from idolguard.cases.service import add_to_case, open_case
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.takedowns.models import Notice
    from idolguard.takedowns.notices import DraftOptions, TakedownError, draft, send

    s = seed(app_ws, tmp_path / "media")
    list(Ingestor(app_ws, SightingInfo(source_url="https://x.example/p/1")).ingest([s.folder / "suspect.jpg"]))
    list(Ingestor(app_ws, SightingInfo(source_url="https://x.example/p/2")).ingest([s.folder / "suspect.jpg"]))
    with app_ws.sessions() as session, session.begin():  # a record from before the doors checked
        session.execute(
            update(Sighting)
            .where(Sighting.source_url == "https://x.example/p/2")
            .values(source_url="javascript:alert(1)")
        )
    with pytest.raises(BadSourceUrl):  # the ingest guard itself
        Ingestor(app_ws, SightingInfo(source_url="javascript:alert(1)"))
    number = open_case(app_ws, "urls", s.artist)
    add_to_case(app_ws, number, [s.suspect])
    common = dict(reporter_name="김담당", reporter_email="legal@agency.test")
    [kcsc] = draft(app_ws, DraftOptions(number, "kcsc", "kr_tba_22_5", **common))
    with app_ws.sessions() as session:
        notice = session.get(Notice, kcsc)
        assert notice.urls == ["https://x.example/p/1"]
        assert "javascript" not in notice.body and "https://x.example/p/1" in notice.body
        bad = session.scalar(select(Sighting.id).where(Sighting.source_url == "javascript:alert(1)"))
    with pytest.raises(TakedownError, match="no URL"):  # chosen explicitly, it has no reportable URL
        draft(app_ws, DraftOptions(number, "kcsc", "kr_tba_22_5", sightings=(bad,), again=True, **common))

    # An old draft that already lists one: the page says so, never offers it for pasting, and it is not sent.
    [old] = draft(app_ws, DraftOptions(number, "web_host", "plain_letter", to="abuse@x.test", again=True, **common))
    with app_ws.sessions() as session, session.begin():
        row = session.get(Notice, old)
        row.urls = ["javascript:alert(1)"]
        row.fields = {**row.fields, "urls": ["javascript:alert(1)"]}
    with pytest.raises(TakedownError, match="not an http"):
        send(app_ws, old)
    sign_in(client, make_user(app_ws, "cora", "counsel", password=STRONG), lang="ko")
    page = client.get(f"/takedowns/{old}").text
    assert "http(s) URL이 아닌 주소" in page
    assert 'data-field="urls">javascript' not in page
    new_page = client.get(f"/cases/{number}/takedowns/new").text
    assert "javascript:alert" not in new_page and "https://x.example/p/1" in new_page
