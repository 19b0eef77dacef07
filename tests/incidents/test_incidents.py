from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.signals.helpers import other_photo, photo, save_jpeg


@pytest.mark.slow
def test_copies_grouped_into_incident_with_timeline_and_chart(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = save_jpeg(photo(), tmp_path / "original.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    cli("bank", "add", "abuse", original, "--case", "CASE-1")
    copy_a = save_jpeg(photo().resize((400, 300)), tmp_path / "a.jpg", quality=60)
    copy_b = save_jpeg(photo().transpose(Image.Transpose.FLIP_LEFT_RIGHT), tmp_path / "b.jpg", quality=70)
    unrelated = save_jpeg(other_photo(), tmp_path / "c.jpg")
    cli(
        "scan",
        copy_a,
        "--platform",
        "x",
        "--account",
        "@spreader1",
        "--seen-at",
        "2026-11-01T10:00:00Z",
        "--source-url",
        "https://x.example/p/1",
    )
    cli("scan", copy_b, "--platform", "telegram", "--account", "chan2", "--seen-at", "2026-11-03T08:00:00Z")
    cli("scan", copy_a, "--platform", "x", "--account", "@spreader3", "--seen-at", "2026-11-04T09:00:00Z")
    cli("scan", unrelated, "--platform", "x", "--account", "@innocent")
    incidents = cli.json_lines("incidents", "list", "--json")
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident["items"] == 3  # the banked original and two copies
    assert incident["platforms"] == ["telegram", "x"]  # adding the original to a bank is not a sighting
    chart = tmp_path / "spread.svg"
    detail = cli.json_lines("incidents", "show", str(incident["id"]), "--json", "--chart", chart)[0]
    accounts = {a["account"] for a in detail["accounts"]}
    assert accounts == {"@spreader1", "chan2", "@spreader3"}
    dated = [s["seen_at"] for s in detail["sightings"] if s["seen_at"]]
    assert dated == sorted(dated) and len(dated) == 3
    assert detail["platforms"]["x"]["sightings"] == 2
    assert chart.read_text().startswith("<?xml") and "<svg" in chart.read_text()
    banks = cli.json_lines("bank", "list", "--json")
    assert banks[0]["matches"] == 2  # distinct items, not scans


def test_report_shows_matches_and_spread_chart(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = save_jpeg(photo(), tmp_path / "original.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    cli("bank", "add", "abuse", original)
    copy = save_jpeg(photo().resize((400, 300)), tmp_path / "copy.jpg", quality=60)
    report = tmp_path / "r.html"
    cli("scan", copy, "--platform", "x", "--report", report)
    text = report.read_text()
    assert "Hash-bank matches" in text and "Incident 1" in text and "data:image/svg+xml;base64," in text


def test_show_unknown_incident_fails_cleanly(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("incidents", "show", "42", ok=False)
    assert result.exit_code == 2 and "no incident 42" in result.output
