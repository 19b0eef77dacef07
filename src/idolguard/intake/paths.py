"""Walking submitted paths safely and naming files in output even when their names are not UTF-8."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def display_name(path: str | os.PathLike[str]) -> str:
    """Printable form of a path: undecodable bytes become \\xNN escapes instead of breaking JSON or terminals."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def raw_name_hex(path: str | os.PathLike[str]) -> str | None:
    """The exact bytes of a non-UTF-8 name, hex-encoded, so the original name is never lost."""
    raw = os.fsencode(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.hex()
    return None


@dataclass(frozen=True)
class Found:
    path: Path
    problem: str | None = None  # set when the entry is refused without reading it


def walk(paths: list[Path]) -> Iterator[Found]:
    """Files under the given paths in a stable order. Symbolic links are reported, not followed."""
    for root in paths:
        try:
            info = os.lstat(root)
        except OSError as exc:
            yield Found(root, f"cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk_dir(root)
        elif stat.S_ISREG(info.st_mode) or (stat.S_ISLNK(info.st_mode) and root.is_file()):
            yield Found(root)  # a link named explicitly by the user is their choice to follow
        else:
            yield Found(root, "not a regular file")


def _walk_dir(root: Path) -> Iterator[Found]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Found(root, f"cannot list folder: {exc.strerror or exc}")
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink():
            yield Found(path, "symbolic link inside a submitted folder: not followed")
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk_dir(path)
        elif entry.is_file(follow_symlinks=False):
            yield Found(path)
        else:
            yield Found(path, "not a regular file")
