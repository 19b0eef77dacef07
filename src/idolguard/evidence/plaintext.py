"""Decrypted copies for decoders that need a path, with no name in any filesystem.

Decoders (PIL, OpenCV, PyAV/FFmpeg, zipfile) open files by path, so analysing an encrypted object needs its
plaintext somewhere a path reaches. A named file (even in memory-backed ``/dev/shm``) can be listed and opened
by anything running as the same user while it exists, and one left by a killed process stays until a later
``Vault.clean_tmp``. Here the plaintext goes into an anonymous memory file instead (``memfd_create``): it has no
name in any directory, is close-on-exec (a program started by this one does not inherit it), is sealed
against writes, growth and shrinking once filled (a decoder cannot alter the evidence it reads), is readable
only by its owner (mode 0400), and disappears with its last descriptor, so a crash (even SIGKILL) leaves
nothing behind.

Decoders get ``/proc/<pid>/fd/<n>``: opening it opens the memory file itself. The path names this process's id,
not ``/proc/self``, so a worker process of this one (``ProcessPoolExecutor`` in the local runner) opens it the
same way while the owner holds it. A forked child closes its inherited copies at once (``os.register_at_fork``),
so a worker forked while a copy was open does not keep its memory alive.

Fallback (no ``memfd_create``, no ``/proc``, or ``IDOLGUARD_PLAINTEXT_MEMFD=0``): a private named file in the
caller's folder (the vault's ``plain_tmp``: ``/dev/shm`` where the system has it), its name carrying the process
id so ``Vault.clean_tmp`` removes it after a crash. That is the exposure this module exists to avoid, so it is
only the fallback; ``memfd_available`` says which one is used.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_SWITCH = "IDOLGUARD_PLAINTEXT_MEMFD"
SEALS = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL
_HELD: set[int] = set()  # descriptors of memory files this process holds open


def _close_inherited() -> None:
    """In a forked child: drop the copies of the parent's memory files (it reaches them by path if needed)."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_close_inherited)


def memfd_available() -> bool:
    """Whether plaintext copies are anonymous memory files here (else named files in the fallback folder)."""
    return os.environ.get(ENV_SWITCH, "1") != "0" and hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir()


@contextmanager
def plaintext_path(
    chunks: Iterable[bytes],
    fallback_dir: Callable[[], Path],
    *,
    prefix: str,
    suffix: str = "",
    mtime: float | None = None,
) -> Iterator[Path]:
    """A path to a read-only plaintext copy of ``chunks`` for the duration of the block (see the module
    docstring). ``mtime`` sets the copy's modification time; ``fallback_dir`` is only called for the fallback,
    whose file is named ``PREFIX-PID-...SUFFIX``."""
    if memfd_available():
        try:
            fd = os.memfd_create(f"idolguard-{prefix}", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        except OSError:
            fd = -1  # e.g. refused by a seccomp profile: the fallback below
        if fd >= 0:
            _HELD.add(fd)
            try:
                with open(fd, "wb", closefd=False) as out:
                    for chunk in chunks:
                        out.write(chunk)
                if mtime is not None:
                    os.utime(fd, (mtime, mtime))
                fcntl.fcntl(fd, fcntl.F_ADD_SEALS, SEALS)
                os.fchmod(fd, 0o400)
                yield Path(f"/proc/{os.getpid()}/fd/{fd}")
            finally:
                _HELD.discard(fd)
                os.close(fd)
            return
    handle, name = tempfile.mkstemp(dir=fallback_dir(), prefix=f"{prefix}-{os.getpid()}-", suffix=suffix)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        if mtime is not None:
            os.utime(name, (mtime, mtime))
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
