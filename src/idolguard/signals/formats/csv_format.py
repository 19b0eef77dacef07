"""``csv``: ``signal_type,signal,quality`` with a header (HMA-style; ``hash``/``value`` accepted as the
signal column on import)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.signals.formats.base import ExchangeFormat, counter


class CsvFormat(ExchangeFormat):
    name = "csv"
    description = "signal_type,signal,quality with a header"

    def read(self, handle: TextIO) -> Iterator[tuple[int, str, str]]:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        columns = [h.strip().lower() for h in header]
        try:
            signal_col = next(columns.index(n) for n in ("signal", "hash", "value", "hash_value") if n in columns)
        except StopIteration:
            raise IdolGuardError(
                "CSV header needs a 'signal' (or 'hash'/'value') column", code=ErrorCode.HASHES_CSV_HEADER
            ) from None
        type_col = columns.index("signal_type") if "signal_type" in columns else None
        for number, row in enumerate(reader, 2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                yield number, "", f"\x00wrong number of columns ({len(row)}, header has {len(columns)})"
                continue
            yield number, row[type_col] if type_col is not None else "pdq", row[signal_col]

    def write(self, entries: Iterable[Any], out: TextIO, is_video_md5: Callable[[Any], bool]) -> dict[str, int]:
        from idolguard.signals import types

        counts, count = counter()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["signal_type", "signal", "quality"])
        for entry in entries:
            signal_type = types.all_types().get(entry.signal_type)
            if signal_type is None or not signal_type.exportable:
                count(f"skipped_{entry.signal_type}")
                continue
            quality = entry.quality if entry.quality is not None and signal_type.name != "vpdq" else ""
            writer.writerow([entry.signal_type, signal_type.export_value(entry), quality])
            count(entry.signal_type)
        return counts
