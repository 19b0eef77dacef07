"""Ingest: store each distinct file once in the vault and record every submission as a sighting.

Order of work per file: copy into the vault (atomic, idempotent) -> record item + sighting + custody event
in one database transaction. Transactions are batched for speed, but a file only counts as ingested once its
transaction commits; a process killed before that leaves at most an unreferenced vault object, which the next
run adopts (the bytes are content-addressed, so nothing is duplicated or lost).
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from idolguard.db.models import Item, Sighting
from idolguard.db.session import in_chunks
from idolguard.errors import IdolGuardError, RejectedInput
from idolguard.evidence.vault import PutResult
from idolguard.intake import archives
from idolguard.intake.paths import Found, display_name, raw_name_hex, walk
from idolguard.media.sniff import sniff_bytes, sniff_file
from idolguard.workspace import Workspace

BATCH_FILES = 200
BATCH_SECONDS = 1.0


@dataclass
class SightingInfo:
    """Context supplied with a submission, recorded exactly as given."""

    source_url: str | None = None
    platform: str | None = None
    account: str | None = None
    seen_at: datetime | None = None
    note: str | None = None
    # Why the file was submitted when it was not seen somewhere (e.g. "bank_reference" for ``bank add``):
    # recorded in the sighting's ``extra`` so spread views do not count it as a sighting in the wild.
    purpose: str | None = None


@dataclass
class IngestResult:
    path: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    media_type: str | None = None
    mime: str | None = None
    duplicate: bool = False
    error: str | None = None
    archive: str | None = None  # sha256 of the archive this member came from
    sighting_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_seen_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise IdolGuardError(f"--seen-at must be ISO 8601 (e.g. 2026-11-01T12:30:00Z): {text!r}") from exc
    if moment.tzinfo is None:
        raise IdolGuardError("--seen-at needs a timezone (e.g. 2026-11-01T12:30:00+09:00 or ...Z)")
    return moment.astimezone(UTC)


@dataclass
class _Pending:
    result: IngestResult
    put: PutResult
    media_type: str
    mime: str
    source_path: str
    file_mtime: datetime | None
    archive_sha256: str | None = None
    archive_member: str | None = None
    raw_name_hex: str | None = None


class Ingestor:
    def __init__(
        self,
        ws: Workspace,
        info: SightingInfo | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.ws = ws
        self.info = info or SightingInfo()
        self.limits = ws.config.limits
        self.on_progress = on_progress
        self._pending: list[_Pending] = []
        self._batch_started = time.monotonic()

    def ingest(self, paths: list[Path]) -> Iterator[IngestResult]:
        for found in walk(paths):
            yield from self._one(found)
        yield from self.flush()

    def _one(self, found: Found) -> Iterator[IngestResult]:
        label = display_name(found.path)
        if found.problem:
            yield IngestResult(path=label, error=found.problem)
            return
        size = 0
        try:
            size = found.path.stat().st_size
            if size == 0:
                raise RejectedInput("empty file (0 bytes): nothing to preserve")
            sniffed = sniff_file(found.path)
            put = self.ws.vault.put_file(found.path, max_bytes=self.limits.max_file_bytes, defer=True)
            mtime = datetime.fromtimestamp(found.path.stat().st_mtime, UTC)
        except IdolGuardError as exc:
            yield IngestResult(path=label, error=str(exc))
            return
        except OSError as exc:
            yield IngestResult(path=label, error=f"cannot read file: {exc.strerror or exc}")
            return
        finally:
            if self.on_progress:
                self.on_progress(size)
        result = IngestResult(path=label, sha256=put.sha256, md5=put.md5, size=put.size)
        self._queue(
            _Pending(
                result,
                put,
                sniffed.media_type,
                sniffed.mime,
                label,
                mtime,
                raw_name_hex=raw_name_hex(found.path),
            )
        )
        if sniffed.mime == "application/zip":
            yield from self.flush()  # the archive item must exist before its members reference it
            yield from self._archive(put.sha256, label)
        yield from self._maybe_flush()

    def _archive(self, archive_sha: str, label: str) -> Iterator[IngestResult]:
        """Read members from the vault copy of the archive, not the submitted path: the file there could
        be swapped after it was stored, and members must come from the archive their sightings name."""
        with self.ws.vault.materialize(archive_sha) as stored:
            yield from self._archive_members(stored, archive_sha, label)

    def _archive_members(self, path: Path, archive_sha: str, label: str) -> Iterator[IngestResult]:
        try:
            archive = archives.open_archive(path)
        except IdolGuardError as exc:
            yield IngestResult(path=label, sha256=archive_sha, error=str(exc))
            return
        with archive:
            try:
                members = list(archives.list_members(archive, self.limits, path.stat().st_size))
            except IdolGuardError as exc:
                yield IngestResult(path=label, sha256=archive_sha, error=str(exc))
                return
            for member in members:
                member_label = f"{label}!{member.name}"
                if member.problem or member.info is None:
                    yield IngestResult(path=member_label, archive=archive_sha, error=member.problem)
                    continue
                try:
                    with archive.open(member.info) as raw:
                        reader = archives.CappedReader(raw, member.info.file_size, member_label)
                        head = reader.read(512)
                        sniffed = sniff_bytes(head)
                        put = self.ws.vault.put_stream(
                            _Prepend(head, reader),
                            max_bytes=min(member.info.file_size, self.limits.max_file_bytes),
                        )
                except (IdolGuardError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                    text = str(exc) if isinstance(exc, IdolGuardError) else f"corrupt archive member: {exc}"
                    yield IngestResult(path=member_label, archive=archive_sha, error=text)
                    continue
                mtime = None
                try:
                    mtime = datetime(*member.info.date_time, tzinfo=UTC)
                except ValueError:
                    pass
                result = IngestResult(
                    path=member_label, sha256=put.sha256, md5=put.md5, size=put.size, archive=archive_sha
                )
                self._queue(
                    _Pending(
                        result,
                        put,
                        sniffed.media_type,
                        sniffed.mime,
                        member_label,
                        mtime,
                        archive_sha256=archive_sha,
                        archive_member=member.name,
                    )
                )
                yield from self._maybe_flush()

    def _queue(self, pending: _Pending) -> None:
        if not self._pending:
            self._batch_started = time.monotonic()
        self._pending.append(pending)

    def _maybe_flush(self) -> Iterator[IngestResult]:
        if len(self._pending) >= BATCH_FILES or time.monotonic() - self._batch_started > BATCH_SECONDS:
            yield from self.flush()

    def flush(self) -> Iterator[IngestResult]:
        """Commit the queued files: items, sightings and custody events together, or none of them."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self.ws.vault.sync_pending()  # objects durable and named before rows point at them
        info = self.info
        with self.ws.write() as (session, ledger):
            shas = list(dict.fromkeys(p.put.sha256 for p in batch))
            known = {
                item.sha256: item
                for chunk in in_chunks(shas)
                for item in session.execute(select(Item).where(Item.sha256.in_(chunk))).scalars()
            }
            sightings: list[tuple[_Pending, Sighting, bool]] = []
            for pending in batch:
                put = pending.put
                duplicate = put.sha256 in known
                if not duplicate:
                    known[put.sha256] = Item(
                        sha256=put.sha256,
                        md5=put.md5,
                        size=put.size,
                        media_type=pending.media_type,
                        mime=pending.mime,
                        media_meta={},
                        original_name=Path(pending.source_path).name,
                        encrypted=self.ws.vault.encrypted,
                    )
                    session.add(known[put.sha256])
                extra: dict[str, Any] = {}
                if pending.raw_name_hex:
                    extra["source_path_bytes_hex"] = pending.raw_name_hex
                if info.purpose:
                    extra["purpose"] = info.purpose
                sighting = Sighting(
                    item_sha256=put.sha256,
                    actor=self.ws.actor,
                    source_path=pending.source_path,
                    source_url=info.source_url,
                    platform=info.platform,
                    account=info.account,
                    seen_at=info.seen_at,
                    note=info.note,
                    file_mtime=pending.file_mtime,
                    archive_sha256=pending.archive_sha256,
                    archive_member=pending.archive_member,
                    extra=extra,
                )
                sightings.append((pending, sighting, duplicate))
            session.add_all([sighting for _, sighting, _ in sightings])
            session.flush()  # one batched INSERT per table; gives sighting ids for the custody events
            for pending, sighting, duplicate in sightings:
                put = pending.put
                ledger.append(
                    "sighting" if duplicate else "ingest",
                    item=put.sha256,
                    details={
                        "size": put.size,
                        "md5": put.md5,
                        "mime": pending.mime,
                        "source_path": pending.source_path,
                        "source_url": info.source_url,
                        "platform": info.platform,
                        "account": info.account,
                        "seen_at": info.seen_at.isoformat() if info.seen_at else None,
                        "note": info.note,
                        "archive_sha256": pending.archive_sha256,
                        "archive_member": pending.archive_member,
                        "sighting_id": sighting.id,
                        "encrypted_at_rest": self.ws.vault.encrypted,
                    },
                )
                item = known[put.sha256]
                pending.result.duplicate = duplicate
                pending.result.media_type = item.media_type
                pending.result.mime = item.mime
                pending.result.sighting_id = sighting.id
        for pending in batch:
            yield pending.result


class _Prepend:
    """A reader that first returns already-read bytes (the sniffed head), then the rest of the stream."""

    def __init__(self, head: bytes, rest: archives.CappedReader) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk, self._head = self._head, b""
            return chunk
        return self._rest.read(size)
