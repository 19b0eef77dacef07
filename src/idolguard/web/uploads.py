"""Receiving uploads: streamed to disk under ``HOME/uploads/JOB`` with size limits; the client's file name is
only ever a label (never a path), so ``../`` or absolute names cannot escape the folder.

When the vault is encrypted at rest, the spool is too: each file is written through the vault's streaming
AES-GCM (``evidence.crypto``) as it arrives, so an upload waiting for its job, or one cut off by a crash,
never sits on disk as a plaintext original (and the multipart parts it is read from are sealed too:
``sealed_form.py``). The job decrypts it to private memory-backed storage to ingest, a group of files at a
time (``groups``: about ``DECRYPT_GROUP_BYTES`` of plaintext, or one larger file), so the memory an upload
takes is bounded by the group size or the largest file, not the whole upload. The decrypted copies are
anonymous sealed memory files (``evidence.plaintext``): no plaintext original has a name in any filesystem.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from idolguard.evidence import crypto

MAX_FILES = 1000
MAX_TOTAL_BYTES = 2 * 1024**3
CHUNK = 1024 * 1024
DECRYPT_GROUP_BYTES = 64 * 1024 * 1024  # plaintext decrypted to memory at once by an upload job
SAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


class TooLarge(Exception):
    pass


MAX_NAME_BYTES = 200  # of the stored name's base: file systems cap a name at 255 bytes, not characters


def _fit(text: str, limit: int) -> str:
    """The last characters of ``text`` that fit in ``limit`` bytes of UTF-8 (never half a character)."""
    return text.encode("utf-8")[-limit:].decode("utf-8", errors="ignore")


def safe_name(index: int, client_name: str) -> str:
    """``0007-name.jpg``: the base name only, control and path characters replaced, length capped in bytes.

    The cap is in UTF-8 bytes because file systems count bytes: 120 Hangul syllables (360 bytes) made
    ``open`` fail with "File name too long" and left the upload job receiving forever. The end of the name
    (the extension, which decoders and readers go by) is kept."""
    base = unicodedata.normalize("NFC", client_name.replace("\\", "/").split("/")[-1])
    base = SAFE.sub("_", base).strip("._") or "file"
    return f"{index:04d}-{_fit(base, MAX_NAME_BYTES).lstrip('._') or 'file'}"


@dataclass
class Received:
    files: list[str] = field(default_factory=list)  # stored names, in order
    display: dict[str, str] = field(default_factory=dict)  # stored name -> the client's name (label only)
    size: int = 0


def store(
    folder: Path, parts: list[tuple[str, BinaryIO]], max_total: int = MAX_TOTAL_BYTES, key: bytes | None = None
) -> Received:
    """Spool ``parts`` into ``folder``; with ``key`` (the vault key) every file is written encrypted."""
    folder.mkdir(parents=True, exist_ok=True)
    got = Received()
    if len(parts) > MAX_FILES:
        raise TooLarge(f"at most {MAX_FILES} files per upload")

    def chunks(handle: BinaryIO) -> Iterator[bytes]:
        while chunk := handle.read(CHUNK):
            got.size += len(chunk)
            if got.size > max_total:
                raise TooLarge("upload over the size limit")
            yield chunk

    for index, (client_name, handle) in enumerate(parts):
        name = safe_name(index, client_name or "file")
        target = folder / name
        assert target.parent == folder
        try:
            with open(target, "wb") as out:
                if key is not None:
                    crypto.encrypt_stream(key, chunks(handle), out)
                else:
                    for chunk in chunks(handle):
                        out.write(chunk)
        except TooLarge:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        got.files.append(name)
        got.display[name] = (client_name or "file")[:255]
    return got


def groups(folder: Path, names: list[str], budget: int = DECRYPT_GROUP_BYTES) -> Iterator[list[str]]:
    """``names`` in order, cut into groups of about ``budget`` bytes (by spooled size; a file larger than the
    budget is a group of its own; missing files are skipped)."""
    group: list[str] = []
    size = 0
    for name in names:
        try:
            length = (folder / name).stat().st_size
        except FileNotFoundError:
            continue
        if group and size + length > budget:
            yield group
            group, size = [], 0
        group.append(name)
        size += length
    if group:
        yield group


@contextmanager
def readable(folder: Path, names: list[str], key: bytes | None, plain_tmp: Path) -> Iterator[dict[Path, Path]]:
    """Paths a scan can read for the spooled ``names``: the files themselves, or, when the spool is
    encrypted, private decrypted copies with no name in any filesystem (``evidence.plaintext``: anonymous sealed
    memory files, gone when the block ends or the process dies; named files in ``plain_tmp`` only where those
    are unavailable, removed by ``Vault.clean_tmp`` after a crash: the names carry this process id). Each copy
    keeps the spooled file's modification time. Maps each readable path to the spooled path it stands for."""
    from idolguard.evidence.plaintext import plaintext_path

    mapping: dict[Path, Path] = {}
    with ExitStack() as copies:
        for name in names:
            spooled = folder / name
            if not spooled.exists():
                continue
            if key is None or not crypto.is_encrypted_file(spooled):
                mapping[spooled] = spooled
                continue
            handle = copies.enter_context(open(spooled, "rb"))
            plain = copies.enter_context(
                plaintext_path(
                    crypto.decrypt_stream(key, handle, f"upload {name}"),
                    lambda: plain_tmp,
                    prefix="upload",
                    suffix=f"-{name}",
                    mtime=spooled.stat().st_mtime,
                )
            )
            handle.close()
            mapping[plain] = spooled
        yield mapping
