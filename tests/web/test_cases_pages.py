"""Case, account and takedown pages through the real app (SQLite, and PostgreSQL with IDOLGUARD_TEST_PG):
the same cases/takedowns functions as the command line, CSRF on every change, roles (counsel and managers
work, analysts read), artist scope (404), Korean pages, downloads with custody events and no-store, the
two-person destruction by web users and by command-line operators mapped to them, and sending a notice
through a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from idolguard.intake.ingest import Ingestor, SightingInfo
from idolguard.workspace import Workspace

from .conftest import STRONG, csrf_of, make_user, sign_in
from .seed import seed


def ledger(ws: Workspace) -> list[dict]:
    return [json.loads(line) for line in (ws.home / "ledger.jsonl").read_text().splitlines()]


def sighting(ws: Workspace, path: Path, url: str, account: str, seen: str, platform: str = "x") -> str:
    from datetime import datetime

    info = SightingInfo(source_url=url, platform=platform, account=account, seen_at=datetime.fromisoformat(seen))
    return next(r.sha256 for r in Ingestor(ws, info).ingest([path]) if r.sha256)


@pytest.fixture
def world(app_ws: Workspace, tmp_path: Path):  # type: ignore[no-untyped-def]
    s = seed(app_ws, tmp_path / "media")
    sighting(app_ws, s.folder / "suspect.jpg", "https://x.example/post/1", "@spreader", "2026-11-01T10:00:00+00:00")
    sighting(app_ws, s.folder / "suspect.jpg", "https://x.example/post/2", "@second", "2026-11-01T12:00:00+00:00")
    return s


def users(app_ws: Workspace, new_client):  # type: ignore[no-untyped-def]
    out = {}
    for name, role, artists in (
        ("counsel1", "counsel", []),
        ("manager1", "manager", []),
        ("manager2", "manager", []),
        ("analyst1", "analyst", []),
        ("outsider", "counsel", ["Someone Else"]),
    ):
        out[name] = sign_in(new_client(), make_user(app_ws, name, role, artists, password=STRONG))
    return out


def post(client, path: str, data: dict | None = None, page: str = "/account"):  # type: ignore[no-untyped-def]
    fields = dict(data or {})
    fields["csrf"] = csrf_of(client.get(page).text)
    return client.post(path, data=fields)


def test_case_pages_work_as_the_cli_with_roles_scope_and_csrf(app_ws, world, new_client):  # type: ignore[no-untyped-def]
    u = users(app_ws, new_client)
    counsel = u["counsel1"]
    # Counsel opens a case for an artist in scope; an artist out of the outsider's scope is refused.
    assert post(u["outsider"], "/cases", {"title": "t", "artist": world.artist}).status_code == 400
    missing_csrf = counsel.post("/cases", data={"title": "t", "artist": world.artist, "csrf": "forged"})
    assert missing_csrf.status_code == 403
    opened = post(counsel, "/cases", {"title": "Deepfake ring", "artist": world.artist})
    assert opened.status_code == 303
    number = opened.headers["location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"IG-\d{4}-0001", number)
    added = post(counsel, f"/cases/{number}/links", {"refs": world.suspect[:12]})
    assert added.status_code == 303
    page = counsel.get(f"/cases/{number}")
    assert page.status_code == 200 and world.suspect[:16] in page.text
    assert "https://x.example/post/1" in page.text and "@spreader" in page.text  # sightings and accounts
    assert 'id="chart-sightings"' in page.text
    chart = counsel.get(f"/cases/{number}/chart/sightings.png")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
    # A bad reference adds nothing and says why, on the case page.
    bad = post(counsel, f"/cases/{number}/links", {"refs": "incident:99999"})
    assert bad.status_code == 422 and "incident:99999 기록이 없습니다." in bad.text and "no incident" not in bad.text
    # Filing needs its kind, reference and date; the error names what is missing.
    refused = post(counsel, f"/cases/{number}/status", {"status": "filed", "kind": "police"})
    assert refused.status_code == 422 and "다음 항목을 입력하세요: 접수번호, 일자." in refused.text  # form fields
    assert "--ref" not in refused.text and "--date" not in refused.text  # never CLI flags on a page
    filed = post(
        counsel,
        f"/cases/{number}/status",
        {"status": "filed", "kind": "police", "reference": "SMPA-2026-123", "filed_on": "2026-11-20"},
    )
    assert filed.status_code == 303
    assert post(counsel, f"/cases/{number}/notes", {"text": "Victim statement received"}).status_code == 303
    assert post(counsel, f"/cases/{number}/assign", {"person": "counsel1", "role": "counsel"}).status_code == 303
    assert post(counsel, f"/cases/{number}/hold", {"on": "1", "reason": "court order"}).status_code == 303
    page = counsel.get(f"/cases/{number}").text
    assert "SMPA-2026-123" in page and "Victim statement received" in page and 'id="hold-badge"' in page
    actions = [e["action"] for e in ledger(app_ws) if (e.get("details") or {}).get("case") == number]
    assert {"case.open", "case.link", "case.status", "case.note", "case.assign", "case.hold"} <= set(actions)
    by_web = [e for e in ledger(app_ws) if e["action"] == "case.note"]
    assert by_web[-1]["actor"] == "web:counsel1"
    # The custody timeline on the page lists those events, by name (the code stays in the cell's title).
    assert "법적 보존 조치 변경" in page and 'title="case.hold"' in page and "web:counsel1" in page

    # Analysts read cases but do not change them; out-of-scope users get 404 as for an absent case.
    analyst = u["analyst1"]
    assert analyst.get(f"/cases/{number}").status_code == 200
    assert 'id="add-links"' not in analyst.get(f"/cases/{number}").text
    assert post(analyst, f"/cases/{number}/notes", {"text": "x"}).status_code == 403
    assert u["outsider"].get(f"/cases/{number}").status_code == 404
    assert u["outsider"].get("/cases/IG-2026-9999").status_code == 404
    assert number not in u["outsider"].get("/cases").text
    # An incident page's "open a case" link pre-fills the incident.
    assert 'name="incidents" maxlength="500" value="7"' in counsel.get("/cases", params={"incident": "7"}).text
    # The list filters by status and artist.
    listing = counsel.get("/cases", params={"status": "filed"}).text
    assert number in listing
    assert number not in counsel.get("/cases", params={"status": "closed"}).text


def test_downloads_are_authorised_not_stored_and_recorded(app_ws, world, new_client):  # type: ignore[no-untyped-def]
    u = users(app_ws, new_client)
    from idolguard.cases.service import add_to_case, open_case

    number = open_case(app_ws, "t", world.artist)
    add_to_case(app_ws, number, [world.suspect])
    counsel, manager = u["counsel1"], u["manager1"]
    report = post(counsel, f"/cases/{number}/report", {"lang": "ko", "format": "html"})
    assert report.status_code == 200 and report.headers["cache-control"] == "no-store"
    assert "attachment" in report.headers["content-disposition"] and number in report.headers["content-disposition"]
    assert "증거" in report.text and world.suspect in report.text
    import hashlib

    events = [e for e in ledger(app_ws) if e["action"] == "case.report"]
    assert events[-1]["actor"] == "web:counsel1"
    assert events[-1]["details"]["sha256"] == hashlib.sha256(report.content).hexdigest()
    # Managers may take hashes-only packages; originals need counsel's export permission.
    assert post(manager, f"/cases/{number}/package", {}).status_code == 403
    hashes = post(manager, f"/cases/{number}/package", {"hashes_only": "1"})
    assert hashes.status_code == 200 and hashes.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(hashes.content)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert not any(name.startswith("originals/") for name in zf.namelist())
    assert manifest and "verify_package.py" in zf.namelist()
    full = post(counsel, f"/cases/{number}/package", {})
    assert full.status_code == 200
    with zipfile.ZipFile(io.BytesIO(full.content)) as zf:
        assert any(world.suspect in name for name in zf.namelist())
    written = [e for e in ledger(app_ws) if e["action"] == "case.package_written"]
    assert [e["actor"] for e in written[-2:]] == ["web:manager1", "web:counsel1"]
    assert hashlib.sha256(full.content).hexdigest() == written[-1]["details"]["package_sha256"]
    # The original that left the vault is on the item's own custody record, by the user who took it.
    exports = [e for e in ledger(app_ws) if e["action"] == "evidence.export" and e["item"] == world.suspect]
    assert [(e["actor"], e["details"]["kind"]) for e in exports] == [("web:counsel1", "case_package")]
    assert exports[0]["details"]["package_sha256"] == written[-1]["details"]["package_sha256"]
    assert exports[0]["details"]["file"] == f"{number}-package.zip"
    assert not list(app_ws.home.glob(".download-*"))  # the temporary copy is gone once sent
    assert u["analyst1"].post(f"/cases/{number}/report", data={"csrf": "x"}).status_code == 403
    assert post(u["outsider"], f"/cases/{number}/report", {"lang": "ko", "format": "html"}).status_code == 404


def test_two_person_destruction_by_web_users_and_mapped_operators(app_ws, world, new_client, monkeypatch):  # type: ignore[no-untyped-def]
    from idolguard.cases.retention import destroy
    from idolguard.cases.service import CaseError, add_to_case, open_case, set_status

    u = users(app_ws, new_client)
    number = open_case(app_ws, "t", world.artist)
    add_to_case(app_ws, number, [world.shapes])
    set_status(app_ws, number, "closed")
    # On the command line, with web accounts present, the operator must be a manager/admin user.
    with pytest.raises(CaseError, match="not an active web user"):
        destroy(app_ws.acting_as("tester@idolguard"), number, "done")
    with pytest.raises(CaseError, match="analyst1 is analyst"):
        destroy(app_ws.acting_as("analyst1"), number, "done")
    with pytest.raises(CaseError, match="only counsel or manager or admin"):
        from idolguard.cases.service import set_hold

        set_hold(app_ws.acting_as("analyst1"), number, True, "x")
    # Counsel may not approve a destruction from the web either (the cases area checks the role).
    refused = post(u["counsel1"], f"/cases/{number}/destroy", {"reason": "over", "confirm": number})
    assert refused.status_code == 422 and "필요한 역할: 매니저, 관리자." in refused.text  # from the code, in Korean
    assert "only manager or admin" not in refused.text
    assert post(u["manager1"], f"/cases/{number}/destroy", {"reason": "over", "confirm": "wrong"}).status_code == 422
    first = post(u["manager1"], f"/cases/{number}/destroy", {"reason": "case over", "confirm": number})
    assert first.status_code == 303 and app_ws.vault.has(world.shapes)
    # The same person on the command line (operator name = user name) is still the same approver.
    with pytest.raises(CaseError, match="already approved"):
        destroy(app_ws.acting_as("Manager1"), number, "again")
    done = post(u["manager2"], f"/cases/{number}/destroy", {"reason": "case over", "confirm": number})
    assert done.status_code == 303 and not app_ws.vault.has(world.shapes)
    decision = [e for e in ledger(app_ws) if e["action"] == "case.destroy"][-1]
    assert [a["approver"] for a in decision["details"]["approvals"]] == ["manager1", "manager2"]
    assert {a["role"] for a in decision["details"]["approvals"]} == {"manager"}


def test_accounts_pages_aliases_and_suggestions(app_ws, world, new_client):  # type: ignore[no-untyped-def]
    u = users(app_ws, new_client)
    counsel = u["counsel1"]
    assert post(counsel, "/accounts/record").status_code == 303
    page = counsel.get("/accounts").text
    assert "@spreader" in page and "@second" in page
    assert "x/@second ↔ x/@spreader" in page  # same item within 24 h: suggested as aliases
    assert u["analyst1"].get("/accounts").status_code == 200
    assert (
        post(u["analyst1"], "/accounts/alias", {"a": "x/@second", "b": "x/@spreader", "reason": "r"}).status_code == 403
    )
    linked = post(counsel, "/accounts/alias", {"a": "x/@second", "b": "x/@spreader", "reason": "same watermark"})
    assert linked.status_code == 303
    assert "x/@second ↔ x/@spreader" not in counsel.get("/accounts").text
    from sqlalchemy import select

    from idolguard.cases.models import Account

    with app_ws.sessions() as session:
        account_id = session.scalar(select(Account.id).where(Account.handle == "@spreader"))
    detail = counsel.get(f"/accounts/{account_id}").text
    assert "same watermark" in detail and "https://x.example/post/1" in detail
    # Someone who sees none of the account's items does not see the account.
    assert u["outsider"].get(f"/accounts/{account_id}").status_code == 404
    assert "@spreader" not in u["outsider"].get("/accounts").text


def test_korean_pages(app_ws, world, new_client):  # type: ignore[no-untyped-def]
    from idolguard.cases.service import add_to_case, open_case

    number = open_case(app_ws, "t", world.artist)
    add_to_case(app_ws, number, [world.suspect])
    client = sign_in(new_client(), make_user(app_ws, "kocounsel", "counsel", password=STRONG), lang="ko")
    listing = client.get("/cases").text
    assert "사건" in listing and "사건 열기" in listing and "법률 사건" not in listing
    page = client.get(f"/cases/{number}").text
    assert "증거" in page and "보관 이력" in page and "최초 게시 후보" in page and "직접 연결" in page
    # The custody timeline names actions in Korean as item pages do, not by their ledger code.
    timeline = page.split('id="timeline"', 1)[1].split("</table>", 1)[0]
    assert ">사건 개시</td>" in timeline and ">case.open<" not in timeline
    accounts_page = client.get("/accounts").text
    assert "계정" in accounts_page
    # Times in the user's zone with its label: the first sighting, 2026-11-01 10:00 UTC, is 19:00 KST.
    assert "2026-11-01 19:00 KST" in page and "T10:00" not in page and "2026-11-01 10:00<" not in page
    assert "삭제 요청" in client.get("/takedowns").text
    assert "법적 근거" in client.get(f"/cases/{number}/takedowns/new").text


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.refuse:
            return "554 5.7.1 rejected by test server"
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.fixture
def smtp(home: Path):  # type: ignore[no-untyped-def]
    import socket

    from aiosmtpd.controller import Controller

    from tests.cases.helpers import set_config_table

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    set_config_table(
        home,
        "takedowns",
        'reporter_name = "Agency Legal"\nreporter_email = "legal@agency.test"\nauthority = "POA-2026-01"',
    )
    set_config_table(
        home, "takedowns.smtp", f'host = "127.0.0.1"\nport = {port}\nsender = "legal@agency.test"\nstarttls = false'
    )
    yield inbox
    controller.stop()


def test_takedown_pages_draft_check_send_mark_and_stats(home, smtp, world, new_client):  # type: ignore[no-untyped-def]
    import email
    from email import policy

    from idolguard.cases.service import add_to_case, open_case

    ws = Workspace.open(home)  # re-read: the smtp fixture rewrote config.toml
    try:
        from idolguard.web.app import create_app

        app = create_app(ws)
        from fastapi.testclient import TestClient

        def client() -> TestClient:
            return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)

        counsel = sign_in(client(), make_user(ws, "counsel1", "counsel", password=STRONG))
        analyst = sign_in(client(), make_user(ws, "analyst1", "analyst", password=STRONG))
        outsider = sign_in(client(), make_user(ws, "outsider", "counsel", ["Someone Else"], password=STRONG))
        number = open_case(ws, "t", world.artist)
        add_to_case(ws, number, [world.suspect])
        form = counsel.get(f"/cases/{number}/takedowns/new")
        assert form.status_code == 200 and "https://x.example/post/1" in form.text
        assert outsider.get(f"/cases/{number}/takedowns/new").status_code == 404
        assert analyst.get(f"/cases/{number}/takedowns/new").status_code == 403
        # DMCA without signature, work or perjury statement: each missing element is named at its field.
        dmca = post(
            counsel,
            f"/cases/{number}/takedowns",
            {"recipient": "web_host", "basis": "dmca_512c3", "to": "abuse@host.test"},
        )
        assert dmca.status_code == 422
        for name in ("signature", "copyrighted_work", "accuracy_under_perjury"):
            assert f'id="err-{name}"' in dmca.text
        assert 'id="err-reporter_name"' not in dmca.text  # the configured reporter fills it
        wrong = post(counsel, f"/cases/{number}/takedowns", {"recipient": "nobody", "basis": "eu_dsa_16"})
        assert wrong.status_code == 422 and 'id="err-recipient"' in wrong.text
        injected = post(
            counsel,
            f"/cases/{number}/takedowns",
            {"recipient": "web_host", "basis": "eu_dsa_16", "to": "a@b.test\r\nBcc: x@evil.test"},
        )
        assert injected.status_code == 422 and 'id="err-to"' in injected.text
        drafted = post(
            counsel,
            f"/cases/{number}/takedowns",
            {
                "recipient": "web_host",
                "basis": "eu_dsa_16",
                "to": "abuse@host.test",
                "lang": "en",
                "affirm_good_faith": "1",
            },
        )
        assert drafted.status_code == 303
        notice = drafted.headers["location"]
        page = counsel.get(notice).text
        assert 'id="missing-' not in page and "https://x.example/post/1" in page and world.suspect in page
        assert 'data-field="urls"' in page and 'data-field="reporter_email"' in page  # fields to paste
        assert analyst.get(notice).status_code == 200 and outsider.get(notice).status_code == 404
        duplicate = post(
            counsel, f"/cases/{number}/takedowns", {"recipient": "web_host", "basis": "plain_letter", "to": "a@h.test"}
        )
        assert duplicate.status_code == 422 and "다시 보내기" in duplicate.text and "--again" not in duplicate.text
        assert "요청서에 빠진 내용이 있습니다" not in duplicate.text  # not under the missing-details banner

        smtp.refuse = True
        failed = post(counsel, f"{notice}/send")
        assert failed.status_code == 422 and "초안으로 남아 있으니" in failed.text and not smtp.messages
        smtp.refuse = False
        assert post(analyst, f"{notice}/send").status_code == 403
        assert post(counsel, f"{notice}/send").status_code == 303
        [raw] = smtp.messages
        message = email.message_from_bytes(raw, policy=policy.default)
        assert number in message["Subject"] and message["To"] == "abuse@host.test"
        sent = [e for e in ledger(ws) if e["action"] == "takedown.send"][-1]
        assert sent["actor"] == "web:counsel1"
        # Overdue list: push the deadline into the past.
        from idolguard.takedowns.models import Notice

        notice_id = int(notice.rsplit("/", 1)[1])
        from datetime import UTC, datetime, timedelta

        with ws.sessions() as session, session.begin():
            session.get(Notice, notice_id).due_at = datetime.now(UTC) - timedelta(hours=1)
        overdue = counsel.get("/takedowns", params={"overdue": "1"}).text
        assert f'href="/takedowns/{notice_id}"' in overdue and "기한 경과</span>" in overdue
        marked = post(counsel, f"{notice}/mark", {"status": "removed", "ref": "TICKET-9"})
        assert marked.status_code == 303
        assert f'href="/takedowns/{notice_id}"' not in counsel.get("/takedowns", params={"overdue": "1"}).text
        listing = counsel.get("/takedowns").text
        assert "TICKET-9" in listing and "100%" in listing  # acceptance of web_host
        chart = counsel.get("/takedowns/stats.png")
        assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
        assert outsider.get("/takedowns/stats.png").status_code == 200  # over the notices they may see
        assert "100%" not in outsider.get("/takedowns").text
        assert f"/takedowns/{notice_id}" not in outsider.get("/takedowns").text
    finally:
        ws.close()


def test_korean_case_page_says_provenance_leads_in_korean(app_ws, world, new_client, tmp_path):  # type: ignore[no-untyped-def]
    """The leads table said where a lead was found by its raw kind and its trust as a raw code (``high``), with no
    meaning at all: it now says them from the report's catalog, in the reader's language."""
    import html as html_module

    from idolguard.cases.service import add_to_case, open_case
    from idolguard.pipeline.scan import item_object, scan_paths
    from idolguard.report.i18n import catalog, said
    from tests.cases.test_provenance import jpeg_with_exif

    path = jpeg_with_exif(tmp_path / "edited.jpg", software="Adobe Photoshop 25.0")
    sha = scan_paths(app_ws, [path])[0]["sha256"]
    leads = item_object(app_ws, sha)["provenance"]["leads"]
    assert leads and all(lead.get("meaning_code") for lead in leads)  # a technical source (XMP CreatorTool) stays
    number = open_case(app_ws, "leads", world.artist)
    add_to_case(app_ws, number, [sha])
    client = sign_in(new_client(), make_user(app_ws, "kocounsel2", "counsel", password=STRONG), lang="ko")
    page = client.get(f"/cases/{number}").text
    table = html_module.unescape(page.split('id="leads"', 1)[1].split("</table>", 1)[0])
    assert "<th>의미</th>" in table and "<th>신뢰도</th>" in table
    for lead in leads:
        assert said(lead, "source", "ko") in table and said(lead, "meaning", "ko") in table
        assert catalog("ko")[f"provenance.trust.{lead['trust']}"] in table
        assert f">{lead['kind']}<" not in table and f">{lead['trust']}<" not in table
        assert lead["meaning"] not in table  # the stored English sentence
    english = sign_in(new_client(), make_user(app_ws, "encounsel", "counsel", password=STRONG), lang="en")
    table = html_module.unescape(english.get(f"/cases/{number}").text.split('id="leads"', 1)[1].split("</table>", 1)[0])
    assert all(lead["meaning"] in table for lead in leads)
