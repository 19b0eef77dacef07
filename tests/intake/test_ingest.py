"""Ingest: duplicates become sightings, metadata is kept as given, and every bad input gets a clear error."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from idolguard.db.models import Item, Sighting
from idolguard.workspace import Workspace
from tests.conftest import jpeg_bytes, png_bytes


def _by_name(objects: list[dict]) -> dict[str, dict]:
    return {o["path"].rsplit("/", 1)[-1].rsplit("!", 1)[-1]: o for o in objects}


def _count(ws: Workspace, model) -> int:  # type: ignore[no-untyped-def]
    with ws.sessions() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_duplicate_adds_a_sighting_not_a_copy(cli, tmp_path, workspace):
    data = jpeg_bytes(7)
    (tmp_path / "one.jpg").write_bytes(data)
    (tmp_path / "two.jpg").write_bytes(data)
    first = cli.json_lines(
        "ingest",
        tmp_path / "one.jpg",
        "--json",
        "--platform",
        "x",
        "--account",
        "@poster",
        "--source-url",
        "https://x.example/p/1",
        "--seen-at",
        "2026-11-01T09:30:00+09:00",
        "--note",
        "fan report #12",
    )
    second = cli.json_lines("ingest", tmp_path / "two.jpg", "--json")
    assert first[0]["sha256"] == second[0]["sha256"]
    assert not first[0]["duplicate"] and second[0]["duplicate"]
    assert _count(workspace, Item) == 1 and _count(workspace, Sighting) == 2
    assert len(list(workspace.vault.iter_objects())) == 1
    with workspace.sessions() as session:
        sighting = session.execute(select(Sighting).order_by(Sighting.id)).scalars().first()
    assert (sighting.platform, sighting.account, sighting.note) == ("x", "@poster", "fan report #12")
    assert sighting.seen_at.isoformat() == "2026-11-01T00:30:00+00:00"
    assert sighting.file_mtime is not None
    actions = [json.loads(x)["action"] for x in (workspace.home / "ledger.jsonl").read_text().splitlines()]
    assert actions.count("ingest") == 1 and actions.count("sighting") == 1


def test_exif_metadata_is_extracted_and_original_bytes_kept(cli, tmp_path, workspace):
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0112] = 6  # rotated 90 degrees
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 10, 10)).save(buffer, "JPEG", exif=exif)
    (tmp_path / "exif.jpg").write_bytes(buffer.getvalue())
    obj = cli.json_lines("scan", tmp_path / "exif.jpg", "--json")[0]
    assert obj["media_meta"]["exif"]["Make"] == "TestCam"
    assert obj["media_meta"]["display_size"] == [32, 64]
    assert workspace.vault.read_bytes(obj["sha256"]) == buffer.getvalue(), "original is never re-encoded"


def _bad_inputs(folder: Path) -> None:
    folder.mkdir()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(jpeg_bytes(1)[:600])
    (folder / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300))
    (folder / "notes.txt").write_text("just text, not media")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    # decompression bomb: a small PNG declaring a huge pixel count
    Image.new("1", (20000, 20000)).save(folder / "bomb.png", optimize=True)
    (folder / "fine.png").write_bytes(png_bytes(4))


@pytest.mark.slow
def test_bad_files_get_clear_errors_and_good_ones_still_work(cli, tmp_path, workspace):
    _bad_inputs(tmp_path / "bad")
    objects = _by_name(cli.json_lines("scan", tmp_path / "bad", "--json", ok=False))
    assert "empty file" in objects["empty.jpg"]["error"] and objects["empty.jpg"]["sha256"] is None
    assert "truncated" in objects["truncated.jpg"]["error"]
    assert objects["garbage.png"]["error"]
    assert "unsupported media type" in objects["notes.txt"]["error"]
    assert objects["notes.txt"]["media_type"] == "other"
    assert "video" in objects["broken.mp4"]["error"]
    assert "pixel" in objects["bomb.png"]["error"] or "bomb" in objects["bomb.png"]["error"]
    assert objects["fine.png"]["error"] is None and objects["fine.png"]["width"] == 200
    # Undecodable files are still preserved byte-exact (they are evidence of what was found)
    assert workspace.vault.read_bytes(objects["truncated.jpg"]["sha256"]) == jpeg_bytes(1)[:600]
    assert cli("verify").exit_code == 0


def test_non_utf8_filename(cli, tmp_path, workspace):
    folder = tmp_path / "names"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/caf\xe9-\xff.jpg"
    with open(raw, "wb") as handle:
        handle.write(jpeg_bytes(9))
    obj = cli.json_lines("scan", folder, "--json")[0]
    assert obj["error"] is None and "\\xe9" in obj["path"]
    with workspace.sessions() as session:
        sighting = session.execute(select(Sighting)).scalars().one()
    assert bytes.fromhex(sighting.extra["source_path_bytes_hex"]) == raw


def _zip(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")


def test_zip_members_are_items_and_unsafe_members_are_refused(cli, tmp_path, workspace):
    archive = tmp_path / "upload.zip"
    _zip(
        archive,
        {"ok/a.jpg": jpeg_bytes(1), "../../escape.jpg": jpeg_bytes(2), "/abs/path.jpg": jpeg_bytes(3)},
        symlink="link.jpg",
    )
    objects = cli.json_lines("scan", archive, "--json", ok=False)
    by_member = {o["path"].rsplit("!", 1)[-1]: o for o in objects if "!" in o["path"]}
    assert by_member["ok/a.jpg"]["error"] is None and by_member["ok/a.jpg"]["media_type"] == "image"
    assert "traversal" in by_member["../../escape.jpg"]["error"]
    assert "absolute" in by_member["/abs/path.jpg"]["error"]
    assert "symbolic link" in by_member["link.jpg"]["error"]
    assert not (tmp_path.parent / "escape.jpg").exists()
    with workspace.sessions() as session:
        member = session.execute(select(Sighting).where(Sighting.archive_member == "ok/a.jpg")).scalar_one()
    archive_obj = next(o for o in objects if "!" not in o["path"])
    assert member.archive_sha256 == archive_obj["sha256"]
    assert archive_obj["error"] is None and archive_obj["media_meta"] == {"container": "zip"}


def test_zip_bombs_are_stopped(cli, tmp_path, workspace):
    ratio_bomb = tmp_path / "ratio.zip"
    _zip(ratio_bomb, {"zeros.bin": b"\x00" * (50 * 1024 * 1024)})
    objects = cli.json_lines("scan", ratio_bomb, "--json", ok=False)
    assert any("zip bomb" in (o["error"] or "") for o in objects)
    assert not any("!" in o["path"] and o["sha256"] for o in objects), "no member is stored"
    # too many entries
    many = tmp_path / "many.zip"
    _zip(many, {f"f{i}.txt": b"x" for i in range(30)})
    (workspace.home / "config.toml").write_text(
        (workspace.home / "config.toml").read_text().replace("zip_max_entries = 10_000", "zip_max_entries = 10")
    )
    objects = cli.json_lines("scan", many, "--json", ok=False)
    assert any("entries, over the limit" in (o["error"] or "") for o in objects)


def test_many_small_members_cannot_add_up_to_a_bomb(cli, tmp_path, workspace):
    """Each member is under the per-member check, the archive as a whole expands ~1000:1 (found in review)."""
    archive = tmp_path / "spread.zip"
    _zip(archive, {f"m{i}.bin": bytes([i]) + b"\x00" * (1024 * 1024 - 1) for i in range(60)})
    objects = cli.json_lines("scan", archive, "--json", ok=False)
    assert any("zip bomb" in (o["error"] or "") for o in objects)
    assert len(list(workspace.vault.iter_objects())) == 1, "only the archive itself is kept"


def test_total_size_limit_stops_extraction(cli, tmp_path, workspace):
    archive = tmp_path / "big.zip"
    _zip(archive, {f"r{i}.bin": os.urandom(200_000) for i in range(4)})
    config = workspace.home / "config.toml"
    config.write_text(
        config.read_text().replace("zip_max_total_bytes = 17_179_869_184", "zip_max_total_bytes = 500_000")
    )
    objects = cli.json_lines("scan", archive, "--json", ok=False)
    members = {o["path"].rsplit("!", 1)[1]: o for o in objects if "!" in o["path"]}
    assert {name for name, m in members.items() if m["sha256"]} == {"r0.bin", "r1.bin"}
    for name in ("r2.bin", "r3.bin"):
        assert "total-size limit" in members[name]["error"] and members[name]["media_type"] == "other"


def test_zip_whose_directory_lies_about_sizes_is_capped(cli, tmp_path, workspace):
    """A member declaring 10 bytes but inflating to megabytes must not be stored."""
    archive = tmp_path / "liar.zip"
    payload = os.urandom(3 * 1024 * 1024)
    _zip(archive, {"liar.bin": payload})
    raw = bytearray(archive.read_bytes())
    # Patch the declared uncompressed size (central directory and local header) to 10 bytes.
    size_le = len(payload).to_bytes(4, "little")
    raw = raw.replace(size_le, (10).to_bytes(4, "little"))
    archive.write_bytes(bytes(raw))
    objects = cli.json_lines("scan", archive, "--json", ok=False)
    member = next(o for o in objects if "!" in o["path"])
    assert member["error"] and member["sha256"] is None
    assert all(len(workspace.vault.read_bytes(o["sha256"])) != len(payload) for o in objects if o["sha256"])


def test_corrupt_zip_keeps_the_archive_and_reports(cli, tmp_path, workspace):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04" + os.urandom(500))
    objects = cli.json_lines("scan", archive, "--json", ok=False)
    assert any("zip" in (o["error"] or "") for o in objects)
    stored = [o for o in objects if o["sha256"]]
    assert workspace.vault.read_bytes(stored[0]["sha256"]).startswith(b"PK\x03\x04")


def test_symlink_inside_folder_is_not_followed(cli, tmp_path):
    folder = tmp_path / "withlink"
    folder.mkdir()
    secret = tmp_path / "outside.jpg"
    secret.write_bytes(jpeg_bytes(5))
    (folder / "link.jpg").symlink_to(secret)
    objects = cli.json_lines("scan", folder, "--json", ok=False)
    assert "not followed" in objects[0]["error"]


@pytest.mark.parametrize("mode", ["CMYK", "I;16", "LA", "P", "L", "RGBA"])
def test_unusual_image_modes_probe_cleanly(cli, tmp_path, mode):
    folder = tmp_path / "modes"
    folder.mkdir()
    img = Image.fromarray((np.arange(48 * 32) % 255).astype(np.uint8).reshape(32, 48)).convert(
        "RGB" if mode in ("CMYK",) else "L"
    )
    img = (
        img.convert(mode)
        if mode != "I;16"
        else Image.fromarray((np.arange(48 * 32) * 40).astype(np.uint16).reshape(32, 48))
    )
    name = "x.tif" if mode in ("CMYK", "I;16") else "x.png"
    img.save(folder / name)
    obj = cli.json_lines("scan", folder, "--json")[0]
    assert obj["error"] is None, obj["error"]
    assert (obj["width"], obj["height"]) == (48, 32)
