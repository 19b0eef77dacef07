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
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import zip_longest
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


class ChainWalker:
    """Checks one copy of the chain entry by entry; after a break it continues from the claimed hash, so
    later damage is named too. Streaming: memory stays flat however long the ledger is."""

    def __init__(self, keys: dict[str, Ed25519PublicKey], where: str, report: VerifyReport) -> None:
        self.keys, self.where, self.report = keys, where, report
        self.expected_seq, self.expected_prev = 0, GENESIS
        self.count = 0
        self.head: tuple[int, str] | None = None

    def feed(self, ref: str, record: dict[str, Any] | None, parse_error: str | None = None) -> None:
        self.count += 1
        if record is None:
            self.report.problems.append(Problem(self.where, ref, parse_error or "unreadable entry"))
            self.expected_seq += 1
            return
        problem, claimed = check_entry(record, self.expected_seq, self.expected_prev, self.keys)
        if problem:
            self.report.problems.append(Problem(self.where, ref, problem))
        seq = record.get("seq") if isinstance(record.get("seq"), int) else self.expected_seq
        self.expected_seq, self.expected_prev = seq + 1, str(claimed)
        self.head = (seq, str(claimed))


def _parse(text: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        record = json.loads(text)
    except ValueError:
        return None, "not JSON"
    return (record, None) if isinstance(record, dict) else (None, "not a JSON object")


def verify_workspace(ws: Any, *, objects: bool = True, progress: Callable[[int], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    keys = load_public_keys(ws.config.keys_dir)
    if not keys:
        report.problems.append(Problem("ledger-db", "keys", "no public key found in the workspace keys folder"))
    db_walker = ChainWalker(keys, "ledger-db", report)
    mirror_walker = ChainWalker(keys, "ledger-jsonl", report)
    ingested: set[str] = set()
    db_count = mirror_count = 0

    with ws.sessions() as session:
        items = session.execute(select(Item.sha256)).scalars().all()
        derived = session.execute(select(DerivedObject.sha256)).scalars().all()
        rows = session.execute(select(LedgerEntry).order_by(LedgerEntry.seq).execution_options(yield_per=2000))
        mirror = iter_jsonl(ws.config.ledger_path)
        for entry, mirrored in zip_longest(rows.scalars(), mirror):
            db_line: str | None = None
            if entry is not None:
                db_count += 1
                db_line = entry.line
                record, error = _parse(entry.line)
                # The row's columns must say what the signed line says.
                if record is not None and (
                    record.get("seq"),
                    record.get("hash"),
                    record.get("action"),
                    record.get("item"),
                ) != (entry.seq, entry.entry_hash, entry.action, entry.item_sha256):
                    report.problems.append(
                        Problem("ledger-db", f"seq {entry.seq}", "row columns differ from signed line")
                    )
                db_walker.feed(f"seq {entry.seq}", record, error and f"stored line is {error}")
                if entry.action == "ingest" and entry.item_sha256:
                    ingested.add(entry.item_sha256)
            if mirrored is not None:
                mirror_count += 1
                number, raw = mirrored
                text = raw.decode("utf-8", "replace")
                record, error = _parse(text)
                mirror_walker.feed(f"line {number}", record, error and f"line is {error}")
                if db_line is not None and db_line != text:
                    report.problems.append(
                        Problem("cross", f"seq {number - 1}", "database entry and JSONL mirror line differ")
                    )
    report.entries_checked = db_count
    report.mirror_lines_checked = mirror_count
    if db_walker.head:
        report.head_seq, report.head_hash = db_walker.head
    if mirror_count > db_count:
        report.problems.append(
            Problem("cross", "mirror", f"mirror has {mirror_count - db_count} entries the database lacks")
        )
    elif mirror_count < db_count:
        report.warnings.append(
            Problem(
                "cross",
                "mirror",
                f"mirror is {db_count - mirror_count} signed entries behind the database "
                "(interrupted write); the next write appends them",
            )
        )

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
    walker = ChainWalker(load_public_keys(keys_dir), "ledger-jsonl", report)
    for number, raw in iter_jsonl(path):
        record, error = _parse(raw.decode("utf-8", "replace"))
        walker.feed(f"line {number}", record, error and f"line is {error}")
    report.mirror_lines_checked = walker.count
    if walker.head:
        report.head_seq, report.head_hash = walker.head
    return report
