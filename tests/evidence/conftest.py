"""Evidence fixtures: a local RFC 3161 TSA over HTTP, and one fully built workspace that tamper tests copy.

Building the workspace (init, scans with sightings, a zip, an artist enrolment, anchors) takes a few seconds,
so it is built once per module and every attack runs on its own copy (a plain folder copy: SQLite database,
vault, ledger mirror, keys and anchors together, exactly what an attacker with write access could change).
"""

from __future__ import annotations

import io
import re
import shutil
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.capture.local_tsa import LocalTSA
from tests.conftest import astronaut, jpeg_bytes, png_bytes


@dataclass
class TsaServer:
    url: str
    authority: LocalTSA


@pytest.fixture(scope="session")
def tsa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TsaServer]:
    """A Time-Stamping Authority on 127.0.0.1 (the same local TSA the capture tests use)."""
    authority = LocalTSA(tmp_path_factory.mktemp("evidence-tsa"))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reply = authority.respond(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield TsaServer(f"http://127.0.0.1:{server.server_address[1]}/tsa", authority)
    server.shutdown()


def use_tsa(home: Path, url: str) -> None:
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^tsa_urls = \[.*\]$", f'tsa_urls = ["{url}"]', text), encoding="utf-8")


def run_cli(*args: object) -> object:
    from idolguard.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    if result.exit_code != 0:
        raise AssertionError(f"idolguard {' '.join(map(str, args))} exited {result.exit_code}:\n{result.output}")
    return result


@pytest.fixture(scope="module")
def built_workspace(tmp_path_factory: pytest.TempPathFactory, tsa_server: TsaServer) -> Iterator[Path]:
    """init + two scans (sightings with context, a zip member, a face with derived crops) + an artist
    enrolment + a verify, anchored by the local TSA after every command that wrote."""
    from idolguard.workspace import init_workspace

    root = tmp_path_factory.mktemp("tamper-template")
    home = root / "ws"
    media = root / "media"
    media.mkdir()
    (media / "a.jpg").write_bytes(jpeg_bytes(1))
    (media / "b.png").write_bytes(png_bytes(2))
    astronaut().save(media / "face.jpg", quality=92)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner/c.jpg", jpeg_bytes(3))
    (media / "upload.zip").write_bytes(buffer.getvalue())
    photos = root / "photos"
    photos.mkdir()
    astronaut().resize((400, 400)).save(photos / "ref.jpg", quality=95)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IDOLGUARD_HOME", str(home))
        patch.setenv("IDOLGUARD_ACTOR", "analyst@agency")
        patch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
        patch.delenv("IDOLGUARD_DB_URL", raising=False)
        init_workspace(home)
        use_tsa(home, tsa_server.url)
        run_cli(
            "scan", media, "--json", "--source-url", "https://x.example/p/1", "--platform", "x", "--account", "poster"
        )
        run_cli("scan", media / "a.jpg", "--json", "--platform", "telegram", "--note", "re-upload")
        run_cli("artists", "add", "Astro", "--photos", photos, "--consent-ref", "MANDATE-1")
        run_cli("verify")
        run_cli("scan", media / "b.png", "--json", "--platform", "forum", "--seen-at", "2026-11-01T10:00:00+09:00")
    yield home


@pytest.fixture
def copy_of(built_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the built workspace for one attack."""
    home = tmp_path / "ws"
    shutil.copytree(built_workspace, home, symlinks=True)
    for path in home.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    monkeypatch.setenv("IDOLGUARD_HOME", str(home))
    monkeypatch.setenv("IDOLGUARD_ACTOR", "analyst@agency")
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    return home
