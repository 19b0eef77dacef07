"""Pinned keys, rotation, keys kept outside the workspace, and RFC 3161 anchors of the ledger head."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from idolguard.config import DEFAULT_TSA_URLS
from idolguard.evidence.keys import PRIVATE_NAME, key_id
from idolguard.evidence.verify import verify_workspace
from idolguard.workspace import Workspace, init_workspace
from tests.conftest import jpeg_bytes
from tests.evidence.conftest import TsaServer, run_cli, use_tsa


def _verify(home: Path):  # type: ignore[no-untyped-def]
    ws = Workspace.open(home, read_only=True)
    try:
        return verify_workspace(ws)
    finally:
        ws.close()


def test_genesis_pins_the_key_and_init_writes_public_tsas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "ws"
    init_workspace(home)
    first = json.loads((home / "ledger.jsonl").read_text().splitlines()[0])
    assert first["seq"] == 0 and first["action"] == "ledger.genesis"
    assert first["details"]["key_id"] == first["key_id"] and len(first["details"]["public_key"]) == 64
    config = (home / "config.toml").read_text()
    assert all(url in config for url in DEFAULT_TSA_URLS)


def test_rotation_signed_by_the_old_key_is_accepted_and_ranges_reported(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    cli("scan", tmp_path / "a.jpg", "--json")
    old = _verify(home).key_ranges[-1].key_id
    cli("key", "rotate", "--reason", "annual rotation")
    (tmp_path / "b.jpg").write_bytes(jpeg_bytes(2))
    cli("scan", tmp_path / "b.jpg", "--json")
    report = _verify(home)
    assert report.ok, [p.as_dict() for p in report.problems]
    assert len(report.key_ranges) == 2 and report.key_ranges[0].key_id == old
    rotation = [json.loads(x) for x in (home / "ledger.jsonl").read_text().splitlines() if "ledger.rotate_key" in x]
    assert rotation[0]["key_id"] == old and rotation[0]["details"]["new_key_id"] == report.key_ranges[1].key_id
    verify_out = cli("verify").output
    assert f"key {old[:16]}… signed entries 0–" in verify_out


def test_rotation_entry_signed_by_a_foreign_key_is_refused(cli, home: Path, tmp_path: Path, db_url) -> None:  # type: ignore[no-untyped-def]
    """A rotation only counts when the key in force signs it."""
    if db_url:
        pytest.skip("the attack rewrites the SQLite ledger table directly")
    from tests.evidence.test_tamper import resign_from

    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    cli("scan", tmp_path / "a.jpg", "--json")
    cli("key", "rotate", "--reason", "planned")
    lines = (home / "ledger.jsonl").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "ledger.rotate_key" in line)
    intruder = Ed25519PrivateKey.generate()
    (home / "keys" / "intruder.pub.pem").write_bytes(
        intruder.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    resign_from(home, at, intruder)
    problems = [p.message for p in _verify(home).problems]
    assert any("while key" in m and "was in force" in m for m in problems), problems


def test_private_key_outside_the_workspace_with_a_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    monkeypatch.setenv("IDOLGUARD_ACTOR", "tester@idolguard")
    monkeypatch.setenv("IDOLGUARD_SIGNING_KEY_PASSPHRASE", "correct horse battery staple")
    home, secret = tmp_path / "ws", tmp_path / "vault-usb" / "signing.pem"
    monkeypatch.setenv("IDOLGUARD_HOME", str(home))
    run_cli("init", "--signing-key-file", secret)
    assert not (home / "keys" / PRIVATE_NAME).exists() and secret.exists()
    assert b"ENCRYPTED PRIVATE KEY" in secret.read_bytes()
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(3))
    run_cli("scan", tmp_path / "a.jpg", "--json")
    monkeypatch.setenv("IDOLGUARD_SIGNING_KEY_PASSPHRASE", "wrong")
    from typer.testing import CliRunner

    from idolguard.cli import app

    refused = CliRunner().invoke(app, ["scan", str(tmp_path / "a.jpg")])
    assert refused.exit_code == 4 and "passphrase" in refused.output
    monkeypatch.delenv("IDOLGUARD_SIGNING_KEY_PASSPHRASE")
    assert _verify(home).ok  # verifying needs no private key and no passphrase
    assert "ok" in run_cli("verify", "--json").stdout  # type: ignore[attr-defined]


def test_init_points_out_a_private_key_inside_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    monkeypatch.delenv("IDOLGUARD_SIGNING_KEY_FILE", raising=False)
    out = run_cli("init", "--home", tmp_path / "ws").output  # type: ignore[attr-defined]
    assert "inside the workspace" in out and "--signing-key-file" in out


def test_anchor_tokens_pass_openssl_ts_verify(
    cli, home: Path, tmp_path: Path, tsa_server: TsaServer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    use_tsa(home, tsa_server.url)
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(4))
    out = cli("scan", tmp_path / "a.jpg", "--json").output
    assert "timestamped by 1 of 1 TSA" in out
    heads = sorted((home / "anchors").glob("*.head"))
    assert heads
    for head in heads:
        token = head.with_name(head.name[: -len(".head")] + ".0.tst")
        result = subprocess.run(
            [
                "openssl",
                "ts",
                "-verify",
                "-data",
                str(head),
                "-in",
                str(token),
                "-token_in",
                "-CAfile",
                str(tsa_server.authority.ca_pem),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and "Verification: OK" in result.stdout, result.stdout + result.stderr
    report = _verify(home)
    assert report.ok and report.last_anchor is not None and report.unanchored_entries == 0
    assert "last anchor: entry" in cli("verify").output


def test_unreachable_tsa_is_said_plainly(cli, home: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    use_tsa(home, "http://127.0.0.1:9/tsa")
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(5))
    out = cli("scan", tmp_path / "a.jpg", "--json").output
    # Tryout #5: one short line, no raw errno or URL; what each TSA said is in logs/anchors.log.
    [line] = [line for line in out.splitlines() if "timestamped" in line]
    assert "was not timestamped: no time-stamping service could be reached" in line
    assert "Errno" not in line and "127.0.0.1:9" not in line and len(line) < 220 + len(str(home))
    logged = [json.loads(x) for x in (home / "logs" / "anchors.log").read_text(encoding="utf-8").splitlines()]
    assert "127.0.0.1:9" in logged[-1]["errors"][0] and logged[-1]["ledger_seq"] > 0
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    (tmp_path / "b.jpg").write_bytes(jpeg_bytes(6))
    korean = cli("scan", tmp_path / "b.jpg", "--json").output
    assert "타임스탬프 서버에 연결할 수 없습니다" in korean and "was not timestamped" not in korean
    monkeypatch.delenv("IDOLGUARD_LANG")
    verify_out = cli("verify").output
    assert "no RFC 3161 anchor" in verify_out


def test_an_unanchored_head_is_warned_about_once_per_command(cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With no TSA configured, ``scan --report`` (which anchors at its end, before the after-command step that
    anchors every command that wrote) says once, not twice, that the head was not timestamped."""
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(7))
    out = cli("scan", tmp_path / "a.jpg", "--report", tmp_path / "r.html").output
    assert (tmp_path / "r.html").is_file()
    assert out.count("NOT timestamped") == 1, out
    (tmp_path / "b.jpg").write_bytes(jpeg_bytes(8))  # a later command that writes is warned about again
    assert cli("ingest", tmp_path / "b.jpg").output.count("NOT timestamped") == 1


def test_report_prints_the_last_anchor_and_signed_sightings(
    cli, home: Path, tmp_path: Path, tsa_server: TsaServer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A sighting edited in the database shows in the report as its signed entry recorded it."""
    import sqlite3

    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    use_tsa(home, tsa_server.url)
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(6))
    cli("scan", tmp_path / "a.jpg", "--json", "--account", "real_poster")
    if (home / "idolguard.db").exists():
        with sqlite3.connect(home / "idolguard.db") as conn:
            conn.execute("UPDATE sightings SET account = 'framed', actor = 'nobody'")
    report = tmp_path / "r.html"
    cli("scan", tmp_path / "a.jpg", "--json", "--report", report)
    text = report.read_text(encoding="utf-8")
    assert "Last RFC 3161 anchor" in text and "none: the ledger head" not in text
    assert "real_poster" in text
    if (home / "idolguard.db").exists():
        assert "framed" not in text and ">nobody<" not in text


def test_key_id_helper_matches_genesis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "ws"
    init_workspace(home)
    ws = Workspace.open(home)
    try:
        first = json.loads((home / "ledger.jsonl").read_text().splitlines()[0])
        assert key_id(ws.signing_key.public) == first["key_id"] == ws.public_key_id
    finally:
        ws.close()


def test_long_runs_anchor_every_n_entries(cli, home: Path, tmp_path: Path, tsa_server: TsaServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    use_tsa(home, tsa_server.url)
    config = home / "config.toml"
    config.write_text(config.read_text().replace("anchor_every = 1000", "anchor_every = 5"))
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        (folder / f"{i}.jpg").write_bytes(jpeg_bytes(100 + i))
    out = cli("ingest", folder).output
    assert out.count("timestamped by 1 of 1 TSA") >= 2  # during the run, and at its end
    assert len(list((home / "anchors").glob("*.head"))) >= 2
    report = _verify(home)
    assert report.ok and report.unanchored_entries == 0 and report.items_after_last_anchor == 0


def test_any_command_that_wrote_is_anchored_at_its_end(
    cli, home: Path, tmp_path: Path, tsa_server: TsaServer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Not only scan/ingest: a bank change (another area's command) is anchored when it ends too."""
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    use_tsa(home, tsa_server.url)
    out = cli("bank", "create", "abuse", "--kind", "known_abuse").output
    assert "timestamped by 1 of 1 TSA" in out
    assert _verify(home).unanchored_entries == 0
    assert "timestamped" not in cli("bank", "list").output  # wrote nothing: nothing to anchor
