"""Processes killed mid-ingest and scans running at the same time must leave verifiable, complete evidence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idolguard.db.models import Item, LedgerEntry
from idolguard.evidence.verify import verify_workspace
from idolguard.workspace import Workspace
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.slow  # browser / subprocess / training: `make test-fast` skips these


def _cli_process(home: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, IDOLGUARD_HOME=str(home), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "idolguard.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _folder(tmp_path: Path, count: int, name: str = "many") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for index in range(count):
        (folder / f"{index:04d}.jpg").write_bytes(jpeg_bytes(index, size=(96, 64), quality=70))
    return folder


def test_killed_mid_ingest_verifies_and_rerun_completes(home, tmp_path):
    folder = _folder(tmp_path, 400)
    proc = _cli_process(home, "ingest", str(folder), "--json")
    # Wait until some (but not all) items are committed, then kill without warning.
    deadline = time.monotonic() + 60
    ws = Workspace.open(home)
    while time.monotonic() < deadline:
        with ws.sessions() as session:
            stored = session.execute(select(func.count()).select_from(Item)).scalar_one()
        if stored >= 1:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with ws.sessions() as session:
        partial = session.execute(select(func.count()).select_from(Item)).scalar_one()
    assert 1 <= partial < 400, "the kill should land mid-ingest"
    report = verify_workspace(ws)
    assert report.ok, [p.message for p in report.problems]

    rerun = _cli_process(home, "ingest", str(folder), "--json")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    results = [json.loads(line) for line in out.decode().splitlines()]
    assert len(results) == 400 and all(r["error"] is None for r in results)
    with ws.sessions() as session:
        assert session.execute(select(func.count()).select_from(Item)).scalar_one() == 400
    final = verify_workspace(ws)
    assert final.ok and not [w for w in final.warnings if "not referenced" in w.message]
    ws.close()


def test_two_scans_of_the_same_folder_at_once(home, tmp_path):
    folder = _folder(tmp_path, 60, "shared")
    first = _cli_process(home, "scan", str(folder), "--json")
    second = _cli_process(home, "scan", str(folder), "--json")
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    for proc, (_out, err) in zip((first, second), outputs, strict=True):
        assert proc.returncode == 0, err.decode()
    objects = [json.loads(line) for out, _ in outputs for line in out.decode().splitlines()]
    assert len(objects) == 120 and all(o["error"] is None for o in objects)
    ws = Workspace.open(home)
    with ws.sessions() as session:
        assert session.execute(select(func.count()).select_from(Item)).scalar_one() == 60
        ingests = session.execute(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.action == "ingest")
        ).scalar_one()
    assert ingests == 60, "each item is ingested once; the other scan records sightings"
    report = verify_workspace(ws)
    assert report.ok, [p.message for p in report.problems]
    ws.close()
