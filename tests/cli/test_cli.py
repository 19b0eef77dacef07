"""Workspace commands as a user meets them: init, log, export, report, encryption, clear errors."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest
from typer.testing import CliRunner

from idolguard.cli import app
from tests.conftest import jpeg_bytes


def test_init_creates_a_private_signing_key_and_is_idempotent(home, cli):
    key = home / "keys" / "instance_ed25519.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    cli("init")
    assert key.read_bytes() == before, "re-running init never replaces the instance key"
    assert (home / "config.toml").is_file() and (home / "vault" / "objects").is_dir()


def test_missing_workspace_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IDOLGUARD_HOME", str(tmp_path / "nowhere"))
    result = CliRunner().invoke(app, ["scan", str(tmp_path)])
    assert result.exit_code == 4  # workspace error (exit_codes.WORKSPACE)
    assert "idolguard init" in result.output


def test_log_shows_custody_for_one_item_by_prefix(cli, tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    obj = cli.json_lines("scan", tmp_path / "a.jpg", "--json", "--note", "first look")[0]
    events = cli.json_lines("log", obj["sha256"][:10], "--json")
    assert events[0]["action"] == "intake.ingest" and {e["action"] for e in events[1:]} == {"pipeline.analyse"}
    assert "probe" in [e["details"]["stage"] for e in events[1:]]
    assert events[0]["details"]["note"] == "first look" and events[0]["actor"] == "tester@idolguard"
    assert all(e["item"] == obj["sha256"] for e in events)
    assert cli("log", "deadbeefdead", ok=False).exit_code == 2


def test_export_writes_original_and_records_why(cli, tmp_path):
    data = jpeg_bytes(2)
    (tmp_path / "a.jpg").write_bytes(data)
    sha = cli.json_lines("scan", tmp_path / "a.jpg", "--json")[0]["sha256"]
    out = tmp_path / "copy.jpg"
    cli("export", sha, "--out", out, "--reason", "police request 2026-77")
    assert out.read_bytes() == data
    last = cli.json_lines("log", sha, "--json")[-1]
    assert last["action"] == "evidence.export" and last["details"]["reason"] == "police request 2026-77"
    assert cli("export", sha, "--out", out, "--reason", "again", ok=False).exit_code == 2


def test_html_report_is_self_contained_and_lists_every_item(cli, media_dir, tmp_path, home):
    report = tmp_path / "report.html"
    objects = cli.json_lines("scan", media_dir, "--json", "--report", report)
    text = report.read_text(encoding="utf-8")
    for obj in objects:
        assert obj["sha256"] in text
    assert not re.search(r"""(src|href)=["']https?://""", text), "no external resources"
    last = json.loads((home / "ledger.jsonl").read_text().splitlines()[-1])
    assert last["action"] == "report.export" and last["details"]["kind"] == "html_report"


def test_encrypted_workspace_end_to_end(tmp_path, monkeypatch):
    home = tmp_path / "enc"
    key = os.urandom(32).hex()
    monkeypatch.setenv("IDOLGUARD_HOME", str(home))
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    runner = CliRunner()
    monkeypatch.delenv("IDOLGUARD_VAULT_KEY", raising=False)
    refused = runner.invoke(app, ["init", "--encrypt"])
    assert refused.exit_code == 4 and "IDOLGUARD_VAULT_KEY" in refused.output
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", key)
    assert runner.invoke(app, ["init", "--encrypt"]).exit_code == 0
    assert key not in (home / "config.toml").read_text()
    data = jpeg_bytes(3)
    (tmp_path / "a.jpg").write_bytes(data)
    result = runner.invoke(app, ["scan", str(tmp_path / "a.jpg"), "--json"])
    obj = json.loads(result.stdout.splitlines()[0])
    assert obj["error"] is None and obj["width"] == 320, "analysis reads the decrypted original"
    stored = next((home / "vault" / "objects").glob("*/*/*")).read_bytes()
    assert data[:64] not in stored and data[-64:] not in stored
    assert runner.invoke(app, ["verify"]).exit_code == 0
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    assert runner.invoke(app, ["verify"]).exit_code == 3, "a wrong key cannot read the evidence"


def test_stages_command_lists_probe(cli):
    """Fails if ProbeStage cannot be imported: the row must be the stage itself, available, with its version
    (an import failure would be listed as a ``cannot import`` row that also contains the word "probe")."""
    import re

    from idolguard.pipeline.registry import all_stages, import_problems
    from idolguard.pipeline.stages.probe import ProbeStage

    assert any(isinstance(stage, ProbeStage) for stage in all_stages())
    assert not any("probe" in spec for spec in import_problems())
    output = cli("stages").output
    assert re.search(r"probe\s*│\s*2\s*│.*available", output), output
    assert "cannot import" not in output


@pytest.mark.slow
def test_demo_runs_and_writes_a_report(tmp_path, monkeypatch):
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert (home / "reports" / "demo-report.html").stat().st_size > 1000
    assert "truncated" in result.output and "dup" in result.output
    assert "demo case: IG-" in result.output and "2 items, 2 accounts" in result.output
    # `make run` runs the demo on every start: a second run reuses the workspace and the same demo case.
    first_case = re.search(r"demo case: (IG-\d{4}-\d{4})", result.output)
    again = CliRunner().invoke(app, ["demo", "--home", str(home)])
    assert again.exit_code == 0, again.output
    assert first_case and f"demo case: {first_case.group(1)}" in again.output
