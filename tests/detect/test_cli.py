"""``detect`` (no side effects), ``scan --json`` fields, ``eval detector`` and ``calibrate detector``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idolguard.db.models import DerivedObject, Item, LedgerEntry
from idolguard.workspace import Workspace

from .media import save_variants, write_partial_face_clip


def _counts(home: Path) -> tuple[int, int]:
    ws = Workspace.open(home)
    try:
        with ws.sessions() as session:
            return (
                session.execute(select(func.count()).select_from(Item)).scalar_one(),
                session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one(),
            )
    finally:
        ws.close()


def test_detect_reports_each_file_and_stores_nothing(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    save_variants(tmp_path / "media")
    corrupt = tmp_path / "media" / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    before = _counts(home)
    rows = {Path(r["path"]).name: r for r in cli.json_lines("detect", str(tmp_path / "media"), "--json", ok=False)}
    assert _counts(home) == before  # no items, no custody events
    photo = rows["astronaut.jpg"]
    assert photo["error"] is None and len(photo["faces"]) == 1
    assert 0.0 <= photo["manipulation_score"] <= 1.0
    assert photo["verdict"] in ("likely_manipulated", "uncertain", "not_detected")
    assert photo["faces"][0]["manipulation_score"] == photo["manipulation_score"]
    # The score carries how often held-out real idol photos score as high (the shipped card holds them).
    rate = photo["false_positive_rate"]
    assert rate["n"] >= 100 and 0.0 <= rate["ci95"][0] <= rate["rate"] <= rate["ci95"][1] <= 1.0
    assert photo["faces"][0]["false_positive_rate"] == rate and "held-out" in photo["false_positive_reference"]
    assert photo["thresholds"]["likely"] >= 0.8  # the model's operating points, never below the generic ones
    families = photo["families"]
    assert set(families) == {"face_swap", "synthetic_image"} and photo["deciding_family"] in families
    assert all(f["verdict"] in ("likely_manipulated", "uncertain", "not_detected") for f in families.values())
    assert families["synthetic_image"]["false_positive_rate"]["n"] >= 100
    assert photo["model"]["name"] and photo["model"]["version"]
    assert photo["content_credentials"] == {"present": False}
    gray = rows["astronaut-gray.png"]
    assert gray["error"] is None and gray["faces"] and gray["faces"][0]["status"] == "scored"
    assert rows["shapes.png"]["verdict"] == "not_detected" and rows["shapes.png"]["verdict_reason"] == "no face found"
    assert rows["strip.png"]["error"] is None and rows["strip.png"]["verdict"] == "not_detected"
    tiny = rows["astronaut-tiny.png"]
    if tiny["faces"]:  # YuNet may or may not find an 18px face; if it does, we must not guess
        assert tiny["manipulation_score"] is None and tiny["verdict"] == "uncertain"
        assert "insufficient resolution" in tiny["faces"][0]["reason"]
    assert rows["broken.jpg"]["error"] and rows["broken.jpg"]["verdict"] is None


def test_video_with_faces_in_some_frames(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clip = write_partial_face_clip(tmp_path / "clip.mp4")
    (row,) = cli.json_lines("detect", str(clip), "--json")
    assert row["error"] is None and row["faces"], row
    track = row["faces"][0]
    assert track["track_id"] is not None and track["frames_scored"] >= 2
    assert 0.0 <= row["manipulation_score"] <= 1.0


def test_scan_attaches_scores_and_heat_maps(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = save_variants(tmp_path / "media")
    (obj,) = cli.json_lines("scan", str(paths["photo"]), "--json")
    assert "manipulation_score" in obj and obj["verdict"] in ("likely_manipulated", "uncertain", "not_detected")
    face = obj["faces"][0]
    assert face["manipulation_score"] == obj["manipulation_score"]
    assert face["manipulation_status"] == "scored"
    ws = Workspace.open(home)
    try:
        with ws.sessions() as session:
            heat = session.execute(select(DerivedObject).where(DerivedObject.kind == "heatmap")).scalars().all()
        assert [h.sha256 for h in heat] == [face["heatmap_sha256"]]
        assert ws.vault.read_bytes(face["heatmap_sha256"]).startswith(b"\x89PNG")
    finally:
        ws.close()


def _labels(tmp_path: Path) -> tuple[Path, Path]:
    """Benign stand-ins: labels here exercise the mechanics only, they say nothing about the photos."""
    from PIL import Image

    from tests.conftest import astronaut

    root = tmp_path / "set"
    root.mkdir()
    img = astronaut()
    rows = ["path,label,note"]
    for i, (box, label) in enumerate(
        [
            ((0, 0, 512, 512), "real"),
            ((60, 0, 420, 360), "fake"),
            ((100, 10, 380, 290), "real"),
            ((40, 0, 460, 420), "fake"),
        ]
    ):
        img.crop(box).save(root / f"{i}.jpg", quality=80 + i)
        rows.append(f"{i}.jpg,{label},x")
    Image.new("RGB", (64, 64), "white").save(root / "blank.png")
    rows.append("blank.png,real,no face")
    rows.append("missing.jpg,fake,gone")
    csv = tmp_path / "labels.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv, root


@pytest.mark.slow
def test_eval_detector_outputs_auc_plot_and_per_file_rows(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv, root = _labels(tmp_path)
    plot = tmp_path / "roc.png"
    lines = cli.json_lines("eval", "detector", "--labels", str(csv), "--root", str(root), "--json", "--plot", str(plot))
    files, summary = lines[:-1], lines[-1]["summary"]
    assert len(files) == 6
    assert {f["path"] for f in files if f["error"]} == {"missing.jpg"}
    assert summary["files"] == 6 and summary["scored"] == 4 and summary["unscored"] == 2
    assert 0.0 <= summary["roc_auc"] <= 1.0 and 0.0 <= summary["accuracy"] <= 1.0
    assert plot.read_bytes().startswith(b"\x89PNG")
    degraded = cli.json_lines(
        "eval",
        "detector",
        "--labels",
        str(csv),
        "--root",
        str(root),
        "--json",
        "--plot",
        str(plot),
        "--degrade",
        "jpeg50",
        "--limit",
        "2",
    )
    assert degraded[-1]["summary"]["degrade"] == "jpeg50" and degraded[-1]["summary"]["files"] == 2


def test_calibrate_detector_changes_later_scores(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv, root = _labels(tmp_path)
    photo = root / "0.jpg"
    (before,) = cli.json_lines("detect", str(photo), "--json")
    (scanned,) = cli.json_lines("scan", str(photo), "--json")
    (fitted,) = cli.json_lines("calibrate", "detector", "--labels", str(csv), "--root", str(root), "--json")
    assert fitted["used"] == 4 and fitted["id"].startswith("workspace:")
    stored = json.loads((home / "detect" / "calibration.json").read_text())
    assert stored["calibration"]["method"] == "platt"
    (after,) = cli.json_lines("detect", str(photo), "--json")
    assert after["calibration"] == fitted["id"] != before["calibration"]
    # An item scanned before the recalibration is re-scored from its stored logits on the next scan.
    (rescanned,) = cli.json_lines("scan", str(photo), "--json")
    assert rescanned["manipulation"]["calibration"] == fitted["id"] != scanned["manipulation"]["calibration"]
    assert rescanned["manipulation_score"] == after["manipulation_score"]
    ws = Workspace.open(home)
    try:
        with ws.sessions() as session:
            actions = session.execute(select(LedgerEntry.line)).scalars().all()
        assert any('"detect.calibrate"' in line and fitted["sha256"] in line for line in actions)
    finally:
        ws.close()


def test_html_report_shows_the_verdict_and_heat_map(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = save_variants(tmp_path / "media")
    report = tmp_path / "report.html"
    cli("scan", str(paths["photo"]), "--report", str(report))
    text = report.read_text()
    assert "section-manipulation" in text and "alt='heat map'" in text
    assert "No C2PA Content Credentials" in text
    assert "genuine idol photos score at least this high" in text
    # Both detector families explain themselves (the synthetic-image model ships with the package).
    assert "<td>face swap</td>" in text and "<td>generated image</td>" in text
    # In Korean (the command line's language) the block is Korean, the figures the same.
    korean = tmp_path / "report-ko.html"
    cli("--lang", "ko", "scan", str(paths["photo"]), "--report", str(korean))
    text = korean.read_text()
    assert "<h3>조작 탐지</h3>" in text and "alt='열지도'" in text and "실제 아이돌 사진" in text
    assert "<td>얼굴 합성(페이스 스왑)</td>" in text and "<td>생성 이미지</td>" in text
    assert "C2PA 콘텐츠 자격 증명 없음" in text
    assert "genuine idol photos" not in text and "No C2PA" not in text and "heat map" not in text


def test_valid_ai_credentials_make_the_verdict(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from .c2pa_signing import write_ai_signed_jpeg

    signed = write_ai_signed_jpeg(tmp_path / "generated.jpg")
    (row,) = cli.json_lines("detect", str(signed), "--json")
    assert row["content_credentials"]["ai_generated"] is True
    assert row["verdict"] == "likely_manipulated" and "Content Credentials" in row["verdict_reason"]
    assert row["faces"] == [] and row["manipulation_score"] is None  # no face: the pixel detector had nothing


def test_animated_gif_is_scored_per_track(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    from tests.conftest import astronaut

    first = astronaut().crop((100, 0, 400, 300)).resize((200, 200))
    second = astronaut().crop((110, 5, 410, 305)).resize((200, 200))  # moved a little (GIF merges duplicates)
    blank = Image.new("RGB", (200, 200), (40, 40, 40))
    gif = tmp_path / "anim.gif"
    first.save(gif, save_all=True, append_images=[second, blank], duration=200, loop=0)
    (row,) = cli.json_lines("detect", str(gif), "--json")
    assert row["error"] is None and len(row["faces"]) == 1
    assert row["faces"][0]["track_id"] is not None and row["faces"][0]["frames_scored"] == 2
