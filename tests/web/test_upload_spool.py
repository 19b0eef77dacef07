"""Uploads waiting for their job in an encrypted workspace are never plaintext originals on disk: the spool is
written through the vault key as it streams in, decrypted only to private memory-backed storage when the
job ingests, and removed once the vault holds the originals."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from idolguard.db.models import Sighting
from idolguard.evidence import crypto
from idolguard.web import jobs, uploads
from idolguard.web.models import Job
from idolguard.workspace import Workspace, init_workspace

from .conftest import STRONG, make_user, sign_in
from .test_jobs import jpeg, upload, wait_done

JPEG_MAGIC = b"\xff\xd8\xff"


@pytest.fixture
def app_ws(tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    if db_url:
        monkeypatch.setenv("IDOLGUARD_DB_URL", db_url)
    else:
        monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "enc"
    init_workspace(home, encrypt=True)
    ws = Workspace.open(home)
    assert ws.vault.encrypted
    yield ws
    ws.close()


def assert_not_plaintext(path: Path, original: bytes) -> None:
    data = path.read_bytes()
    assert crypto.is_encrypted_file(path), f"{path.name} is not in the vault's encrypted format"
    assert JPEG_MAGIC not in data and original[:64] not in data and original[-64:] not in data


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
    background = jobs.InProcessWorker(app_ws)
    background.start()
    try:
        state = wait_done(client, job_id)
    finally:
        background.stop()
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
