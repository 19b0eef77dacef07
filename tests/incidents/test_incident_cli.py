"""Incidents as a user drives them (issue 11 §9): their artists, their state, what counts as a sighting, a chart
with whole-number axes; banks shown with entry ids and provenance, removal with a reason, exports that keep the
case reference."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PIL import Image

from idolguard.exit_codes import ExitCode
from tests.signals.helpers import photo, save_jpeg


def _incident(cli, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    refs = tmp_path / "refs"
    refs.mkdir()
    save_jpeg(photo(), refs / "portrait.jpg")
    cli("artists", "add", "Eileen Collins", "--photos", refs)
    original = save_jpeg(photo(), tmp_path / "original.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    cli("bank", "add", "abuse", original, "--case", "CASE-7")
    copy = save_jpeg(photo().resize((400, 300)), tmp_path / "copy.jpg", quality=60)
    cli("scan", copy, "--platform", "x", "--account", "@a", "--seen-at", "2026-11-01T10:00:00Z")
    cli("scan", copy, "--platform", "x", "--account", "@b", "--seen-at", "2026-11-02T10:00:00Z")
    [incident] = cli.json_lines("incidents", "list", "--json")
    return incident


def test_incident_carries_artist_state_and_only_real_sightings(cli, tmp_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    incident = _incident(cli, tmp_path)
    assert incident["artists"] == ["Eileen Collins"]
    assert incident["platforms"] == ["x"] and incident["sightings"] == 2  # bank add is not a sighting
    assert "Eileen Collins" in cli("incidents", "show", incident["id"]).stdout
    assert "Eileen Collins" in cli("incidents", "list").stdout

    changed = cli.json_lines("incidents", "status", incident["id"], "takedown_requested", "--reason", "sent", "--json")
    assert changed == [{"incident": incident["id"], "from": "open", "to": "takedown_requested", "changed": True}]
    assert cli.json_lines("incidents", "list", "--json")[0]["state"] == "takedown_requested"
    event = json.loads((home / "ledger.jsonl").read_text().splitlines()[-1])
    assert event["action"] == "incident.status"
    assert event["details"] == {
        "incident": incident["id"],
        "from": "open",
        "to": "takedown_requested",
        "reason": "sent",
    }
    assert cli("incidents", "status", incident["id"], "gone", ok=False).exit_code == ExitCode.USAGE
    assert cli("incidents", "status", 999, "closed", ok=False).exit_code == ExitCode.USAGE


def test_spread_chart_counts_in_whole_numbers(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    incident = _incident(cli, tmp_path)
    chart = tmp_path / "spread.svg"
    cli("incidents", "show", incident["id"], "--chart", chart)
    svg = chart.read_text()
    # matplotlib writes each y tick label as a comment "<!-- 1 -->"; only integers may appear.
    ticks = re.findall(r"<g id=\"text_\d+\">\s*<!-- ([^<]*?) -->", svg)
    numeric = [t for t in ticks if re.fullmatch(r"[−\-]?\d+(\.\d+)?", t)]
    assert numeric and all(re.fullmatch(r"[−\-]?\d+", t) for t in numeric), numeric


def test_bank_show_add_summary_remove_and_export(cli, tmp_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    original = save_jpeg(photo(), tmp_path / "original.jpg", quality=95)
    other = save_jpeg(photo().transpose(Image.Transpose.ROTATE_90), tmp_path / "rotated.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    added = cli("bank", "add", "abuse", original, other, "--case", "CASE-7")
    assert "1 sha256" in added.stdout and "1 md5" in added.stdout and "1 pdq" in added.stdout
    assert "bank show abuse" in added.stderr
    entries = cli.json_lines("bank", "show", "abuse", "--json")
    assert entries and {e["source_ref"] for e in entries} == {"CASE-7"}
    assert {e["signal_type"] for e in entries} >= {"sha256", "md5", "pdq"}
    assert all(e["source_kind"] == "item" and len(e["source_item"]) == 64 for e in entries)
    table = cli("bank", "show", "abuse").stdout
    assert str(entries[0]["id"]) in table and "CASE-7" in table

    out = tmp_path / "list.json"
    export = cli("hashes", "export", "--bank", "abuse", "--format", "stopncii-json", "--out", out)
    assert "{" not in export.stdout and "hashes" in export.stdout and "pdq" in export.stdout
    records = json.loads(out.read_text())["hashRecords"]
    assert records and all(r["caseNumbers"] == {"idolguard": "CASE-7"} for r in records)

    entry = entries[0]["id"]
    no_reason = cli("bank", "remove", "abuse", entry, "--yes", ok=False)
    assert no_reason.exit_code == ExitCode.USAGE and "--reason" in no_reason.stderr
    declined = cli("bank", "remove", "abuse", "--reason", "mistake", input="n\n", ok=False)
    assert declined.exit_code == ExitCode.ITEMS_FAILED
    assert len(cli.json_lines("bank", "show", "abuse", "--json")) == len(entries)
    cli("bank", "remove", "abuse", entry, "--reason", "entered twice", input="y\n")
    assert len(cli.json_lines("bank", "show", "abuse", "--json")) == len(entries) - 1
    cli("bank", "remove", "abuse", "--reason", "case closed", "--yes")
    assert cli.json_lines("bank", "list", "--json") == []
    last = json.loads((home / "ledger.jsonl").read_text().splitlines()[-1])
    assert last["action"] == "bank.remove" and last["details"]["reason"] == "case closed"
