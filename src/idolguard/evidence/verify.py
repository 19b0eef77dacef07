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
    # Objects erased by a signed destruction decision (``case.destroy``): not tampering, listed as such.
    destroyed: list[dict[str, Any]] = field(default_factory=list)

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
            "destroyed": self.destroyed,
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
        return f"signed by unknown key {str(record['key_id'])[:16]}…", claimed
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

    def feed(
        self, ref: str, record: dict[str, Any] | None, parse_error: str | None = None, raw: str | None = None
    ) -> None:
        self.count += 1
        if record is None:
            self.report.problems.append(Problem(self.where, ref, parse_error or "unreadable entry"))
            self.expected_seq += 1
            return
        problem, claimed = check_entry(record, self.expected_seq, self.expected_prev, self.keys)
        if problem is None and raw is not None and not _is_canonical(record, raw):
            # e.g. duplicate keys: a parser that keeps the first value would read another entry than ours
            problem = "line is not in canonical form (duplicate or reordered members, extra whitespace)"
        if problem:
            self.report.problems.append(Problem(self.where, ref, problem))
        recorded_seq = record.get("seq")
        seq = recorded_seq if isinstance(recorded_seq, int) else self.expected_seq
        self.expected_seq, self.expected_prev = seq + 1, str(claimed)
        self.head = (seq, str(claimed))


def _is_canonical(record: dict[str, Any], raw: str) -> bool:
    try:
        return canonical_bytes(record) == raw.encode("utf-8")
    except TypeError:
        return False


def _parse(text: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        record = json.loads(text)
    except ValueError:
        return None, "not JSON"
    return (record, None) if isinstance(record, dict) else (None, "not a JSON object")


@dataclass
class SignedFacts:
    """What the signed ledger says about rows that people read (kept small: a few fields per row)."""

    ingests: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # item -> (size, md5)
    sightings: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # sighting id -> recorded fields
    analyses: dict[tuple[str, str, str], tuple[Any, Any]] = field(default_factory=dict)  # -> (status, digest)
    destroyed: dict[str, dict[str, Any]] = field(default_factory=dict)  # object -> the decision that erased it

    def add(self, record: dict[str, Any]) -> None:
        recorded = record.get("details")
        details: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
        item, action = record.get("item"), record.get("action")
        if action == "ingest" and item:
            self.ingests.setdefault(item, (details.get("size"), details.get("md5")))
        if action in ("ingest", "sighting") and isinstance(details.get("sighting_id"), int):
            self.sightings[details["sighting_id"]] = _sighting_fields(item, details)
        if action == "analysis" and item:
            key = (item, str(details.get("stage")), str(details.get("version")))
            self.analyses[key] = (details.get("status"), details.get("output_sha256"))
        if action == "case.destroy":
            self._add_destruction(record, details)

    def _add_destruction(self, record: dict[str, Any], details: dict[str, Any]) -> None:
        """A signed, two-person destruction decision names every object it erased (docs/EVIDENCE.md)."""
        raw_approvals = details.get("approvals")
        approvals: list[Any] = raw_approvals if isinstance(raw_approvals, list) else []
        approvers = [str(a.get("approver")) for a in approvals if isinstance(a, dict)]
        raw_objects = details.get("objects")
        objects: list[Any] = raw_objects if isinstance(raw_objects, list) else []
        for entry in objects:
            sha = entry.get("sha256") if isinstance(entry, dict) else None
            if isinstance(sha, str) and _looks_like_digest(sha):
                self.destroyed[sha] = {
                    "sha256": sha,
                    "kind": entry.get("kind"),
                    "case": details.get("case"),
                    "decision_seq": record.get("seq"),
                    "approved_by": approvers,
                    "reason": next((str(a.get("reason")) for a in approvals if isinstance(a, dict)), None),
                }


SIGHTING_FIELDS = (
    "source_path",
    "source_url",
    "platform",
    "account",
    "seen_at",
    "note",
    "archive_sha256",
    "archive_member",
)


def _sighting_fields(item: Any, values: dict[str, Any]) -> tuple[Any, ...]:
    return (item, *(values.get(name) for name in SIGHTING_FIELDS))


def check_rows(ws: Any, facts: SignedFacts, report: VerifyReport) -> None:
    """Items, sightings and stage results must say what their signed custody events say: an edit made
    directly in the database (a changed source URL, a changed score) is tampering like any other."""
    from idolguard.db.models import Sighting, StageResult
    from idolguard.evidence.canonical import output_digest

    shown: dict[str, tuple[Any, ...]] = {}  # item -> columns a probe decided, to compare below
    with ws.sessions() as session:
        for item in session.execute(select(Item).execution_options(yield_per=2000)).scalars():
            shown[item.sha256] = (item.media_type, item.mime, item.width, item.height, item.duration_s)
            signed = facts.ingests.get(item.sha256)
            if signed is None:
                report.problems.append(Problem("cross", item.sha256, "item has no ingest event in the ledger"))
            elif signed != (item.size, item.md5):
                report.problems.append(Problem("db", item.sha256, "item size/MD5 differ from its ingest event"))
        for sighting in session.execute(select(Sighting).execution_options(yield_per=2000)).scalars():
            values = {name: getattr(sighting, name) for name in SIGHTING_FIELDS}
            values["seen_at"] = sighting.seen_at.isoformat() if sighting.seen_at else None
            signed_sighting = facts.sightings.get(sighting.id)
            if signed_sighting is None:
                report.problems.append(Problem("db", f"sighting {sighting.id}", "sighting has no custody event"))
            elif signed_sighting != _sighting_fields(sighting.item_sha256, values):
                report.problems.append(
                    Problem("db", f"sighting {sighting.id}", "sighting differs from what its custody event recorded")
                )
        probe_outputs: dict[str, dict[str, Any]] = {}
        for row in session.execute(select(StageResult).execution_options(yield_per=2000)).scalars():
            signed_result = facts.analyses.get((row.item_sha256, row.stage, row.version))
            ref = f"{row.stage}@{row.version} of {row.item_sha256[:16]}…"
            if signed_result is None:
                report.problems.append(Problem("db", ref, "stage result has no analysis event"))
            elif signed_result != (row.status, output_digest(row.output)):
                report.problems.append(Problem("db", ref, "stage result differs from its signed output hash"))
            elif row.stage == "probe" and row.status == "ok":
                probe_outputs[row.item_sha256] = row.output
        for sha, output in probe_outputs.items():
            expected = tuple(output.get(k) for k in ("media_type", "mime", "width", "height", "duration_s"))
            if sha in shown and shown[sha] != expected:
                report.problems.append(Problem("db", sha, "item dimensions/type differ from its signed probe output"))


def verify_workspace(
    ws: Any,
    *,
    objects: bool = True,
    progress: Callable[[int], None] | None = None,
    expect_head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Check everything; ``expect_head`` (seq, hash) is a head recorded earlier outside the workspace, which
    the chain must still contain: the one tampering a chain cannot show by itself is removal of its tail."""
    report = VerifyReport()
    keys = load_public_keys(ws.config.keys_dir)
    if not keys:
        report.problems.append(Problem("ledger-db", "keys", "no public key found in the workspace keys folder"))
    db_walker = ChainWalker(keys, "ledger-db", report)
    mirror_walker = ChainWalker(keys, "ledger-jsonl", report)
    facts = SignedFacts()
    head_found = False
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
                db_walker.feed(f"seq {entry.seq}", record, error and f"stored line is {error}", entry.line)
                if expect_head and entry.seq == expect_head[0]:
                    head_found = entry.entry_hash == expect_head[1]
                if record is not None:
                    facts.add(record)
            if mirrored is not None:
                mirror_count += 1
                number, raw = mirrored
                text = raw.decode("utf-8", "replace")
                record, error = _parse(text)
                mirror_walker.feed(f"line {number}", record, error and f"line is {error}", text)
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

    check_rows(ws, facts, report)
    if expect_head and not head_found:
        report.problems.append(
            Problem(
                "ledger-db",
                f"seq {expect_head[0]}",
                f"expected head {expect_head[0]}:{expect_head[1][:16]}… is not in the ledger "
                "(entries removed or replaced since it was recorded)",
            )
        )
    if objects:
        known = set(items) | set(derived)
        vault = ws.vault
        for sha in sorted(known):
            if not vault.has(sha):
                if sha in facts.destroyed and len(set(facts.destroyed[sha]["approved_by"])) >= 2:
                    report.destroyed.append(facts.destroyed[sha])  # erased by a signed decision, not lost
                else:
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
        text = raw.decode("utf-8", "replace")
        record, error = _parse(text)
        walker.feed(f"line {number}", record, error and f"line is {error}", text)
    report.mirror_lines_checked = walker.count
    if walker.head:
        report.head_seq, report.head_hash = walker.head
    return report
