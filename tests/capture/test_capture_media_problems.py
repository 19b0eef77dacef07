"""Why a media file of a captured page was not kept is stored as a code beside its English text
(``capture_media.error_code`` / ``error_params``, migration 0660), so ``capture show`` and the web's capture job
page say it in Korean; rows from before the codes keep their English text and, where capture wrote one of its
fixed sentences, get their code back from it. Real captures of the local fixture site; the migration on SQLite
and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from idolguard.capture.models import CaptureMedia
from idolguard.capture.service import capture_urls
from idolguard.capture.settings import CaptureSettings
from idolguard.capture.views import capture_detail
from idolguard.cli_lang import tr_stored
from idolguard.workspace import Workspace
from tests.capture.server import Site
from tests.conftest import downgrade_to

HANGUL = re.compile(r"[\uac00-\ud7a3]")
PROBLEMS_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>problems</title></head><body>
<img src="/media/photo.jpg"><img src="/media/no-such.jpg"><img src="/not-a-picture.jpg">
<img src="{internal}/img.png"></body></html>"""


def _show(home: Path, capture_id: int, lang: str) -> str:
    from idolguard.cli import app

    environment = {"IDOLGUARD_LANG": lang, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None}
    result = CliRunner().invoke(app, ["capture", "show", str(capture_id), "--home", str(home)], env=environment)
    assert result.exit_code == 0, result.output
    return result.stdout


def _problems_page(site: Site) -> str:
    site.overrides["/post-with-problems"] = (200, PROBLEMS_PAGE.format(internal=site.internal).encode())
    site.overrides["/not-a-picture.jpg"] = (200, b"<html><body>a page, not a picture</body></html>")
    return f"{site.base}/post-with-problems"


def test_each_media_problem_is_stored_with_its_code_and_said_in_korean(
    workspace: Workspace, home: Path, site: Site, allow_local: str
) -> None:
    settings = CaptureSettings.from_workspace(workspace, browser=False)
    [out] = capture_urls(workspace, [_problems_page(site)], settings, analyze_media=False)
    by_url = {m.url.rsplit("/", 1)[-1]: m for m in out.media}
    assert by_url["photo.jpg"].sha256 and by_url["photo.jpg"].error_code is None
    assert (by_url["no-such.jpg"].error_code, by_url["no-such.jpg"].error_params) == (
        "capture.media_http",
        {"status": 404},
    )
    assert by_url["no-such.jpg"].error == "HTTP 404"  # the English record as before
    assert by_url["not-a-picture.jpg"].error_code == "capture.media_not_media"
    assert by_url["not-a-picture.jpg"].error_params["mime"].startswith("text/html")
    assert by_url["img.png"].error_code == "capture.media_refused" and "refused" in (by_url["img.png"].error or "")
    assert site.count("internal:") == 0
    public = {m["url"].rsplit("/", 1)[-1]: m for m in out.public()["media"]}
    assert public["no-such.jpg"]["error_code"] == "capture.media_http" and public["photo.jpg"]["error_params"] is None

    with workspace.sessions() as session:  # stored beside the text
        rows = {r.url.rsplit("/", 1)[-1]: r for r in session.scalars(select(CaptureMedia))}
    assert (rows["no-such.jpg"].error, rows["no-such.jpg"].error_code) == ("HTTP 404", "capture.media_http")
    assert rows["no-such.jpg"].error_params == {"status": 404} and rows["photo.jpg"].error_code is None

    detail = capture_detail(workspace, out.capture_id)
    failed = [m for m in detail["media"] if m["error"]]
    assert len(failed) == 3
    for m in failed:
        korean = tr_stored(m["error"], m["error_code"], m["error_params"], "ko")
        assert HANGUL.search(korean) and m["error"] not in korean, (m, korean)
    korean = _show(home, out.capture_id, "ko")
    assert "서버가 이 파일에 HTTP 상태 404(으)로 응답했습니다" in korean
    assert "이 파일(text/html" in korean
    # the refused address: the command line's own, finer template for the stored text (else the code's message)
    refused = next(line for line in korean.splitlines() if line.rstrip().endswith("/img.png"))
    assert HANGUL.search(refused) and "refused" not in refused and "not an image or video" not in korean
    english = _show(home, out.capture_id, "en")
    assert "HTTP 404" in english and "not an image or video (text/html" in english  # as stored


def test_media_past_the_download_budget_are_coded(workspace: Workspace, site: Site, allow_local: str) -> None:
    settings = CaptureSettings.from_workspace(workspace, browser=False, max_total_bytes=4000)
    [out] = capture_urls(workspace, [f"{site.base}/post/budget-coded"], settings, analyze_media=False)
    codes = [m.error_code for m in out.media if m.error]
    assert codes[0] == "capture.media_budget" and codes[1:] and set(codes[1:]) == {"capture.media_skipped"}
    skipped = [m for m in out.media if m.error_code == "capture.media_skipped"]
    assert all(m.error.startswith("skipped: ") for m in skipped)
    assert out.media[[m.error_code for m in out.media].index("capture.media_budget")].error_params["skipped"] == len(
        skipped
    )
    for m in out.media:
        if m.error:
            assert HANGUL.search(tr_stored(m.error, m.error_code, m.error_params, "ko")), m


def _old_rows(workspace: Workspace, capture_id: int) -> dict[str, str]:
    """Media rows as capture stored them before the codes: English text only."""
    texts = {
        "a.jpg": "skipped: total download limit of 4000 bytes per URL reached",
        "b.jpg": "HTTP 403",
        "c.jpg": "not an image or video (text/plain)",
        "d.jpg": "not stored",
        "e.jpg": "connection reset by peer",  # a network error's own words: no code to recover
    }
    with workspace.engine.begin() as conn:
        conn.execute(
            CaptureMedia.__table__.insert(),
            [
                {"capture_id": capture_id, "url": f"https://example.org/{name}", "via": "img", "error": text}
                for name, text in texts.items()
            ],
        )
    return texts


def test_rows_from_before_the_codes_keep_their_text_and_get_their_code_back(
    workspace: Workspace, home: Path, site: Site, allow_local: str
) -> None:
    settings = CaptureSettings.from_workspace(workspace, browser=False, media=False)
    [out] = capture_urls(workspace, [f"{site.base}/post/old-rows"], settings, analyze_media=False)
    texts = _old_rows(workspace, out.capture_id)
    media = {m["url"].rsplit("/", 1)[-1]: m for m in capture_detail(workspace, out.capture_id)["media"]}
    assert {name: m["error"] for name, m in media.items()} == texts  # the stored English, unchanged
    assert media["a.jpg"]["error_code"] == "capture.media_skipped"
    assert (media["b.jpg"]["error_code"], media["b.jpg"]["error_params"]) == ("capture.media_http", {"status": "403"})
    assert (media["c.jpg"]["error_code"], media["c.jpg"]["error_params"]) == (
        "capture.media_not_media",
        {"mime": "text/plain"},
    )
    assert media["d.jpg"]["error_code"] == "capture.media_not_stored" and media["e.jpg"]["error_code"] is None
    korean = _show(home, out.capture_id, "ko")
    assert "서버가 이 파일에 HTTP 상태 403(으)로 응답했습니다" in korean and "(text/plain)" in korean
    assert "connection reset by peer" in korean  # readable as stored


def test_the_migration_adds_the_columns_and_keeps_older_rows(
    workspace: Workspace, home: Path, site: Site, allow_local: str
) -> None:
    """A workspace from before migration 0660 (SQLite or PostgreSQL): its media rows survive the upgrade with
    their English text, get no stored code (recognised when read), and new captures store codes."""
    from idolguard.db.session import upgrade

    settings = CaptureSettings.from_workspace(workspace, browser=False, media=False)
    [first] = capture_urls(workspace, [f"{site.base}/post/before-0660"], settings, analyze_media=False)
    engine = workspace.engine
    downgrade_to(workspace, "0650_capture")
    columns = _columns(engine)
    assert "error" in columns and "error_code" not in columns and "error_params" not in columns
    with engine.begin() as conn:  # written as the older schema had it
        from sqlalchemy import text

        conn.execute(
            text("INSERT INTO capture_media (capture_id, url, via, error) VALUES (:c, :u, 'img', :e)"),
            {"c": first.capture_id, "u": "https://example.org/old.jpg", "e": "HTTP 410"},
        )
    upgrade(engine)
    assert {"error_code", "error_params"} <= _columns(engine)
    [old] = capture_detail(workspace, first.capture_id)["media"]
    assert (old["error"], old["error_code"], old["error_params"]) == (
        "HTTP 410",
        "capture.media_http",
        {"status": "410"},
    )
    with workspace.sessions() as session:
        assert session.scalar(select(CaptureMedia.error_code)) is None  # nothing rewritten
    settings = CaptureSettings.from_workspace(workspace, browser=False)
    [new] = capture_urls(workspace, [_problems_page(site)], settings, analyze_media=False)
    stored = {m["url"].rsplit("/", 1)[-1]: m for m in capture_detail(workspace, new.capture_id)["media"]}
    assert stored["no-such.jpg"]["error_params"] == {"status": 404}  # stored, not recognised from text


def _columns(engine: Any) -> set[str]:
    from sqlalchemy import inspect

    return {c["name"] for c in inspect(engine).get_columns("capture_media")}
