"""The artists page's re-embed button (``POST /admin/reembed``): ``idolguard artists reembed`` as a background
job, one artist per step, through the CLI's own function (one signed ``gallery.reembed`` event per artist,
recorded as the admin who asked), resumable, kept to the admin's scope, its result said in the reader's
language. Real workspace, real face pipeline, references turned back into the older kind the way
``tests/faces/test_reembed.py`` builds such a gallery."""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from idolguard.faces.analysis import REFERENCE_EMBEDDING
from idolguard.gallery.models import Artist, ArtistReference
from idolguard.web import jobs
from idolguard.web.models import Job
from tests.faces.test_reembed import _enrol, _events, _make_legacy

from .conftest import STRONG, csrf_of, make_user, sign_in
from .test_jobs import run_job


@pytest.fixture
def legacy(app_ws, cli, tmp_path):  # type: ignore[no-untyped-def]
    """Two artists enrolled before multi-scale references: every reference of the older kind."""
    _enrol(cli, tmp_path)
    _enrol(cli, tmp_path, "Sally Ride")
    return _make_legacy(app_ws)


def _kinds(ws) -> dict[str, list]:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        rows = session.execute(
            select(Artist.name, ArtistReference.face).join(Artist, Artist.id == ArtistReference.artist_id)
        ).all()
    found: dict[str, list] = {}
    for name, face in rows:
        found.setdefault(name, []).append(face.get("reference_embedding"))
    return found


def _job(ws, job_id: int) -> Job:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return session.get(Job, job_id)


def _started(client, **form: str) -> int:  # type: ignore[no-untyped-def]
    response = client.post("/admin/reembed", data={"csrf": csrf_of(client.get("/artists").text), **form})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_only_admins_of_the_artist_may_start_it(app_ws, client, new_client, legacy):  # type: ignore[no-untyped-def]
    analyst = sign_in(new_client(), make_user(app_ws, "ana", "analyst", password=STRONG))
    page = analyst.get("/artists").text
    assert "reembed-needed" in page and 'action="/admin/reembed"' not in page  # told, but no button
    refused = analyst.post("/admin/reembed", data={"csrf": csrf_of(analyst.get("/account").text)})
    assert refused.status_code == 403
    boss = sign_in(new_client(), make_user(app_ws, "sadm", "admin", ["Sally Ride"], password=STRONG), lang="en")
    page = html.unescape(boss.get("/artists").text)
    assert "Eileen Collins" not in page and "Re-embed the reference photos of 1 artist(s) now" in page
    # the warning above counts only the artists of their scope (not "4 reference(s) of 2 artist(s)")
    assert "2 reference(s) of 1 artist(s) were embedded differently" in page
    outside = boss.post("/admin/reembed", data={"csrf": csrf_of(page), "artist": "Eileen Collins"})
    assert outside.status_code == 404  # as if unknown: no existence leak
    unknown = boss.post("/admin/reembed", data={"csrf": csrf_of(page), "artist": "Nobody At All"})
    assert unknown.status_code == 404
    no_csrf = boss.post("/admin/reembed", data={"artist": "Sally Ride"})
    assert no_csrf.status_code == 403
    with app_ws.sessions() as session:
        assert session.scalar(select(Job.id).where(Job.kind == jobs.REEMBED)) is None
    # "every artist" for a scoped admin is every artist of their scope
    job_id = _started(boss)
    assert _job(app_ws, job_id).params["artists"] == ["Sally Ride"]
    assert _job(app_ws, job_id).total == 2
    assert _started(boss, artist="sally ride") == job_id, "the same job is shown, not a second one"
    assert boss.get(f"/jobs/{job_id}").status_code == 200
    # a queued job of every artist (an unscoped admin's) is not one the scoped admin is sent to
    whole = sign_in(new_client(), make_user(app_ws, "root", "admin", password=STRONG))
    both = _started(whole)
    assert both != job_id and _job(app_ws, both).params["artists"] == ["Eileen Collins", "Sally Ride"]
    assert _started(whole, artist="Sally Ride") in (job_id, both), "no third job"
    assert _started(boss) == job_id, "sent to the job of their own artist, never to the one they may not open"
    recent = boss.get("/intake").text  # the intake page's recent jobs: only those they may open
    assert f'href="/jobs/{job_id}"' in recent and f'href="/jobs/{both}"' not in recent
    assert f'href="/jobs/{both}"' in whole.get("/intake").text


def test_the_job_re_embeds_one_artist_per_step_as_the_cli_does(app_ws, client, new_client, legacy):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="en")
    page = html.unescape(client.get("/artists").text)
    assert "Re-embed the reference photos of 2 artist(s) now" in page
    assert page.count('class="inline reembed-one"') == 2
    job_id = _started(client)
    job = _job(app_ws, job_id)
    assert job.kind == jobs.REEMBED and job.params["artists"] == ["Eileen Collins", "Sally Ride"] and job.total == 4

    jobs.run_job(app_ws, job_id)  # the first step: the first artist only, the next step queued behind it
    job = _job(app_ws, job_id)
    assert job.state == "queued" and job.params["next"] == 1 and job.done == 2 and job.attempts == 0
    kinds = _kinds(app_ws)
    assert kinds["Eileen Collins"] == [REFERENCE_EMBEDDING] * 2 and kinds["Sally Ride"] == [None, None]
    events = _events(app_ws, "gallery.reembed")
    assert [e["artist"] for e in events] == ["Eileen Collins"]
    assert client.get(f"/jobs/{job_id}/progress.json").json()["done"] == 2

    jobs.run_job(app_ws, job_id)
    job = _job(app_ws, job_id)
    assert job.state == "done" and job.done == job.total == 4 and job.error is None
    assert job.params["tally"] == {"converted": 4, "kept": 0, "already": 0, "done": 4}
    assert set(_kinds(app_ws)["Sally Ride"]) == {REFERENCE_EMBEDDING}
    with app_ws.sessions() as session:
        from idolguard.db.models import LedgerEntry

        actors = session.scalars(select(LedgerEntry.actor).where(LedgerEntry.action == "gallery.reembed")).all()
    assert list(actors) == ["web:root", "web:root"], "one signed event per artist, as the admin who asked"
    shown = html.unescape(client.get(f"/jobs/{job_id}").text)
    table = shown.split('id="job-results"')[1].split("</table>")[0]
    assert table.count("re-embedded") == 4 and "Sally Ride" in table and "portrait.jpg" in table
    assert "Re-embedded 4 reference photos; 0 kept as they were; 0 were already" in shown
    assert "re-embedding of reference photos" in shown  # the job's kind in words
    assert 'id="reembed-warning"' not in client.get("/artists").text
    # an admin scoped to one artist may not open a job of another artist's references (its rows, its counts)
    boss = sign_in(new_client(), make_user(app_ws, "sadm", "admin", ["Sally Ride"], password=STRONG), lang="en")
    assert boss.get(f"/jobs/{job_id}").status_code == 404
    assert boss.get(f"/jobs/{job_id}/progress.json").status_code == 404
    from idolguard.web import accounts

    token = accounts.create_token(app_ws, "sadm", "write", "1d", by="test")
    api = boss.get(f"/api/v1/jobs/{job_id}", headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 404, "nor through the API"
    token = accounts.create_token(app_ws, "root", "write", "1d", by="test")
    api = client.get(f"/api/v1/jobs/{job_id}", headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 200 and len(api.json()["results"]) == 4
    # nothing left: said, no job
    again = client.post("/admin/reembed", data={"csrf": csrf_of(client.get("/artists").text)})
    assert again.status_code == 409 and "No reference photo needs re-embedding." in again.text
    from idolguard.evidence.verify import verify_workspace

    assert verify_workspace(app_ws).ok, "the events are signed and chained"


def test_a_step_killed_midway_is_resumed(app_ws, client, legacy, monkeypatch):  # type: ignore[no-untyped-def]
    from idolguard.faces import reembed as module

    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG))
    job_id = _started(client, artist="Eileen Collins")
    real = module._embed_from_vault
    calls = {"n": 0}

    def dies_on_second(ws, ref, analyzer):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        return real(ws, ref, analyzer)

    monkeypatch.setattr(module, "_embed_from_vault", dies_on_second)
    with pytest.raises(RuntimeError):
        jobs.run_job(app_ws, job_id)
    assert _kinds(app_ws)["Eileen Collins"] == [None, None], "the artist in progress was rolled back"
    assert _events(app_ws, "gallery.reembed") == []
    monkeypatch.setattr(module, "_embed_from_vault", real)
    with app_ws.sessions() as session, session.begin():  # the lease lapsed (the worker died)
        session.execute(update(Job).where(Job.id == job_id).values(started_at=datetime.now(UTC) - timedelta(hours=1)))
    jobs.run_job(app_ws, job_id)
    job = _job(app_ws, job_id)
    assert job.state == "done" and job.params["tally"]["converted"] == 2 and job.attempts == 2
    assert _kinds(app_ws) == {"Eileen Collins": [REFERENCE_EMBEDDING] * 2, "Sally Ride": [None, None]}
    assert len(_events(app_ws, "gallery.reembed")) == 1


def test_a_kept_reference_is_said_in_korean_through_the_queue(app_ws, client, legacy):  # type: ignore[no-untyped-def]
    # each artist's portrait is gone from the vault (two files: one photo file cannot be two artists' reference)
    with app_ws.sessions() as session:
        gone = dict(
            session.execute(
                select(Artist.name, ArtistReference.photo_sha256)
                .join(Artist, Artist.id == ArtistReference.artist_id)
                .where(ArtistReference.source_name == "portrait.jpg")
            ).all()
        )
    assert len(gone) == 2 and set(gone.values()) <= set(legacy)
    for photo in gone.values():
        os.remove(app_ws.vault.path_for(photo))
    sign_in(client, make_user(app_ws, "kadm", "admin", password=STRONG), lang="ko")
    page = html.unescape(client.get("/artists").text)
    assert "아티스트 2명의 기준 사진을 지금 다시 임베딩" in page and "다시 임베딩할 기준 사진 2장" in page
    job_id = _started(client)
    state = run_job(client, app_ws, job_id)  # the real queue and its in-process worker
    assert state["state"] == "done" and state["error"]  # finished with errors: some references were kept
    shown = html.unescape(client.get(f"/jobs/{job_id}").text)
    table = shown.split('id="job-results"')[1].split("</table>")[0]
    assert table.count("다시 임베딩함") == 2 and "보관소" in table and all(p[:12] in table for p in gone.values())
    assert "reembed.vault_missing" not in table and "no longer in the vault" not in table
    assert "기준 사진 2장을 다시 임베딩했습니다. 2장은 그대로 두었고" in shown
    assert "기준 사진 다시 임베딩" in shown
    events = _events(app_ws, "gallery.reembed")
    assert sorted(e["artist"] for e in events) == ["Eileen Collins", "Sally Ride"]
    assert all([k["photo"] for k in e["kept"]] == [gone[e["artist"]]] for e in events)
