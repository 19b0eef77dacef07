"""The tamper suite: one test per attack an adversary with write access to a workspace can try.

Every attack runs on a private copy of one realistic workspace (see conftest.py) and must be reported by
``verify`` with a finding that names what was changed, or be listed in ``UNDETECTABLE`` with the reason (the
same reasons docs/EVIDENCE.md gives counsel). A clean copy must verify, so no test passes by accident.
Issue #10 named 46 attacks (26 already caught, 20 missed); each has a test here, plus the attacks the new
checks (key pinning, anchors) invite.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from idolguard.evidence.canonical import canonical_bytes
from idolguard.evidence.keys import key_id
from idolguard.evidence.verify import VerifyReport, verify_workspace
from idolguard.workspace import Workspace

BODY = ("v", "seq", "ts", "actor", "action", "item", "details", "prev", "key_id")


# -- helpers ---------------------------------------------------------------------------------------------------
def verify(home: Path, **kwargs: Any) -> VerifyReport:
    ws = Workspace.open(home, read_only=True)
    try:
        return verify_workspace(ws, **kwargs)
    finally:
        ws.close()


def findings(home: Path, **kwargs: Any) -> list[str]:
    return [f"{p.where} {p.ref}: {p.message}" for p in verify(home, **kwargs).problems]


def assert_found(home: Path, *needles: str, **kwargs: Any) -> list[str]:
    found = findings(home, **kwargs)
    for needle in needles:
        assert any(needle in line for line in found), f"{needle!r} not reported; findings: {found}"
    return found


def sql(home: Path, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "idolguard.db") as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
    return rows


def one(home: Path, statement: str, params: tuple[Any, ...] = ()) -> Any:
    return sql(home, statement, params)[0][0]


def lines(home: Path) -> list[str]:
    return (home / "ledger.jsonl").read_text(encoding="utf-8").splitlines()


def write_lines(home: Path, new: list[str]) -> None:
    (home / "ledger.jsonl").write_text("".join(line + "\n" for line in new), encoding="utf-8")


def item_with_face(home: Path) -> str:
    return one(home, "SELECT parent_sha256 FROM derived_objects WHERE kind = 'face_crop' LIMIT 1")


def vault_path(home: Path, sha: str) -> Path:
    return home / "vault" / "objects" / sha[:2] / sha[2:4] / sha


def sign(key: Ed25519PrivateKey, body: dict[str, Any]) -> str:
    raw = canonical_bytes(body)
    record = {**body, "hash": hashlib.sha256(raw).hexdigest(), "sig": base64.b64encode(key.sign(raw)).decode()}
    return canonical_bytes(record).decode("utf-8")


def resign_from(home: Path, start: int, key: Ed25519PrivateKey, edit: Any = None) -> None:
    """Rewrite entries ``start``.. (both copies) signed with ``key``, after applying ``edit`` to each body:
    a consistent chain, as someone holding that key would produce."""
    records = [json.loads(line) for line in lines(home)]
    prev = records[start - 1]["hash"] if start else "0" * 64
    kid = key_id(key.public_key())
    out = [json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for r in records[:start]]
    for record in records[start:]:
        body = {name: record[name] for name in BODY}
        body["prev"], body["key_id"] = prev, kid
        if edit:
            edit(body)
        line = sign(key, body)
        prev = json.loads(line)["hash"]
        out.append(line)
    write_lines(home, out)
    with sqlite3.connect(home / "idolguard.db") as conn:
        conn.execute("DELETE FROM ledger_entries WHERE seq >= ?", (start,))
        for line in out[start:]:
            r = json.loads(line)
            conn.execute(
                "INSERT INTO ledger_entries (seq, entry_hash, prev_hash, ts, actor, action, item_sha256, details,"
                " key_id, signature, line) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    r["seq"],
                    r["hash"],
                    r["prev"],
                    r["ts"],
                    r["actor"],
                    r["action"],
                    r["item"],
                    json.dumps(r["details"]),
                    r["key_id"],
                    r["sig"],
                    line,
                ),
            )


def own_key(home: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key((home / "keys" / "instance_ed25519.pem").read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def truncate_to(home: Path, keep: int) -> None:
    write_lines(home, lines(home)[:keep])
    sql(home, "DELETE FROM ledger_entries WHERE seq >= ?", (keep,))


# -- the baseline ----------------------------------------------------------------------------------------------
def test_the_untouched_copy_verifies_and_is_anchored(copy_of: Path) -> None:
    report = verify(copy_of)
    assert report.ok, [p.as_dict() for p in report.problems]
    assert report.last_anchor is not None and report.unanchored_entries is not None
    assert [r.key_id for r in report.key_ranges] == [key_id(own_key(copy_of).public_key())]
    assert one(copy_of, "SELECT count(*) FROM derived_objects") >= 2
    assert one(copy_of, "SELECT count(*) FROM sightings") >= 6


# -- ledger: the chain itself (caught before this suite; kept) -------------------------------------------------
def test_edited_mirror_line(copy_of: Path) -> None:
    records = lines(copy_of)
    records[3] = records[3].replace('"analyst@agency"', '"someone@else"', 1)
    write_lines(copy_of, records)
    assert_found(copy_of, "ledger-jsonl line 4: content does not match its hash")


def test_edited_database_line(copy_of: Path) -> None:
    line = one(copy_of, "SELECT line FROM ledger_entries WHERE seq = 2")
    sql(copy_of, "UPDATE ledger_entries SET line = ? WHERE seq = 2", (line.replace("analyst", "intruder", 1),))
    assert_found(copy_of, "ledger-db seq 2: content does not match its hash")


def test_reordered_mirror_lines(copy_of: Path) -> None:
    records = lines(copy_of)
    records[2], records[3] = records[3], records[2]
    write_lines(copy_of, records)
    assert_found(copy_of, "removed or reordered entry")


def test_entry_removed_from_both_copies(copy_of: Path) -> None:
    records = lines(copy_of)
    del records[4]
    write_lines(copy_of, records)
    sql(copy_of, "DELETE FROM ledger_entries WHERE seq = 4")
    assert_found(copy_of, "removed or reordered entry")


def test_forged_entry_without_the_key(copy_of: Path) -> None:
    """A stranger's key cannot sign an entry that verifies, even with a consistent hash chain."""
    records = lines(copy_of)
    last = json.loads(records[-1])
    body = {**{n: last[n] for n in BODY}, "seq": last["seq"] + 1, "prev": last["hash"], "action": "evidence.export"}
    stranger = Ed25519PrivateKey.generate()
    write_lines(copy_of, [*records, sign(stranger, body)])  # claims our key id; the signature cannot match
    assert_found(copy_of, "signature invalid (forged or altered)")


def test_duplicate_member_in_a_mirror_line(copy_of: Path) -> None:
    records = lines(copy_of)
    records[1] = records[1].replace('"action":', '"action":"framed","action":', 1)
    write_lines(copy_of, records)
    assert_found(copy_of, "not in canonical form")


def test_extra_line_appended_to_the_mirror(copy_of: Path) -> None:
    records = lines(copy_of)
    write_lines(copy_of, [*records, records[-1]])
    assert_found(copy_of, "mirror has 1 entries the database lacks")


def test_ledger_row_action_column_edited(copy_of: Path) -> None:
    sql(copy_of, "UPDATE ledger_entries SET action = 'evidence.verify' WHERE seq = 1")
    assert_found(copy_of, "ledger-db seq 1: row columns differ from signed line")


def test_ledger_row_details_column_edited(copy_of: Path) -> None:
    sql(copy_of, 'UPDATE ledger_entries SET details = \'{"note": "forged"}\' WHERE seq = 2')
    assert_found(copy_of, "ledger-db seq 2: row columns differ from signed line")


def test_ledger_row_actor_and_time_columns_edited(copy_of: Path) -> None:
    sql(copy_of, "UPDATE ledger_entries SET actor = 'nobody', ts = '2020-01-01T00:00:00.000000Z' WHERE seq = 3")
    assert_found(copy_of, "ledger-db seq 3: row columns differ from signed line")


def test_ledger_row_line_is_not_json(copy_of: Path) -> None:
    sql(copy_of, "UPDATE ledger_entries SET line = 'garbage{' WHERE seq = 5")
    assert_found(copy_of, "ledger-db seq 5: stored line is not JSON")


def test_mirror_lines_cut_only_from_the_mirror_are_restored_not_lost(copy_of: Path) -> None:
    """Not tampering with evidence: the database still holds every signed entry; verify says the mirror is
    behind and the next write copies the signed lines back (the crash-repair path)."""
    write_lines(copy_of, lines(copy_of)[:-2])
    report = verify(copy_of)
    assert report.ok and any("mirror is 2 signed entries behind" in w.message for w in report.warnings)


def test_expect_head_that_is_no_longer_there(copy_of: Path) -> None:
    head = json.loads(lines(copy_of)[-1])
    truncate_to(copy_of, head["seq"])
    assert_found(copy_of, "is not in the ledger", expect_head=(head["seq"], head["hash"]))


# -- ledger: keys and truncation (missed before) ---------------------------------------------------------------
def test_history_resigned_with_a_key_dropped_into_keys(copy_of: Path) -> None:
    """Before: verify trusted every keys/*.pub.pem, so a new key could re-sign everything from entry 1."""
    intruder = Ed25519PrivateKey.generate()
    (copy_of / "keys" / "extra.pub.pem").write_bytes(
        intruder.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    resign_from(copy_of, 1, intruder)
    assert_found(copy_of, "with no rotation entry signed by it")


def test_new_key_appearing_mid_chain_is_reported_with_its_range(copy_of: Path) -> None:
    intruder = Ed25519PrivateKey.generate()
    (copy_of / "keys" / "extra.pub.pem").write_bytes(
        intruder.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    total = len(lines(copy_of))
    resign_from(copy_of, total - 2, intruder)
    report = verify(copy_of)
    assert not report.ok
    assert [(r.first_seq, r.last_seq) for r in report.key_ranges] == [(0, total - 3), (total - 2, total - 1)]


def test_whole_chain_resigned_with_a_new_genesis_key_is_caught_by_the_anchors(copy_of: Path) -> None:
    """Re-signing everything, genesis included, with a new key and swapping the public key file gives a
    consistent chain; the RFC 3161 anchors of earlier heads no longer match it."""
    intruder = Ed25519PrivateKey.generate()
    raw = intruder.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def new_genesis(body: dict[str, Any]) -> None:
        if body["seq"] == 0:
            body["details"] = {**body["details"], "key_id": key_id(intruder.public_key()), "public_key": raw.hex()}

    resign_from(copy_of, 0, intruder, new_genesis)
    (copy_of / "keys" / "instance_ed25519.pub.pem").write_bytes(
        intruder.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert_found(copy_of, "now has a different entry there (history re-signed or replaced)")


def test_history_resigned_with_the_instance_key_back_to_an_anchor(copy_of: Path) -> None:
    """Whoever holds the private key can rewrite history consistently; anchors show it back to the last one."""

    def reword(body: dict[str, Any]) -> None:
        if body["action"] == "intake.sighting":
            body["details"] = {**body["details"], "note": "rewritten"}

    resign_from(copy_of, 2, own_key(copy_of), reword)
    assert_found(copy_of, "history re-signed or replaced")


def test_newest_entries_cut_from_both_copies_are_caught_by_the_anchors(copy_of: Path) -> None:
    """Before: a clean cut of the newest events verified unless --expect-head was kept outside."""
    anchored = max(int(p.name.split("-")[0]) for p in (copy_of / "anchors").glob("*.head"))
    truncate_to(copy_of, anchored)  # the anchored entry itself and everything after it
    assert_found(copy_of, "no longer has that entry (newest entries removed)")


def test_deleted_anchor_token_is_noticed_through_the_next_anchor_entry(copy_of: Path) -> None:
    heads = sorted((copy_of / "anchors").glob("*.head"))
    assert len(heads) >= 2, "the template anchors after every command"
    first = heads[0].name[: -len(".head")]
    for path in (copy_of / "anchors").glob(f"{first}.*"):
        path.unlink()
    assert_found(copy_of, "recorded by a later ledger.anchor entry are missing")


def test_altered_anchor_token(copy_of: Path) -> None:
    token = sorted((copy_of / "anchors").glob("*.tst"))[-1]
    data = bytearray(token.read_bytes())
    data[-10] ^= 0xFF
    token.write_bytes(bytes(data))
    assert_found(copy_of, "timestamp token is damaged or not signed")


def test_anchor_head_file_edited_to_match_a_truncated_chain(copy_of: Path) -> None:
    head = sorted((copy_of / "anchors").glob("*.head"))[-1]
    head.write_bytes(head.read_bytes().replace(b"seq=", b"seq=1", 1))
    assert_found(copy_of, "anchor")


# -- vault objects ---------------------------------------------------------------------------------------------
def test_flipped_byte_in_an_item(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items WHERE mime = 'image/jpeg' LIMIT 1")
    path = vault_path(copy_of, sha)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert_found(copy_of, f"vault {sha}")


def test_item_file_deleted_from_the_vault(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items WHERE mime = 'image/png' LIMIT 1")
    vault_path(copy_of, sha).unlink()
    assert_found(copy_of, f"vault {sha}: item missing from the vault")


def test_item_file_replaced_by_another_objects_bytes(copy_of: Path) -> None:
    a, b = [r[0] for r in sql(copy_of, "SELECT sha256 FROM items ORDER BY sha256 LIMIT 2")]
    shutil.copyfile(vault_path(copy_of, b), vault_path(copy_of, a))
    assert_found(copy_of, f"vault {a}")


def test_foreign_file_in_the_vault(copy_of: Path) -> None:
    (copy_of / "vault" / "objects" / "ab" / "cd").mkdir(parents=True, exist_ok=True)
    (copy_of / "vault" / "objects" / "ab" / "cd" / "payload.exe").write_bytes(b"MZ")
    assert_found(copy_of, "foreign file in the vault")


def test_derived_file_deleted_from_the_vault(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM derived_objects WHERE kind = 'face_crop' LIMIT 1")
    vault_path(copy_of, sha).unlink()
    assert_found(copy_of, f"vault {sha}: derived object missing from the vault")


def test_gallery_reference_photo_deleted_from_the_vault(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT photo_sha256 FROM gallery_references LIMIT 1")
    vault_path(copy_of, sha).unlink()
    assert_found(copy_of, f"vault {sha}: gallery reference missing from the vault")


def test_gallery_objects_are_referenced_not_orphans(copy_of: Path) -> None:
    """Before: verify warned 'object not referenced' for every reference photo and face crop."""
    report = verify(copy_of)
    assert report.ok and not [w for w in report.warnings if "not referenced" in w.message]


# -- items -----------------------------------------------------------------------------------------------------
def test_item_size_edited(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items LIMIT 1")
    sql(copy_of, "UPDATE items SET size = size + 1 WHERE sha256 = ?", (sha,))
    assert_found(copy_of, f"db {sha}: item differs from its signed ingest event: size/MD5")


def test_item_md5_edited(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items LIMIT 1")
    sql(copy_of, "UPDATE items SET md5 = ? WHERE sha256 = ?", ("0" * 32, sha))
    assert_found(copy_of, "size/MD5")


def test_item_dimensions_edited(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items WHERE width IS NOT NULL LIMIT 1")
    sql(copy_of, "UPDATE items SET width = 9999 WHERE sha256 = ?", (sha,))
    assert_found(copy_of, f"db {sha}: item type/dimensions/metadata differ from its signed probe output")


def test_item_mime_edited(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items WHERE mime = 'image/png' LIMIT 1")
    sql(copy_of, "UPDATE items SET mime = 'image/gif' WHERE sha256 = ?", (sha,))
    assert_found(copy_of, "type/dimensions/metadata differ")


def test_item_embedded_metadata_edited(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items WHERE mime = 'image/jpeg' LIMIT 1")
    sql(copy_of, 'UPDATE items SET media_meta = \'{"exif": {"Make": "Forged"}}\' WHERE sha256 = ?', (sha,))
    assert_found(copy_of, "type/dimensions/metadata differ")


def test_item_original_name_edited(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items WHERE original_name = 'a.jpg'")
    sql(copy_of, "UPDATE items SET original_name = 'innocent.jpg' WHERE sha256 = ?", (sha,))
    assert_found(copy_of, "original name")


def test_item_first_seen_time_edited(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items LIMIT 1")
    sql(copy_of, "UPDATE items SET first_seen_at = '2019-01-01 00:00:00.000000' WHERE sha256 = ?", (sha,))
    assert_found(copy_of, "first-seen time")


def test_item_encryption_flag_edited(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items LIMIT 1")
    sql(copy_of, "UPDATE items SET encrypted = 1 WHERE sha256 = ?", (sha,))
    assert_found(copy_of, "encrypted flag")


def test_item_hash_set_to_non_hex_is_reported_not_a_crash(copy_of: Path) -> None:
    """Before: verify crashed with a traceback."""
    sha = one(copy_of, "SELECT sha256 FROM items WHERE mime = 'image/png' LIMIT 1")
    sql(copy_of, "UPDATE items SET sha256 = 'not-a-digest!' WHERE sha256 = ?", (sha,))
    found = assert_found(copy_of, "item hash is not a SHA-256 hex digest", "the item row is gone")
    assert not any("could not finish" in line for line in found)


def test_item_rows_and_files_deleted_while_the_ledger_records_the_ingest(copy_of: Path) -> None:
    """Before: deleting everything about an item (rows and vault files) verified clean."""
    sha = item_with_face(copy_of)
    derived = [r[0] for r in sql(copy_of, "SELECT sha256 FROM derived_objects WHERE parent_sha256 = ?", (sha,))]
    for table, column in (
        ("derived_objects", "parent_sha256"),
        ("stage_results", "item_sha256"),
        ("sightings", "item_sha256"),
        ("items", "sha256"),
    ):
        sql(copy_of, f"DELETE FROM {table} WHERE {column} = ?", (sha,))  # noqa: S608 - fixed names
    for obj in [sha, *derived]:
        vault_path(copy_of, obj).unlink(missing_ok=True)
    assert_found(
        copy_of,
        f"cross {sha}: ledger entry",
        "records this item's ingest but the item row is gone",
        "records this sighting but its row is gone",
        "records this analysis but its stage result is gone",
        "records this derived file but its row is gone",
        f"vault {sha}",
    )


def test_fake_item_without_ingest_event(copy_of: Path) -> None:
    sql(
        copy_of,
        "INSERT INTO items (sha256, md5, size, media_type, encrypted, first_seen_at, media_meta) "
        "VALUES (?, ?, 1, 'other', 0, '2026-01-01 00:00:00', '{}')",
        ("f" * 64, "0" * 32),
    )
    assert_found(copy_of, f"cross {'f' * 64}: item has no ingest event")


# -- sightings -------------------------------------------------------------------------------------------------
def _sighting_id(home: Path) -> int:
    return one(home, "SELECT id FROM sightings WHERE source_url IS NOT NULL ORDER BY id LIMIT 1")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("source_url", "https://x.example/framed/9"),
        ("account", "framed"),
        ("platform", "other"),
        ("note", "planted"),
        ("seen_at", "2020-01-01 00:00:00.000000"),
        ("source_path", "/somewhere/else.jpg"),
        ("archive_member", "inner/other.jpg"),
    ],
)
def test_sighting_context_edited(copy_of: Path, column: str, value: str) -> None:
    sid = _sighting_id(copy_of)
    sql(copy_of, f"UPDATE sightings SET {column} = ? WHERE id = ?", (value, sid))  # noqa: S608 - fixed names
    assert_found(copy_of, f"db sighting {sid}: sighting differs from what its custody event recorded")


def test_sighting_actor_edited(copy_of: Path) -> None:
    sid = _sighting_id(copy_of)
    sql(copy_of, "UPDATE sightings SET actor = 'someone@else' WHERE id = ?", (sid,))
    assert_found(copy_of, f"db sighting {sid}: sighting differs", "actor")


def test_sighting_recorded_time_edited(copy_of: Path) -> None:
    sid = _sighting_id(copy_of)
    sql(copy_of, "UPDATE sightings SET recorded_at = datetime(recorded_at, '+1 second') WHERE id = ?", (sid,))
    assert_found(copy_of, f"db sighting {sid}: sighting differs", "recorded time")


def test_sighting_file_mtime_edited(copy_of: Path) -> None:
    sid = _sighting_id(copy_of)
    sql(copy_of, "UPDATE sightings SET file_mtime = '2001-09-09 01:46:40.000000' WHERE id = ?", (sid,))
    assert_found(copy_of, f"db sighting {sid}: sighting differs", "file modification time")


def test_one_sighting_row_deleted(copy_of: Path) -> None:
    sid = _sighting_id(copy_of)
    sql(copy_of, "DELETE FROM sightings WHERE id = ?", (sid,))
    assert_found(copy_of, f"cross sighting {sid}: ledger entry", "records this sighting but its row is gone")


def test_sighting_inserted_without_custody_event(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items LIMIT 1")
    sql(
        copy_of,
        "INSERT INTO sightings (item_sha256, recorded_at, actor, platform, extra) "
        "VALUES (?, '2026-01-01 00:00:00', 'x', 'planted', '{}')",
        (sha,),
    )
    assert_found(copy_of, "sighting has no custody event")


def test_sighting_time_that_is_not_a_date_is_reported_not_a_crash(copy_of: Path) -> None:
    sid = _sighting_id(copy_of)
    sql(copy_of, "UPDATE sightings SET recorded_at = 'yesterday-ish' WHERE id = ?", (sid,))
    found = assert_found(copy_of, f"sightings {sid}: row is corrupt")
    assert not any("could not finish" in line for line in found)


# -- stage results ---------------------------------------------------------------------------------------------
def test_stage_output_edited(copy_of: Path) -> None:
    row_id = one(copy_of, "SELECT id FROM stage_results WHERE stage = 'probe' AND status = 'ok' LIMIT 1")
    output = json.loads(one(copy_of, "SELECT output FROM stage_results WHERE id = ?", (row_id,)))
    output["width"] = 1
    sql(copy_of, "UPDATE stage_results SET output = ? WHERE id = ?", (json.dumps(output), row_id))
    assert_found(copy_of, "differs from its signed output hash")


def test_stage_status_edited(copy_of: Path) -> None:
    sql(copy_of, "UPDATE stage_results SET status = 'error' WHERE id = (SELECT min(id) FROM stage_results)")
    assert_found(copy_of, "differs from its signed output hash")


def test_stage_error_text_edited(copy_of: Path) -> None:
    sql(copy_of, "UPDATE stage_results SET error = 'made up' WHERE id = (SELECT min(id) FROM stage_results)")
    assert_found(copy_of, "stage error text differs from its analysis event")


def test_manipulation_verdict_deleted(copy_of: Path) -> None:
    """Before: the verdict silently vanished from reports."""
    sha = item_with_face(copy_of)
    sql(copy_of, "DELETE FROM stage_results WHERE stage = 'manipulation' AND item_sha256 = ?", (sha,))
    assert_found(copy_of, "manipulation@", "records this analysis but its stage result is gone")


def test_stage_result_inserted_without_analysis_event(copy_of: Path) -> None:
    sha = one(copy_of, "SELECT sha256 FROM items LIMIT 1")
    sql(
        copy_of,
        "INSERT INTO stage_results (item_sha256, stage, version, status, output, created_at) "
        "VALUES (?, 'manipulation', '0-planted', 'ok', '{\"verdict\": \"likely_manipulated\"}', '2026-01-01')",
        (sha,),
    )
    assert_found(copy_of, "stage result has no analysis event")


def test_stage_output_that_is_not_json_is_reported_not_a_crash(copy_of: Path) -> None:
    row_id = one(copy_of, "SELECT id FROM stage_results WHERE stage = 'probe' LIMIT 1")
    sql(copy_of, "UPDATE stage_results SET output = '{broken' WHERE id = ?", (row_id,))
    found = assert_found(copy_of, f"stage_results {row_id}: row is corrupt")
    assert not any("could not finish" in line for line in found)


# -- derived objects -------------------------------------------------------------------------------------------
def test_derived_object_kind_edited(copy_of: Path) -> None:
    sql(copy_of, "UPDATE derived_objects SET kind = 'thumbnail' WHERE kind = 'face_crop'")
    assert_found(copy_of, "derived object's kind differs from its analysis event")


def test_derived_object_parent_edited(copy_of: Path) -> None:
    other = one(copy_of, "SELECT sha256 FROM items WHERE mime = 'image/png' LIMIT 1")
    sql(copy_of, "UPDATE derived_objects SET parent_sha256 = ? WHERE kind = 'face_crop'", (other,))
    assert_found(copy_of, "derived object is not named by any analysis event", "its row is gone")


def test_derived_object_row_deleted(copy_of: Path) -> None:
    sql(copy_of, "DELETE FROM derived_objects WHERE kind = 'heatmap'")
    assert_found(copy_of, "an analysis event records this derived file but its row is gone")


def test_derived_object_inserted_without_event(copy_of: Path) -> None:
    crop, owner = sql(copy_of, "SELECT sha256, parent_sha256 FROM derived_objects LIMIT 1")[0]
    parent = one(copy_of, "SELECT sha256 FROM items WHERE sha256 != ? LIMIT 1", (owner,))
    sql(
        copy_of,
        "INSERT INTO derived_objects (sha256, parent_sha256, kind, stage, stage_version, meta, created_at) "
        "VALUES (?, ?, 'face_crop', 'faces', '3', '{}', '2026-01-01')",
        (crop, parent),
    )
    assert_found(copy_of, "derived object is not named by any analysis event")


# -- what verify cannot see by itself (each stated in docs/EVIDENCE.md) ----------------------------------------
def test_cut_after_the_last_anchor_needs_expect_head_and_verify_says_so(copy_of: Path) -> None:
    """Undetectable from the workspace alone: entries after the last anchor removed. verify states how many
    entries that window holds, and --expect-head (a head kept outside) catches the cut."""
    ws = Workspace.open(copy_of)
    with ws.write() as (_session, ledger):  # an entry after the last anchor (no command end to anchor it)
        ledger.append("evidence.export", details={"kind": "original", "path": "/tmp/x", "reason": "test"})
    ws.close()
    head = json.loads(lines(copy_of)[-1])
    report = verify(copy_of)
    assert report.unanchored_entries == 1
    anchored = report.last_anchor["seq"] if report.last_anchor else -1
    truncate_to(copy_of, max(anchored + 1, head["seq"]))
    assert verify(copy_of).ok
    assert_found(copy_of, "is not in the ledger", expect_head=(head["seq"], head["hash"]))


def test_everything_rewritten_and_every_anchor_deleted_is_stated_as_unanchored(copy_of: Path) -> None:
    """Undetectable from the workspace alone: a full rewrite with a new key plus deletion of all anchors is
    self-consistent. verify then states that nothing is anchored and names the key in force, so a key id or
    head kept outside (reports print both) exposes it."""
    original = key_id(own_key(copy_of).public_key())
    intruder = Ed25519PrivateKey.generate()
    raw = intruder.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def new_genesis(body: dict[str, Any]) -> None:
        if body["seq"] == 0:
            body["details"] = {**body["details"], "key_id": key_id(intruder.public_key()), "public_key": raw.hex()}

    resign_from(copy_of, 0, intruder, new_genesis)
    (copy_of / "keys" / "instance_ed25519.pub.pem").write_bytes(
        intruder.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    shutil.rmtree(copy_of / "anchors")
    report = verify(copy_of)
    assert report.last_anchor is None and report.unanchored_entries == report.head_seq + 1
    assert [r.key_id for r in report.key_ranges] != [original]


UNDETECTABLE = {
    "entries after the last anchor cut from both copies": "test_cut_after_the_last_anchor_needs_expect_head_...",
    "full rewrite with a new key and all anchors deleted": "test_everything_rewritten_and_every_anchor_deleted_...",
    "unsigned columns (stage_results.duration_ms/created_at, derived_objects.meta/mime/created_at)": "not shown",
}
