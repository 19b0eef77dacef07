"""The custody ledger: every tampering the issue names must make `verify` fail and name the place."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update

from idolguard.db.models import LedgerEntry
from idolguard.evidence.canonical import canonical_bytes
from idolguard.evidence.verify import verify_jsonl_only, verify_workspace
from idolguard.workspace import Workspace

HERE = Path(__file__).parent


def _scanned(cli, media_dir) -> list[dict]:
    return cli.json_lines("scan", media_dir, "--json")


def _problems(home: Path) -> list[str]:
    ws = Workspace.open(home)
    try:
        report = verify_workspace(ws)
    finally:
        ws.close()
    return [f"{p.where} {p.ref}: {p.message}" for p in report.problems]


def _lines(home: Path) -> list[str]:
    return (home / "ledger.jsonl").read_text(encoding="utf-8").splitlines()


def _write_lines(home: Path, lines: list[str]) -> None:
    (home / "ledger.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_clean_workspace_verifies_and_cli_exit_codes(cli, media_dir, home):
    objects = _scanned(cli, media_dir)
    assert _problems(home) == []
    result = cli("verify", "--json")
    report = json.loads(result.stdout)
    assert report["ok"] and report["objects_checked"] == len({o["sha256"] for o in objects})
    # verify itself is a custody event (appended after the check)
    assert json.loads(_lines(home)[-1])["action"] == "verify"


def test_independent_verifier_accepts_our_ledger(cli, media_dir, home):
    _scanned(cli, media_dir)
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "independent_verifier.py"),
            str(home / "ledger.jsonl"),
            str(home / "keys" / "instance_ed25519.pub.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith(f"OK {len(_lines(home))} entries")
    assert verify_jsonl_only(home / "ledger.jsonl", home / "keys").ok


def test_flipped_byte_and_deleted_object_are_named(cli, media_dir, home):
    objects = _scanned(cli, media_dir)
    victim, gone = objects[0]["sha256"], objects[1]["sha256"]
    ws = Workspace.open(home)
    path = ws.vault.path_for(victim)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    ws.vault.path_for(gone).unlink()
    ws.close()
    problems = _problems(home)
    assert any(victim in p and "hashes to" in p for p in problems), problems
    assert any(gone in p and "missing" in p for p in problems), problems
    assert cli("verify", ok=False).exit_code == 3  # integrity failure


def test_edited_jsonl_entry_is_detected(cli, media_dir, home):
    _scanned(cli, media_dir)
    lines = _lines(home)
    record = json.loads(lines[2])
    record["actor"] = "someone-else"
    lines[2] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    _write_lines(home, lines)
    problems = _problems(home)
    assert any("ledger-jsonl line 3" in p and "does not match its hash" in p for p in problems), problems
    assert any("differ" in p for p in problems)


def test_edited_database_entry_is_detected(cli, media_dir, home, workspace):
    _scanned(cli, media_dir)
    with workspace.sessions() as session:
        row = session.execute(select(LedgerEntry).where(LedgerEntry.seq == 1)).scalar_one()
        record = json.loads(row.line)
        record["details"]["size"] = 1
        session.execute(update(LedgerEntry).where(LedgerEntry.seq == 1).values(line=json.dumps(record)))
        session.commit()
    problems = _problems(home)
    assert any("ledger-db seq 1" in p for p in problems), problems


def test_reordered_entries_are_detected(cli, media_dir, home):
    _scanned(cli, media_dir)
    lines = _lines(home)
    lines[1], lines[2] = lines[2], lines[1]
    _write_lines(home, lines)
    problems = _problems(home)
    assert any("ledger-jsonl line 2" in p and ("sequence" in p or "link" in p) for p in problems), problems


def test_removed_entry_from_both_copies_is_detected(cli, media_dir, home, workspace):
    _scanned(cli, media_dir)
    lines = _lines(home)
    del lines[3]
    _write_lines(home, lines)
    with workspace.sessions() as session:
        session.execute(delete(LedgerEntry).where(LedgerEntry.seq == 3))
        session.commit()
    problems = _problems(home)
    assert any("ledger-db seq 4" in p and "sequence" in p for p in problems), problems
    assert any("ledger-jsonl line 4" in p for p in problems), problems


def test_forged_signature_is_detected_even_with_a_consistent_chain(cli, media_dir, home, workspace):
    """An attacker edits an entry and re-signs it and every later one with their own key, claiming ours."""
    _scanned(cli, media_dir)
    forger = Ed25519PrivateKey.generate()
    lines = _lines(home)
    records = [json.loads(line) for line in lines]
    records[1]["details"]["note"] = "altered"
    prev = records[0]["hash"]
    for record in records[1:]:
        record["prev"] = prev
        body = {k: record[k] for k in ("v", "seq", "ts", "actor", "action", "item", "details", "prev", "key_id")}
        raw = canonical_bytes(body)
        record["hash"] = hashlib.sha256(raw).hexdigest()
        record["sig"] = base64.b64encode(forger.sign(raw)).decode()
        prev = record["hash"]
    forged = [canonical_bytes(r).decode() for r in records]
    _write_lines(home, forged)
    with workspace.sessions() as session:
        for record, line in zip(records[1:], forged[1:], strict=True):
            session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.seq == record["seq"])
                .values(line=line, entry_hash=record["hash"], prev_hash=record["prev"], signature=record["sig"])
            )
        session.commit()
    problems = _problems(home)
    assert any("ledger-db seq 1" in p and "signature invalid" in p for p in problems), problems
    assert any("ledger-jsonl line 2" in p and "signature invalid" in p for p in problems), problems


def test_mirror_behind_or_torn_is_repaired_by_the_next_write(cli, media_dir, home):
    _scanned(cli, media_dir)
    lines = _lines(home)
    # Simulate a crash after the database commit: the mirror lost its last two lines and has a torn half-line.
    (home / "ledger.jsonl").write_text("".join(x + "\n" for x in lines[:-2]) + lines[-2][:30], encoding="utf-8")
    ws = Workspace.open(home)
    report = verify_workspace(ws)
    assert report.ok and any("behind" in w.message for w in report.warnings)
    with ws.write() as (_session, ledger):
        ledger.append("note", details={"text": "after crash"})
    ws.close()
    repaired = _lines(home)
    assert repaired[: len(lines)] == lines
    assert json.loads(repaired[-1])["details"]["text"] == "after crash"
    assert _problems(home) == []


def test_database_rows_edited_directly_are_detected(cli, tmp_path, home, workspace):
    """Rows that reports and `scan --json` show must match their signed events (found by the review)."""
    from idolguard.db.models import Item, Sighting, StageResult
    from tests.conftest import jpeg_bytes

    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    obj = cli.json_lines(
        "scan", tmp_path / "a.jpg", "--json", "--source-url", "https://x.example/real/1", "--account", "real"
    )[0]
    assert _problems(home) == []
    with workspace.sessions() as session:
        session.execute(update(Sighting).values(source_url="https://x.example/framed/9", account="framed"))
        session.execute(update(Item).values(width=9999))
        session.commit()
    problems = _problems(home)
    assert any("sighting" in p and "differs" in p for p in problems), problems
    assert any(obj["sha256"] in p and "dimensions" in p for p in problems), problems
    with workspace.sessions() as session:
        row = session.execute(select(StageResult).where(StageResult.stage == "probe")).scalar_one()
        row.output = {**row.output, "width": 9999}
        session.commit()
    problems = _problems(home)
    assert any("probe@" in p and "signed output hash" in p for p in problems), problems


def test_duplicate_keys_in_a_mirror_line_are_detected(cli, media_dir, home):
    _scanned(cli, media_dir)
    lines = _lines(home)
    # Same parsed content for Python (last key wins) but a first-wins parser would read "framed".
    lines[1] = lines[1].replace('"action":', '"action":"framed","action":', 1)
    _write_lines(home, lines)
    problems = _problems(home)
    assert any("ledger-jsonl line 2" in p and "canonical" in p for p in problems), problems


def test_content_that_starts_like_an_encrypted_object_verifies(cli, tmp_path, home):
    note = tmp_path / "note.bin"
    note.write_bytes(b"IGV1 plain note")
    sha = cli.json_lines("ingest", note, "--json")[0]["sha256"]
    assert _problems(home) == []
    out = tmp_path / "out.bin"
    cli("export", sha, "--out", out, "--reason", "check")
    assert out.read_bytes() == b"IGV1 plain note"


def test_database_rolled_back_after_mirror_write_is_restored_not_forked(cli, media_dir, home, workspace):
    """A power cut can undo the database's last commit after the mirror line was fsynced."""
    _scanned(cli, media_dir)
    lines = _lines(home)
    with workspace.sessions() as session:
        session.execute(delete(LedgerEntry).where(LedgerEntry.seq >= len(lines) - 2))
        session.commit()
    with workspace.write() as (_session, ledger):
        ledger.append("note", details={"text": "after power cut"})
    after = _lines(home)
    assert after[: len(lines)] == lines and len(after) == len(lines) + 1
    assert json.loads(after[-1])["seq"] == len(lines)
    assert _problems(home) == []


def test_verify_expect_head(cli, media_dir, home):
    _scanned(cli, media_dir)
    head = json.loads(_lines(home)[-1])
    assert cli("verify", "--expect-head", f"{head['seq']}:{head['hash']}").exit_code == 0
    wrong = cli("verify", "--expect-head", f"{head['seq']}:{'0' * 64}", ok=False)
    assert wrong.exit_code == 3 and "expected head" in wrong.output
    missing = cli("verify", "--expect-head", f"{head['seq'] + 500}:{head['hash']}", ok=False)
    assert missing.exit_code == 3
