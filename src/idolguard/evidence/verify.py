"""Independent re-checking of everything stored: vault objects, the ledger in the database and its mirror.

The checks assume nothing the database says is true: each vault object is re-hashed, every ledger entry's
hash, chain link, sequence number and signature is recomputed, the JSONL mirror is walked on its own, and the
two copies are compared line by line. Cross-checks tie the stores together: every item and derived object
must have its vault object and an ingest/analysis event, and every vault object must be known.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from idolguard.db.models import DerivedObject, Item, LedgerEntry
from idolguard.evidence.canonical import canonical_bytes
from idolguard.evidence.keys import load_public_keys
from idolguard.evidence.ledger import GENESIS, iter_jsonl

BODY_FIELDS = ("v", "seq", "ts", "actor", "action", "item", "details", "prev", "key_id")


@dataclass
class Problem:
    where: str  # "vault", "ledger-db", "ledger-jsonl", "cross"
    ref: str  # object hash or ledger seq/line
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "ref": self.ref, "message": self.message}


@dataclass
class VerifyReport:
    objects_checked: int = 0
    entries_checked: int = 0
    mirror_lines_checked: int = 0
    head_seq: int | None = None
    head_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "objects_checked": self.objects_checked,
            "ledger_entries_checked": self.entries_checked,
            "mirror_lines_checked": self.mirror_lines_checked,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "problems": [p.as_dict() for p in self.problems],
            "warnings": [p.as_dict() for p in self.warnings],
        }


def check_entry(
    record: dict[str, Any], expected_seq: int, expected_prev: str, keys: dict[str, Ed25519PublicKey]
) -> tuple[str | None, str | None]:
    """Check one parsed ledger record; returns (problem or None, the record's hash as claimed)."""
    missing = [name for name in (*BODY_FIELDS, "hash", "sig") if name not in record]
    if missing:
        return f"missing fields {missing}", record.get("hash")
    body = {name: record[name] for name in BODY_FIELDS}
    try:
        raw = canonical_bytes(body)
    except TypeError as exc:
        return f"not canonical: {exc}", record.get("hash")
    digest = hashlib.sha256(raw).hexdigest()
    claimed = record["hash"]
    if digest != claimed:
        return f"content does not match its hash (edited?): computed {digest[:16]}…", claimed
    if record["seq"] != expected_seq:
        return (
            f"sequence {record['seq']} where {expected_seq} was expected (removed or reordered entry)",
            claimed,
        )
    if record["prev"] != expected_prev:
        return "link to previous entry broken (entry removed, inserted or reordered)", claimed
    key = keys.get(record["key_id"])
    if key is None:
        return f"signed by unknown key {record['key_id'][:16]}…", claimed
    try:
        key.verify(base64.b64decode(record["sig"], validate=True), raw)
    except (InvalidSignature, binascii.Error, ValueError):
        return "signature invalid (forged or altered)", claimed
    return None, claimed


def _walk(
    records: Iterable[tuple[str, dict[str, Any] | None, str | None]],
    keys: dict[str, Ed25519PublicKey],
    where: str,
    report: VerifyReport,
) -> list[str]:
    """Walk a chain; after a broken link, continue from the claimed hash so later damage is also named."""
    expected_seq, expected_prev = 0, GENESIS
    hashes: list[str] = []
    for ref, record, parse_error in records:
        if record is None:
            report.problems.append(Problem(where, ref, parse_error or "unreadable entry"))
            expected_seq += 1
            continue
        problem, claimed = check_entry(record, expected_seq, expected_prev, keys)
        if problem:
            report.problems.append(Problem(where, ref, problem))
        hashes.append(str(claimed))
        expected_seq = (record.get("seq") if isinstance(record.get("seq"), int) else expected_seq) + 1
        expected_prev = str(claimed)
    return hashes


def verify_workspace(ws: Any, *, objects: bool = True, progress: Callable[[int], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    keys = load_public_keys(ws.config.keys_dir)
    if not keys:
        report.problems.append(Problem("ledger-db", "keys", "no public key found in the workspace keys folder"))

    with ws.sessions() as session:
        entries = session.execute(select(LedgerEntry).order_by(LedgerEntry.seq)).scalars().all()
        items = session.execute(select(Item.sha256)).scalars().all()
        derived = session.execute(select(DerivedObject.sha256)).scalars().all()

    db_records = []
    db_lines: list[str] = []
    for entry in entries:
        try:
            record = json.loads(entry.line)
        except ValueError:
            db_records.append((f"seq {entry.seq}", None, "stored line is not JSON"))
            db_lines.append(entry.line)
            continue
        # The row's columns must say what the signed line says.
        if (record.get("seq"), record.get("hash"), record.get("action"), record.get("item")) != (
            entry.seq,
            entry.entry_hash,
            entry.action,
            entry.item_sha256,
        ):
            report.problems.append(Problem("ledger-db", f"seq {entry.seq}", "row columns differ from signed line"))
        db_records.append((f"seq {entry.seq}", record, None))
        db_lines.append(entry.line)
    _walk(db_records, keys, "ledger-db", report)
    report.entries_checked = len(entries)
    if entries:
        report.head_seq, report.head_hash = entries[-1].seq, entries[-1].entry_hash

    mirror_records = []
    mirror_lines: list[str] = []
    for number, raw in iter_jsonl(ws.config.ledger_path):
        text = raw.decode("utf-8", "replace")
        mirror_lines.append(text)
        try:
            mirror_records.append((f"line {number}", json.loads(text), None))
        except ValueError:
            mirror_records.append((f"line {number}", None, "line is not JSON"))
    _walk(mirror_records, keys, "ledger-jsonl", report)
    report.mirror_lines_checked = len(mirror_lines)

    for index, (db_line, mirror_line) in enumerate(zip(db_lines, mirror_lines, strict=False)):
        if db_line != mirror_line:
            report.problems.append(Problem("cross", f"seq {index}", "database entry and JSONL mirror line differ"))
    if len(mirror_lines) > len(db_lines):
        report.problems.append(
            Problem(
                "cross",
                "mirror",
                f"mirror has {len(mirror_lines) - len(db_lines)} entries the database lacks",
            )
        )
    elif len(mirror_lines) < len(db_lines):
        report.warnings.append(
            Problem(
                "cross",
                "mirror",
                f"mirror is {len(db_lines) - len(mirror_lines)} signed entries behind the database "
                "(interrupted write); the next write appends them",
            )
        )

    ingested = {e.item_sha256 for e in entries if e.action == "ingest" and e.item_sha256}
    for sha in items:
        if sha not in ingested:
            report.problems.append(Problem("cross", sha, "item has no ingest event in the ledger"))

    if objects:
        known = set(items) | set(derived)
        vault = ws.vault
        for sha in sorted(known):
            if not vault.has(sha):
                report.problems.append(Problem("vault", sha, "object missing from the vault (deleted?)"))
                continue
            problem = vault.check(sha)
            report.objects_checked += 1
            if progress:
                progress(1)
            if problem:
                report.problems.append(Problem("vault", sha, problem))
        for sha in vault.iter_objects():
            if sha not in known:
                if _looks_like_digest(sha):
                    report.warnings.append(
                        Problem("vault", sha, "object not referenced by the database (interrupted ingest?)")
                    )
                else:
                    report.problems.append(Problem("vault", sha, "foreign file in the vault objects folder"))
    return report


def _looks_like_digest(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def verify_jsonl_only(path: Path, keys_dir: Path) -> VerifyReport:
    """Walk a ledger mirror without any database (e.g. a copy handed to counsel with the public key)."""
    report = VerifyReport()
    keys = load_public_keys(keys_dir)
    records = []
    for number, raw in iter_jsonl(path):
        try:
            records.append((f"line {number}", json.loads(raw), None))
        except ValueError:
            records.append((f"line {number}", None, "line is not JSON"))
    hashes = _walk(records, keys, "ledger-jsonl", report)
    report.mirror_lines_checked = len(records)
    if hashes:
        report.head_seq, report.head_hash = len(records) - 1, hashes[-1]
    return report
