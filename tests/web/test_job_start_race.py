"""Two clicks at once start one workspace-wide job (review s8 finding 6): ``POST /admin/reanalyse`` and ``POST
/admin/reembed`` ask "is one already queued or running?" inside the transaction that queues the job
(``jobs.submit(unless=...)``, under the ledger lock that serialises writers), not before it.

The two requests are made to meet: each waits at a barrier as it calls ``jobs.submit``, so both have passed
whatever the handler did before queueing when either queues; the real ``submit`` then runs for both."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from idolguard.web import jobs
from idolguard.web.models import Job
from tests.faces.test_reembed import _enrol, _make_legacy

from .conftest import STRONG, csrf_of, make_user, sign_in


def _meet_at_submit(monkeypatch: pytest.MonkeyPatch) -> None:
    real = jobs.submit
    barrier = threading.Barrier(2, timeout=30)

    def meeting(*args, **kwargs):  # type: ignore[no-untyped-def]
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "submit", meeting)


def _both_at_once(clients: list, path: str, page: str) -> list[str]:  # type: ignore[type-arg]
    forms = [{"csrf": csrf_of(c.get(page).text)} for c in clients]
    out: list[str] = [""] * len(clients)

    def post(i: int) -> None:
        response = clients[i].post(path, data=forms[i])
        assert response.status_code == 303, response.text[:300]
        out[i] = response.headers["location"]

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _jobs(ws, kind: str) -> int:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return int(session.execute(select(func.count()).select_from(Job).where(Job.kind == kind)).scalar_one())


def test_two_reanalyse_clicks_at_once_start_one_job(app_ws, new_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    admins = [sign_in(new_client(), make_user(app_ws, n, "admin", password=STRONG), lang="en") for n in ("a1", "a2")]
    _meet_at_submit(monkeypatch)
    locations = _both_at_once(admins, "/admin/reanalyse", "/triage")
    assert _jobs(app_ws, jobs.REANALYSE) == 1
    assert locations[0] == locations[1], "both are shown the one job"


def test_two_reembed_clicks_at_once_start_one_job(app_ws, cli, tmp_path, new_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _enrol(cli, tmp_path)
    _make_legacy(app_ws)
    admins = [sign_in(new_client(), make_user(app_ws, n, "admin", password=STRONG), lang="en") for n in ("a1", "a2")]
    _meet_at_submit(monkeypatch)
    locations = _both_at_once(admins, "/admin/reembed", "/artists")
    assert _jobs(app_ws, jobs.REEMBED) == 1
    assert locations[0] == locations[1], "both are shown the one job"
