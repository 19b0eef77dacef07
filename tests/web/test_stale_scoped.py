"""An artist-scoped user who triages is told how many items *of their artists* hold results of older stage
versions (never the workspace's count, never other artists' items), from the count the background recount
stores (``HOME/jobs/stale_count.json``), not counted on the request. Real workspace, real faces pipeline
(tests/web/seed.py); the bump is the faces stage's version."""

from __future__ import annotations

import html
import json
import time

import pytest

from idolguard.web.item_view import forget_stale_count, refresh_stale_count, stale_count_of
from idolguard.web.models import ReviewArtist

from .conftest import STRONG, make_user, sign_in
from .seed import seed


@pytest.fixture
def bumped(app_ws, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    s = seed(app_ws, tmp_path / "media")  # the suspect shows the artist; the shapes item no one
    from idolguard.faces.stage import FacesStage

    monkeypatch.setattr(FacesStage, "version", f"{FacesStage.version}-next")
    forget_stale_count(app_ws)
    assert refresh_stale_count(app_ws) == 2
    yield s
    forget_stale_count(app_ws)


def _notice(client) -> str:  # type: ignore[no-untyped-def]
    page = html.unescape(client.get("/triage").text)
    return page.split('id="stale-notice"')[1].split("</div>")[0] if 'id="stale-notice"' in page else ""


def test_a_scoped_user_is_told_about_their_artists_items_only(app_ws, bumped, new_client):  # type: ignore[no-untyped-def]
    own = sign_in(new_client(), make_user(app_ws, "own", "analyst", [bumped.artist], password=STRONG), lang="en")
    notice = _notice(own)
    assert "Items of your artists analysed by older stage versions: 1." in notice
    assert "2 items" not in notice, "the unattributed item is not counted for a scoped user"
    other = sign_in(new_client(), make_user(app_ws, "oth", "analyst", ["Someone Else"], password=STRONG))
    assert _notice(other) == ""
    boss = sign_in(new_client(), make_user(app_ws, "sadm", "admin", [bumped.artist], password=STRONG), lang="ko")
    notice = _notice(boss)
    assert "담당 아티스트의 자료 1개가 이전 단계 버전으로 분석되었습니다" in notice
    assert "/admin/reanalyse" not in notice, "a scoped admin may not start the workspace-wide job"
    viewer = sign_in(new_client(), make_user(app_ws, "vic", "viewer", [bumped.artist], password=STRONG))
    assert _notice(viewer) == "", "only those who triage are told"
    whole = sign_in(new_client(), make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    assert "Items analysed by older stage versions: 2." in _notice(whole)


def test_an_item_of_two_of_the_users_artists_counts_once(app_ws, bumped):  # type: ignore[no-untyped-def]
    with app_ws.sessions() as session, session.begin():
        session.add(ReviewArtist(item_sha256=bumped.suspect, artist="Look Alike", risk=0.0))
        session.add(ReviewArtist(item_sha256=bumped.shapes, artist="Third", risk=0.0))
    refresh_stale_count(app_ws)
    assert stale_count_of(app_ws, [bumped.artist, "Look Alike"]) == 1
    assert stale_count_of(app_ws, ["Look Alike"]) == 1
    assert stale_count_of(app_ws, ["Third", bumped.artist]) == 2
    assert stale_count_of(app_ws, ["Nobody"]) == 0
    stored = json.loads((app_ws.home / "jobs" / "stale_count.json").read_text(encoding="utf-8"))
    assert sorted(stored["groups"]) == [[sorted([bumped.artist, "Look Alike"]), 1], [["Third"], 1]]


def test_a_count_stored_without_the_groups_is_counted_again_in_the_background(app_ws, bumped):  # type: ignore[no-untyped-def]
    target = app_ws.home / "jobs" / "stale_count.json"
    stored = json.loads(target.read_text(encoding="utf-8"))
    del stored["groups"]  # written by the version before the per-artist groups
    target.write_text(json.dumps(stored), encoding="utf-8")
    assert stale_count_of(app_ws, [bumped.artist]) is None  # not counted on the request
    deadline = time.monotonic() + 60
    while stale_count_of(app_ws, [bumped.artist]) is None:
        assert time.monotonic() < deadline, "the background count did not store the groups"
        time.sleep(0.1)
    assert stale_count_of(app_ws, [bumped.artist]) == 1
