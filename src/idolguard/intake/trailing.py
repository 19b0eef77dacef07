"""Data hidden after the end of an image or video (polyglots).

A JPEG viewer stops at the end-of-image marker, so a ZIP (or anything) appended after it travels unseen: the
file "is" a harmless picture and also an archive of other pictures. Each format here is walked by its own
structure (JPEG segments and entropy-coded scans, PNG chunks, GIF blocks, MP4/MOV top-level boxes) to the
offset where the format says the file ends; anything after it is reported with its size and what it looks
like. Reading is streamed and bounded; a file too damaged to walk is left to the decoders to report.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


@dataclass(frozen=True)
class Trailing:
    offset: int  # where the format's own data ends
    length: int  # bytes after it
    looks_like: str | None  # "zip", "jpeg", "png", "pdf", "rar", "7z", "gzip" or None

    def as_dict(self) -> dict[str, object]:
        return {"kind": "trailing_data", "offset": self.offset, "length": self.length, "looks_like": self.looks_like}


MAGICS = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG", "png"),
    (b"%PDF", "pdf"),
    (b"Rar!", "rar"),
    (b"7z\xbc\xaf", "7z"),
    (b"\x1f\x8b", "gzip"),
)


def find_trailing(path: Path, mime: str | None) -> Trailing | None:
    """The data after the end of the media in ``path``, or None (nothing after it, or format not walked).
    Runs of zero bytes only (padding some cameras and tools add) are not reported."""
    walkers = {
        "image/jpeg": _jpeg_end,
        "image/png": _png_end,
        "image/gif": _gif_end,
        "video/mp4": _box_end,
        "video/quicktime": _box_end,
    }
    walker = walkers.get(mime or "")
    if walker is None:
        return None
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            end = walker(handle, size)
            if end is None or end >= size:
                return None
            handle.seek(end)
            head = handle.read(64)
            if not head.strip(b"\x00") and _all_zero(handle):
                return None
    except (OSError, struct.error, ValueError):
        return None
    looks_like = next((name for magic, name in MAGICS if head.lstrip(b"\x00").startswith(magic)), None)
    return Trailing(end, size - end, looks_like)


def _all_zero(handle: BinaryIO) -> bool:
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            return True
        if chunk.strip(b"\x00"):
            return False


def _jpeg_end(handle: BinaryIO, size: int) -> int | None:
    """Walk marker segments; after each SOS, scan the entropy-coded data for the next real marker."""
    if handle.read(2) != b"\xff\xd8":
        return None
    pos = 2
    while pos < size:
        handle.seek(pos)
        marker = handle.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code == 0xFF:  # fill byte
            pos += 1
            continue
        if code == 0xD9:
            return pos + 2
        if code in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        length_bytes = handle.read(2)
        if len(length_bytes) < 2:
            return None
        (length,) = struct.unpack(">H", length_bytes)
        pos += 2 + length
        if code == 0xDA:  # start of scan: entropy-coded data follows until the next non-RST marker
            found = _scan_entropy(handle, pos, size)
            if found is None:
                return None
            pos = found
    return None


def _scan_entropy(handle: BinaryIO, pos: int, size: int) -> int | None:
    handle.seek(pos)
    carry = b""
    base = pos
    while base < size:
        chunk = handle.read(CHUNK)
        if not chunk:
            return None
        data = carry + chunk
        start = base - len(carry)
        index = 0
        while True:
            index = data.find(b"\xff", index)
            if index < 0 or index + 1 >= len(data):
                break
            following = data[index + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                index += 1
                continue
            return start + index
        carry = data[-1:] if data.endswith(b"\xff") else b""
        base += len(chunk)
    return None


def _png_end(handle: BinaryIO, size: int) -> int | None:
    if handle.read(8) != b"\x89PNG\r\n\x1a\n":
        return None
    pos = 8
    while pos + 12 <= size:
        handle.seek(pos)
        length, kind = struct.unpack(">I4s", handle.read(8))
        pos += 12 + length
        if kind == b"IEND":
            return pos
    return None


def _gif_end(handle: BinaryIO, size: int) -> int | None:
    header = handle.read(13)
    if len(header) < 13 or header[:3] != b"GIF":
        return None
    pos = 13
    flags = header[10]
    if flags & 0x80:
        pos += 3 * (2 ** ((flags & 0x07) + 1))
    while pos < size:
        handle.seek(pos)
        introducer = handle.read(1)
        if not introducer:
            return None
        if introducer == b"\x3b":
            return pos + 1
        if introducer == b"\x21":  # extension: label, then sub-blocks
            pos += 2
        elif introducer == b"\x2c":  # image descriptor (+ local colour table), LZW minimum code size
            descriptor = handle.read(9)
            if len(descriptor) < 9:
                return None
            pos += 10
            if descriptor[8] & 0x80:
                pos += 3 * (2 ** ((descriptor[8] & 0x07) + 1))
            pos += 1
        else:
            return None
        pos = _skip_sub_blocks(handle, pos, size)
        if pos is None:
            return None
    return None


def _skip_sub_blocks(handle: BinaryIO, pos: int, size: int) -> int | None:
    while pos < size:
        handle.seek(pos)
        length = handle.read(1)
        if not length:
            return None
        pos += 1 + length[0]
        if length[0] == 0:
            return pos
    return None


def _box_end(handle: BinaryIO, size: int) -> int | None:
    """ISO base media (MP4/MOV): top-level boxes back to back; the first thing that is not a box ends it."""
    pos = 0
    while pos + 8 <= size:
        handle.seek(pos)
        box_size, kind = struct.unpack(">I4s", handle.read(8))
        if not all(32 <= c < 127 for c in kind):
            return pos
        if box_size == 1:
            large = handle.read(8)
            if len(large) < 8:
                return pos
            (box_size,) = struct.unpack(">Q", large)
        elif box_size == 0:
            return size  # extends to the end of the file
        if box_size < 8:
            return pos
        if pos + box_size > size:
            return None  # a truncated box: the file is cut short, not followed by foreign data

        pos += box_size
    return pos
