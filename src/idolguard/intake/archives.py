"""Reading .zip submissions without trusting them.

Members are streamed straight into the vault, never extracted onto the filesystem, so a hostile name cannot
write anywhere; names with ``..``, absolute paths, drive letters and symbolic-link members are still refused
and reported, because an archive built that way is itself a finding. Zip bombs are stopped by an entry-count
limit, a per-entry compression-ratio limit, a total-size limit, and by counting real decompressed bytes (the
sizes in the directory can lie).
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from idolguard.config import Limits
from idolguard.errors import ErrorCode, RejectedInput


@dataclass
class Member:
    name: str
    info: zipfile.ZipInfo | None
    problem: str | None = None


# Why one member was not stored, by code: the English is what the runner stores as the member's error (plain text),
# and readers get the code and values back with ``coded_text.recognise`` (the upload job's page says it in the
# reader's language; the CLI has the same sentences as templates in ``locales/cli/errors.ko.po``).
MEMBER_FORMS: tuple[tuple[str, str], ...] = (
    ("archive.member_name", "empty member name"),
    ("archive.member_path", "absolute path in archive member name"),
    ("archive.member_path", "path traversal ('..') in archive member name"),
    ("archive.member_name", "NUL byte in archive member name"),
    ("archive.member_link", "symbolic link member: not followed"),
    ("archive.member_encrypted", "encrypted member: cannot be read without its password"),
    ("input.empty", "empty file (0 bytes): nothing to preserve"),
    ("archive.member_too_large", "member declares {size} bytes, over the per-file limit"),
    ("archive.member_ratio", "compression ratio {ratio}:1 over the limit of {limit}:1 (zip bomb?)"),
    ("archive.total_size", "archive expands beyond the total-size limit (zip bomb?)"),
)


def _said(index: int, **values: object) -> str:
    """The English of ``MEMBER_FORMS[index]`` filled in (so the stored text always matches its form)."""
    return MEMBER_FORMS[index][1].format(**values)


def unsafe_name_reason(name: str) -> str | None:
    if not name:
        return _said(0)
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return _said(1)
    if ".." in PurePosixPath(normal).parts:
        return _said(2)
    if "\x00" in name:
        return _said(3)
    return None


RATIO_FLOOR = 64 * 1024  # smaller members may compress well legitimately (text, tiny images)


def list_members(archive: zipfile.ZipFile, limits: Limits, archive_size: int | None = None) -> Iterator[Member]:
    infos = archive.infolist()
    if len(infos) > limits.zip_max_entries:
        raise RejectedInput(
            f"archive has {len(infos)} entries, over the limit of {limits.zip_max_entries}",
            code=ErrorCode.ARCHIVE_ENTRIES,
            count=len(infos),
            limit=limits.zip_max_entries,
        )
    if archive_size:
        # Many members each just under a per-member check still add up: bound the archive as a whole too.
        declared = sum(info.file_size for info in infos if not info.is_dir())
        if declared > RATIO_FLOOR and declared / archive_size > limits.zip_max_ratio:
            raise RejectedInput(
                f"archive declares {declared} bytes from {archive_size} "
                f"({declared / archive_size:.0f}:1, over the limit of {limits.zip_max_ratio}:1; zip bomb?)",
                code=ErrorCode.ARCHIVE_BOMB,
                ratio=round(declared / archive_size),
                limit=limits.zip_max_ratio,
            )
    declared_total = 0
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        reason = unsafe_name_reason(name)
        mode = info.external_attr >> 16
        if reason is None and stat.S_ISLNK(mode):
            reason = _said(4)
        if reason is None and info.flag_bits & 0x1:
            reason = _said(5)
        if reason is None and info.file_size == 0:
            reason = _said(6)
        if reason is None and info.file_size > limits.max_file_bytes:
            reason = _said(7, size=info.file_size)
        if reason is None and info.file_size > RATIO_FLOOR:
            ratio = info.file_size / max(1, info.compress_size)
            if ratio > limits.zip_max_ratio:
                reason = _said(8, ratio=f"{ratio:.0f}", limit=limits.zip_max_ratio)
        if reason is None:
            declared_total += info.file_size
            if declared_total > limits.zip_max_total_bytes:
                reason = _said(9)
        yield Member(name, info, reason)


class CappedReader:
    """Wraps a member stream and stops at the declared size, whatever the compressed data says."""

    def __init__(self, raw: IO[bytes], cap: int, label: str) -> None:
        self._raw = raw
        self._cap = cap
        self._seen = 0
        self._label = label

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size if size > 0 else 1 << 20)
        self._seen += len(chunk)
        if self._seen > self._cap:
            raise RejectedInput(
                f"{self._label}: decompresses beyond its declared size (zip bomb?)",
                code=ErrorCode.ARCHIVE_MEMBER_BOMB,
                name=self._label,
            )
        return chunk


def open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RejectedInput(f"corrupt or unreadable zip archive: {exc}", code=ErrorCode.ARCHIVE_CORRUPT) from exc
