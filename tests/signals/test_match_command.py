"""``match`` runs the signals/match/face_match stages through the runner with persist=False."""

from __future__ import annotations

import json

from idolguard.signals import pdq
from tests.signals.helpers import photo, save_jpeg


def test_match_stores_nothing_and_exact_uses_the_reference_decode(cli, home, tmp_path):
    path = save_jpeg(photo((1024, 768)), tmp_path / "query.jpg")
    mirror = home / "ledger.jsonl"
    ledger = mirror.read_text() if mirror.exists() else None
    objects = list((home / "vault" / "objects").rglob("*"))
    [fast] = cli.json_lines("match", path, "--json")
    [exact] = cli.json_lines("match", path, "--exact", "--json")
    assert fast["pdq"] == pdq.hash_file(path).hex
    assert exact["pdq"] == pdq.hash_file(path, exact=True).hex
    assert fast["matches"] == [] and fast["error"] is None
    assert (mirror.read_text() if mirror.exists() else None) == ledger, "no custody event: nothing was stored"
    assert list((home / "vault" / "objects").rglob("*")) == objects


def test_match_finds_a_banked_copy(cli, tmp_path):
    original = save_jpeg(photo(), tmp_path / "original.jpg")
    cli("bank", "create", "confirmed", "--kind", "known_abuse")
    cli("bank", "add", "confirmed", original)
    copy = save_jpeg(photo().resize((600, 450)), tmp_path / "copy.jpg", quality=70)
    [row] = cli.json_lines("match", copy, "--json")
    assert row["matches"] and row["matches"][0]["bank"] == "confirmed"
    json.dumps(row)


def test_worker_processes_match_against_the_same_banks(cli, tmp_path):
    """The ``banks`` resource pickles as a workspace handle and is reopened in each worker: a scan with a
    process pool finds the same matches as one in-process (on SQLite and on PostgreSQL)."""
    original = save_jpeg(photo(), tmp_path / "original.jpg", quality=95)
    cli("bank", "create", "confirmed", "--kind", "known_abuse")
    cli("bank", "add", "confirmed", original)
    folder = tmp_path / "copies"
    folder.mkdir()
    for i, (size, quality) in enumerate([((600, 450), 70), ((500, 375), 60), ((640, 480), 50), ((320, 240), 80)]):
        save_jpeg(photo().resize(size), folder / f"copy{i}.jpg", quality=quality)
    pooled = cli.json_lines("scan", folder, "--json", "--workers", "2")
    assert len(pooled) == 4
    assert all(any(m["bank"] == "confirmed" for m in o["matches"]) for o in pooled), pooled
    assert all(o["error"] is None for o in pooled)
