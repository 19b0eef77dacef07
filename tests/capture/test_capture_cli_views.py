"""`capture list`, `capture show ID [--export DIR]`, and malformed URLs refused before anything is recorded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from idolguard.exit_codes import ExitCode
from tests.capture.server import Site
from tests.capture.test_capture import set_tsa


def test_list_and_show_give_paths_of_every_preserved_file(  # type: ignore[no-untyped-def]
    cli, home: Path, site: Site, allow_local: str, local_tsa, pool
) -> None:
    # The capture itself runs through the session's shared browser (one sync Playwright per thread); what
    # is tested here is what `capture list` and `capture show` make of it.
    from idolguard.capture.service import capture_urls
    from idolguard.capture.settings import CaptureSettings
    from idolguard.workspace import Workspace

    set_tsa(home, f"{site.base}/tsa")
    ws = Workspace.open(home)
    try:
        settings = CaptureSettings.from_workspace(ws)
        [outcome] = capture_urls(ws, [f"{site.base}/post/1"], settings, pool=pool, analyze_media=False)
    finally:
        ws.close()
    captured = outcome.public()
    assert captured["state"] == "ok", captured["errors"]
    listed = cli.json_lines("capture", "list", "--json")
    assert [c["id"] for c in listed] == [captured["capture_id"]]
    assert listed[0]["state"] == "ok" and listed[0]["timestamps_ok"] == 1 and listed[0]["media"] >= 1
    assert str(captured["capture_id"]) in cli("capture", "list").stdout

    [shown] = cli.json_lines("capture", "show", captured["capture_id"], "--json")
    files = {f["kind"]: f for f in shown["files"]}
    assert {"screenshot", "pdf", "wacz", "manifest", "tsa_token"} <= set(files)
    for info in files.values():  # each path is the byte-exact original in the vault
        assert hashlib.sha256(Path(info["path"]).read_bytes()).hexdigest() == info["sha256"]
    assert files["tsa_token"]["tsa_url"] == f"{site.base}/tsa"
    text = cli("capture", "show", captured["capture_id"]).stdout
    assert files["screenshot"]["path"] in text and files["tsa_token"]["path"] in text

    dest = home.parent / "for-counsel"
    [exported] = cli.json_lines(
        "capture", "show", captured["capture_id"], "--export", dest, "--reason", "counsel", "--json"
    )
    written = {Path(p).name: Path(p) for p in exported["exported"]}
    assert any(name.endswith(".png") for name in written) and any(name.endswith(".tsr") for name in written)
    by_sha = {f["sha256"] for f in shown["files"]} | {m["item_sha256"] for m in shown["media"] if m["item_sha256"]}
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in written.values()} == by_sha
    event = json.loads((home / "ledger.jsonl").read_text().splitlines()[-1])
    assert event["action"] == "export" and event["details"]["capture_id"] == captured["capture_id"]
    assert event["details"]["reason"] == "counsel"
    again = cli("capture", "show", captured["capture_id"], "--export", dest, ok=False)
    assert again.exit_code == ExitCode.USAGE and "exists" in again.stderr


@pytest.mark.parametrize("url", ["ht!tp://x", "https://", "ftp://example.com/x", "https://user:pw@example.com/"])
def test_malformed_url_is_refused_before_any_record(cli, home: Path, url: str) -> None:  # type: ignore[no-untyped-def]
    before = (home / "ledger.jsonl").read_text()
    result = cli("capture", url, "https://example.com/fine", "--no-screenshot", ok=False)
    assert result.exit_code == ExitCode.USAGE and "refused" in result.stderr
    assert cli.json_lines("capture", "list", "--json") == []
    assert (home / "ledger.jsonl").read_text() == before
    assert cli("capture", "show", 1, ok=False).exit_code == ExitCode.USAGE
