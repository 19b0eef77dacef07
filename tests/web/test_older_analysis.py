"""After a stage version bump the item page shows the older results marked "older analysis version" (not
hidden, not current), analysts see how many items await ``idolguard analyze --stale`` on the triage page, and
the triage row keeps the projection made while that analysis was current, never one made from older results.
Real workspace, real faces pipeline (tests/web/seed.py); the bump is the faces stage's version."""

from __future__ import annotations

import html

import pytest

from idolguard.web.item_view import forget_stale_count, refresh_stale_count
from idolguard.web.models import Job, Review

from .conftest import STRONG, make_user, sign_in
from .seed import seed


@pytest.fixture
def bumped(app_ws, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    s = seed(app_ws, tmp_path / "media")
    from idolguard.faces.stage import FacesStage

    monkeypatch.setattr(FacesStage, "version", f"{FacesStage.version}-next")
    forget_stale_count(app_ws)
    assert refresh_stale_count(app_ws) == 2  # what the page's background count stores
    yield s
    forget_stale_count(app_ws)


def _review(ws, sha):  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return session.get(Review, sha)


def test_older_results_are_shown_marked_until_re_analysed(client, app_ws, bumped, new_client):
    from idolguard.faces.stage import FacesStage
    from idolguard.pipeline.stale import find_stale, refresh
    from idolguard.web.triage import sync_reviews

    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    page = html.unescape(client.get(f"/items/{bumped.suspect}").text)
    assert 'id="older-analysis"' in page and "older analysis version" in page
    stored = FacesStage.version.removesuffix("-next")
    assert f"faces v{stored} (current v{FacesStage.version})" in page
    faces = page.split("<h2>Faces", 1)[1].split("</table>", 1)[0]
    assert "older analysis version" in faces and bumped.artist in faces, "the older match is shown, marked"

    triage = html.unescape(client.get("/triage").text)
    assert 'id="stale-notice"' in triage and "Items analysed by older stage versions: 2." in triage
    viewer = sign_in(new_client(), make_user(app_ws, "vic", "viewer", password=STRONG))
    assert 'id="stale-notice"' not in viewer.get("/triage").text, "only those who triage are told"

    # Re-syncing the triage row of an outdated item keeps what it had; it does not erase the artist.
    before = _review(app_ws, bumped.suspect)
    sync_reviews(app_ws, [bumped.suspect])
    after = _review(app_ws, bumped.suspect)
    assert (after.artist, after.artist_decision) == (before.artist, before.artist_decision) == (bumped.artist, "match")

    result = refresh(app_ws, find_stale(app_ws))
    assert sorted(result.analysed) == sorted([bumped.suspect, bumped.shapes]) and not result.skipped
    forget_stale_count(app_ws)
    page = html.unescape(client.get(f"/items/{bumped.suspect}").text)
    assert 'id="older-analysis"' not in page and "older analysis version" not in page
    assert bumped.artist in page.split("<h2>Faces", 1)[1].split("</table>", 1)[0]
    assert 'id="stale-notice"' not in client.get("/triage").text
    assert _review(app_ws, bumped.suspect).artist == bumped.artist  # re-projected from the current analysis


def test_korean_item_page_marks_older_results(client, app_ws, bumped):
    sign_in(client, make_user(app_ws, "kim", "analyst", password=STRONG), lang="ko")
    page = html.unescape(client.get(f"/items/{bumped.suspect}").text)
    assert "이전 분석 버전" in page and "참고용으로만" in page
    assert "이전 단계 버전으로 분석되었습니다" in html.unescape(client.get("/triage").text)


def test_an_admin_starts_the_re_analysis_as_a_background_job(client, app_ws, bumped, new_client):
    import json

    from idolguard.db.models import LedgerEntry
    from idolguard.pipeline.stale import find_stale

    from .conftest import csrf_of
    from .test_jobs import run_job

    analyst = sign_in(new_client(), make_user(app_ws, "ana", "analyst", password=STRONG))
    assert 'id="reanalyse-form"' not in analyst.get("/triage").text, "the button is for admins"
    assert analyst.post("/admin/reanalyse", data={"csrf": csrf_of(analyst.get("/triage").text)}).status_code == 403

    sign_in(client, make_user(app_ws, "adm", "admin", password=STRONG), lang="en")
    triage = client.get("/triage").text
    assert 'id="reanalyse-form"' in triage
    started = client.post("/admin/reanalyse", data={"csrf": csrf_of(triage)})
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    again = client.post("/admin/reanalyse", data={"csrf": csrf_of(client.get("/triage").text)})
    assert again.headers["location"] == f"/jobs/{job_id}", "one re-analysis at a time"
    state = run_job(client, app_ws, job_id)
    assert state["state"] == "done" and state["done"] == state["total"] == 2 and not state["error"]
    with app_ws.sessions() as session:
        job = session.get(Job, job_id)
        assert job.results == [], "items brought up to date are counted, not listed"
        assert job.params["counts"]["analysed"] == 2 and job.params["counts"]["stored"] > 0
    assert find_stale(app_ws).items == []
    with app_ws.sessions() as session:
        events = [
            json.loads(e.line)
            for e in session.query(LedgerEntry)
            .filter(LedgerEntry.action == "pipeline.analyse")
            .order_by(LedgerEntry.seq)
        ]
    from idolguard.faces.stage import FacesStage

    faces = [e for e in events if e["details"]["stage"] == "faces" and e["details"]["version"] == FacesStage.version]
    assert sorted(e["item"] for e in faces) == sorted([bumped.suspect, bumped.shapes])  # once per item
    assert {e["actor"] for e in faces} == {"web:adm"}
    assert 'id="stale-notice"' not in client.get("/triage").text
    page = html.unescape(client.get(f"/jobs/{job_id}").text)
    assert 'id="job-counts"' in page and "Re-analysed 2 items" in page
