"""Statements the law requires the sender to make (good faith; accuracy under penalty of perjury) are never
assumed: a notice on a basis that needs one cannot be sent or marked sent until the sender affirms it
(``--affirm`` on ``takedowns draft``, or ``takedowns affirm``), the error names the missing element, and the
statement enters the notice text only once affirmed. And the statistics count a sent notice once."""

from __future__ import annotations

import json
from pathlib import Path

from tests.takedowns.test_takedowns import Inbox, _flat, case, smtp  # noqa: F401  (fixtures)

GOOD_FAITH_EN = "bona fide belief"
DMCA_GOOD_FAITH = "good faith belief that use of the material"
PERJURY = "under penalty of perjury"


def _draft(cli, number: str, *args: str, ok: bool = True):  # type: ignore[no-untyped-def]
    return cli("takedowns", "draft", "--case", number, "--again", *args, ok=ok)


def _show(cli, notice: str) -> dict:  # type: ignore[no-untyped-def]
    return cli.json_lines("takedowns", "show", notice, "--json")[0]


def test_dsa_good_faith_is_never_assumed(cli, home: Path, smtp: Inbox, case) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    number, _shas = case
    drafted = _draft(cli, number, "--recipient", "web_host", "--basis", "eu_dsa_16", "--to", "abuse@host.test")
    notice = drafted.stdout.split()[-1]
    assert "good_faith" in _flat(drafted.output)  # the note on stderr names what is missing
    shown = _show(cli, notice)
    assert shown["missing"] == ["good_faith"] and GOOD_FAITH_EN not in shown["body"]
    refused = cli("takedowns", "send", notice, ok=False)
    assert refused.exit_code == 2 and "good_faith" in _flat(refused.output) and smtp.messages == []
    assert f"takedowns affirm {notice} --affirm good_faith" in _flat(refused.output)
    form = _draft(cli, number, "--recipient", "x", "--basis", "eu_dsa_16").stdout.split()[-1]
    marked = cli("takedowns", "mark", form, "sent", ok=False)  # web-form recipients: marking sent checks too
    assert marked.exit_code == 2 and "good_faith" in _flat(marked.output)
    assert cli.json_lines("takedowns", "list", "--json")[-1]["status"] == "draft"

    affirmed = cli("takedowns", "affirm", notice, "--affirm", "good_faith")
    assert "affirmed good_faith" in _flat(affirmed.output)
    shown = _show(cli, notice)
    assert shown["missing"] == [] and GOOD_FAITH_EN in shown["body"]
    cli("takedowns", "send", notice)
    assert len(smtp.messages) == 1 and GOOD_FAITH_EN in _flat(smtp.messages[0][2].decode("utf-8", "replace"))
    events = [json.loads(line) for line in (home / "ledger.jsonl").read_text().splitlines()]
    assert [e["details"]["affirmed"] for e in events if e["action"] == "takedown.affirm"] == [["good_faith"]]
    drafts = [e["details"] for e in events if e["action"] == "takedown.draft"]
    assert drafts[0]["affirmed"] == [] and drafts[0]["missing"] == ["good_faith"]
    assert cli("takedowns", "affirm", notice, "--affirm", "good_faith", ok=False).exit_code == 2  # sent: not a draft

    direct = _draft(
        cli, number, "--recipient", "web_host", "--basis", "eu_dsa_16", "--to", "a@h.test", "--affirm", "good_faith"
    ).stdout.split()[-1]
    assert _show(cli, direct)["missing"] == [] and GOOD_FAITH_EN in _show(cli, direct)["body"]


def test_dmca_needs_both_statements_each_named(cli, home: Path, smtp: Inbox, case) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    number, _shas = case
    base = ("--recipient", "web_host", "--basis", "dmca_512c3", "--to", "a@h.test", "--signature", "K. Legal")
    base += ("--work", "Official music video 'Song', 2026")
    nothing = _show(cli, _draft(cli, number, *base).stdout.split()[-1])
    assert nothing["missing"] == ["good_faith", "accuracy_under_perjury"]
    assert DMCA_GOOD_FAITH not in nothing["body"] and PERJURY not in nothing["body"]
    half = _draft(cli, number, *base, "--affirm", "good_faith").stdout.split()[-1]
    shown = _show(cli, half)
    assert shown["missing"] == ["accuracy_under_perjury"]
    assert DMCA_GOOD_FAITH in shown["body"] and PERJURY not in shown["body"]
    refused = cli("takedowns", "send", half, ok=False)
    assert refused.exit_code == 2 and "accuracy_under_perjury" in _flat(refused.output) and not smtp.messages
    both = _show(cli, _draft(cli, number, *base, "--affirm", "good_faith,accuracy").stdout.split()[-1])
    assert both["missing"] == [] and DMCA_GOOD_FAITH in both["body"] and PERJURY in both["body"]
    repeated = _draft(cli, number, *base, "--affirm", "good_faith", "--affirm", "accuracy").stdout.split()[-1]
    assert _show(cli, repeated)["missing"] == []

    unknown = _draft(cli, number, *base, "--affirm", "sincerity", ok=False)
    assert (
        unknown.exit_code == 2
        and "sincerity" in _flat(unknown.output)
        and "good_faith, accuracy" in _flat(unknown.output)
    )
    dsa = ("--recipient", "web_host", "--basis", "eu_dsa_16", "--to", "a@h.test")
    foreign = _draft(cli, number, *dsa, "--affirm", "accuracy", ok=False)
    assert foreign.exit_code == 2 and "eu_dsa_16 has no statement 'accuracy'" in _flat(foreign.output)
    kr = ("--recipient", "naver", "--basis", "kr_tba_22_5")
    assert _show(cli, _draft(cli, number, *kr).stdout.split()[-1])["missing"] == []  # nothing to affirm
    assert _draft(cli, number, *kr, "--affirm", "good_faith", ok=False).exit_code == 2


def test_escalation_keeps_affirmations_reupload_followup_asks_again(cli, home: Path, smtp: Inbox, case) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    number, _shas = case
    first = _draft(cli, number, "--recipient", "x", "--basis", "eu_dsa_16", "--affirm", "good_faith").stdout.split()
    cli("takedowns", "mark", first[-1], "sent", "--ref", "X-1")
    second = cli("takedowns", "escalate", first[-1], "--early").stdout.split()[-1]  # before the due time
    assert _show(cli, second)["missing"] == []  # the same URLs again: the statement made for them stands
    cli("takedowns", "mark", first[-1], "removed")
    from tests.conftest import jpeg_bytes

    again = home.parent / "again.jpg"
    again.write_bytes(jpeg_bytes(0))  # the same bytes as the case's first item, posted again elsewhere
    cli("ingest", again, "--platform", "web", "--source-url", "https://mirror.example/re/1")
    cli("takedowns", "sync")
    rows = cli.json_lines("takedowns", "list", "--json")
    [followup] = [r for r in rows if r["urls"] == ["https://mirror.example/re/1"]]
    assert followup["parent"] == int(first[-1]) and followup["status"] == "draft"
    shown = _show(cli, str(followup["id"]))
    assert shown["urls"] == ["https://mirror.example/re/1"]
    assert shown["missing"] == ["good_faith"] and GOOD_FAITH_EN not in shown["body"]  # new URLs: affirm again
    cli("takedowns", "affirm", str(followup["id"]), "--affirm", "good_faith")
    assert _show(cli, str(followup["id"]))["missing"] == []


def test_stats_count_a_sent_notice_once(cli, home: Path, smtp: Inbox, case) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    number, _shas = case
    one = _draft(
        cli, number, "--recipient", "x", "--basis", "eu_dsa_16", "--affirm", "good_faith", "--sighting", "1"
    ).stdout.split()[-1]
    assert cli.json_lines("takedowns", "stats", "--json")[0]["notices"] == 0  # drafts are not counted
    cli("takedowns", "mark", one, "sent", "--ref", "X-1")
    data = cli.json_lines("takedowns", "stats", "--json")[0]
    x, dsa = data["by_recipient"]["x"], data["by_basis"]["eu_dsa_16"]
    assert data["notices"] == 1
    for group in (x, dsa):
        assert (group["sent"], group["removed"], group["rejected"], group["no_response"]) == (1, 0, 0, 0)
        assert group["success_rate"] == 0.0 and group["acceptance"] is None
    text = _flat(cli("takedowns", "stats").output)
    assert "takedowns by recipient" in text and "takedowns by legal basis" in text  # tables with headers
    assert "│ X (formerly Twitter) │ x │ 1 │ 0 │" in text and "│ EU DSA Art. 16 │ eu_dsa_16 │ 1 │ 0 │" in text
    cli("takedowns", "mark", one, "acknowledged")
    assert cli.json_lines("takedowns", "stats", "--json")[0]["by_recipient"]["x"]["sent"] == 1
    cli("takedowns", "mark", one, "removed")
    two = _draft(cli, number, "--recipient", "x", "--basis", "platform_form", "--sighting", "2").stdout.split()[-1]
    cli("takedowns", "mark", two, "sent")
    cli("takedowns", "mark", two, "rejected")
    data = cli.json_lines("takedowns", "stats", "--json")[0]
    x = data["by_recipient"]["x"]
    assert (x["sent"], x["removed"], x["rejected"], x["success_rate"], x["acceptance"]) == (2, 1, 1, 0.5, 0.5)
    assert data["by_basis"]["eu_dsa_16"]["sent"] == 1 and data["by_basis"]["platform_form"]["sent"] == 1
