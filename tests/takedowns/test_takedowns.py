"""Takedowns end to end: recipients file and override, legal bases checking their elements, drafting from a
case, sending through a real SMTP server on 127.0.0.1 (aiosmtpd), marking, deadlines, escalation, removal
from rechecks, statistics and the Lumen export."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest

from tests.cases.helpers import ingest_images, set_config_table


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.refuse:
            return "554 5.7.1 rejected by test server"
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        )
        return "250 OK"


@pytest.fixture
def smtp(home: Path):  # type: ignore[no-untyped-def]
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free loopback port (the controller checks readiness by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    set_config_table(
        home,
        "takedowns",
        'reporter_name = "Agency Legal"\nreporter_email = "legal@agency.test"\n'
        'authority = "Exclusive management contract and power of attorney, ref. POA-2026-01"',
    )
    set_config_table(
        home,
        "takedowns.smtp",
        f'host = "127.0.0.1"\nport = {port}\nsender = "legal@agency.test"\nstarttls = false',
    )
    yield inbox
    controller.stop()


@pytest.fixture
def case(cli, tmp_path: Path) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    shas = ingest_images(cli, tmp_path / "m", 2, platform="web", account="@host")
    number = cli("cases", "open", "Host abuse", "--artist", "Artist A").stdout.strip()
    cli("cases", "add", number, *shas)
    return number, shas


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_draft_send_mark_over_real_smtp(cli, home: Path, smtp: Inbox, case, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    number, shas = case
    notice = (
        cli(
            "takedowns",
            "draft",
            "--case",
            number,
            "--recipient",
            "web_host",
            "--basis",
            "eu_dsa_16",
            "--to",
            "abuse@host.test",
            "--affirm",
            "good_faith",
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    shown = cli.json_lines("takedowns", "show", notice, "--json")[0]
    assert shown["missing"] == [] and "https://web.example/p/0" in shown["body"] and shas[0] in shown["body"]
    assert "bona fide belief" in shown["body"] and "not attached" in shown["body"]
    dup = cli(
        "takedowns",
        "draft",
        "--case",
        number,
        "--recipient",
        "web_host",
        "--basis",
        "plain_letter",
        "--to",
        "abuse@host.test",
        ok=False,
    )
    assert dup.exit_code == 2 and "--again" in _flat(dup.output)

    smtp.refuse = True
    failed = cli("takedowns", "send", notice, ok=False)
    assert failed.exit_code == 2 and "stays a draft" in _flat(failed.output)
    assert cli.json_lines("takedowns", "list", "--json")[0]["status"] == "draft"
    smtp.refuse = False
    cli("takedowns", "send", notice)
    [(sender, rcpts, raw)] = smtp.messages
    assert sender == "legal@agency.test" and rcpts == ["abuse@host.test"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert number in message["Subject"]
    kinds = [part.get_content_type() for part in message.iter_attachments()]
    assert kinds == ["application/pdf"]  # the notice as PDF; never the media
    row = cli.json_lines("takedowns", "list", "--json")[0]
    assert row["status"] == "sent" and row["due_at"]
    assert row["recipient"] == "web_host" and row["basis"] == "eu_dsa_16"  # --json keeps the keys
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    listed = cli("takedowns", "list").stdout  # people read the names notices use, never the keys
    assert "Web host (abuse contact typed by the user)" in listed and "EU DSA Art. 16" in listed
    assert "web_host" not in listed and "eu_dsa_16" not in listed
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    listed = cli("takedowns", "list").stdout
    assert "웹 호스팅 사업자" in listed and "EU DSA 제16조" in listed and "Web host" not in listed
    from idolguard.workspace import Workspace

    stored = Workspace.open(home).vault.read_bytes(row["message_sha256"])
    assert stored.replace(b"\r\n", b"\n").strip() == raw.replace(b"\r\n", b"\n").strip()
    ledger = [json.loads(line) for line in (home / "ledger.jsonl").read_text().splitlines()]
    sent = [e for e in ledger if e["action"] == "takedown.send"][0]
    assert sent["item"] == row["message_sha256"] and sent["details"]["to"] == "abuse@host.test"
    assert cli("takedowns", "send", notice, ok=False).exit_code == 2  # not a draft any more

    cli("takedowns", "mark", notice, "acknowledged", "--ref", "TICKET-77")
    cli("takedowns", "mark", notice, "removed")
    stats = cli.json_lines("takedowns", "stats", "--json", "--chart", home / "stats.png")[0]
    assert (home / "stats.png").read_bytes().startswith(b"\x89PNG")
    assert stats["by_recipient"]["web_host"]["removed"] == 1 and stats["by_recipient"]["web_host"]["acceptance"] == 1.0
    lumen = json.loads(cli("takedowns", "export", "--format", "lumen").stdout)
    assert lumen["notices"][0]["works"][0]["infringing_urls"][0]["url"].startswith("https://web.example/p/")
    assert lumen["notices"][0]["action_taken"] == "Yes" and lumen["notices"][0]["principal"]["name"] == "Artist A"
    assert cli("verify").exit_code == 0


def test_required_elements_bad_input_and_header_injection(cli, home: Path, smtp: Inbox, case) -> None:  # type: ignore[no-untyped-def]
    number, _shas = case
    dmca = (
        cli(
            "takedowns",
            "draft",
            "--case",
            number,
            "--recipient",
            "web_host",
            "--basis",
            "dmca_512c3",
            "--to",
            "abuse@host.test",
            "--again",
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    missing = cli("takedowns", "send", dmca, ok=False)
    flat = _flat(missing.output)
    assert (
        missing.exit_code == 2
        and "signature" in flat
        and "copyrighted_work" in flat
        and "accuracy_under_perjury" in flat
    )
    assert smtp.messages == []
    for args, message in (
        (("--recipient", "nobody", "--basis", "plain_letter"), "unknown recipient"),
        (("--recipient", "web_host", "--basis", "magic"), "unknown legal basis"),
        (("--recipient", "web_host", "--basis", "kr_tba_22_5", "--to", "a@b.test"), "does not take"),
        (("--recipient", "web_host", "--basis", "plain_letter"), "--to"),
        (
            ("--recipient", "web_host", "--basis", "plain_letter", "--to", "a@b.test\r\nBcc: x@evil.test"),
            "header injection",
        ),
        (("--recipient", "web_host", "--basis", "plain_letter", "--to", "a@b.test", "--sighting", "9999"), "not in"),
    ):
        result = cli("takedowns", "draft", "--case", number, *args, "--again", ok=False)
        assert result.exit_code == 2 and message in _flat(result.output), (args, result.output)
    form = (
        cli("takedowns", "draft", "--case", number, "--recipient", "x", "--basis", "platform_form")
        .stdout.strip()
        .splitlines()[-1]
    )
    body = cli.json_lines("takedowns", "show", form, "--json")[0]["body"]
    assert "Fields to paste" in body and "- Person depicted: Artist A" in body
    web_form = cli("takedowns", "send", form, ok=False)
    assert web_form.exit_code == 2 and "takedowns mark" in _flat(web_form.output)
    cli("takedowns", "mark", form, "sent", "--ref", "X-123")
    each = cli(
        "takedowns", "draft", "--case", number, "--recipient", "naver", "--basis", "plain_letter", "--each", "--again"
    )
    per_url = [cli.json_lines("takedowns", "show", i, "--json")[0]["urls"] for i in each.stdout.split()]
    assert sorted(per_url) == [["https://web.example/p/0"], ["https://web.example/p/1"]]
    kr = (
        cli("takedowns", "draft", "--case", number, "--recipient", "naver", "--basis", "kr_tba_22_5", "--again")
        .stdout.strip()
        .splitlines()[-1]
    )
    assert "허위영상물" in cli.json_lines("takedowns", "show", kr, "--json")[0]["body"]


def test_deadlines_escalation_and_removal_from_recheck(cli, home: Path, smtp: Inbox, case) -> None:  # type: ignore[no-untyped-def]
    number, _shas = case
    notice = int(
        cli("takedowns", "draft", "--case", number, "--recipient", "x", "--basis", "platform_form").stdout.split()[-1]
    )
    cli("takedowns", "mark", str(notice), "sent", "--ref", "X-1")
    assert cli.json_lines("takedowns", "list", "--overdue", "--json") == []
    from sqlalchemy import update

    from idolguard.takedowns.models import Notice
    from idolguard.workspace import Workspace

    ws = Workspace.open(home)
    with ws.sessions() as session:  # the recipient's clock ran out (48 h after sending)
        session.execute(update(Notice).where(Notice.id == notice).values(due_at=datetime.now(UTC) - timedelta(hours=1)))
        session.commit()
    overdue = cli.json_lines("takedowns", "list", "--overdue", "--json")
    assert [o["id"] for o in overdue] == [notice]
    second = int(cli("takedowns", "escalate", str(notice)).stdout.split()[-1])
    cli("takedowns", "mark", str(second), "sent")
    assert "We have not seen action" in cli.json_lines("takedowns", "show", str(second), "--json")[0]["body"]
    early = cli("takedowns", "escalate", str(second), ok=False)  # the second notice's clock is still running
    assert early.exit_code == 2 and "--early" in early.output
    third = int(cli("takedowns", "escalate", str(second), "--early").stdout.split()[-1])
    shown = cli.json_lines("takedowns", "show", str(third), "--json")[0]
    assert shown["recipient"] == "kcsc" and shown["basis"] == "kr_tba_22_5"
    assert "[재요청]" in shown["subject"]
    assert "아직 지나지 않았지만" in shown["body"] and "조치가 확인되지 않아" not in shown["body"]

    # Removal confirmed by recheck: a capture of the reported URL whose latest check says removed.
    from idolguard.capture.models import Capture, CaptureCheck

    with ws.sessions() as session:
        urls = session.get(Notice, notice).urls
        for url in urls:
            capture = Capture(requested_url=url, final_url=url, state="ok", actor="t")
            session.add(capture)
            session.flush()
            session.add(CaptureCheck(capture_id=capture.id, state="removed", http_status=404))
        session.commit()
    cli("takedowns", "sync")
    statuses = {r["id"]: r["status"] for r in cli.json_lines("takedowns", "list", "--json")}
    assert statuses[notice] == "removed" and statuses[second] == "removed"

    # The same content posted again elsewhere: the next sync drafts a follow-up chained to the removed notice.
    from tests.conftest import jpeg_bytes

    again = home.parent / "again.jpg"
    again.write_bytes(jpeg_bytes(0))  # the same bytes as the case's first item: a re-upload
    cli("ingest", again, "--platform", "web", "--source-url", "https://mirror.example/re/1")
    cli("takedowns", "sync")
    rows = cli.json_lines("takedowns", "list", "--json")
    followups = [
        r for r in rows if r["parent"] in (notice, second) and r["recipient"] == "x" and r["status"] == "draft"
    ]
    assert [r["urls"] for r in followups] == [["https://mirror.example/re/1"]]
    cli("takedowns", "sync")  # nothing new: no second follow-up
    assert len(cli.json_lines("takedowns", "list", "--json")) == len(rows)


def test_workspace_override_of_recipients(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    folder = home / "takedowns"
    folder.mkdir()
    (folder / "recipients.toml").write_text(
        '[local_board]\nname_ko = "지역 게시판"\nname_en = "Local board"\nchannel = "email"\n'
        'address = "abuse@board.test"\nbases = ["plain_letter"]\nlanguage = "ko"\nresponse_hours = 12\n'
    )
    rows = {r["key"]: r for r in cli.json_lines("takedowns", "recipients", "--json")}
    assert rows["local_board"]["response_hours"] == 12 and "kcsc" in rows
    assert rows["telegram"]["uncertain"]  # the shipped file says what it could not confirm
    (folder / "recipients.toml").write_text('[bad]\nname_ko = "x"\nname_en = "x"\nchannel = "pigeon"\n')
    result = cli("takedowns", "recipients", ok=False)
    assert result.exit_code == 2 and "channel" in _flat(result.output)
