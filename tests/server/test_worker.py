"""The job worker composed by ``idolguard.server``: reported links become capture jobs on the web app's Huey
storage (SQLite file, or Redis) and reach the team's triage queue with their report count and categories; a
flood of reports does not hold up the analysts' own jobs; a due watch runs on schedule with no command.

Everything real: the portal app under uvicorn on loopback, Huey consumers on threads, a fixture web site on
127.0.0.1 (allow-listed for capture), SQLite or PostgreSQL, Redis for the Redis variant."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.monitor.fixture_site import FixtureSite, serve
from tests.portal.conftest import PortalServer, report
from tests.server.conftest import set_config
from tests.web.conftest import STRONG, make_user, sign_in

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def fsite(monkeypatch: pytest.MonkeyPatch) -> Iterator[FixtureSite]:
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    site, server = serve()
    yield site
    server.shutdown()


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "redis-queue":
        import redis

        try:
            redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            pytest.skip(f"Redis on 127.0.0.1:6379 not reachable: {exc}")
        monkeypatch.setenv("IDOLGUARD_QUEUE", REDIS)
        return REDIS
    monkeypatch.delenv("IDOLGUARD_QUEUE", raising=False)
    return ""


def open_ws(home: Path, **worker: Any):  # type: ignore[no-untyped-def]
    from idolguard.workspace import Workspace

    set_config(home, "capture", browser=False)  # no Chromium screenshots: these tests are about the queue
    set_config(home, "worker", tick_s=0.2, **worker)
    return Workspace.open(home)


def wait_for(check: Callable[[], Any], timeout: float = 120, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}")


def test_reported_links_run_on_the_web_queue_and_reach_triage(home: Path, fsite: FixtureSite, queue: str) -> None:
    from idolguard.portal.models import PortalJob, PortalLink
    from idolguard.server.queues import Worker, background
    from idolguard.web.app import create_app
    from idolguard.web.models import Review

    ws = open_ws(home)
    portal = PortalServer(home)
    worker = Worker(ws)
    try:
        with portal.client() as fan:
            first = report(fan, [f"{fsite.base}/news/a1"])
            assert first.status_code == 201
            assert report(fan, [f"{fsite.base}/news/a1?utm_source=tw"], category="leak").status_code == 201
        status_path = "/api/status/" + first.json()["status_url"].rsplit("/", 1)[1]
        huey, _, _ = background(ws)
        assert huey.storage.__class__.__name__ == ("RedisStorage" if queue else "SqliteStorage")
        worker.start()

        def captured() -> list[str] | None:
            with ws.sessions() as session:
                link = session.scalars(select(PortalLink)).one()
                return link.item_sha256 if link.state == "captured" else None

        [sha] = wait_for(captured, what="the reported link captured")
        wait_for(lambda: (_review(ws, sha) or Review()).fan_reports, what="the triage row with its reports")
        review = _review(ws, sha)
        assert review.fan_reports == 2 and review.fan_categories == {"ai_deepfake": 1, "leak": 1}
        assert review.fan_reported
        with ws.sessions() as session:
            assert session.scalars(select(PortalJob.state)).all() == ["done"]
        assert fsite.count("/news/a1") == 1  # two reports, one capture

        # A later report of the same link raises the item's count in triage without another capture.
        with portal.client() as fan:
            assert report(fan, [f"{fsite.base}/news/a1"], category="harassment").status_code == 201
        wait_for(lambda: (_review(ws, sha) or Review()).fan_reports == 3, what="the count to follow")
        assert _review(ws, sha).fan_categories == {"ai_deepfake": 1, "harassment": 1, "leak": 1}
        assert fsite.count("/news/a1") == 1

        # The team's triage page shows it, in Korean and in English.
        login = make_user(ws, "ana", "analyst", password=STRONG)
        with TestClient(create_app(ws), base_url="http://127.0.0.1", follow_redirects=False) as client:
            sign_in(client, login)
            client.get("/lang/ko")
            page = client.get("/triage").text
            assert sha[:12] in page and "팬 제보 3건" in page and "유출 ×1" in page
            client.get("/lang/en")
            english = client.get("/triage").text
            assert "3 fan reports" in english and "harassment ×1" in english

        # The analysts' decision reaches the reporters' status page, and a changed decision follows.
        from idolguard.web.accounts import get_user
        from idolguard.web.roles import Principal
        from idolguard.web.triage import decide

        with ws.sessions() as session:
            ana = Principal(get_user(session, "ana").id, "ana", "analyst", ())
        with portal.client() as fan:
            assert fan.get(status_path).json()["status"] == "under_review"
            decide(ws, ana, sha, "confirmed_abuse", _review(ws, sha).version)
            wait_for(lambda: fan.get(status_path).json()["status"] == "action_taken", what="action taken")
            decide(ws, ana, sha, "authentic", _review(ws, sha).version)
            wait_for(lambda: fan.get(status_path).json()["status"] == "not_actionable", what="not actionable")
    finally:
        worker.stop()
        portal.stop()
        ws.close()


def _review(ws: Any, sha: str) -> Any:
    from idolguard.web.models import Review

    with ws.sessions() as session:
        return session.get(Review, sha)


def test_a_flood_of_reports_does_not_starve_the_analysts(home: Path, fsite: FixtureSite, queue: str) -> None:
    """Sixty reported links whose pages answer slowly are queued first; an analyst's capture submitted after
    them finishes while most of the flood is still waiting, and the flood keeps draining."""
    from idolguard.portal.intake import Submission
    from idolguard.portal.models import PortalJob
    from idolguard.server.queues import Worker
    from idolguard.web import jobs
    from idolguard.web.models import Job

    ws = open_ws(home, background_workers=1)
    fsite.delays["/flood/"] = 1.0
    for n in range(60):
        fsite.html(f"/flood/{n}", f"<html><body><p>post {n}</p></body></html>")
    portal = PortalServer(home, per_ip_per_minute=1000, per_ip_per_hour=1000)
    try:
        from idolguard.capture.links import canonical_link

        writer = portal.portal.writer
        futures = [
            writer.submit(
                Submission(
                    [canonical_link(f"{fsite.base}/flood/{n}", allow_hosts=frozenset({"127.0.0.1/32"}))],
                    "other",
                    "Test Artist",
                    None,
                    None,
                    f"reporter-{n}",
                    "flooder",
                    "en",
                    f"nonce-{n}",
                    n,
                )
            )
            for n in range(60)
        ]
        assert all(f.result(timeout=60).__class__.__name__ == "Accepted" for f in futures)
        make_user(ws, "ana", "analyst", password=STRONG)
        worker = Worker(ws)
        worker.start()
        try:
            wait_for(lambda: _portal_done(ws, PortalJob) >= 1, what="the flood to start draining")
            job_id = jobs.submit(ws, "capture", "ana", {"urls": [f"{fsite.base}/news/a2"]}, 1)
            wait_for(lambda: _job_state(ws, Job, job_id) == "done", timeout=90, what="the analyst's job")
            done_when_analyst_finished = _portal_done(ws, PortalJob)
            assert done_when_analyst_finished < 30, done_when_analyst_finished  # not behind the flood
            with ws.sessions() as session:
                assert session.get(Job, job_id).results[0]["state"] in ("ok", "partial")
            wait_for(lambda: _portal_done(ws, PortalJob) > done_when_analyst_finished, what="the flood to continue")
        finally:
            worker.stop()
    finally:
        portal.stop()
        ws.close()


def _portal_done(ws: Any, model: Any) -> int:
    with ws.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(model.state == "done")) or 0)


def _job_state(ws: Any, model: Any, job_id: int) -> str | None:
    with ws.sessions() as session:
        row = session.get(model, job_id)
        return row.state if row else None


def test_a_due_watch_is_run_by_the_worker_on_schedule(home: Path, fsite: FixtureSite, queue: str) -> None:
    from idolguard.monitor.models import WatchedSource
    from idolguard.monitor.service import add_source
    from idolguard.server.queues import Worker
    from idolguard.web.models import Review

    ws = open_ws(home, watch_check_s=1)
    source = add_source(ws, f"{fsite.base}/news", "page", "1h")
    worker = Worker(ws)
    worker.start()
    try:

        def ran() -> Any:
            with ws.sessions() as session:
                row = session.get(WatchedSource, source.id)
                return row if row.runs else None

        row = wait_for(ran, what="the scheduled watch run")
        assert row.source_status == "ok" and row.items_found >= 3
        assert row.next_due_at > row.last_run_at  # due again in an hour, not at once
        time.sleep(3)  # several checks later: still one run (not due, and claimed with a lease while running)
        with ws.sessions() as session:
            assert session.get(WatchedSource, source.id).runs == 1
            assert session.scalar(select(func.count()).select_from(Review)) >= 3  # the finds are in triage
    finally:
        worker.stop()
        ws.close()


def test_claim_due_gives_each_source_to_one_worker(workspace: Any, fsite: FixtureSite) -> None:
    from idolguard.monitor.service import add_source, claim_due, due_sources

    first = add_source(workspace, f"{fsite.base}/news", "page", "1h")
    second = add_source(workspace, f"{fsite.base}/feed.xml", "feed", "1h")
    assert claim_due(workspace, 600) == [first.id, second.id]
    assert claim_due(workspace, 600) == []  # leased: nobody else runs them
    assert due_sources(workspace) == []


def test_the_worker_command_runs_due_watches_and_stops_on_sigterm(home: Path, fsite: FixtureSite) -> None:
    """``idolguard worker`` as an operator starts it: a due watch is run with no ``watch run`` command."""
    import os
    import signal
    import subprocess
    import sys

    from idolguard.monitor.models import WatchedSource
    from idolguard.monitor.service import add_source

    ws = open_ws(home, watch_check_s=1)
    source = add_source(ws, f"{fsite.base}/feed.xml", "feed", "6h")
    exe = Path(sys.executable).with_name("idolguard")
    proc = subprocess.Popen(
        [str(exe), "worker", "--home", str(home)],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def ran() -> Any:
            with ws.sessions() as session:
                row = session.get(WatchedSource, source.id)
                return row if row.runs else None

        row = wait_for(ran, what="the worker's scheduled run")
        assert row.source_status == "ok" and row.items_found >= 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        ws.close()
