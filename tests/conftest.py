"""Shared fixtures: real databases (SQLite always, PostgreSQL when IDOLGUARD_TEST_PG is set), fresh workspaces,
an in-process CLI runner, and benign generated media."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from idolguard.workspace import Workspace, init_workspace

# Tests read the CLI's English output unless they choose a language (a machine with LANG=ko_KR would otherwise
# get Korean messages): tests/cli/test_cli_i18n.py sets IDOLGUARD_LANG itself.
os.environ["IDOLGUARD_LANG"] = "en"

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PG_URL = os.environ.get("IDOLGUARD_TEST_PG")


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data, or skip the test when the shared data set is not present."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{'/'.join(parts)} (not present on this machine)")
    return path


def _fresh_pg_database(base_url: str) -> Iterator[str]:
    url = make_url(base_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"idolguard_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        # The triage page counts outdated items in a background thread (web/item_view.py); let it finish
        # before the database goes, or it reconnects between the terminate and the drop.
        for thread in threading.enumerate():
            if thread.name == "idolguard-stale-count":
                thread.join(timeout=60)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


DB_PARAMS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(autouse=True)
def _pillow_pixel_limit() -> Iterator[None]:
    """Put Pillow's process-wide bomb threshold back after each test. The media code sets it to the
    workspace's configured pixel limit on every open (one process, one configuration); a test that uses a tiny
    limit must not leave it behind for the next test's fixtures (skimage/imageio open images through Pillow).
    The truncated-images flag likewise (WeasyPrint's first import sets it; the media code resets it)."""
    from PIL import ImageFile

    before = Image.MAX_IMAGE_PIXELS
    truncated_before = ImageFile.LOAD_TRUNCATED_IMAGES
    yield
    Image.MAX_IMAGE_PIXELS = before
    ImageFile.LOAD_TRUNCATED_IMAGES = truncated_before


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None means the workspace's own embedded SQLite; otherwise a fresh PostgreSQL database URL."""
    if request.param == "sqlite":
        yield None
    else:
        assert PG_URL
        yield from _fresh_pg_database(PG_URL)


@pytest.fixture
def home(tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised workspace folder; IDOLGUARD_HOME and IDOLGUARD_DB_URL point at it for the test."""
    path = tmp_path / "ws"
    monkeypatch.setenv("IDOLGUARD_HOME", str(path))
    monkeypatch.setenv("IDOLGUARD_ACTOR", "tester@idolguard")
    if db_url:
        monkeypatch.setenv("IDOLGUARD_DB_URL", db_url)
    else:
        monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    init_workspace(path)
    # Tests never reach the public timestamping services init configures; tests that need a TSA start the
    # local one (tests/capture/local_tsa.py) and put its URL here.
    config = path / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^tsa_urls = \[.*\]$", "tsa_urls = []", text), encoding="utf-8")
    return path


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    ws = Workspace.open(home)
    yield ws
    ws.close()


def downgrade_to(workspace: Workspace, revision: str) -> None:
    """Downgrade the workspace's database (SQLite or PostgreSQL) to Alembic ``revision``: a migration test then
    writes rows as the older schema had them and upgrades."""
    from alembic import command

    from idolguard.db.session import alembic_config

    engine = workspace.engine
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


class Cli:
    """Runs ``idolguard`` in-process against the test workspace."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, input: str | None = None):  # type: ignore[no-untyped-def]
        from idolguard.cli import app

        result = self.runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"idolguard {' '.join(map(str, args))} exited {result.exit_code}:\n{result.output}")
        return result

    def json_lines(self, *args: str, ok: bool = True) -> list[dict]:
        import json

        result = self(*args, ok=ok)
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip().startswith("{")]


@pytest.fixture
def cli(home: Path) -> Cli:
    return Cli(home)


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (320, 240), quality: int = 90) -> bytes:
    from idolguard.demo import shapes_image

    buffer = io.BytesIO()
    shapes_image(seed, size).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(seed: int = 0, size: tuple[int, int] = (200, 150)) -> bytes:
    from idolguard.demo import shapes_image

    buffer = io.BytesIO()
    shapes_image(seed, size).save(buffer, "PNG")
    return buffer.getvalue()


def astronaut() -> Image.Image:
    """A public-domain NASA portrait shipped with scikit-image: a real face for face tests."""
    from skimage import data

    return Image.fromarray(np.asarray(data.astronaut()))


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """A folder with a few benign images and a short generated clip."""
    from idolguard.demo import write_clip

    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg_bytes(1))
    (folder / "b.png").write_bytes(png_bytes(2))
    sub = folder / "sub"
    sub.mkdir()
    (sub / "c.jpg").write_bytes(jpeg_bytes(3))
    write_clip(folder / "clip.mp4", seconds=1.0)
    return folder


def run_until_killed(script: str, *args: str, actor: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -c script ARGS`` (a CLI run that SIGKILLs itself at a chosen point) and check it really died
    there: an interruption test whose process exited normally would prove nothing."""
    env = {**os.environ, **({"IDOLGUARD_ACTOR": actor} if actor else {})}
    killed = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    return killed
