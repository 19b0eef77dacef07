"""Source-face attribution in scans: a face copied out of an official photo (negative bank) is named with
the verification figures, the aligned pair is kept and shown only blurred; other banks, other pictures and
the official photo itself are not attributed.

Benign media only: the public-domain astronaut portrait is the "official photo"; the suspect is a collage
that re-uses the same picture's face region on another (public-domain) photo. No face is swapped onto
another person.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import astronaut
from tests.signals.helpers import other_photo, save_jpeg


@pytest.fixture(autouse=True)
def _detector() -> None:
    from idolguard.faces.detector import get_detector
    from idolguard.faces.models import ModelUnavailable

    try:
        get_detector()
    except ModelUnavailable as exc:  # only a missing model file skips; any other failure is a failure
        pytest.skip(f"face detector model unavailable: {exc}")


def _official(tmp_path: Path) -> Path:
    return save_jpeg(astronaut(), tmp_path / "official.jpg", quality=95)


def _collage(tmp_path: Path) -> Path:
    """The official photo's head, slightly scaled and turned, pasted onto another photo, re-encoded."""
    head = astronaut().crop((120, 0, 360, 260)).resize((216, 234), Image.Resampling.BICUBIC).rotate(3)
    canvas = other_photo((640, 480))
    canvas.paste(head, (300, 120))
    return save_jpeg(canvas, tmp_path / "collage.jpg", quality=80)


def test_scan_names_the_official_photo_a_face_was_copied_from(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    official = _official(tmp_path)
    cli("bank", "create", "official", "--kind", "negative")
    added = cli.json_lines("bank", "add", "official", official, "--json")[0]
    assert added["kinds"].get("pdq_inner", 0) >= 5, "official faces get inner-face hashes"
    suspects = tmp_path / "suspects"
    suspects.mkdir()
    collage = _collage(suspects)
    save_jpeg(other_photo(), suspects / "unrelated.jpg")
    objects = {Path(o["path"]).name: o for o in cli.json_lines("scan", suspects, "--json")}
    found = objects["collage.jpg"]["source_attribution"]
    assert len(found) == 1, found
    hit = found[0]
    assert hit["official_item"] == added["sha256"] and hit["bank"] == "official"
    assert hit["inliers"] >= 60 and hit["inlier_ratio"] >= 0.5 and abs(hit["scale"] - 1) <= 0.15
    assert workspace.vault.has(hit["pair_sha256"]), "the aligned pair is kept as a derived file"
    assert objects["unrelated.jpg"].get("source_attribution", []) == []
    # The official photo scanned again is not "copied from itself".
    again = cli.json_lines("scan", official, "--json")[0]
    assert again["source_attribution"] == []
    report = tmp_path / "report.html"
    cli("scan", collage, "--report", report)
    text = report.read_text(encoding="utf-8")
    assert "copied from official item" in text and added["sha256"] in text and "Source-face attribution" in text
    assert "원본 얼굴 출처" not in text, "one language per report"
    korean = tmp_path / "report-ko.html"
    cli("--lang", "ko", "scan", collage, "--report", korean)
    ko_text = korean.read_text(encoding="utf-8")
    assert "원본 얼굴 출처" in ko_text and f"공식 자료 <code>{added['sha256']}</code>에서 복제됨" in ko_text
    assert "copied from official item" not in ko_text and "keypoint matches" not in ko_text
    import base64

    sharp = base64.b64encode(workspace.vault.read_bytes(hit["pair_sha256"])).decode("ascii")
    assert sharp[:200] not in text, "the sharp pair never goes into the report"


def test_only_official_banks_are_searched(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    added = cli.json_lines("bank", "add", "abuse", _official(tmp_path), "--json")[0]
    assert "pdq_inner" not in added["kinds"], "a known-abuse bank is not an official collection"
    scanned = cli.json_lines("scan", _collage(tmp_path), "--json")[0]
    assert scanned["source_attribution"] == []
    report = tmp_path / "report.html"
    cli("scan", _collage(tmp_path), "--report", report)
    assert "Source-face attribution" not in report.read_text(encoding="utf-8"), (
        "no attribution block when nothing was found"
    )


def test_bank_change_clears_stored_attribution(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    collage = _collage(tmp_path)
    assert cli.json_lines("scan", collage, "--json")[0]["source_attribution"] == []
    cli("bank", "create", "official", "--kind", "negative")
    cli("bank", "add", "official", _official(tmp_path))
    rescanned = cli.json_lines("scan", collage, "--json")[0]
    assert len(rescanned["source_attribution"]) == 1, "enrolling an official photo re-attributes on the next scan"
