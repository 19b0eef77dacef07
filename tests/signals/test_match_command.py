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
