"""After a stage version bump, what leaves older results out (``scan --json``, the API, the evidence report)
names the outdated steps (``outdated_stages``), so a missing faces or manipulation section is never read as "no
face found"; the older values themselves stay out. The case report, which shows the stored results, marks the
items whose results are older than the installed step. Real workspace, real faces pipeline (tests/web/seed.py)."""

from __future__ import annotations

import html
import re

import pytest

from .seed import seed
from .test_api import bearer, token_for

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture
def bumped(app_ws, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    s = seed(app_ws, tmp_path / "media")
    from idolguard.faces.stage import FacesStage

    monkeypatch.setattr(FacesStage, "version", f"{FacesStage.version}-next")
    return s


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_scan_objects_and_the_api_name_the_outdated_steps(client, app_ws, bumped):
    from idolguard.pipeline.scan import item_object
    from idolguard.pipeline.stale import find_stale, refresh

    obj = item_object(app_ws, bumped.suspect)
    assert "faces" in obj["outdated_stages"] and "faces" not in obj["stages"]
    assert "faces" not in obj, "the older faces are never part of the object"
    answer = client.get(f"/api/v1/items/{bumped.suspect}", headers=bearer(token_for(app_ws, "ana", "analyst")))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "faces" in body["outdated_stages"] and body["analysis"]["outdated_stages"] == body["outdated_stages"]
    assert "faces" not in body["analysis"], "an outdated analysis is not an empty list of faces"

    refresh(app_ws, find_stale(app_ws))
    fresh = item_object(app_ws, bumped.suspect)
    assert fresh["outdated_stages"] == [] and fresh["faces"]


def test_the_evidence_report_says_the_analysis_is_out_of_date(app_ws, bumped):
    from idolguard.pipeline.scan import item_object
    from idolguard.report.html import render_report

    obj = dict(item_object(app_ws, bumped.suspect))
    korean = _text(render_report(app_ws, [obj], lang="ko"))
    assert "분석이 최신이 아닙니다: 얼굴 검출" in korean and "analyze --stale" in korean
    english = _text(render_report(app_ws, [obj], lang="en"))
    notice = english.split("Analysis out of date: ", 1)[1][:300]
    assert notice.startswith("Face detection") and not HANGUL.search(notice)

    current = dict(item_object(app_ws, bumped.shapes))
    current["outdated_stages"] = []
    assert "Analysis out of date" not in _text(render_report(app_ws, [current], lang="en"))


def test_the_case_report_marks_older_results_and_draws_charts_per_language(app_ws, bumped):
    from idolguard.cases.report import build_context, render_html
    from idolguard.cases.service import add_to_case, open_case

    key = open_case(app_ws, "outdated", bumped.artist)
    add_to_case(app_ws, key, [bumped.suspect])
    context = build_context(app_ws, key, "both")
    page = render_html(context)
    assert 'id="outdated-analysis"' in page
    text = _text(page)
    assert "분석이 최신이 아님" in text and "Analysis out of date" in text
    assert len(context["charts"]["sightings"]) == 2, "a bilingual report draws its chart in each language"
    assert context["charts"]["sightings"][0] != context["charts"]["sightings"][1]


def test_cases_report_warns_when_items_are_out_of_date(app_ws, bumped, cli, tmp_path):
    from idolguard.cases.service import add_to_case, open_case

    key = open_case(app_ws, "outdated cli", bumped.artist)
    add_to_case(app_ws, key, [bumped.suspect])
    result = cli("cases", "report", key, "--out", tmp_path / "r.html", "--format", "html", "--lang", "en")
    assert "analysed by older stage versions" in result.output and "analyze --stale" in result.output
