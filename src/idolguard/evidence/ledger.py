"""Append-only, hash-chained, Ed25519-signed custody ledger, stored in the database and mirrored to JSONL.

Every entry's body is canonical JSON (see ``canonical.py``) with fields
``v, seq, ts, actor, action, item, details, prev, key_id``; ``hash`` is SHA-256 of the body bytes and ``sig``
is the Ed25519 signature of the same bytes (base64). ``prev`` is the previous entry's hash (64 zeros for the
first). The JSONL mirror holds one canonical line per entry, so the chain can be checked without the database
(docs/EVIDENCE.md specifies the format for third-party verifiers).

Writers serialise through a lock file (and a PostgreSQL advisory lock on a server database), so concurrent
processes never fork the chain. The database commit comes first; the mirror is then appended and fsynced. If
a process dies in between, the next writer copies the missing signed lines from the database to the mirror
(and drops a torn final line), which changes no signed content.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from idolguard.db.models import LedgerEntry
from idolguard.evidence.actions import Action, writable
from idolguard.evidence.canonical import canonical_bytes, ledger_safe
from idolguard.evidence.keys import SigningKey

GENESIS = "0" * 64
FORMAT_VERSION = 1
ADVISORY_LOCK_ID = 0x1D01_6A4D


def utc_timestamp(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_body(
    *,
    seq: int,
    ts: str,
    actor: str,
    action: str,
    item: str | None,
    details: dict[str, Any],
    prev: str,
    key_id: str,
) -> dict[str, Any]:
    return {
        "v": FORMAT_VERSION,
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "item": item,
        "details": details,
        "prev": prev,
        "key_id": key_id,
    }


@dataclass
class LedgerWriter:
    """Builds entries inside one locked transaction; seq and prev continue from the chain head."""

    session: Session
    key: SigningKey
    actor: str
    next_seq: int
    prev_hash: str
    written: list[LedgerEntry] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # ``append_row`` entries, inserted in bulk
    _inserted: int = 0  # how many of ``rows`` are already in the session

    def append(
        self, action: Action | str, item: str | None = None, details: dict[str, Any] | None = None
    ) -> LedgerEntry:
        entry = LedgerEntry(**self._next(action, item, details))
        self.session.add(entry)
        self.written.append(entry)
        return entry

    def append_row(self, action: Action | str, item: str | None = None, details: dict[str, Any] | None = None) -> None:
        """``append`` without an ORM object per entry: the same signed, chained entry, inserted with the others
        in one bulk INSERT before the transaction commits (``insert_rows``), in the same transaction. For a
        writer that adds many events and reads none back before committing (the runner's ``persist_batch``,
        the cluster's single writer, whose CPU the workers share on a small cluster)."""
        self.rows.append(self._next(action, item, details))

    def insert_rows(self) -> None:
        """Insert the ``append_row`` entries not inserted yet (called before every commit; callers that query
        the ledger inside their transaction call it first)."""
        if self._inserted < len(self.rows):
            self.session.execute(insert(LedgerEntry), self.rows[self._inserted :])
            self._inserted = len(self.rows)

    @property
    def count(self) -> int:
        return len(self.written) + len(self.rows)

    def lines(self) -> list[str]:
        """The JSONL lines of every entry of this transaction, in chain order (the mirror appends them)."""
        entries = [(e.seq, e.line) for e in self.written] + [(r["seq"], r["line"]) for r in self.rows]
        return [line for _seq, line in sorted(entries)]

    def _next(self, action: Action | str, item: str | None, details: dict[str, Any] | None) -> dict[str, Any]:
        action = writable(action)  # the closed, documented set only (evidence/actions.py)
        body = entry_body(
            seq=self.next_seq,
            ts=utc_timestamp(),
            actor=self.actor,
            action=str(action),
            item=item,
            details=ledger_safe(details or {}),
            prev=self.prev_hash,
            key_id=self.key.key_id,
        )
        raw = canonical_bytes(body)
        digest = hashlib.sha256(raw).hexdigest()
        signature = base64.b64encode(self.key.sign(raw)).decode("ascii")
        line = canonical_bytes({**body, "hash": digest, "sig": signature}, check=False).decode("utf-8")
        row = {
            "seq": self.next_seq,
            "entry_hash": digest,
            "prev_hash": self.prev_hash,
            "ts": body["ts"],
            "actor": self.actor,
            "action": str(action),
            "item_sha256": item,
            "details": body["details"],
            "key_id": self.key.key_id,
            "signature": signature,
            "line": line,
        }
        self.next_seq += 1
        self.prev_hash = digest
        return row


def append_genesis(writer: LedgerWriter) -> None:
    """Entry 0 of a new ledger pins the instance key: its fingerprint and raw public bytes are signed into
    the chain itself, so a key file swapped in ``keys/`` later cannot take over (see verify.ChainWalker)."""
    writer.append(
        Action.LEDGER_GENESIS,
        details={"key_id": writer.key.key_id, "public_key": writer.key.public_hex, "format": FORMAT_VERSION},
    )


class Ledger:
    def __init__(self, jsonl_path: Path, lock_path: Path, key: SigningKey | None) -> None:
        self.jsonl_path = jsonl_path
        self.lock_path = lock_path
        self.key = key

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def transaction(self, session: Session, actor: str) -> Iterator[LedgerWriter]:
        """Lock, continue the chain, let the caller add rows and entries, commit, then mirror to JSONL."""
        if self.key is None:
            raise RuntimeError("this workspace was opened read-only (no signing key)")
        with self.locked():
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
            self._sync_mirror(session)
            head = session.execute(
                select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
            ).first()
            writer = LedgerWriter(
                session=session,
                key=self.key,
                actor=actor,
                next_seq=(head.seq + 1) if head else 0,
                prev_hash=head.entry_hash if head else GENESIS,
            )
            if head is None:
                append_genesis(writer)
            try:
                yield writer
                writer.insert_rows()
                session.commit()
            except BaseException:
                session.rollback()
                raise
            self._append_lines(writer.lines())

    def ensure_genesis(self, session: Session, actor: str) -> None:
        """Write the genesis entry now if the ledger is empty (``init`` calls this, so the key is pinned
        before any evidence arrives); a no-op otherwise."""
        if session.execute(select(LedgerEntry.seq).limit(1)).first() is not None:
            return
        with self.transaction(session, actor):
            pass  # transaction() writes the genesis entry into an empty chain

    def _append_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        fd = os.open(self.jsonl_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _sync_mirror(self, session: Session) -> None:
        """Bring the JSONL mirror level with the database after a crash between commit and mirror write."""
        newest = session.execute(select(func.max(LedgerEntry.seq))).scalar_one()  # primary-key lookup, not a scan
        db_count = 0 if newest is None else newest + 1
        mirror_count, torn = self._mirror_state()
        if mirror_count < 0:
            return
        if torn:
            self._drop_torn_tail()
        if mirror_count > db_count:
            self._restore_from_mirror(session, db_count)
            return
        if mirror_count == db_count:
            return
        missing = session.execute(
            select(LedgerEntry.line).where(LedgerEntry.seq >= mirror_count).order_by(LedgerEntry.seq)
        ).scalars()
        self._append_lines(list(missing))

    def _restore_from_mirror(self, session: Session, db_count: int) -> None:
        """The database lost committed entries the mirror still has (e.g. a power cut rolled back its last
        transaction): put the signed lines back, each checked for chain, hash and our signature first, so the
        next entry continues the one chain instead of forking it. Nothing is re-signed or invented."""
        from idolguard.evidence.keys import key_id
        from idolguard.evidence.verify import check_entry

        assert self.key is not None
        keys = {key_id(self.key.public): self.key.public}
        head = session.execute(
            select(LedgerEntry.entry_hash).where(LedgerEntry.seq == db_count - 1)
        ).scalar_one_or_none()
        expected_prev = head or GENESIS
        for number, raw in iter_jsonl(self.jsonl_path):
            if number <= db_count:
                continue
            line = raw.decode("utf-8")
            record = json.loads(line)
            problem, claimed = check_entry(record, number - 1, expected_prev, keys)
            if problem or canonical_bytes(record) != raw:
                return  # not provably ours: leave it for `verify` to report, never adopt it
            session.add(
                LedgerEntry(
                    seq=record["seq"],
                    entry_hash=claimed,
                    prev_hash=record["prev"],
                    ts=record["ts"],
                    actor=record["actor"],
                    action=record["action"],
                    item_sha256=record["item"],
                    details=record["details"],
                    key_id=record["key_id"],
                    signature=record["sig"],
                    line=line,
                )
            )
            expected_prev = str(claimed)
        session.flush()

    def _mirror_state(self) -> tuple[int, bool]:
        """(entries in the mirror, whether it ends in a torn line), read from the tail only."""
        if not self.jsonl_path.exists():
            return 0, False
        with open(self.jsonl_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            window = 1 << 16
            while True:
                start = max(0, size - window)
                handle.seek(start)
                tail = handle.read(size - start)
                torn = bool(tail) and not tail.endswith(b"\n")
                body = tail[: tail.rfind(b"\n")] if b"\n" in tail else b""
                last_break = body.rfind(b"\n")
                if last_break >= 0 or start == 0:
                    last = body[last_break + 1 :]
                    break
                window *= 4
        if not last:
            return 0, torn
        try:
            return int(json.loads(last)["seq"]) + 1, torn
        except (ValueError, KeyError, TypeError):
            return -1, torn  # unreadable mirror: verification reports it; never rewrite it here

    def _drop_torn_tail(self) -> None:
        """Cut a half-written final line (from a killed writer), reading only the file's tail."""
        with open(self.jsonl_path, "r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            window = 1 << 16
            while True:
                start = max(0, size - window)
                handle.seek(start)
                tail = handle.read(size - start)
                newline = tail.rfind(b"\n")
                if newline >= 0 or start == 0:
                    cut = start + newline + 1 if newline >= 0 else 0
                    break
                window *= 4
            handle.truncate(cut)
            handle.flush()
            os.fsync(handle.fileno())


def iter_jsonl(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line without newline) for every complete line of a ledger mirror."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.endswith(b"\n"):
                yield number, raw[:-1]
