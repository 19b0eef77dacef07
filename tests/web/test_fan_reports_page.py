"""Reported links whose capture failed are visible and actionable in the team app ("Fan reports"): URL as text
(never a link the page loads), categories, artists, report count and the failure reason; analysts retry the
capture or record the outcome, which the reporters' status follows. Roles and artist scope apply. Real portal
(uvicorn on 127.0.0.1), real capture attempt (the .invalid host does not resolve), SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from idolguard.workspace import Workspace
from tests.portal.conftest import PortalServer, report

from .conftest import STRONG, csrf_of, make_user, sign_in


def _post(client: TestClient, path: str, data: dict):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf": csrf_of(client.get("/fan-reports").text)})


def test_failed_captures_are_listed_and_actionable(home: Path, workspace: Workspace) -> None:
    from idolguard.portal.jobs import run_worker
    from idolguard.portal.models import PortalJob, PortalLink
    from idolguard.server.fan import install
    from idolguard.web.app import create_app

    server = PortalServer(home, artists=["Artist A"])
    try:
        with server.client() as client:
            for url, artist in (
                ("https://down.invalid/p/1", "Artist A"),
                ("https://down.invalid/p/1", "Artist A"),
                ("https://down.invalid/p/2", ""),
            ):
                assert report(client, [url], artist=artist).status_code == 201
    finally:
        server.stop()
    assert run_worker(workspace, once=True, screenshot=False, analyze_media=False) == 2
    with workspace.sessions() as session:
        links = {link.url: link for link in session.scalars(select(PortalLink))}
    assert {link.state for link in links.values()} == {"failed"}
    first, second = links["https://down.invalid/p/1"].id, links["https://down.invalid/p/2"].id

    bare = create_app(workspace)
    app = install(create_app(workspace))

    def client(name: str, role: str, artists: list[str] | None = None, the_app=app) -> TestClient:  # type: ignore[no-untyped-def]
        c = TestClient(the_app, base_url="http://127.0.0.1", follow_redirects=False)
        return sign_in(c, make_user(workspace, name, role, artists or [], password=STRONG))

    analyst = client("analyst1", "analyst")
    page = analyst.get("/fan-reports")
    assert page.status_code == 200
    table = page.text.split('id="fan-links"')[1]
    assert '<code class="url">https://down.invalid/p/1</code>' in table and "https://down.invalid/p/2" in table
    assert 'href="https://down.invalid' not in page.text and 'src="https://down.invalid' not in page.text
    row1 = table.split(f'id="link-{first}"')[1].split("</tr>")[0]
    assert "<td>2</td>" in row1 and "Artist A ×2" in row1 and "×2" in row1 and "사유:" in row1
    # The reason is translated from the link's stored code; the capture's English text is for admins only.
    with workspace.sessions() as session:
        assert session.get(PortalLink, first).error_code == "capture.host_not_found"
    assert "수집하지 않음: 주소 down.invalid을(를) 찾을 수 없습니다." in row1
    assert "cannot resolve" not in page.text and "Errno" not in page.text and "fan-detail" not in page.text
    admin = client("admin1", "admin")
    admin_page = admin.get("/fan-reports").text
    assert "수집하지 않음: 주소 down.invalid을(를) 찾을 수 없습니다." in admin_page
    assert 'class="fan-detail"' in admin_page and "cannot resolve host" in admin_page
    row2 = table.split(f'id="link-{second}"')[1].split("</tr>")[0]
    assert "잘 모르겠음 / 다른 사람 ×1" in row2 and "수집 실패" in row2

    viewer = client("viewer1", "viewer")
    seen = viewer.get("/fan-reports").text
    assert "https://down.invalid/p/1" in seen and "https://down.invalid/p/2" not in seen  # unattributed: triagers
    assert "/retry" not in seen
    assert _post(viewer, f"/fan-reports/{first}/retry", {}).status_code == 403
    outsider = client("outsider", "analyst", ["Someone Else"])
    hidden = outsider.get("/fan-reports").text
    assert "https://down.invalid/p/1" not in hidden and "https://down.invalid/p/2" in hidden
    assert _post(outsider, f"/fan-reports/{first}/retry", {}).status_code == 404  # out of scope
    assert analyst.post(f"/fan-reports/{first}/retry", data={"csrf": "forged"}).status_code == 403

    retried = _post(analyst, f"/fan-reports/{first}/retry", {})
    assert retried.status_code == 303
    with workspace.sessions() as session:
        link = session.get(PortalLink, first)
        job = session.scalars(select(PortalJob).where(PortalJob.payload.is_not(None))).all()
        assert link.state == "queued" and link.error is None
        assert [j.state for j in job if j.payload["link_id"] == first] == ["queued"]
    again = _post(analyst, f"/fan-reports/{first}/retry", {})
    assert again.status_code == 422 and "수집에 실패한 링크만 다시 시도할 수 있습니다." in again.text
    ledger = [json.loads(line) for line in (workspace.home / "ledger.jsonl").read_text().splitlines()]
    [event] = [e for e in ledger if e["action"] == "portal.retry"]
    assert event["actor"] == "web:analyst1" and event["details"]["link_id"] == first

    assert _post(analyst, f"/fan-reports/{second}/decide", {"decision": "bogus"}).status_code == 400
    decided = _post(analyst, f"/fan-reports/{second}/decide", {"decision": "not_actionable"})
    assert decided.status_code == 303
    with workspace.sessions() as session:
        assert session.get(PortalLink, second).status == "not_actionable"
    assert "https://down.invalid/p/2" not in analyst.get("/fan-reports").text  # decided: off the default list
    everything = analyst.get("/fan-reports?all=1").text
    assert "https://down.invalid/p/2" in everything and "조치 불가" in everything

    alone = client("analyst2", "analyst", the_app=bare).get("/fan-reports")
    assert alone.status_code == 200 and 'id="fan-unavailable"' in alone.text
