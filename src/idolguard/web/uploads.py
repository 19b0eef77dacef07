"""Receiving uploads: streamed to disk under ``HOME/uploads/JOB`` with size limits; the client's file name is
only ever a label (never a path), so ``../`` or absolute names cannot escape the folder."""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MAX_FILES = 1000
MAX_TOTAL_BYTES = 2 * 1024**3
CHUNK = 1024 * 1024
SAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


class TooLarge(Exception):
    pass


def safe_name(index: int, client_name: str) -> str:
    """``0007-name.jpg``: the base name only, control and path characters replaced, length capped."""
    base = unicodedata.normalize("NFC", client_name.replace("\\", "/").split("/")[-1])
    base = SAFE.sub("_", base).strip("._") or "file"
    return f"{index:04d}-{base[-120:]}"


@dataclass
class Received:
    files: list[str] = field(default_factory=list)  # stored names, in order
    display: dict[str, str] = field(default_factory=dict)  # stored name -> the client's name (label only)
    size: int = 0


def store(folder: Path, parts: list[tuple[str, BinaryIO]], max_total: int = MAX_TOTAL_BYTES) -> Received:
    folder.mkdir(parents=True, exist_ok=True)
    got = Received()
    if len(parts) > MAX_FILES:
        raise TooLarge(f"at most {MAX_FILES} files per upload")
    for index, (client_name, handle) in enumerate(parts):
        name = safe_name(index, client_name or "file")
        target = folder / name
        assert target.parent == folder
        with open(target, "wb") as out:
            while chunk := handle.read(CHUNK):
                got.size += len(chunk)
                if got.size > max_total:
                    out.close()
                    shutil.rmtree(folder, ignore_errors=True)
                    raise TooLarge("upload over the size limit")
                out.write(chunk)
        got.files.append(name)
        got.display[name] = (client_name or "file")[:255]
    return got
