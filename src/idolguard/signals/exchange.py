"""Hash-list exchange: the formats platforms and partner NGOs already read (hashes leave, media never does).

* ``threatexchange``: one signal per line, ``<signal type> <signal>`` (``pdq <hex>``, ``video_md5 <hex>``,
  ``vpdq <json>``) - what Meta's ``threatexchange`` library loads with its local-file exchange; bare hex lines
  are read as PDQ on import.
* ``stopncii-json``: ``{"count": N, "hashRecords": [{"signalType": "ImagePDQ"|"VideoMD5", "hashValue": ...}]}``,
  the record shape of StopNCII's hash API.
* ``csv``: ``signal_type,signal,quality`` with a header (HMA-style; ``hash``/``value`` accepted as the signal).

Each format is a class in ``signals/formats/`` and each signal type a class in ``signals/types/``; this module
only drives them. Imports stream: the file is read twice (validate, then insert in batches inside one transaction), so a
million-line list never sits in memory and a file with any malformed line imports nothing. Every rejected
line is reported with its number and reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.evidence.actions import Action
from idolguard.signals import formats, types
from idolguard.signals.banks import NewEntry, add_entries, get_bank
from idolguard.signals.models import BankEntry
from idolguard.workspace import Workspace

FORMATS = formats.names()
MAX_REPORTED = 1000


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    valid: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_count: int = 0
    added: list[int] = field(default_factory=list)  # ids of the entries added
    duplicates: int = 0
    imported: bool = False

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append(Rejection(line, reason))


def parse_signal(signal_type: str, raw: str) -> NewEntry:
    """Validate one signal; raises ValueError with a reason an analyst can act on."""
    found = types.by_exchange_name(signal_type)
    if found is None:
        accepted = sorted({n for t in types.all_types().values() for n in t.import_names})
        raise ValueError(f"unknown signal type {signal_type!r} (expected {', '.join(accepted)})")
    return found.validate(raw)


def iter_signals(handle: TextIO, fmt: str) -> Iterator[tuple[int, str, str]]:
    return formats.get(fmt).read(handle)


def _validated(path: Path, fmt: str, report: ImportReport | None, source_ref: str) -> Iterator[NewEntry]:
    seen: set[bytes] = set()
    with open(path, encoding="utf-8", errors="strict", newline="") as handle:
        try:
            for number, signal_type, raw in iter_signals(handle, fmt):
                if raw.startswith("\x00"):
                    if report:
                        report.reject(number, raw[1:])
                    continue
                try:
                    entry = parse_signal(signal_type, raw)
                except ValueError as exc:
                    if report:
                        report.reject(number, str(exc))
                    continue
                key = hashlib.blake2b(f"{entry.signal_type}:{entry.value}".encode(), digest_size=12).digest()
                if key in seen:
                    if report:
                        report.reject(number, "duplicate of an earlier line")
                    continue
                seen.add(key)
                if report:
                    report.valid += 1
                entry.source_kind = "import"
                entry.source_ref = source_ref
                yield entry
        except UnicodeDecodeError as exc:
            raise IdolGuardError(f"{path} is not UTF-8 text: {exc}", code=ErrorCode.HASHES_NOT_TEXT) from exc


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    ws: Workspace, path: Path, bank: str, fmt: str, *, partner: str | None = None, skip_invalid: bool = False
) -> ImportReport:
    """Validate the whole file, then import it in one transaction: all valid lines, or nothing."""
    formats.get(fmt)  # an unknown format is refused before anything is read
    with ws.sessions() as session:
        get_bank(session, bank)  # fail before reading a large file
    digest = file_sha256(path)
    source_ref = f"import:{fmt}:{digest}" + (f":{partner}" if partner else "")
    report = ImportReport()
    for _ in _validated(path, fmt, report, source_ref):
        pass
    if report.rejected_count and not skip_invalid:
        return report
    if report.valid == 0:
        return report
    added = add_entries(
        ws,
        bank,
        _validated(path, fmt, None, source_ref),
        event_details={
            "import_sha256": digest,
            "format": fmt,
            "partner": partner,
            "valid_lines": report.valid,
            "rejected_lines": report.rejected_count,
        },
    )
    report.added, report.duplicates, report.imported = added.added, added.duplicates, True
    return report


# -- writing ---------------------------------------------------------------------------------------------------
def _entries(ws: Workspace, bank: str) -> Iterator[BankEntry]:
    with ws.sessions() as session:
        bank_row = get_bank(session, bank)
        query = (
            select(BankEntry)
            .where(BankEntry.bank_id == bank_row.id, BankEntry.enabled.is_(True))
            .order_by(BankEntry.id)
            .execution_options(yield_per=5000)
        )
        yield from session.execute(query).scalars()


def _video_md5s(ws: Workspace, bank: str) -> set[str]:
    """MD5 entries that came from videos (StopNCII and ThreatExchange only know MD5 for videos)."""
    from idolguard.db.models import Item

    with ws.sessions() as session:
        bank_row = get_bank(session, bank)
        rows = session.execute(
            select(BankEntry.value, Item.media_type, BankEntry.source_kind)
            .outerjoin(Item, Item.sha256 == BankEntry.source_item)
            .where(BankEntry.bank_id == bank_row.id, BankEntry.signal_type == "md5")
        ).tuples()
        return {value for value, media, source in rows if media == "video" or source == "import"}


def write_export(ws: Workspace, bank: str, fmt: str, out: TextIO) -> dict[str, int]:
    """Write the bank's enabled entries; returns counts per signal type written (and skipped)."""
    exchange = formats.get(fmt)
    video_md5 = _video_md5s(ws, bank)
    return exchange.write(_entries(ws, bank), out, lambda entry: entry.value in video_md5)


class _HashingWriter:
    """Text sink that hashes what it writes, so the ledger can name the exact export without re-reading it."""

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def write(self, text: str) -> int:
        self.sha256.update(text.encode("utf-8"))
        return self.raw.write(text)


def export_bank(ws: Workspace, bank: str, fmt: str, dest: Path, reason: str | None = None) -> dict[str, Any]:
    """Write an export file (refusing to overwrite) and record it in the custody ledger."""
    with open(dest, "x", encoding="utf-8", newline="") as raw:
        handle = _HashingWriter(raw)
        counts = write_export(ws, bank, fmt, handle)  # type: ignore[arg-type]
    digest = handle.sha256.hexdigest()
    with ws.write() as (_session, ledger):
        ledger.append(
            Action.HASHES_EXPORT,
            details={"bank": bank, "format": fmt, "counts": counts, "export_sha256": digest, "reason": reason},
        )
    return {"path": str(dest), "format": fmt, "sha256": digest, "counts": counts}
