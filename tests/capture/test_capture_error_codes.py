"""Every problem a capture meets carries a code, so the web's job page, the fan-report page and the CLI say it
in Korean too (the English text stays stored as evidence). Real captures of the local fixture site."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from idolguard.capture.service import CaptureOutcome, capture_urls
from idolguard.capture.settings import CaptureSettings
from idolguard.cli_lang import tr_stored
from idolguard.errors import ErrorCode
from idolguard.web.errors import shown_error
from idolguard.web.i18n import translator
from idolguard.workspace import Workspace
from tests.capture.server import Site

HANGUL = re.compile(r"[\uac00-\ud7a3]")
SERVICE = Path(__file__).resolve().parents[2] / "src" / "idolguard" / "capture" / "service.py"


def _codes(out: CaptureOutcome) -> set[ErrorCode]:
    assert set(out.error_codes) == set(range(len(out.errors))), f"uncoded problems: {out.errors}"
    return {code for code, _params in out.error_codes.values()}


def _said_in_korean(out: CaptureOutcome) -> None:
    """Each problem in Korean on the CLI, and the first one on the web's job page (its code, as stored there)."""
    for index, text in enumerate(out.errors):
        code, params = out.error_codes[index]
        assert HANGUL.search(tr_stored(text, str(code), params, "ko")), text
    row = {"error": out.error, "error_code": str(out.error_code), "error_params": out.error_params}
    korean = shown_error(translator("ko"), row)
    assert HANGUL.search(korean) and "요청을 처리하지 못했습니다" not in korean, korean  # not the generic sentence


def test_no_problem_is_recorded_without_a_code() -> None:
    """``CaptureOutcome.add_error`` records a code with each problem; appending text alone would leave web
    readers a generic sentence."""
    tree = ast.parse(SERVICE.read_text(encoding="utf-8"))
    bare = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("append", "extend", "insert")
        and ast.unparse(node.func.value) in ("out.errors", "self.out.errors")
    ]
    assert not bare, f"capture/service.py lines {bare}: record problems with add_error(text, ErrorCode.X, ...)"


def test_untrusted_tls_is_coded(workspace: Workspace, site: Site, allow_local: str) -> None:
    settings = CaptureSettings.from_workspace(workspace, browser=False)
    [out] = capture_urls(workspace, [f"{site.https_base}/post/tls"], settings, analyze_media=False)
    assert out.state == "partial" and ErrorCode.CAPTURE_TLS_UNTRUSTED in _codes(out)
    _said_in_korean(out)


def test_media_limit_and_total_bytes_are_coded(workspace: Workspace, site: Site, allow_local: str) -> None:
    settings = CaptureSettings.from_workspace(workspace, browser=False, max_media=1)
    [out] = capture_urls(workspace, [f"{site.base}/post/limit"], settings, analyze_media=False)
    assert ErrorCode.CAPTURE_MEDIA_LIMIT in _codes(out)
    code, params = next(v for v in out.error_codes.values() if v[0] is ErrorCode.CAPTURE_MEDIA_LIMIT)
    assert params["limit"] == 1 and params["skipped"] >= 1
    _said_in_korean(out)
    settings = CaptureSettings.from_workspace(workspace, browser=False, max_total_bytes=4000)
    [out] = capture_urls(workspace, [f"{site.base}/post/bytes"], settings, analyze_media=False)
    assert ErrorCode.CAPTURE_MEDIA_BUDGET in _codes(out)
    _, params = next(v for v in out.error_codes.values() if v[0] is ErrorCode.CAPTURE_MEDIA_BUDGET)
    # the media after the limit are counted, not hidden
    assert params["skipped"] == sum(1 for m in out.media if (m.error or "").startswith("skipped:"))
    _said_in_korean(out)


def test_failed_timestamps_are_coded(workspace: Workspace, site: Site, allow_local: str) -> None:
    settings = CaptureSettings.from_workspace(workspace, browser=False, tsa_urls=[f"{site.base}/no-tsa-here"])
    [out] = capture_urls(workspace, [f"{site.base}/post/tsa-fail-coded"], settings, analyze_media=False)
    assert ErrorCode.CAPTURE_TIMESTAMP in _codes(out)
    _, params = next(v for v in out.error_codes.values() if v[0] is ErrorCode.CAPTURE_TIMESTAMP)
    assert params["tsa"] == f"{site.base}/no-tsa-here"
    _said_in_korean(out)


def test_an_internal_error_is_coded_for_the_fan_report_page(
    workspace: Workspace, site: Site, allow_local: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first error of a failed capture is what a reported link's row stores as its reason: an unexpected
    crash is explained, not the generic sentence."""
    from idolguard.capture import archive

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(archive, "build_wacz", crash)
    settings = CaptureSettings.from_workspace(workspace, browser=False)
    [out] = capture_urls(workspace, [f"{site.base}/post/crash-coded"], settings, analyze_media=False)
    assert out.state == "error" and out.error_code is ErrorCode.CAPTURE_INTERNAL
    assert "disk on fire" in (out.error or "")  # the English record keeps what happened
    _said_in_korean(out)


def test_render_problems_are_recognised_with_their_values() -> None:
    from idolguard.capture.browser import RENDER_FORMS
    from idolguard.coded_text import recognise

    found = recognise("page is 30000 px tall; screenshot cut at 20000 px", RENDER_FORMS)
    assert found == {"code": "capture.screenshot_cut", "params": {"height": "30000", "limit": "20000"}}
    found = recognise("page did not finish loading within 12.5 s; rendered as it was", RENDER_FORMS)
    assert found == {"code": "capture.page_slow", "params": {"seconds": "12.5"}}
