"""Each problem of a capture is stored as a code beside its English text (``captures.error_codes``, migration
0670), so ``capture show`` and the capture report say it in Korean; rows from before the codes keep their
English text and, where capture wrote one of its fixed sentences, get their code back from it. Real captures of
the local fixture site; the migration on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from typer.testing import CliRunner

from idolguard.capture.models import Capture
from idolguard.capture.service import capture_urls
from idolguard.capture.settings import CaptureSettings
from idolguard.capture.views import capture_detail
from idolguard.workspace import Workspace
from tests.capture.server import Site
from tests.conftest import downgrade_to

HANGUL = re.compile(r"[\uac00-\ud7a3]")
LIMIT_KO = "페이지의 미디어 파일 중 처음 1개만 수집했고"
STATUS_KO = "페이지가 HTTP 상태 코드 404(으)로 응답했습니다"


def _show(home: Path, capture_id: int, lang: str) -> str:
    from idolguard.cli import app

    environment = {"IDOLGUARD_LANG": lang, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None}
    result = CliRunner().invoke(app, ["capture", "show", str(capture_id), "--home", str(home)], env=environment)
    assert result.exit_code == 0, result.output
    return result.stdout


def _report(workspace: Workspace, capture_id: int, lang: str) -> str:
    from idolguard.capture.report import render_capture
    from idolguard.report.i18n import speaking

    with workspace.sessions() as session, speaking(lang):
        capture = session.get(Capture, capture_id)
        assert capture is not None
        return render_capture(workspace, capture, [], True)


def test_each_problem_is_stored_with_its_code_and_said_in_korean(
    workspace: Workspace, home: Path, site: Site, allow_local: str
) -> None:
    settings = CaptureSettings.from_workspace(workspace, browser=False, max_media=1)
    [limited, gone] = capture_urls(
        workspace, [f"{site.base}/post/limit-0670", f"{site.base}/no-such-page-0670"], settings, analyze_media=False
    )
    with workspace.sessions() as session:
        row = session.get(Capture, limited.capture_id)
        assert row is not None
        stored = (list(row.errors), row.error_codes)
    assert stored[0] == limited.errors  # the English record as before
    [limit_text] = [e for e in stored[0] if e.startswith("media limit of 1 files")]
    assert stored[1] is not None and len(stored[1]) == len(stored[0])  # one code per problem, in their order
    assert stored[1][stored[0].index(limit_text)] == {
        "code": "capture.media_limit",
        "params": {"limit": 1, "skipped": limited.error_codes[stored[0].index(limit_text)][1]["skipped"]},
    }
    assert limited.public()["error_codes"] == stored[1]
    assert capture_detail(workspace, gone.capture_id)["error_codes"] == [
        {"code": "capture.http_status", "params": {"status": 404}}
    ]

    for capture_id, english, korean in (
        (limited.capture_id, "media limit of 1 files", LIMIT_KO),
        (gone.capture_id, "the page answered HTTP 404", STATUS_KO),
    ):
        shown = _show(home, capture_id, "ko")
        assert korean in shown and english not in shown, shown
        assert english in _show(home, capture_id, "en")  # as stored
        report = _report(workspace, capture_id, "ko")
        assert korean in report and english not in report
        assert english in _report(workspace, capture_id, "en")


OLD_PROBLEMS: list[tuple[str, dict[str, Any] | None]] = [
    (
        "the page answered HTTP 403 Forbidden",
        {"code": "capture.http_status", "params": {"status": "403", "reason": "Forbidden"}},
    ),
    ("the page answered HTTP 451", {"code": "capture.http_status", "params": {"status": "451"}}),
    (
        "media limit of 5 files per URL reached; 3 more links skipped",
        {"code": "capture.media_limit", "params": {"limit": "5", "skipped": "3"}},
    ),
    (
        "media https://example.org/a.jpg: total download limit of 4000 bytes per URL reached",
        {
            "code": "capture.media_failed",
            "params": {
                "url": "https://example.org/a.jpg",
                "error": "total download limit of 4000 bytes per URL reached",
            },
        },
    ),
    (
        "browser: page is 30000 px tall; screenshot cut at 20000 px",
        {"code": "capture.screenshot_cut", "params": {"height": "30000", "limit": "20000"}},
    ),
    ("browser: Target crashed", {"code": "capture.browser", "params": {}}),
    (
        "timestamp from https://tsa.example/ failed: TSA answered HTTP 500",
        {"code": "capture.timestamp", "params": {"tsa": "https://tsa.example/", "error": "TSA answered HTTP 500"}},
    ),
    ("connection reset by peer", None),  # a network error's own words: no code to recover
]


def _old_capture(workspace: Workspace) -> int:
    """A capture row as capture stored it before the codes: English texts only (no ``error_codes``)."""
    with workspace.engine.begin() as conn:
        conn.execute(
            Capture.__table__.insert(),
            [
                {
                    "requested_url": "https://example.org/old",
                    "state": "partial",
                    "actor": "old@idolguard",
                    "errors": [problem for problem, _code in OLD_PROBLEMS],
                    "error": OLD_PROBLEMS[0][0],
                }
            ],
        )
        return int(conn.execute(text("SELECT MAX(id) FROM captures")).scalar_one())


def test_rows_from_before_the_codes_keep_their_text_and_get_their_code_back(workspace: Workspace, home: Path) -> None:
    capture_id = _old_capture(workspace)
    detail = capture_detail(workspace, capture_id)
    assert detail["errors"] == [problem for problem, _code in OLD_PROBLEMS]  # the stored English, unchanged
    assert detail["error_codes"] == [code for _problem, code in OLD_PROBLEMS]
    with workspace.sessions() as session:
        assert session.scalar(select(Capture.error_codes).where(Capture.id == capture_id)) is None  # not rewritten
    korean = _show(home, capture_id, "ko")
    assert "HTTP 상태 코드 403(으)로 응답했습니다" in korean and "처음 5개만 수집했고" in korean
    assert "the page answered" not in korean and "media limit of" not in korean
    assert "connection reset by peer" in korean  # readable as stored


def test_the_migration_adds_the_column_and_keeps_older_rows(
    workspace: Workspace, home: Path, site: Site, allow_local: str
) -> None:
    """A workspace from before migration 0670 (SQLite or PostgreSQL): its captures survive the upgrade with
    their English problems, get no stored codes (recognised when read), and new captures store codes."""
    from sqlalchemy import inspect

    from idolguard.db.session import upgrade

    settings = CaptureSettings.from_workspace(workspace, browser=False, media=False)
    [first] = capture_urls(workspace, [f"{site.base}/no-such-page-before-0670"], settings, analyze_media=False)
    engine = workspace.engine
    downgrade_to(workspace, "0660_capture_media_error_codes")
    assert "error_codes" not in {c["name"] for c in inspect(engine).get_columns("captures")}
    with engine.begin() as conn:  # written as the older schema had it
        conn.execute(
            text(
                "UPDATE captures SET errors = :errors, error = 'the page answered HTTP 410 Gone' WHERE id = :id"
                if engine.dialect.name == "sqlite"
                else "UPDATE captures SET errors = CAST(:errors AS JSONB), error = 'the page answered HTTP 410 Gone' "
                "WHERE id = :id"
            ),
            {"errors": '["the page answered HTTP 410 Gone"]', "id": first.capture_id},
        )
    upgrade(engine)
    assert "error_codes" in {c["name"] for c in inspect(engine).get_columns("captures")}
    old = capture_detail(workspace, first.capture_id)
    assert old["errors"] == ["the page answered HTTP 410 Gone"]
    assert old["error_codes"] == [{"code": "capture.http_status", "params": {"status": "410", "reason": "Gone"}}]
    with workspace.sessions() as session:
        assert session.scalar(select(Capture.error_codes).where(Capture.id == first.capture_id)) is None
    assert "HTTP 상태 코드 410(으)로 응답했습니다" in _show(home, first.capture_id, "ko")
    [new] = capture_urls(workspace, [f"{site.base}/no-such-page-after-0670"], settings, analyze_media=False)
    with workspace.sessions() as session:  # stored, not recognised from text
        assert session.scalar(select(Capture.error_codes).where(Capture.id == new.capture_id)) == [
            {"code": "capture.http_status", "params": {"status": 404}}
        ]


def test_problems_with_the_cause_inside_are_said_whole_in_korean(
    workspace: Workspace, home: Path, site: Site, allow_local: str
) -> None:
    """A problem whose text carries its cause (the TSA's answer, the download limit reached) is said in Korean
    with that cause, not half in English: capture's sentences have their own templates."""
    settings = CaptureSettings.from_workspace(
        workspace, browser=False, max_total_bytes=4000, tsa_urls=[f"{site.base}/no-tsa-here"]
    )
    [out] = capture_urls(workspace, [f"{site.base}/post/budget-0670"], settings, analyze_media=False)
    codes = [c["code"] for c in out.coded_errors() if c]
    assert "capture.media_budget" in codes and "capture.timestamp" in codes
    shown = _show(home, out.capture_id, "ko")
    assert f"{site.base}/no-tsa-here에서 타임스탬프를 받지 못했습니다: TSA가 HTTP 404(으)로 응답했습니다" in shown
    assert "내려받기 한도 4000바이트에 도달했습니다" in shown
    assert "건너뜀: URL 하나당 내려받기 한도 4000바이트에 도달했습니다" in shown  # the media skipped after it
    for english in ("timestamp from", "total download limit", "skipped:", "failed:"):
        assert english not in shown, shown
    english = _show(home, out.capture_id, "en")
    assert "total download limit of 4000 bytes per URL reached" in english and "timestamp from" in english
