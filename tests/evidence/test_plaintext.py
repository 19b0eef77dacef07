"""Decrypted copies handed to decoders have no name in any filesystem: an encrypted vault's ``materialize``
gives ``/proc/<pid>/fd/<n>`` of an anonymous, sealed, owner-read-only memory file that PIL, OpenCV and PyAV
read, that worker processes (forked or spawned) open by the same path, and that a crash (SIGKILL) leaves
nothing of. Without memory files (``IDOLGUARD_PLAINTEXT_MEMFD=0``) the named fallback in ``plain_tmp`` is used."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from idolguard.evidence import plaintext
from idolguard.evidence.vault import Vault
from tests.conftest import jpeg_bytes, run_until_killed

pytestmark = pytest.mark.skipif(not plaintext.memfd_available(), reason="needs memfd_create and /proc")


def _video() -> bytes:
    """A short benign MP4 (flat grey frames) made with PyAV."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for n in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), n * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _named_copies(marker: bytes, *folders: Path) -> list[Path]:
    """Regular files under ``folders`` that hold ``marker`` (a slice of the plaintext)."""
    found = []
    for folder in folders:
        for path in folder.rglob("*") if folder.is_dir() else []:
            try:
                if path.is_file() and marker in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def _watched(vault: Vault) -> list[Path]:
    """Where a named plaintext copy would be: memory-backed storage and the vault (with its tmp/)."""
    return [Path("/dev/shm"), vault.root]


def _unique_jpeg(seed: int) -> tuple[bytes, bytes]:
    """A JPEG with random bytes after its end marker (decoders ignore them), and those bytes: a marker no
    other file on this machine holds."""
    tail = os.urandom(4096)
    return jpeg_bytes(seed) + tail, tail[:256]


def _sha_of(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _still_held(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:idolguard")
    except OSError:
        return False


def test_materialized_copy_is_nameless_sealed_and_decodable(tmp_path: Path) -> None:
    import av
    import cv2

    vault = Vault(tmp_path / "vault", key=os.urandom(32))
    (image, marker), video = _unique_jpeg(7), _video()
    image_sha, video_sha = vault.put_bytes(image).sha256, vault.put_bytes(video).sha256
    with vault.materialize(image_sha) as path:
        assert str(path).startswith(f"/proc/{os.getpid()}/fd/")
        assert os.readlink(path).startswith("/memfd:idolguard")
        assert _named_copies(marker, *_watched(vault)) == []  # no plaintext with a name anywhere
        assert _sha_of(str(path)) == image_sha
        with Image.open(path) as img:
            assert img.size == (320, 240)
        assert cv2.imread(str(path)).shape == (240, 320, 3)
        assert os.stat(path).st_mode & 0o777 == 0o400
        with pytest.raises(PermissionError), open(path, "ab") as out:  # sealed: a decoder cannot alter it
            out.write(b"x")
        for method in ("fork", "spawn"):  # the local runner's pool workers open the same path
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
                assert pool.submit(_sha_of, str(path)).result() == image_sha, method
    assert not path.exists()  # gone with the block
    with vault.materialize(video_sha) as path:
        with av.open(str(path)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 5
        capture = cv2.VideoCapture(str(path))
        assert capture.isOpened() and capture.read()[0]
        capture.release()


def test_forked_child_does_not_keep_the_copy(tmp_path: Path) -> None:
    """A process forked while a copy is open closes its inherited descriptor at once (its memory is freed
    when the owner's block ends, not when some long-lived worker exits), yet can still open it by path."""
    vault = Vault(tmp_path / "vault", key=os.urandom(32))
    sha = vault.put_bytes(jpeg_bytes(8)).sha256
    context = multiprocessing.get_context("fork")
    with vault.materialize(sha) as path:
        fd = int(path.name)
        assert _still_held(fd)
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            assert pool.submit(_still_held, fd).result() is False
            assert pool.submit(_sha_of, str(path)).result() == sha


KILLED_WHILE_DECODING = """
import os, signal, sys
from pathlib import Path
from idolguard.evidence.vault import Vault

vault = Vault(Path(sys.argv[1]), key=bytes.fromhex(sys.argv[2]))
with vault.materialize(sys.argv[3]) as path:
    open(path, "rb").read()
    os.kill(os.getpid(), signal.SIGKILL)  # a decoder crashing the process mid-item
"""


def test_killed_process_leaves_no_plaintext_behind(tmp_path: Path) -> None:
    key = os.urandom(32)
    vault = Vault(tmp_path / "vault", key=key)
    image, marker = _unique_jpeg(9)
    sha = vault.put_bytes(image).sha256
    run_until_killed(KILLED_WHILE_DECODING, str(vault.root), key.hex(), sha)
    assert _named_copies(marker, *_watched(vault)) == []


def test_fallback_without_memory_files_is_a_private_named_copy(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(plaintext.ENV_SWITCH, "0")
    assert not plaintext.memfd_available()
    vault = Vault(tmp_path / "vault", key=os.urandom(32))
    image = jpeg_bytes(10)
    sha = vault.put_bytes(image).sha256
    with vault.materialize(sha) as path:
        assert path.parent == vault.plain_tmp and path.name.startswith(f"view-{os.getpid()}-")
        assert path.stat().st_mode & 0o777 == 0o600 and _sha_of(str(path)) == sha
    assert not path.exists()
