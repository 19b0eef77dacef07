"""Hash-list exchange: the formats platforms and partner NGOs already read (hashes leave, media never does).

* ``threatexchange``: one signal per line, ``<signal type> <signal>`` (``pdq <hex>``, ``video_md5 <hex>``,
  ``vpdq <json>``) - what Meta's ``threatexchange`` library loads with its local-file exchange; bare hex lines
  are read as PDQ on import.
* ``stopncii-json``: ``{"count": N, "hashRecords": [{"signalType": "ImagePDQ"|"VideoMD5", "hashValue": ...}]}``,
  the record shape of StopNCII's hash API.
* ``csv``: ``signal_type,signal,quality`` with a header (HMA-style; ``hash``/``value`` accepted as the signal).

Imports stream: the file is read twice (validate, then insert in batches inside one transaction), so a
million-line list never sits in memory and a file with any malformed line imports nothing. Every rejected
line is reported with its number and reason.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from idolguard.errors import IdolGuardError
from idolguard.signals import vpdq
from idolguard.signals.banks import NewEntry, add_entries, get_bank
from idolguard.signals.models import BankEntry
from idolguard.signals.pdq import PDQ_HEX_LEN
from idolguard.workspace import Workspace

FORMATS = ("threatexchange", "stopncii-json", "csv")
HEX = frozenset("0123456789abcdef")
MAX_REPORTED = 1000
STOPNCII_TYPES = {"ImagePDQ": "pdq", "VideoMD5": "md5"}
TE_TYPES = {"pdq": "pdq", "video_md5": "md5", "md5": "md5", "vpdq": "vpdq", "sha256": "sha256"}


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    valid: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_count: int = 0
    added: int = 0
    duplicates: int = 0
    imported: bool = False

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append(Rejection(line, reason))


def _hex(value: str, length: int, what: str) -> str:
    value = value.strip().lower()
    if len(value) != length:
        raise ValueError(f"{what} must be {length} hex characters, got {len(value)}")
    if not set(value) <= HEX:
        raise ValueError(f"{what} is not hexadecimal")
    return value


def parse_signal(signal_type: str, raw: str) -> NewEntry:
    """Validate one signal; raises ValueError with a reason an analyst can act on."""
    kind = TE_TYPES.get(signal_type.strip().lower())
    if kind is None:
        raise ValueError(f"unknown signal type {signal_type!r} (expected pdq, video_md5, md5, sha256 or vpdq)")
    if kind == "pdq":
        value = _hex(raw, PDQ_HEX_LEN, "PDQ hash")
        if value in ("0" * 64, "f" * 64):
            raise ValueError("PDQ hash is all zeros/ones (a blank image): refusing it")
        return NewEntry("pdq", value)
    if kind == "md5":
        return NewEntry("md5", _hex(raw, 32, "MD5"))
    if kind == "sha256":
        return NewEntry("sha256", _hex(raw, 64, "SHA-256"))
    try:
        features = vpdq.from_threatexchange(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"malformed vPDQ signal: {exc}") from exc
    return NewEntry("vpdq", vpdq.digest(features), frames=[f.as_list() for f in features])


# -- reading ---------------------------------------------------------------------------------------------------
def _iter_threatexchange(handle: TextIO) -> Iterator[tuple[int, str, str]]:
    for number, line in enumerate(handle, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        signal_type, _, signal = text.partition(" ")
        if not signal:
            signal_type, signal = "pdq", signal_type  # a bare hash line
        yield number, signal_type, signal.strip()


def _iter_csv(handle: TextIO) -> Iterator[tuple[int, str, str]]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        return
    columns = [h.strip().lower() for h in header]
    try:
        signal_col = next(columns.index(n) for n in ("signal", "hash", "value", "hash_value") if n in columns)
    except StopIteration:
        raise IdolGuardError("CSV header needs a 'signal' (or 'hash'/'value') column") from None
    type_col = columns.index("signal_type") if "signal_type" in columns else None
    for number, row in enumerate(reader, 2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            yield number, "", f"\x00wrong number of columns ({len(row)}, header has {len(columns)})"
            continue
        yield number, row[type_col] if type_col is not None else "pdq", row[signal_col]


def _iter_json_array(handle: TextIO, key: str, chunk: int = 1 << 16) -> Iterator[tuple[int, Any]]:
    """Items of the top-level ``key`` array of a JSON object, decoded one at a time (no full load)."""
    decoder = json.JSONDecoder()
    buffer = ""
    marker = f'"{key}"'
    while marker not in buffer:
        more = handle.read(chunk)
        if not more:
            raise IdolGuardError(f"JSON has no {key!r} array")
        buffer = buffer[-len(marker) :] + more
    buffer = buffer[buffer.index(marker) + len(marker) :]
    expected = ":"
    while expected:
        buffer = buffer.lstrip()
        if not buffer:
            buffer = handle.read(chunk)
            if not buffer:
                raise IdolGuardError(f"truncated JSON after {key!r}")
            continue
        if not buffer.startswith(expected):
            raise IdolGuardError(f"{key!r} is not an array")
        buffer = buffer[1:]
        expected = "[" if expected == ":" else ""
    number = 0
    pos = 0
    separators = " \t\r\n,"
    while True:
        while True:
            while pos < len(buffer) and buffer[pos] in separators:
                pos += 1
            if pos < len(buffer):
                break
            buffer, pos = handle.read(chunk), 0
            if not buffer:
                raise IdolGuardError(f"truncated JSON: {key!r} array never closes")
        if buffer[pos] == "]":
            return
        while True:
            try:
                item, end = decoder.raw_decode(buffer, pos)
                break
            except json.JSONDecodeError as exc:
                more = handle.read(chunk)
                if not more or len(buffer) - pos > 4 * chunk:
                    raise IdolGuardError(f"malformed JSON in record {number + 1}: {exc.msg}") from exc
                buffer, pos = buffer[pos:] + more, 0
        number += 1
        yield number, item
        pos = end


def _iter_stopncii(handle: TextIO) -> Iterator[tuple[int, str, str]]:
    for number, record in _iter_json_array(handle, "hashRecords"):
        if not isinstance(record, dict):
            yield number, "", "\x00record is not an object"
            continue
        signal_type = str(record.get("signalType", ""))
        kind = STOPNCII_TYPES.get(signal_type)
        if kind is None:
            yield number, "", f"\x00unsupported StopNCII signalType {signal_type!r}"
            continue
        yield number, kind, str(record.get("hashValue", ""))


def iter_signals(handle: TextIO, fmt: str) -> Iterator[tuple[int, str, str]]:
    if fmt == "threatexchange":
        return _iter_threatexchange(handle)
    if fmt == "csv":
        return _iter_csv(handle)
    if fmt == "stopncii-json":
        return _iter_stopncii(handle)
    raise IdolGuardError(f"format must be one of {', '.join(FORMATS)}")


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
            raise IdolGuardError(f"{path} is not UTF-8 text: {exc}") from exc


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
    if fmt not in FORMATS:
        raise IdolGuardError(f"format must be one of {', '.join(FORMATS)}")
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
    counts: dict[str, int] = {}
    video_md5 = _video_md5s(ws, bank) if fmt != "csv" else set()

    def count(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    if fmt == "threatexchange":
        for entry in _entries(ws, bank):
            if entry.signal_type == "pdq":
                out.write(f"pdq {entry.value}\n")
            elif entry.signal_type == "md5" and entry.value in video_md5:
                out.write(f"video_md5 {entry.value}\n")
            elif entry.signal_type == "vpdq":
                features = [vpdq.VpdqFeature.from_list(f) for f in entry.frames or []]
                out.write(f"vpdq {vpdq.to_threatexchange(features)}\n")
            else:
                count(f"skipped_{entry.signal_type}")
                continue
            count(entry.signal_type)
    elif fmt == "stopncii-json":
        out.write('{"hashRecords": [')
        first = True
        for entry in _entries(ws, bank):
            if entry.signal_type == "pdq":
                kind = "ImagePDQ"
            elif entry.signal_type == "md5" and entry.value in video_md5:
                kind = "VideoMD5"
            else:
                count(f"skipped_{entry.signal_type}")
                continue
            record = {
                "signalType": kind,
                "hashValue": entry.value,
                "hashStatus": "Active",
                "caseNumbers": stopncii_case_numbers(entry),
            }
            out.write(("" if first else ",") + "\n" + json.dumps(record))
            first = False
            count(entry.signal_type)
        written = sum(v for k, v in counts.items() if not k.startswith("skipped_"))
        out.write(f'\n], "count": {written}, "hasMoreRecords": false}}\n')
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["signal_type", "signal", "quality"])
        for entry in _entries(ws, bank):
            if entry.signal_type == "pdq_face":  # only meaningful next to our own originals: never leaves
                count("skipped_pdq_face")
                continue
            if entry.signal_type == "vpdq":
                features = [vpdq.VpdqFeature.from_list(f) for f in entry.frames or []]
                writer.writerow(["vpdq", vpdq.to_threatexchange(features), ""])
            else:
                writer.writerow([entry.signal_type, entry.value, entry.quality if entry.quality is not None else ""])
            count(entry.signal_type)
    else:
        raise IdolGuardError(f"format must be one of {', '.join(FORMATS)}")
    return counts


def stopncii_case_numbers(entry: BankEntry) -> dict[str, str]:
    """StopNCII's ``caseNumbers`` map for an entry: the case reference given at ``bank add --case`` (so a
    platform acting on the hash can quote the agency's case), keyed by issuer. Imported entries carry the
    partner's list, not a case of ours: empty."""
    if entry.source_kind == "import" or not entry.source_ref:
        return {}
    return {"idolguard": entry.source_ref}


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
            "hashes.export",
            details={"bank": bank, "format": fmt, "counts": counts, "export_sha256": digest, "reason": reason},
        )
    return {"path": str(dest), "format": fmt, "sha256": digest, "counts": counts}
