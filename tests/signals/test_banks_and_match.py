from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.signals.helpers import flat_image, other_photo, photo, save_jpeg


def _bank_with_photo(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    original = save_jpeg(photo(), tmp_path / "original.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    out = cli.json_lines("bank", "add", "abuse", original, "--json")
    # sha256, md5, pdq, and (when the face detector is installed) 9 face-anchored variants of the one face
    assert out[0]["error"] is None and len(out[0]["entries"]) in (3, 21)  # + 9 wide + 9 tight face hashes
    return original


def test_scan_reports_signals_and_matches_edited_copy(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _bank_with_photo(cli, tmp_path)
    edits = tmp_path / "edits"
    edits.mkdir()
    img = photo()
    save_jpeg(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), edits / "mirrored.jpg", quality=60)
    save_jpeg(img.resize((320, 240)), edits / "small.jpg", quality=50)
    save_jpeg(other_photo(), edits / "unrelated.jpg")
    objects = {Path(o["path"]).name: o for o in cli.json_lines("scan", edits, "--json")}
    mirrored = objects["mirrored.jpg"]
    assert len(mirrored["pdq"]) == 64 and mirrored["pdq_quality"] >= 50 and len(mirrored["md5"]) == 32
    assert [m["transform"] for m in mirrored["matches"]] == ["flip_horizontal"]
    match = mirrored["matches"][0]
    assert match["bank"] == "abuse" and match["signal_type"] == "pdq" and match["distance"] <= 31
    assert objects["small.jpg"]["matches"][0]["transform"] == "none"
    assert objects["unrelated.jpg"]["matches"] == []


def test_exact_copy_matches_by_sha256_md5_and_pdq(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = _bank_with_photo(cli, tmp_path)
    result = cli.json_lines("match", original, "--json")[0]
    assert {m["signal_type"] for m in result["matches"]} == {"sha256", "md5", "pdq"}
    assert all(m["distance"] == 0 for m in result["matches"] if m["signal_type"] != "pdq")


def test_match_has_no_side_effects(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from idolguard.db.models import Item, LedgerEntry

    _bank_with_photo(cli, tmp_path)
    query = save_jpeg(photo(), tmp_path / "query.jpg", quality=70)
    with workspace.sessions() as session:
        before = (session.scalar(select(func.count(Item.sha256))), session.scalar(select(func.count(LedgerEntry.seq))))
    result = cli.json_lines("match", query, "--json")[0]
    assert result["matches"] and result["error"] is None
    with workspace.sessions() as session:
        after = (session.scalar(select(func.count(Item.sha256))), session.scalar(select(func.count(LedgerEntry.seq))))
    assert before == after


@pytest.mark.slow
def test_disable_enable_remove(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _bank_with_photo(cli, tmp_path)
    query = save_jpeg(photo(), tmp_path / "query.jpg", quality=70)
    assert cli.json_lines("match", query, "--json")[0]["matches"]
    cli("bank", "disable", "abuse")
    assert cli.json_lines("match", query, "--json")[0]["matches"] == []
    cli("bank", "enable", "abuse")
    matches = cli.json_lines("match", query, "--json")[0]["matches"]
    entry = matches[0]["entry"]

    def matched_entries() -> set[int]:
        return {m["entry"] for m in cli.json_lines("match", query, "--json")[0]["matches"]}

    cli("bank", "disable", "abuse", str(entry))
    assert entry not in matched_entries()  # other entries of the same item (face-anchored) may still match
    cli("bank", "enable", "abuse", str(entry))
    assert entry in matched_entries()
    cli("bank", "remove", "abuse", str(entry), "--reason", "test", "--yes")
    assert entry not in matched_entries()
    cli("bank", "remove", "abuse", "--reason", "test", "--yes")
    assert cli.json_lines("bank", "list", "--json") == []


def test_negative_bank_vetoes_official_media(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _bank_with_photo(cli, tmp_path)
    official = save_jpeg(photo(), tmp_path / "official.png")
    cli("bank", "create", "official", "--kind", "negative")
    cli("bank", "add", "official", official)
    result = cli.json_lines("match", save_jpeg(photo(), tmp_path / "q.jpg", quality=80), "--json")[0]
    kinds = {m["bank_kind"] for m in result["matches"]}
    assert kinds == {"negative"}


def test_low_quality_hash_is_flagged_and_never_matched(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    flat = flat_image(tmp_path / "flat.png")
    added = cli.json_lines("bank", "add", "abuse", flat, "--json")[0]
    assert any("quality" in note for note in added["notes"])
    flat2 = tmp_path / "flat2.png"
    Image.new("RGB", (210, 190), (127, 127, 127)).save(flat2)
    result = cli.json_lines("match", flat2, "--json")[0]
    assert result["pdq_quality"] < 50 and "never used for matching" in result["pdq_note"]
    assert result["matches"] == []


def test_bank_deleted_between_index_read_and_resolution(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from idolguard.signals.banks import remove
    from idolguard.signals.compute import all_signals
    from idolguard.signals.matcher import match_signals
    from idolguard.signals.store import IndexStore

    _bank_with_photo(cli, tmp_path)
    store = IndexStore(workspace)
    stale = store.get("pdq")  # a scan has loaded the index ...
    remove(workspace, "abuse", None)  # ... when another process deletes the bank
    store.get = lambda kind: stale  # type: ignore[method-assign]  # the scan keeps using what it loaded
    signals = all_signals(save_jpeg(photo(), tmp_path / "q.jpg"), "image", workspace.config.limits)
    assert stale.query(signals["pdq"], 31)  # the stale index still has the entry
    assert match_signals(workspace, signals, store) == []
    assert IndexStore(workspace).get("pdq").query(signals["pdq"], 31) == []


def test_bad_file_gives_per_item_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0garbage")
    good = save_jpeg(photo(), tmp_path / "good.jpg")
    results = {Path(r["path"]).name: r for r in cli.json_lines("match", bad, good, "--json", ok=False)}
    assert results["bad.jpg"]["error"] and results["good.jpg"]["error"] is None
    assert cli("match", bad, good, ok=False).exit_code == 1  # some inputs failed
    assert cli("match", good).exit_code == 0


def test_face_anchored_match_survives_crop_and_rotation(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from idolguard.faces.detector import get_detector
    from idolguard.faces.models import ModelUnavailable
    from tests.conftest import astronaut

    try:
        get_detector()
    except ModelUnavailable as exc:  # only a missing model file skips; any other failure is a failure
        import pytest

        pytest.skip(f"face detector model unavailable: {exc}")
    _bank_with_photo(cli, tmp_path)
    img = astronaut()  # 512x512; the bank holds it at 640x480
    w, h = img.size
    edited = img.resize((640, 480)).crop((40, 20, 600, 460)).rotate(5, expand=True, fillcolor=(0, 0, 0))
    query = save_jpeg(edited, tmp_path / "edited.jpg", quality=80)
    result = cli.json_lines("match", query, save_jpeg(other_photo(), tmp_path / "other.jpg"), "--json")
    by_name = {Path(r["path"]).name: r for r in result}
    signals = {m["signal"] for m in by_name["edited.jpg"]["matches"]}
    assert "pdq_face" in signals and "pdq" not in signals
    face = next(m for m in by_name["edited.jpg"]["matches"] if m["signal"] == "pdq_face")
    assert face["verified"]["correlation"] >= 0.9 and abs(abs(face["verified"]["rotation_deg"]) - 5) < 2
    assert by_name["other.jpg"]["matches"] == []
    scanned = cli.json_lines("scan", query, "--json")[0]
    assert any(m["signal"] == "pdq_face" for m in scanned["matches"]) and scanned["pdq_faces"]


def test_rescan_after_bank_change_matches_against_current_banks(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = save_jpeg(photo().resize((400, 300)), tmp_path / "copy.jpg", quality=70)
    assert cli.json_lines("scan", copy, "--json")[0]["matches"] == []  # nothing banked yet
    _bank_with_photo(cli, tmp_path)
    rescanned = cli.json_lines("scan", copy, "--json")[0]
    assert rescanned["duplicate"] and [m["bank"] for m in rescanned["matches"]] == ["abuse"]
    cli("bank", "disable", "abuse")
    assert cli.json_lines("scan", copy, "--json")[0]["matches"] == []
