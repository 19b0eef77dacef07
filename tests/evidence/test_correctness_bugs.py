"""Bugs found by trying IdolGuard as a new user would (issue #10): face-anchored re-uploads join incidents,
gallery objects are referenced, consent references are never replaced silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from idolguard.db.models import LedgerEntry
from tests.conftest import astronaut
from tests.signals.helpers import other_photo, save_jpeg


def _faces_available() -> None:
    try:
        from idolguard.faces.detector import get_detector

        get_detector()
    except ImportError as exc:
        pytest.skip(f"face detector not installed: {exc}")


def test_face_anchored_reupload_joins_the_incident(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A copy found only by the face-anchored matcher (cropped and rotated: whole-picture PDQ misses it) must
    join the incident of the banked original, like a whole-picture match does."""
    _faces_available()
    original = save_jpeg(astronaut().resize((640, 480)), tmp_path / "original.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    cli("bank", "add", "abuse", original, "--case", "CASE-7")
    edited = astronaut().resize((640, 480)).crop((40, 20, 600, 460)).rotate(5, expand=True, fillcolor=(0, 0, 0))
    query = save_jpeg(edited, tmp_path / "edited.jpg", quality=80)
    scanned = cli.json_lines("scan", query, "--json", "--platform", "x", "--account", "@reuploader")[0]
    signals = {m["signal"] for m in scanned["matches"]}
    assert "pdq_face" in signals and "pdq" not in signals, "the copy is found by the face-anchored matcher only"
    incidents = cli.json_lines("incidents", "list", "--json")
    assert len(incidents) == 1 and incidents[0]["items"] == 2
    detail = cli.json_lines("incidents", "show", str(incidents[0]["id"]), "--json")[0]
    assert "@reuploader" in {a["account"] for a in detail["accounts"]}
    unrelated = save_jpeg(other_photo(), tmp_path / "unrelated.jpg")
    cli("scan", unrelated, "--json")
    assert cli.json_lines("incidents", "list", "--json")[0]["items"] == 2
    assert cli("verify").exit_code == 0


def test_consent_reference_is_added_and_recorded_never_replaced(cli, tmp_path: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    _faces_available()
    photos = tmp_path / "photos"
    photos.mkdir()
    astronaut().resize((400, 400)).save(photos / "ref.jpg", quality=95)
    cli("artists", "add", "Astro", "--photos", photos, "--consent-ref", "MANDATE-2026-01")
    second = tmp_path / "more"
    second.mkdir()
    astronaut().resize((380, 380)).save(second / "ref2.jpg", quality=90)
    cli("artists", "add", "Astro", "--photos", second, "--consent-ref", "MANDATE-2026-09")
    shown = cli.json_lines("artists", "list", "--json")
    astro = next(a for a in shown if a["name"] == "Astro")
    assert "MANDATE-2026-01" in astro["consent_ref"] and "MANDATE-2026-09" in astro["consent_ref"]
    with workspace.sessions() as session:
        events = session.execute(select(LedgerEntry).where(LedgerEntry.action == "gallery.set_consent")).scalars()
        [event] = list(events)
    assert event.details["previous"] == "MANDATE-2026-01" and event.details["added"] == "MANDATE-2026-09"
    # Re-adding an existing reference changes nothing and records nothing new.
    cli("artists", "add", "Astro", "--photos", second, "--consent-ref", "MANDATE-2026-09")
    with workspace.sessions() as session:
        count = len(
            session.execute(select(LedgerEntry).where(LedgerEntry.action == "gallery.set_consent")).scalars().all()
        )
    assert count == 1
    report = cli("verify")
    assert report.exit_code == 0 and "not referenced" not in report.output
