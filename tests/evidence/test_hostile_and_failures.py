"""Hostile input (terminal escapes, polyglots, pixel and archive limits) and clean failures (read-only copies,
init in impossible places, a full disk, nothing to ingest)."""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from idolguard.cli import app
from idolguard.config import Limits
from idolguard.db.models import Sighting
from idolguard.errors import MediaError, WorkspaceError
from idolguard.intake.trailing import find_trailing
from idolguard.media.image import open_image
from idolguard.media.probe import probe_image
from idolguard.workspace import Workspace, init_workspace
from tests.conftest import jpeg_bytes, png_bytes

EVIL = "evil\x1b]0;title\x07\x1b[2K\r\x1b[32mALL CLEAN\x1b[0m.jpg"


def invoke(*args: object) -> object:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@contextmanager
def mounted(kind: str, target: Path, options: str) -> Iterator[None]:
    """A real mount (read-only bind, small tmpfs); skipped where this process may not mount."""
    target.mkdir(parents=True, exist_ok=True)
    if kind == "bind-ro":
        first = subprocess.run(["mount", "--bind", options, str(target)], capture_output=True, check=False)
        second = (
            subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], capture_output=True, check=False)
            if first.returncode == 0
            else first
        )
        ok = first.returncode == 0 and second.returncode == 0
    else:
        ok = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True, check=False
            ).returncode
            == 0
        )
    if not ok:
        subprocess.run(["umount", str(target)], capture_output=True, check=False)
        pytest.skip("this environment cannot mount (needs root / CAP_SYS_ADMIN)")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


# -- terminal escapes ------------------------------------------------------------------------------------------
def test_hostile_names_are_shown_escaped_in_scan_ingest_log_and_verify(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(EVIL, jpeg_bytes(1))
        zf.writestr("photo\u202egpj.exe", jpeg_bytes(2))
    for args in (("scan", archive), ("ingest", archive), ("log",), ("verify",)):
        out = cli(*args).output
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\r" not in out, args
    table = cli("scan", archive).output
    assert "\\x1b" in table and "\\u202e" in table
    for line in cli("scan", archive, "--json").stdout.splitlines():
        assert "\x1b" not in line and "\u202e" not in line
        json.loads(line)
    report = tmp_path / "r.html"
    cli("scan", archive, "--json", "--report", report)
    html = report.read_text(encoding="utf-8")
    assert "\x1b" not in html and "\u202e" not in html and "\\x1b]0;title" in html


# -- polyglots -------------------------------------------------------------------------------------------------
def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_jpeg_with_an_appended_zip_is_a_finding_and_its_members_become_items(
    cli, home: Path, tmp_path: Path, workspace
) -> None:  # type: ignore[no-untyped-def]
    hidden = png_bytes(7)
    polyglot = jpeg_bytes(1) + _zip_bytes({"secret/hidden.png": hidden})
    (tmp_path / "innocent.jpg").write_bytes(polyglot)
    objects = cli.json_lines("scan", tmp_path / "innocent.jpg", "--json")
    outer = objects[0]
    assert outer["mime"] == "image/jpeg" and outer["width"] == 320
    [finding] = outer["findings"]
    assert finding["kind"] == "trailing_data" and finding["looks_like"] == "zip"
    assert finding["offset"] == len(jpeg_bytes(1)) and finding["length"] == len(polyglot) - len(jpeg_bytes(1))
    member = next(o for o in objects if o["path"].endswith("!secret/hidden.png"))
    assert member["error"] is None and member["media_type"] == "image"
    assert workspace.vault.read_bytes(member["sha256"]) == hidden
    with workspace.sessions() as session:
        sighting = session.execute(select(Sighting).where(Sighting.item_sha256 == member["sha256"])).scalar_one()
    assert sighting.archive_sha256 == outer["sha256"] and sighting.archive_member == "secret/hidden.png"
    events = cli.json_lines("log", outer["sha256"], "--json")
    assert any(e["action"] == "intake.finding" and e["details"]["looks_like"] == "zip" for e in events)
    assert any(e["action"] == "intake.ingest" for e in cli.json_lines("log", member["sha256"], "--json"))
    assert cli("verify").exit_code == 0


def _gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, "GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("mime", "clean"),
    [("image/jpeg", jpeg_bytes(3)), ("image/png", png_bytes(3)), ("image/gif", _gif_bytes())],
)
def test_trailing_data_is_found_after_each_image_format(tmp_path: Path, mime: str, clean: bytes) -> None:
    path = tmp_path / "x"
    path.write_bytes(clean)
    assert find_trailing(path, mime) is None
    path.write_bytes(clean + b"\x00" * 64)
    assert find_trailing(path, mime) is None, "zero padding is not hidden data"
    path.write_bytes(clean + b"%PDF-1.7 hidden")
    found = find_trailing(path, mime)
    assert found is not None and found.offset == len(clean) and found.looks_like == "pdf"


def test_trailing_data_after_an_mp4(tmp_path: Path) -> None:
    from idolguard.demo import write_clip

    clip = tmp_path / "c.mp4"
    write_clip(clip, seconds=0.5)
    size = clip.stat().st_size
    assert find_trailing(clip, "video/mp4") is None
    with open(clip, "ab") as handle:
        handle.write(_zip_bytes({"a.txt": b"hello"}))
    found = find_trailing(clip, "video/mp4")
    assert found is not None and found.offset == size and found.looks_like == "zip"


# -- limits ----------------------------------------------------------------------------------------------------
def test_configured_pixel_limit_is_the_effective_one(tmp_path: Path) -> None:
    """95 MP is over Pillow's default (89.5 MP) but under the configured 179 MP: it must open."""
    path = tmp_path / "wide.png"
    Image.new("1", (10_000, 9_500)).save(path, optimize=True)
    probe = probe_image(path, Limits())
    assert (probe.width, probe.height) == (10_000, 9_500)
    open_image(path, Limits()).close()
    with pytest.raises(MediaError, match="pixel limit"):
        open_image(path, Limits(max_image_pixels=50_000_000))


def test_archive_and_run_output_limits(cli, home: Path, tmp_path: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    for name in ("one.zip", "two.zip"):
        (tmp_path / name).write_bytes(_zip_bytes({f"{name}-{i}.bin": os.urandom(150_000) for i in range(2)}))
    config = home / "config.toml"
    config.write_text(
        config.read_text().replace("scan_max_total_bytes = 17_179_869_184", "scan_max_total_bytes = 400_000")
    )
    result = cli("scan", tmp_path / "one.zip", tmp_path / "two.zip", "--json", ok=False)
    assert result.exit_code == 1
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    members = {o["path"].rsplit("!", 1)[1]: o for o in objects if "!" in o["path"]}
    stored = {name for name, o in members.items() if o["sha256"]}  # stored (unsupported type for analysis)
    assert len(stored) == 2 and all(name.startswith("one.zip") for name in stored)
    refused = [o for name, o in members.items() if name.startswith("two.zip")]
    assert refused and all("scan_max_total_bytes" in o["error"] for o in refused)


# -- failures --------------------------------------------------------------------------------------------------
def test_missing_path_and_all_refused_exit_non_zero(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for command in ("scan", "ingest"):
        result = cli(command, tmp_path / "does-not-exist.jpg", ok=False)
        assert result.exit_code == 1 and "cannot read" in result.output
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert cli("scan", tmp_path / "empty.jpg", ok=False).exit_code == 1
    (tmp_path / "ok.jpg").write_bytes(jpeg_bytes(1))
    assert cli("scan", tmp_path / "ok.jpg").exit_code == 0


def test_init_on_a_file_or_read_only_place_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    result = invoke("init", "--home", a_file)
    assert result.exit_code == 4 and "is a file" in " ".join(result.output.split())
    source = tmp_path / "src"
    source.mkdir()
    with mounted("bind-ro", tmp_path / "ro", str(source)):
        result = invoke("init", "--home", tmp_path / "ro" / "ws")
        assert result.exit_code == 4 and "Read-only file system" in " ".join(result.output.split())


def _built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    monkeypatch.setenv("IDOLGUARD_ACTOR", "tester@idolguard")
    home = tmp_path / "ws"
    init_workspace(home)
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    (tmp_path / "b.png").write_bytes(png_bytes(2))
    assert invoke("scan", tmp_path / "a.jpg", tmp_path / "b.png", "--home", home).exit_code == 0
    return home


def _snapshot(home: Path) -> dict[Path, tuple[int, int]]:
    """Size and mtime of every file, except SQLite's -shm/-wal, which the writer's own pooled connection
    (the in-process scan above) may still checkpoint; the read-only mount guarantees the copy wrote nothing."""
    return {
        p: (p.stat().st_size, p.stat().st_mtime_ns)
        for p in home.rglob("*")
        if p.is_file() and not p.name.endswith(("-shm", "-wal"))
    }


def test_verify_and_log_on_a_read_only_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _built(tmp_path, monkeypatch)
    gc.collect()  # the in-process scan's database connections close (and checkpoint) now, not mid-test
    before = _snapshot(home)
    entries = len((home / "ledger.jsonl").read_text().splitlines())
    with mounted("bind-ro", tmp_path / "copy", str(home)):
        copy = tmp_path / "copy"
        result = invoke("verify", "--home", copy)
        assert result.exit_code == 0, result.output
        assert "read-only copy: nothing was written" in result.output
        report = json.loads(invoke("verify", "--json", "--home", copy).stdout)
        assert report["ok"] and report["read_only"] and not report["verify_event_recorded"]
        log = invoke("log", "--json", "--home", copy)
        assert log.exit_code == 0 and len(log.stdout.splitlines()) == entries
    assert _snapshot(home) == before
    assert len((home / "ledger.jsonl").read_text().splitlines()) == entries


def test_disk_full_during_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An 8 MB disk: the first files fit, the rest do not. Committed items are reported as JSON, the cause is
    named, the exit code says partial failure, and the workspace still verifies."""
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    monkeypatch.setenv("IDOLGUARD_ACTOR", "tester@idolguard")
    disk = tmp_path / "disk"
    with mounted("tmpfs", disk, "size=8m"):
        home = disk / "ws"
        init_workspace(home)
        media = tmp_path / "media"
        media.mkdir()
        (media / "0-small.jpg").write_bytes(jpeg_bytes(1))
        for i in range(10):
            (media / f"{i + 1:02d}-big.bin").write_bytes(os.urandom(900_000))
        result = invoke("scan", media, "--json", "--home", home)
        assert result.exit_code == 1, result.output
        assert "disk is full" in result.output and "Traceback" not in result.output
        objects = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        committed = [o for o in objects if o["sha256"] and not o["error"]]
        assert committed and any(o["path"].endswith("0-small.jpg") for o in committed)
        # Free space again, then the workspace verifies (nothing half-written is referenced).
        for leftover in (home / "vault" / "tmp").glob("*"):
            leftover.unlink()
        check = invoke("verify", "--home", home)
        assert check.exit_code == 0, check.output


# -- correctness bugs ------------------------------------------------------------------------------------------
def test_rescan_with_the_same_sighting_information_is_not_a_new_sighting(cli, tmp_path: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    for _ in range(3):
        cli("scan", tmp_path / "a.jpg", "--json", "--platform", "x")
    with workspace.sessions() as session:
        assert len(session.execute(select(Sighting)).scalars().all()) == 1
    again = cli.json_lines("scan", tmp_path / "a.jpg", "--json", "--platform", "x")[0]
    assert again["already_recorded"] and again["duplicate"]
    cli("scan", tmp_path / "a.jpg", "--json", "--platform", "telegram")
    with workspace.sessions() as session:
        assert len(session.execute(select(Sighting)).scalars().all()) == 2
    assert cli("verify").exit_code == 0


def test_database_location_is_recorded_and_another_database_refused(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "ws"
    init_workspace(home)
    assert 'location = "sqlite (idolguard.db in the workspace)"' in (home / "config.toml").read_text()
    monkeypatch.setenv("IDOLGUARD_DB_URL", f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(WorkspaceError, match="unset it"):
        Workspace.open(home)
    monkeypatch.delenv("IDOLGUARD_DB_URL")
    config = home / "config.toml"
    config.write_text(
        config.read_text().replace(
            'location = "sqlite (idolguard.db in the workspace)"', 'location = "postgresql://idolguard@db:5432/ig"'
        )
    )
    with pytest.raises(WorkspaceError, match="set IDOLGUARD_DB_URL"):
        Workspace.open(home)
    monkeypatch.setenv("IDOLGUARD_DB_URL", "postgresql://idolguard:secret@db:5432/another")
    with pytest.raises(WorkspaceError, match="refusing to open a different database") as caught:
        Workspace.open(home)
    assert "secret" not in str(caught.value)
    assert not (home / "other.db").exists() and not (tmp_path / "other.db").exists()


def test_identify_names_no_artist_for_no_match() -> None:
    from idolguard.faces.cli import _named_only_when_matched

    face = {"artist": "Lisa (리사)", "decision": "no_match", "similarity": 0.08, "runner_up": "Jisoo"}
    shown = _named_only_when_matched(face)
    assert shown["artist"] is None and shown["closest_artist"] == "Lisa (리사)" and shown["runner_up"] == "Jisoo"
    assert _named_only_when_matched({"artist": "Lisa", "decision": "match"})["artist"] == "Lisa"
