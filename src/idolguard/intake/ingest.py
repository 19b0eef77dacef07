"""Ingest: store each distinct file once in the vault and record every submission as a sighting.

Order of work per file: copy into the vault (atomic, idempotent) -> record item + sighting + custody event
in one database transaction. Transactions are batched for speed, but a file only counts as ingested once its
transaction commits; a process killed before that leaves at most an unreferenced vault object, which the next
run adopts (the bytes are content-addressed, so nothing is duplicated or lost).
"""

from __future__ import annotations

import errno
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
from idolguard.errors import ErrorCode, IdolGuardError, RejectedInput, StorageFull, code_of, error_params
from idolguard.evidence.actions import Action
from idolguard.evidence.vault import PutResult
from idolguard.intake import archives
from idolguard.intake.paths import Found, display_name, raw_name_hex, walk
from idolguard.intake.source_url import check_source_url
from idolguard.intake.trailing import Trailing, find_trailing
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
    # the error's typed code and values (``idolguard.errors``), so front doors say it in their reader's language
    error_code: str | None = None
    error_params: dict[str, Any] | None = None
    archive: str | None = None  # sha256 of the archive this member came from
    sighting_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def coded_error(error: IdolGuardError) -> dict[str, Any]:
    """``error_code``/``error_params`` of a refused file's result (nothing for an error without a code)."""
    code = code_of(error)
    return {} if code is ErrorCode.GENERIC else {"error_code": str(code), "error_params": error_params(error)}


def parse_seen_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise IdolGuardError(
            f"--seen-at must be ISO 8601 (e.g. 2026-11-01T12:30:00Z): {text!r}", code=ErrorCode.INPUT_SEEN_AT, text=text
        ) from exc
    if moment.tzinfo is None:
        raise IdolGuardError(
            "--seen-at needs a timezone (e.g. 2026-11-01T12:30:00+09:00 or ...Z)",
            code=ErrorCode.INPUT_SEEN_AT,
            text=text,
        )
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
    trailing: Trailing | None = None


def _storage_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT from the vault, or the database saying the disk is full."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "database or disk is full" in text or "no space left on device" in text


def _sighting_key(
    sha: str, actor: str, source_path: str | None, info: SightingInfo, mtime: datetime | None, archive: Any
) -> tuple[Any, ...]:
    return (
        sha,
        actor,
        source_path,
        info.source_url,
        info.platform,
        info.account,
        _utc(info.seen_at),
        info.note,
        _utc(mtime),
        *archive,
    )


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


class Ingestor:
    def __init__(
        self,
        ws: Workspace,
        info: SightingInfo | None = None,
        on_progress: Callable[[int], None] | None = None,
        labels: dict[Path, str] | None = None,
    ) -> None:
        self.ws = ws
        # The source path to record for a file read from elsewhere (an encrypted upload spool is decrypted to
        # private memory-backed storage; its sighting still names the spooled upload, not the temp copy).
        self.labels = labels or {}
        self.info = info or SightingInfo()
        # Every door checks the source URL first; this is the last guard before it is recorded (BadSourceUrl).
        check_source_url(self.info.source_url)
        self.limits = ws.config.limits
        self.on_progress = on_progress
        self._pending: list[_Pending] = []
        self._batch_started = time.monotonic()
        self.archive_bytes_written = 0  # across every archive of this run (limits.scan_max_total_bytes)

    def ingest(self, paths: list[Path]) -> Iterator[IngestResult]:
        for found in walk(paths):
            yield from self._one(found)
        yield from self.flush()

    def _one(self, found: Found) -> Iterator[IngestResult]:
        label = self.labels.get(found.path) or display_name(found.path)
        if found.problem:
            yield IngestResult(path=label, error=found.problem)
            return
        size = 0
        try:
            size = found.path.stat().st_size
            if size == 0:
                raise RejectedInput("empty file (0 bytes): nothing to preserve", code=ErrorCode.INPUT_EMPTY)
            sniffed = sniff_file(found.path)
            put = self.ws.vault.put_file(found.path, max_bytes=self.limits.max_file_bytes, defer=True)
            mtime = datetime.fromtimestamp(found.path.stat().st_mtime, UTC)
        except IdolGuardError as exc:
            yield IngestResult(path=label, error=str(exc), **coded_error(exc))
            return
        except OSError as exc:
            if _storage_full(exc):
                yield from self.flush()  # what was queued before may still fit: commit it, lose nothing
                raise StorageFull(
                    f"the workspace's disk is full ({exc.strerror or exc}) while storing {label}"
                ) from exc
            yield IngestResult(path=label, error=f"cannot read file: {exc.strerror or exc}")
            return
        finally:
            if self.on_progress:
                self.on_progress(size)
        result = IngestResult(path=label, sha256=put.sha256, md5=put.md5, size=put.size)
        trailing = find_trailing(found.path, sniffed.mime)
        if trailing is not None:
            result.extra["findings"] = [trailing.as_dict()]
        self._queue(
            _Pending(
                result,
                put,
                sniffed.media_type,
                sniffed.mime,
                label,
                mtime,
                raw_name_hex=raw_name_hex(found.path),
                trailing=trailing,
            )
        )
        if sniffed.mime == "application/zip" or (trailing is not None and trailing.looks_like == "zip"):
            # A polyglot's appended archive is read the same way: its members become items of their own,
            # each with a sighting naming the file they were hidden in.
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
            yield IngestResult(path=label, sha256=archive_sha, error=str(exc), **coded_error(exc))
            return
        with archive:
            try:
                members = list(archives.list_members(archive, self.limits, path.stat().st_size))
            except IdolGuardError as exc:
                yield IngestResult(path=label, sha256=archive_sha, error=str(exc), **coded_error(exc))
                return
            written = 0
            for member in members:
                member_label = f"{label}!{member.name}"
                if member.problem or member.info is None:
                    yield IngestResult(path=member_label, archive=archive_sha, error=member.problem)
                    continue
                over = self._output_limit(written, member.info.file_size)
                if over:
                    yield IngestResult(path=member_label, archive=archive_sha, error=over)
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
                    if _storage_full(exc):
                        yield from self.flush()
                        raise StorageFull(f"the workspace's disk is full while storing {member_label}: {exc}") from exc
                    text = str(exc) if isinstance(exc, IdolGuardError) else f"corrupt archive member: {exc}"
                    code = coded_error(exc) if isinstance(exc, IdolGuardError) else {}
                    yield IngestResult(path=member_label, archive=archive_sha, error=text, **code)
                    continue
                written += put.size
                self.archive_bytes_written += put.size
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

    def _output_limit(self, written: int, next_size: int) -> str | None:
        """Real bytes written from archives, per archive and per run: a zip under the ratio limit can still
        expand to many gigabytes, and many such zips in one scan add up."""
        if written + next_size > self.limits.zip_max_total_bytes:
            return (
                f"not extracted: the archive's members would exceed {self.limits.zip_max_total_bytes} bytes "
                "written ([limits] zip_max_total_bytes)"
            )
        if self.archive_bytes_written + next_size > self.limits.scan_max_total_bytes:
            return (
                f"not extracted: archives in this run would exceed {self.limits.scan_max_total_bytes} bytes "
                "written ([limits] scan_max_total_bytes)"
            )
        return None

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
        try:
            yield from self._commit(batch)
        except Exception as exc:
            if _storage_full(exc):
                raise StorageFull(
                    f"the workspace's disk is full; the last {len(batch)} file(s) were not recorded ({exc})"
                ) from exc
            raise

    def _commit(self, batch: list[_Pending]) -> Iterator[IngestResult]:
        self.ws.vault.sync_pending()  # objects durable and named before rows point at them
        info = self.info
        actor = self.ws.actor
        with self.ws.write() as (session, ledger):
            shas = list(dict.fromkeys(p.put.sha256 for p in batch))
            known = {
                item.sha256: item
                for chunk in in_chunks(shas)
                for item in session.execute(select(Item).where(Item.sha256.in_(chunk))).scalars()
            }
            recorded = self._recorded_sightings(session, [s for s in shas if s in known])
            sightings: list[tuple[_Pending, Sighting, bool]] = []
            for pending in batch:
                put = pending.put
                duplicate = put.sha256 in known
                key = _sighting_key(
                    put.sha256,
                    actor,
                    pending.source_path,
                    info,
                    pending.file_mtime,
                    (pending.archive_sha256, pending.archive_member),
                )
                if duplicate and key in recorded:
                    # The same file, from the same place, with the same context, by the same person: a re-scan,
                    # not a new sighting (re-scans would otherwise inflate every spread count).
                    pending.result.duplicate = True
                    pending.result.sighting_id = recorded[key]
                    pending.result.extra["already_recorded"] = True
                    item = known[put.sha256]
                    pending.result.media_type, pending.result.mime = item.media_type, item.mime
                    continue
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
                    actor=actor,
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
                recorded[key] = -1  # a second copy in this same batch is the same sighting
            session.add_all([sighting for _, sighting, _ in sightings])
            session.flush()  # one batched INSERT per table; gives sighting ids for the custody events
            for pending, sighting, duplicate in sightings:
                put = pending.put
                entry = ledger.append(
                    Action.INTAKE_SIGHTING if duplicate else Action.INTAKE_INGEST,
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
                        "file_mtime": pending.file_mtime.isoformat() if pending.file_mtime else None,
                        "source_path_bytes_hex": pending.raw_name_hex,
                    },
                )
                # Row times are the signed event's time exactly, so verify can compare them field by field.
                signed_at = datetime.strptime(entry.ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                sighting.recorded_at = signed_at
                item = known[put.sha256]
                if not duplicate:
                    item.first_seen_at = signed_at
                if pending.trailing is not None:
                    ledger.append(
                        Action.INTAKE_FINDING,
                        item=put.sha256,
                        details={**pending.trailing.as_dict(), "sighting_id": sighting.id},
                    )
                pending.result.duplicate = duplicate
                pending.result.media_type = item.media_type
                pending.result.mime = item.mime
                pending.result.sighting_id = sighting.id
        for pending in batch:
            yield pending.result

    def _recorded_sightings(self, session: Any, shas: list[str]) -> dict[tuple[Any, ...], int]:
        """Sightings already recorded for these items, keyed by everything a sighting says."""
        found: dict[tuple[Any, ...], int] = {}
        for chunk in in_chunks(shas):
            for row in session.execute(select(Sighting).where(Sighting.item_sha256.in_(chunk))).scalars():
                info = SightingInfo(row.source_url, row.platform, row.account, row.seen_at, row.note)
                key = _sighting_key(
                    row.item_sha256,
                    row.actor,
                    row.source_path,
                    info,
                    row.file_mtime,
                    (row.archive_sha256, row.archive_member),
                )
                found.setdefault(key, row.id)
        return found


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
