"""One rule for a background job's page and the REST API's ``GET /api/v1/jobs/{id}`` (``web/job_access.py``;
review s8 finding 3): for every job kind and every kind of viewer, the API finds the job exactly when the page
does, and lists exactly the rows the page lists. An artist-scoped admin sees another user's upload or capture
only with the rows of items they see, and counts of those rows (webtry left item 11)."""

from __future__ import annotations

import pytest

from idolguard.db.models import Item
from idolguard.web import accounts, jobs
from idolguard.web.models import Job, Review, ReviewArtist

from .conftest import STRONG, make_user, sign_in

ROW = "0" * 64


def _job(ws, kind: str, params: dict, results: list, error: str | None = None) -> int:  # type: ignore[no-untyped-def,type-arg]
    with ws.sessions() as session, session.begin():
        job = Job(
            kind=kind,
            state="done",
            created_by="adm",
            params=params,
            total=len(results),
            done=len(results),
            results=results,
            error=error,
        )
        session.add(job)
        session.flush()
        return int(job.id)


@pytest.mark.parametrize(
    ("kind", "params", "row"),
    [
        ("capture", {"urls": ["https://example.com/a"]}, {"url": "https://example.com/a", "sha256": ROW}),
        ("upload", {}, {"name": "a.jpg", "sha256": ROW}),
        (
            jobs.REANALYSE,
            {"counts": {"analysed": 0, "skipped": 1}},
            {"name": ROW[:12], "sha256": ROW, "stage": "faces"},
        ),
        (jobs.REEMBED, {"artists": ["Eileen Collins"]}, {"artist": "Eileen Collins", "photo": ROW}),
    ],
)
def test_the_api_finds_and_lists_a_job_exactly_as_its_page(app_ws, new_client, kind, params, row) -> None:  # type: ignore[no-untyped-def]
    job_id = _job(app_ws, kind, params, [row])
    viewers = {
        "adm": ("admin", []),  # the creator, sees everything
        "sadm": ("admin", ["Sally Ride"]),  # an admin scoped to another artist
        "eadm": ("admin", ["Eileen Collins"]),  # an admin scoped to the job's artist
        "ana": ("analyst", []),  # not the creator, not an admin
    }
    expected = {
        # ROW is no stored item: its row names no artist a scoped admin sees, so the job is not found for them
        "capture": {"adm": [row], "sadm": None, "eadm": None, "ana": None},
        "upload": {"adm": [row], "sadm": None, "eadm": None, "ana": None},
        jobs.REANALYSE: {"adm": [row], "sadm": None, "eadm": None, "ana": None},  # whole workspace only
        jobs.REEMBED: {"adm": [row], "sadm": None, "eadm": [row], "ana": None},
    }[kind]
    for name, (role, artists) in viewers.items():
        browser = sign_in(new_client(), make_user(app_ws, name, role, artists, password=STRONG), lang="en")
        token = accounts.create_token(app_ws, name, "write", "1d", by="test")  # a read token is no admin
        api = browser.get(f"/api/v1/jobs/{job_id}", headers={"authorization": f"Bearer {token}"})
        page = browser.get(f"/jobs/{job_id}")
        assert api.status_code == page.status_code == (404 if expected[name] is None else 200), name
        if expected[name] is None:
            continue
        assert api.json()["results"] == expected[name], name
        hidden = 'id="job-rows-hidden"' in page.text
        assert hidden == (expected[name] == [] and kind == jobs.REANALYSE), name


def _items(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Three stored items in triage: one of Eileen Collins, one of Sally Ride, one with no artist."""
    shas = {"eileen": "e" * 64, "sally": "5" * 64, "none": "a" * 64}
    with ws.sessions() as session, session.begin():
        for artist, sha in shas.items():
            session.add(Item(sha256=sha, md5="0" * 32, size=1, media_type="image"))
            session.flush()
            named = {"eileen": "Eileen Collins", "sally": "Sally Ride"}.get(artist)
            session.add(Review(item_sha256=sha, artist=named, risk=0.5))
            if named:
                session.add(ReviewArtist(item_sha256=sha, artist=named, risk=0.5))
    return shas


def test_a_scoped_admin_sees_another_users_upload_and_capture_only_for_their_artists(app_ws, new_client) -> None:  # type: ignore[no-untyped-def]
    sha = _items(app_ws)
    upload = [
        {"name": "eileen-fake.jpg", "sha256": sha["eileen"], "duplicate": False, "error": None},
        {"name": "sally-fake.jpg", "sha256": sha["sally"], "duplicate": False, "error": "faces: broken"},
        {"name": "nobody.jpg", "sha256": sha["none"], "duplicate": False, "error": None},
        {"name": "empty.jpg", "sha256": None, "error": "empty file", "error_code": "intake.empty"},
    ]
    capture = [
        {"name": "https://x.example/both", "capture_id": 1, "state": "done", "media": [sha["eileen"], sha["sally"]]},
        {"name": "https://x.example/sally", "capture_id": 2, "state": "done", "media": [sha["sally"]]},
        {"name": "https://x.example/gone", "capture_id": None, "state": "failed", "media": [], "error": "404"},
    ]
    up = _job(app_ws, "upload", {"files": ["a", "b", "c", "d"]}, upload, "2 of 4 failed")
    cap = _job(app_ws, "capture", {"urls": [r["name"] for r in capture]}, capture, "1 of 3 failed")
    viewers = {
        "adm": ("admin", []),  # the creator
        "root": ("admin", []),  # an admin of the whole workspace
        "eadm": ("admin", ["Eileen Collins"]),
        "sadm": ("admin", ["Sally Ride"]),
        "tadm": ("admin", ["Third Artist"]),  # sees only the unattributed item
    }
    # (file names or URLs listed, total, "failed of" in the API's error) per viewer; None: not found
    expected = {
        up: {
            "adm": ([r["name"] for r in upload], 4, "2 of 4 failed"),
            "root": ([r["name"] for r in upload], 4, "2 of 4 failed"),
            "eadm": (["eileen-fake.jpg", "nobody.jpg"], 2, None),
            "sadm": (["sally-fake.jpg", "nobody.jpg"], 2, "1 of 2 failed"),
            "tadm": (["nobody.jpg"], 1, None),
        },
        cap: {
            "adm": ([r["name"] for r in capture], 3, "1 of 3 failed"),
            "root": ([r["name"] for r in capture], 3, "1 of 3 failed"),
            "eadm": (["https://x.example/both"], 1, None),
            "sadm": (["https://x.example/both", "https://x.example/sally"], 2, None),
            "tadm": None,
        },
    }
    for name, (role, artists) in viewers.items():
        browser = sign_in(new_client(), make_user(app_ws, name, role, artists, password=STRONG), lang="en")
        token = accounts.create_token(app_ws, name, "write", "1d", by="test")
        intake = browser.get("/intake").text
        for job_id, want in expected.items():
            api = browser.get(f"/api/v1/jobs/{job_id}", headers={"authorization": f"Bearer {token}"})
            page = browser.get(f"/jobs/{job_id}")
            progress = browser.get(f"/jobs/{job_id}/progress.json")
            seen = want[name]
            assert api.status_code == page.status_code == progress.status_code == (404 if seen is None else 200)
            assert (f'href="/jobs/{job_id}"' in intake) == (seen is not None), (name, job_id)
            if seen is None:
                continue
            names, total, error = seen
            body = api.json()
            assert [r["name"] for r in body["results"]] == names, (name, job_id)
            assert (body["total"], body["done"], body["error"]) == (total, total, error), (name, job_id)
            assert (progress.json()["total"], progress.json()["done"]) == (total, total), (name, job_id)
            assert f"<td>{total}/{total}</td>" in intake, (name, job_id)
            hidden = [r["name"] for r in upload + capture if r["name"] not in names]
            for other in hidden:  # neither the file name or URL nor, for another artist, the item's hash
                assert other not in page.text and other not in api.text, (name, other)
            if not artists or "Sally Ride" in artists:
                continue
            assert sha["sally"][:12] not in page.text and sha["sally"] not in api.text, (name, job_id)
        if name == "eadm":  # their capture row lists only their artist's media item
            assert body["results"][0]["media"] == [sha["eileen"]]
