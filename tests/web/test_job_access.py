"""One rule for a background job's page and the REST API's ``GET /api/v1/jobs/{id}`` (``web/job_access.py``;
review s8 finding 3): for every job kind and every kind of viewer, the API finds the job exactly when the page
does, and lists exactly the rows the page lists."""

from __future__ import annotations

import pytest

from idolguard.web import accounts, jobs
from idolguard.web.models import Job

from .conftest import STRONG, make_user, sign_in

ROW = "0" * 64


def _job(ws, kind: str, params: dict, results: list) -> int:  # type: ignore[no-untyped-def,type-arg]
    with ws.sessions() as session, session.begin():
        job = Job(kind=kind, state="done", created_by="adm", params=params, total=1, done=1, results=results)
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
        "capture": {"adm": [row], "sadm": [row], "eadm": [row], "ana": None},
        "upload": {"adm": [row], "sadm": [row], "eadm": [row], "ana": None},
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
