"""Content Credentials problems and C2PA provenance leads in Korean: the item page's "Problem" row, the case
page's and reports' lead (where it was found, its placeholder value) come from the catalogs, never the stored
English; the C2PA library's own words stay, as data, after our sentence."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from idolguard.db.models import StageResult
from idolguard.web import explain
from idolguard.web.i18n import translator

from .conftest import STRONG, make_user, sign_in
from .seed import seed

HANGUL = re.compile(r"[\uac00-\ud7a3]")
BROKEN = {"present": True, "signature_valid": False, "ai_generated": False}
LIBRARY = "ClaimSignature: signature mismatch"


def test_reader_codes_its_problems() -> None:
    from idolguard.detect.content_credentials import NOT_INSTALLED, _problem

    coded = _problem(dict(BROKEN), LIBRARY)
    assert coded["error"] == LIBRARY and coded["error_code"] == "c2pa.unreadable"
    assert coded["error_params"] == {"detail": LIBRARY}
    assert _problem({"present": None}, NOT_INSTALLED)["error_code"] == "c2pa.not_installed"


def test_problem_rows_are_korean_for_new_and_old_results() -> None:
    from idolguard.detect.content_credentials import NOT_INSTALLED, _problem

    korean = translator("ko")
    for stored in (_problem(dict(BROKEN), LIBRARY), {**BROKEN, "error": LIBRARY}):  # coded, and stored before codes
        rows = dict(explain.c2pa_rows(stored, korean, "Asia/Seoul"))
        problem = rows["문제"]
        assert HANGUL.search(problem) and LIBRARY in problem and "could not" not in problem
    for stored in (_problem({"present": None}, NOT_INSTALLED), {"present": None, "error": NOT_INSTALLED}):
        rows = explain.c2pa_rows(stored, korean, "Asia/Seoul")
        assert rows[0] == ("파일에 포함 여부", "확인하지 않음"), rows  # never "absent": the file was not read
        assert "c2pa-python" in rows[1][1] and HANGUL.search(rows[1][1]) and "not installed" not in rows[1][1]
    english = dict(explain.c2pa_rows(_problem(dict(BROKEN), LIBRARY), translator("en"), "UTC"))
    assert english["Problem"].startswith("The Content Credentials could not be read or verified")


def test_korean_item_page_says_the_c2pa_problem_in_korean(client, app_ws, tmp_path):  # type: ignore[no-untyped-def]
    from idolguard.detect.content_credentials import _problem

    s = seed(app_ws, tmp_path / "m")
    with app_ws.sessions() as session, session.begin():
        row = session.scalars(
            select(StageResult).where(StageResult.item_sha256 == s.suspect, StageResult.stage == "manipulation")
        ).one()
        row.output = {**row.output, "content_credentials": _problem(dict(BROKEN), LIBRARY)}
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    text = html.unescape(client.get(f"/items/{s.suspect}").text)
    section = text.split('id="c2pa"', 1)[1].split("</dl>", 1)[0]
    assert "콘텐츠 자격 증명(C2PA)을 읽거나 검증하지 못했습니다" in section and LIBRARY in section


def test_c2pa_leads_are_said_in_korean_also_when_stored_before_codes() -> None:
    from idolguard.cases.provenance import MANIFEST_PRESENT, lead, recoded
    from idolguard.cases.report import _said_leads
    from idolguard.report.i18n import said
    from idolguard.web.pages_cases import _leads_said

    new = lead("c2pa", "C2PA manifest", MANIFEST_PRESENT, "Content Credentials name the tool and signer", "high")
    old = {k: v for k, v in new.items() if not k.endswith(("_code", "_params"))}
    for stored in (new, old):
        assert said(recoded(stored), "source", "ko") == "콘텐츠 자격 증명(C2PA) 매니페스트"
        [page] = _leads_said([stored], "ko", translator("ko"))
        assert page["where"] == "콘텐츠 자격 증명(C2PA) 매니페스트" and page["value"].startswith("매니페스트 있음")
        assert HANGUL.search(page["meaning_said"])
        [report] = _said_leads([stored], ("ko",))
        assert report["source"] == "콘텐츠 자격 증명(C2PA) 매니페스트" and report["value"].startswith("매니페스트 있음")
    assert old == {k: v for k, v in new.items() if not k.endswith(("_code", "_params"))}  # stored lead untouched
