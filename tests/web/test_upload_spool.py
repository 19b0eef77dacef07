"""Uploads waiting for their job in an encrypted workspace are never plaintext originals on disk: the spool is
written through the vault key as it streams in, decrypted only to private memory-backed storage when the
job ingests, and removed once the vault holds the originals."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idolguard.db.models import Sighting
from idolguard.evidence import crypto
from idolguard.web import jobs, uploads
from idolguard.web.models import Job
from idolguard.workspace import Workspace

from .conftest import STRONG, encrypted_workspace, make_user, page_csrf, sign_in
from .test_jobs import jpeg, run_job, upload

JPEG_MAGIC = b"\xff\xd8\xff"


@pytest.fixture
def app_ws(tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    ws = encrypted_workspace(tmp_path, db_url, monkeypatch)
    yield ws
    ws.close()


def assert_not_plaintext(path: Path, original: bytes) -> None:
    data = path.read_bytes()
    assert crypto.is_encrypted_file(path), f"{path.name} is not in the vault's encrypted format"
    # Not "JPEG_MAGIC not in data": 3 given bytes turn up by chance in a few MiB of ciphertext (~1 run in 8).
    assert not data.startswith(JPEG_MAGIC) and original[:64] not in data and original[-64:] not in data


def plaintext_copies(ws: Workspace) -> list[str]:
    """Decrypted upload copies this process holds: anonymous memory files (``evidence.plaintext``), plus named
    files in ``plain_tmp`` (the fallback where memory files are unavailable)."""
    held = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("/memfd:idolguard-upload"):
            held.append(target)
    return held + [p.name for p in ws.vault.plain_tmp.iterdir() if p.name.startswith("upload-")]


def test_upload_job_copies_have_no_name(client, app_ws, monkeypatch):  # type: ignore[no-untyped-def]
    """While the job ingests, the decrypted copies are anonymous memory files (``/proc/PID/fd/N``): no named
    plaintext file exists in /dev/shm, the vault or the spool; the sightings still name the spooled upload."""
    from idolguard.evidence import plaintext
    from idolguard.pipeline import scan

    if not plaintext.memfd_available():
        pytest.skip("needs memfd_create and /proc")
    tail = os.urandom(2048)
    original = jpeg(40) + tail  # bytes after the JPEG end marker: a marker no other file holds
    named: list[list[Path]] = []
    real = scan.scan_paths

    def watching(ws, paths, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert all(str(p).startswith(f"/proc/{os.getpid()}/fd/") for p in paths), paths
        found = []
        for folder in (Path("/dev/shm"), app_ws.home):
            for path in folder.rglob("*"):
                try:
                    if path.is_file() and tail[:256] in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
        named.append(found)
        return real(ws, paths, *args, **kwargs)

    monkeypatch.setattr(scan, "scan_paths", watching)
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    job_id = int(upload(client, [("a.jpg", original)], platform="y").headers["location"].rsplit("/", 1)[1])
    state = run_job(client, app_ws, job_id)
    assert state["state"] == "done" and state["done"] == 1, state
    assert named == [[]]
    with app_ws.sessions() as session:
        [sighting] = list(session.scalars(select(Sighting).where(Sighting.platform == "y")))
    assert Path(sighting.source_path).parent == jobs.uploads_dir(app_ws, job_id)
    assert Path(sighting.source_path).name == "0000-a.jpg"


def test_spooled_upload_is_encrypted_then_ingested_and_removed(client, app_ws):  # type: ignore[no-untyped-def]
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    originals = {"one.jpg": jpeg(11), "two.jpg": jpeg(12)}
    # No worker yet: the upload waits in the spool, as it would behind a busy queue.
    response = upload(client, list(originals.items()), platform="x")
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    spool = jobs.uploads_dir(app_ws, job_id)
    spooled = sorted(spool.iterdir())
    assert [p.name for p in spooled] == ["0000-one.jpg", "0001-two.jpg"]
    for path, original in zip(spooled, originals.values(), strict=True):
        assert_not_plaintext(path, original)
    state = run_job(client, app_ws, job_id)
    assert state["state"] == "done" and state["done"] == 2, state
    assert not spool.exists()  # the vault holds the originals now
    leftovers = [p for p in app_ws.vault.plain_tmp.iterdir() if p.name.startswith("upload-")]
    assert leftovers == []  # the decrypted copies are gone too
    with app_ws.sessions() as session:
        results = session.get(Job, job_id).results
        sightings = list(session.scalars(select(Sighting).where(Sighting.platform == "x")))
    assert not any(r["error"] for r in results)
    assert {r["name"] for r in results} == set(originals)
    import hashlib

    assert {r["sha256"] for r in results} == {hashlib.sha256(b).hexdigest() for b in originals.values()}
    # The sightings name the spooled upload, not the temporary decrypted copy.
    assert sorted(Path(s.source_path).name for s in sightings) == ["0000-one.jpg", "0001-two.jpg"]
    assert all(Path(s.source_path).parent == spool for s in sightings)
    for result in results:
        assert app_ws.vault.check(result["sha256"]) is None  # stored encrypted, verifies against its hash
        assert crypto.is_encrypted_file(app_ws.vault.path_for(result["sha256"]))


def test_spool_cut_off_mid_upload_holds_only_ciphertext(tmp_path: Path) -> None:
    """A client or server dying mid-stream leaves a partial file: it is a partial ciphertext, never plaintext."""
    key = os.urandom(32)
    original = jpeg(13) + os.urandom(3 * uploads.CHUNK)  # several chunks, so some reach the disk first

    class Dying(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= 2 * uploads.CHUNK:
                raise ConnectionError("client went away")
            return super().read(size)

    folder = tmp_path / "spool"
    with pytest.raises(ConnectionError):
        uploads.store(folder, [("a.jpg", Dying(original))], key=key)
    [partial] = list(folder.iterdir())
    assert partial.stat().st_size > uploads.CHUNK  # something was written before the crash
    assert_not_plaintext(partial, original)


def test_encrypted_spool_over_the_limit_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    with pytest.raises(uploads.TooLarge):
        uploads.store(folder, [("a.jpg", io.BytesIO(jpeg(14) * 50))], max_total=10_000, key=os.urandom(32))
    assert not folder.exists()


def test_tampered_spool_is_refused_not_ingested(tmp_path: Path) -> None:
    """An altered spooled file fails authentication when the job decrypts it; nothing plaintext is left."""
    from idolguard.errors import IntegrityError

    key = os.urandom(32)
    folder = tmp_path / "spool"
    got = uploads.store(folder, [("a.jpg", io.BytesIO(jpeg(15)))], key=key)
    target = folder / got.files[0]
    data = bytearray(target.read_bytes())
    data[40] ^= 1
    target.write_bytes(bytes(data))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(IntegrityError), uploads.readable(folder, got.files, key, plain):
        pass
    assert list(plain.iterdir()) == []


def test_plain_spool_when_the_vault_is_not_encrypted(tmp_path: Path) -> None:
    original = jpeg(16)
    folder = tmp_path / "spool"
    got = uploads.store(folder, [("a.jpg", io.BytesIO(original))])
    assert (folder / got.files[0]).read_bytes() == original
    with uploads.readable(folder, got.files, None, tmp_path) as mapping:
        assert mapping == {folder / got.files[0]: folder / got.files[0]}


def noise_png(seed: int, size: tuple[int, int] = (1000, 900)) -> bytes:
    """A benign image that does not compress (random pixels): a part well over Starlette's 1 MiB spool."""
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_large_parts_are_sealed_never_spooled_in_plaintext(client, app_ws, monkeypatch):  # type: ignore[no-untyped-def]
    """Parts over 1 MiB would go to an unlinked plaintext file in /tmp with Starlette's parser; in an encrypted
    workspace they go to a sealed spool in the vault's tmp/ (ciphertext under a key only in memory)."""
    import hashlib

    import starlette.formparsers as formparsers

    from idolguard.web import sealed_form

    plain_writes: list[int] = []

    class Watched(formparsers.SpooledTemporaryFile):  # type: ignore[type-arg,misc]
        def write(self, data):  # type: ignore[no-untyped-def]
            plain_writes.append(len(data))
            return super().write(data)

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", Watched)
    sealed: list[tuple[bytes, int, Path]] = []
    real_close = sealed_form.SealedSpool.close

    def close(self):  # type: ignore[no-untyped-def]
        if not self.closed and isinstance(self._file, io.BytesIO):  # a small part: ciphertext in memory only
            sealed.append((self._file.getvalue(), 0, app_ws.vault.tmp / "(memory)"))
        elif not self.closed:  # what sat on disk for this part, read through its descriptor before it goes
            fd = self._file.fileno()
            stat = os.fstat(fd)
            sealed.append((os.pread(fd, stat.st_size, 0), stat.st_nlink, Path(os.readlink(f"/proc/self/fd/{fd}"))))
        real_close(self)

    monkeypatch.setattr(sealed_form.SealedSpool, "close", close)
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    big = noise_png(21)
    assert len(big) > 2 * 1024 * 1024
    response = upload(client, [("big.png", big), ("small.jpg", jpeg(22))], platform="x")
    assert response.status_code == 303
    assert plain_writes == [], "Starlette's plaintext spool received upload bytes"
    assert len(sealed) == 2
    for raw, links, where in sealed:
        assert links == 0 and str(where).startswith(str(app_ws.vault.tmp)), where  # nameless, inside the vault
        assert raw.startswith(crypto.MAGIC) and big[1000:1064] not in raw and big[-64:] not in raw
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    [spooled_big, _small] = sorted(jobs.uploads_dir(app_ws, job_id).iterdir())
    stored = spooled_big.read_bytes()  # (a 3-byte magic check would match random ciphertext this long by chance)
    assert crypto.is_encrypted_file(spooled_big) and big[:64] not in stored and big[-64:] not in stored
    state = run_job(client, app_ws, job_id)
    assert state["state"] == "done" and state["done"] == 2, state
    with app_ws.sessions() as session:
        results = session.get(Job, job_id).results
    assert {r["sha256"] for r in results} == {hashlib.sha256(big).hexdigest(), hashlib.sha256(jpeg(22)).hexdigest()}
    assert not any(r["error"] for r in results)


def test_upload_job_decrypts_one_group_at_a_time(client, app_ws, monkeypatch):  # type: ignore[no-untyped-def]
    """The job never holds the whole upload's plaintext in /dev/shm: with a tiny group budget, one file at a
    time (each scan sees only its own group's decrypted copies)."""
    from idolguard.pipeline import scan

    monkeypatch.setattr(uploads, "DECRYPT_GROUP_BYTES", 1)
    seen: list[int] = []
    real = scan.scan_paths

    def watching(ws, paths, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(len(plaintext_copies(app_ws)))
        assert len(paths) == seen[-1]  # each scan reads exactly its own group's copies
        return real(ws, paths, *args, **kwargs)

    monkeypatch.setattr(scan, "scan_paths", watching)
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    originals = [(f"{n}.jpg", jpeg(30 + n)) for n in range(3)]
    job_id = int(upload(client, originals, platform="x").headers["location"].rsplit("/", 1)[1])
    state = run_job(client, app_ws, job_id)
    assert state["state"] == "done" and state["done"] == 3, state
    assert seen == [1, 1, 1]
    with app_ws.sessions() as session:
        results = session.get(Job, job_id).results
    assert sorted(r["name"] for r in results) == ["0.jpg", "1.jpg", "2.jpg"] and not any(r["error"] for r in results)


def test_sealed_spool_round_trip_in_bounded_memory(tmp_path: Path) -> None:
    from idolguard.web.sealed_form import SealedSpool

    data = os.urandom(3 * crypto.SEGMENT + 12345)
    spool = SealedSpool(tmp_path)
    assert list(tmp_path.iterdir()) == []  # no name, from the start
    for start in range(0, len(data), 64 * 1024):
        spool.write(data[start : start + 64 * 1024])
        assert len(spool._writer._buffer) <= crypto.SEGMENT  # type: ignore[union-attr]
    raw = os.pread(spool._file.fileno(), len(data) * 2, 0)
    assert data[:64] not in raw and data[-64:] not in raw
    spool.seek(0)
    back = b"".join(iter(lambda: spool.read(uploads.CHUNK), b""))
    assert back == data
    spool.seek(0)
    assert spool.read() == data
    spool.close()


def test_api_upload_parts_are_sealed_too(client, app_ws, monkeypatch):  # type: ignore[no-untyped-def]
    """``POST /api/v1/uploads`` (FastAPI parses its File(...) form itself) goes through the sealed parser too."""
    import hashlib

    import starlette.formparsers as formparsers

    from idolguard.web import accounts

    plain_writes: list[int] = []

    class Watched(formparsers.SpooledTemporaryFile):  # type: ignore[type-arg,misc]
        def write(self, data):  # type: ignore[no-untyped-def]
            plain_writes.append(len(data))
            return super().write(data)

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", Watched)
    make_user(app_ws, "api", "analyst", password=STRONG)
    token = accounts.create_token(app_ws, "api", "write", "1d", by="test")
    big = noise_png(23)
    response = client.post(
        "/api/v1/uploads",
        files=[("files", ("big.png", big, "image/png"))],
        data={"platform": "x"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text
    assert plain_writes == [], "Starlette's plaintext spool received upload bytes"
    [spooled] = sorted(jobs.uploads_dir(app_ws, response.json()["id"]).iterdir())
    stored = spooled.read_bytes()
    assert crypto.is_encrypted_file(spooled) and big[:64] not in stored and big[-64:] not in stored
    with uploads.readable(spooled.parent, [spooled.name], app_ws.vault.key, app_ws.vault.plain_tmp) as plain:
        [copy] = list(plain)
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == hashlib.sha256(big).hexdigest()


def _endless_part(boundary: str, chunks: int) -> Iterator[bytes]:
    """A multipart body streamed in chunks (no Content-Length): one file part of ``chunks`` × 64 KiB."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="x.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for n in range(chunks):
        yield bytes([n % 256]) * 65536
    yield f"\r\n--{boundary}--\r\n".encode()


def test_upload_body_over_the_limit_is_cut_off_before_it_is_spooled(client, app_ws, monkeypatch):  # type: ignore[no-untyped-def]
    """FastAPI parses an API route's form before its dependencies (sign-in) run: without a body limit anyone
    could stream an endless body into the vault's filesystem. A body over ``max_upload_bytes`` (+ margin) is
    refused with 413 whether its length is declared or streamed, and at most the limit is ever spooled (a
    request that is not signed in is refused with 401 before its body is read at all)."""
    from idolguard.web import sealed_form

    app_ws.config.raw["web"] = {"max_upload_bytes": 100_000}
    spooled: list[int] = []
    real_write = sealed_form.SealedSpool.write

    def write(self, data):  # type: ignore[no-untyped-def]
        spooled.append(len(data))
        return real_write(self, data)

    monkeypatch.setattr(sealed_form.SealedSpool, "write", write)
    boundary = "b0undary"
    multipart = {"content-type": f"multipart/form-data; boundary={boundary}"}
    # Not signed in: refused (401) before the body is read (tests/web/test_upload_gate.py), nothing spooled.
    response = client.post("/api/v1/uploads", content=_endless_part(boundary, 128), headers=multipart)
    assert response.status_code == 401, response.text[:300]
    assert spooled == []
    # Signed in (a token that may upload), streamed (chunked): 8 MiB offered, refused at the limit.
    from idolguard.web import accounts

    make_user(app_ws, "tok", "analyst", password=STRONG)
    bearer = {"authorization": f"Bearer {accounts.create_token(app_ws, 'tok', 'write', '1d', by='test')}"}
    response = client.post("/api/v1/uploads", content=_endless_part(boundary, 128), headers={**multipart, **bearer})
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "too_large"
    assert sum(spooled) <= 100_000 + sealed_form.BODY_MARGIN
    # Declared over the limit: refused before a byte is read.
    body = b"".join(_endless_part(boundary, 32))
    response = client.post(
        "/api/v1/uploads", content=body, headers={**multipart, **bearer, "content-length": str(len(body))}
    )
    assert response.status_code == 413 and sum(spooled) <= 100_000 + sealed_form.BODY_MARGIN
    # The web page, signed in, streamed: 413 with the message in the user's language.
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    spooled.clear()
    csrf = page_csrf(client, "/intake")
    response = client.post(
        "/intake/upload", content=_endless_part(boundary, 128), headers={**multipart, "x-csrf-token": csrf}
    )
    assert response.status_code == 413, response.text[:300]
    assert "업로드" in response.text  # the Korean message, from the catalog
    assert sum(spooled) <= 100_000 + sealed_form.BODY_MARGIN
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_many_tiny_parts_never_hold_a_descriptor_each(client, app_ws):  # type: ignore[no-untyped-def]
    """Each small part's ciphertext stays in memory (a file only past 1 MiB), so a form of hundreds of tiny
    parts cannot exhaust the process's file descriptors: run here under a descriptor limit far below the part
    count, the upload is accepted."""
    import resource

    from idolguard.web import accounts

    make_user(app_ws, "api", "analyst", password=STRONG)
    token = accounts.create_token(app_ws, "api", "write", "1d", by="test")
    parts = [("files", (f"p{n}.jpg", b"\xff\xd8tiny" + bytes([n % 256]), "image/jpeg")) for n in range(400)]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    open_now = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 150, hard))
    try:
        response = client.post("/api/v1/uploads", files=parts, headers={"authorization": f"Bearer {token}"})
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert response.status_code == 202, response.text[:300]
    assert len(sorted(jobs.uploads_dir(app_ws, response.json()["id"]).iterdir())) == 400
