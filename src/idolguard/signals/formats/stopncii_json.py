"""``stopncii-json``: ``{"hashRecords": [{"signalType": "ImagePDQ"|"VideoMD5", "hashValue": ...}], "count": N}``,
the record shape of StopNCII's hash API. Read one record at a time (a huge file never sits in memory)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.signals.formats.base import ExchangeFormat, counter, exported_name


def case_numbers(entry: Any) -> dict[str, str]:
    """StopNCII's ``caseNumbers`` map for an entry: the case reference given at ``bank add --case`` (so a
    platform acting on the hash can quote the agency's case), keyed by issuer. Imported entries carry a
    partner's list, not a case of ours: empty."""
    if getattr(entry, "source_kind", None) == "import" or not getattr(entry, "source_ref", None):
        return {}
    return {"idolguard": str(entry.source_ref)}


def iter_json_array(handle: TextIO, key: str, chunk: int = 1 << 16) -> Iterator[tuple[int, Any]]:
    """Items of the top-level ``key`` array of a JSON object, decoded one at a time (no full load)."""
    decoder = json.JSONDecoder()
    buffer = ""
    marker = f'"{key}"'
    while marker not in buffer:
        more = handle.read(chunk)
        if not more:
            raise IdolGuardError(f"JSON has no {key!r} array", code=ErrorCode.HASHES_JSON)
        buffer = buffer[-len(marker) :] + more
    buffer = buffer[buffer.index(marker) + len(marker) :]
    expected = ":"
    while expected:
        buffer = buffer.lstrip()
        if not buffer:
            buffer = handle.read(chunk)
            if not buffer:
                raise IdolGuardError(f"truncated JSON after {key!r}", code=ErrorCode.HASHES_JSON)
            continue
        if not buffer.startswith(expected):
            raise IdolGuardError(f"{key!r} is not an array", code=ErrorCode.HASHES_JSON)
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
                raise IdolGuardError(f"truncated JSON: {key!r} array never closes", code=ErrorCode.HASHES_JSON)
        if buffer[pos] == "]":
            return
        while True:
            try:
                item, end = decoder.raw_decode(buffer, pos)
                break
            except json.JSONDecodeError as exc:
                more = handle.read(chunk)
                if not more or len(buffer) - pos > 4 * chunk:
                    raise IdolGuardError(
                        f"malformed JSON in record {number + 1}: {exc.msg}", code=ErrorCode.HASHES_JSON
                    ) from exc
                buffer, pos = buffer[pos:] + more, 0
        number += 1
        yield number, item
        pos = end


class StopnciiJsonFormat(ExchangeFormat):
    name = "stopncii-json"
    description = "StopNCII hash records (ImagePDQ, VideoMD5)"

    def read(self, handle: TextIO) -> Iterator[tuple[int, str, str]]:
        from idolguard.signals import types

        for number, record in iter_json_array(handle, "hashRecords"):
            if not isinstance(record, dict):
                yield number, "", "\x00record is not an object"
                continue
            signal_type = str(record.get("signalType", ""))
            found = types.by_stopncii_name(signal_type)
            if found is None:
                yield number, "", f"\x00unsupported StopNCII signalType {signal_type!r}"
                continue
            yield number, found.name, str(record.get("hashValue", ""))

    def write(self, entries: Iterable[Any], out: TextIO, is_video_md5: Callable[[Any], bool]) -> dict[str, int]:
        counts, count = counter()
        out.write('{"hashRecords": [')
        first = True
        for entry in entries:
            kind = exported_name(entry, "stopncii_name", is_video_md5)
            if kind is None:
                count(f"skipped_{entry.signal_type}")
                continue
            record = {
                "signalType": kind,
                "hashValue": entry.value,
                "hashStatus": "Active",
                "caseNumbers": case_numbers(entry),
            }
            out.write(("" if first else ",") + "\n" + json.dumps(record))
            first = False
            count(entry.signal_type)
        written = sum(v for k, v in counts.items() if not k.startswith("skipped_"))
        out.write(f'\n], "count": {written}, "hasMoreRecords": false}}\n')
        return counts
