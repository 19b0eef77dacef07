"""Reported links become capture jobs: captured (SSRF-safe), scanned, in the triage data with report counts;
decisions flow back to status pages and reporter trust; a flood cannot push others down the queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Cli
from tests.monitor.fixture_site import FixtureSite, serve
from tests.portal.conftest import PortalServer, report, solved


@pytest.fixture
def fsite(monkeypatch: pytest.MonkeyPatch) -> Iterator[FixtureSite]:
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    site, server = serve()
    yield site
    server.shutdown()


def test_reported_link_is_captured_scanned_triaged_and_decided(
    home: Path, fsite: FixtureSite, cli: Cli, workspace
) -> None:  # type: ignore[no-untyped-def]
    from idolguard.db.models import LedgerEntry, StageResult
    from idolguard.portal.jobs import triage_rows
    from idolguard.portal.models import PortalJob, PortalReporter

    server = PortalServer(home)
    try:
        with server.client() as a, server.client() as b:
            first = report(a, [f"{fsite.base}/news/a1"], contact="fan@example.org")
            second = report(b, [f"{fsite.base}/news/a1?utm_campaign=x"], category="leak", reporter_token="b" * 20)
            assert first.status_code == second.status_code == 201
            token = first.json()["status_url"].rsplit("/", 1)[1]
            assert a.get(f"/api/status/{token}").json()["status"] == "received"

            cli("portal", "worker", "--once", "--no-screenshot")
            [row] = triage_rows(workspace)
            assert row["state"] == "captured" and row["report_count"] == 2
            assert row["categories"] == {"ai_deepfake": 1, "leak": 1} and len(row["items"]) == 1
            assert a.get(f"/api/status/{token}").json()["status"] == "under_review"
            with workspace.sessions() as session:
                stages = set(
                    session.scalars(select(StageResult.stage).where(StageResult.item_sha256 == row["items"][0]))
                )
                assert {"faces", "match"} <= stages
                assert session.scalars(select(PortalJob.state)).all() == ["done"]
            assert fsite.count("/news/a1") == 1  # one capture for two reports

            queue = cli.json_lines("portal", "queue", "--json")
            assert queue[0]["link_id"] == row["link_id"]
            cli("portal", "decide", str(row["link_id"]), "action_taken")
            assert a.get(f"/api/status/{token}").json()["status"] == "action_taken"
            page = a.get(f"/status/{token}?lang=ko")
            assert "조치 완료" in page.text
            assert triage_rows(workspace) == []  # decided links leave the queue
            assert cli("portal", "decide", str(row["link_id"]), "maybe", ok=False).exit_code == 2
            assert cli("portal", "decide", "999", "action_taken", ok=False).exit_code == 1
        with workspace.sessions() as session:
            trust = {r.confirmed for r in session.scalars(select(PortalReporter))}
            actions = set(session.scalars(select(LedgerEntry.action)))
        assert trust == {1}
        assert {"portal.report", "portal.link_captured", "portal.decide", "capture_done"} <= actions
    finally:
        server.stop()


def test_link_already_captured_is_known_not_captured_again(home: Path, fsite: FixtureSite, cli: Cli, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.jobs import triage_rows

    cli("capture", "--no-screenshot", "--no-analyze", f"{fsite.base}/news/a2")
    hits = fsite.count("/news/a2")
    server = PortalServer(home)
    try:
        with server.client() as client:
            assert report(client, [f"{fsite.base}/news/a2"]).status_code == 201
        cli("portal", "worker", "--once", "--no-screenshot", "--no-analyze")
    finally:
        server.stop()
    [row] = triage_rows(workspace)
    assert row["state"] == "known" and row["known_as"].startswith("capture:") and len(row["items"]) == 1
    assert fsite.count("/news/a2") == hits


def test_a_flood_does_not_starve_other_reporters(home: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    from idolguard.portal.jobs import claim

    server = PortalServer(home, per_ip_per_minute=1000, per_ip_per_hour=1000, challenges_per_ip_per_minute=1000)
    try:
        with server.client("127.0.0.2") as flooder, server.client("127.0.0.3") as fan:
            for n in range(25):
                assert report(flooder, [f"https://example.org/spam/{n}"], challenge=solved(flooder)).status_code == 201
            assert report(fan, ["https://example.org/real-report"]).status_code == 201
    finally:
        server.stop()
    first_claims = [claim(workspace, 60) for _ in range(3)]
    urls = [job.payload["url"] for job in first_claims if job]
    assert "https://example.org/real-report" in urls[:2], urls
