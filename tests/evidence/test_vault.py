"""The vault: content addressing, write-once, atomic writes, encryption at rest."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from idolguard.errors import IntegrityError
from idolguard.evidence.crypto import SEGMENT
from idolguard.evidence.vault import SourceChanged, Vault


def test_put_is_content_addressed_and_idempotent(tmp_path: Path):
    vault = Vault(tmp_path / "v")
    data = b"evidence bytes" * 1000
    first = vault.put_bytes(data)
    second = vault.put_bytes(data)
    assert first.sha256 == hashlib.sha256(data).hexdigest() and first.created
    assert not second.created
    assert vault.read_bytes(first.sha256) == data
    assert list(vault.iter_objects()) == [first.sha256]
    assert not any(vault.tmp.iterdir()), "temp files must not be left behind"
    assert vault.path_for(first.sha256).stat().st_mode & 0o222 == 0, "objects are read-only"


def test_check_detects_flipped_byte_and_missing_object(tmp_path: Path):
    vault = Vault(tmp_path / "v")
    sha = vault.put_bytes(os.urandom(5000)).sha256
    assert vault.check(sha) is None
    path = vault.path_for(sha)
    path.chmod(0o644)
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0x01
    path.write_bytes(bytes(raw))
    assert "hashes to" in vault.check(sha)
    path.unlink()
    assert "missing" in vault.check(sha)


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 17])
def test_encrypted_roundtrip_and_ciphertext_hides_plaintext(tmp_path: Path, size: int):
    key = os.urandom(32)
    vault = Vault(tmp_path / "v", key=key)
    data = (b"PLAINTEXT-MARKER" * (size // 16 + 1))[:size]
    put = vault.put_bytes(data)
    assert put.sha256 == hashlib.sha256(data).hexdigest(), "hash is of the plaintext original"
    stored = vault.path_for(put.sha256).read_bytes()
    if size >= 16:
        assert b"PLAINTEXT-MARKER" not in stored
    assert vault.read_bytes(put.sha256) == data
    assert vault.check(put.sha256) is None
    with vault.materialize(put.sha256) as plain:
        assert plain.read_bytes() == data
    assert not any(vault.tmp.iterdir()), "decrypted temp copies are removed"


def test_encrypted_tamper_truncation_and_wrong_key_are_detected(tmp_path: Path):
    key = os.urandom(32)
    vault = Vault(tmp_path / "v", key=key)
    sha = vault.put_bytes(os.urandom(2 * SEGMENT + 10)).sha256
    path = vault.path_for(sha)
    original = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(original[: len(original) - (SEGMENT // 2)])  # drop the tail
    assert "fails authentication" in vault.check(sha)
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    assert "fails authentication" in vault.check(sha)
    path.write_bytes(original)
    assert "fails authentication" in Vault(tmp_path / "v", key=os.urandom(32)).check(sha)
    assert "no vault key is configured" in Vault(tmp_path / "v").check(sha)  # encrypted object, no key


def test_plaintext_starting_with_the_encryption_magic_stays_readable(tmp_path: Path):
    """Submitted content cannot poison the vault by starting with the encrypted-object header."""
    data = b"IGV1 this is a plaintext note, not an encrypted object" * 10
    for key in (None, os.urandom(32)):
        vault = Vault(tmp_path / f"v{key is None}", key=key)
        sha = hashlib.sha256(data).hexdigest()
        path = vault.path_for(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)  # as stored by an unencrypted vault (or before encryption was turned on)
        assert vault.read_bytes(sha) == data and vault.check(sha) is None
        with vault.materialize(sha) as plain:
            assert plain.read_bytes() == data


def test_export_rehashes_and_leaves_nothing_on_mismatch(tmp_path: Path):
    vault = Vault(tmp_path / "v")
    sha = vault.put_bytes(os.urandom(3000)).sha256
    good = tmp_path / "good.bin"
    vault.export(sha, good)
    assert hashlib.sha256(good.read_bytes()).hexdigest() == sha
    with pytest.raises(FileExistsError):
        vault.export(sha, good)
    path = vault.path_for(sha)
    path.chmod(0o644)
    path.write_bytes(b"tampered" + path.read_bytes()[8:])
    bad = tmp_path / "bad.bin"
    with pytest.raises(IntegrityError, match="no longer matches"):
        vault.export(sha, bad)
    assert not bad.exists() and not list(tmp_path.glob(".bad.bin.part-*"))


def test_encrypted_analysis_copies_stay_off_the_vault_disk(tmp_path: Path):
    vault = Vault(tmp_path / "v", key=os.urandom(32))
    sha = vault.put_bytes(b"secret original" * 100).sha256
    from idolguard.evidence.plaintext import memfd_available

    with vault.materialize(sha) as plain:
        if memfd_available():  # an anonymous memory file, read-only (tests/evidence/test_plaintext.py)
            assert str(plain).startswith(f"/proc/{os.getpid()}/fd/")
            assert oct(plain.stat().st_mode & 0o777) == "0o400"
        else:
            if Path("/dev/shm").is_dir():
                assert str(plain).startswith("/dev/shm/")
            assert oct(plain.stat().st_mode & 0o777) == "0o600"
        assert not str(plain).startswith(str(vault.root))
    assert not plain.exists()


def test_file_changing_while_read_is_refused(tmp_path: Path):
    vault = Vault(tmp_path / "v")
    source = tmp_path / "growing.bin"
    source.write_bytes(b"x" * (4 * 1024 * 1024))

    class Appending:
        """Appends to the source after the first chunk is read, like a download still in progress."""

        def __init__(self) -> None:
            self.handle = open(source, "rb")  # noqa: SIM115 - closed with the test
            self.done = False

        def read(self, size: int = -1) -> bytes:
            chunk = self.handle.read(size)
            if not self.done:
                with open(source, "ab") as extra:
                    extra.write(b"more")
                self.done = True
            return chunk

    original_put = vault.put_stream

    def put_stream(handle, max_bytes=None, **kwargs):  # type: ignore[no-untyped-def]
        return original_put(Appending(), max_bytes=max_bytes, **kwargs)

    vault.put_stream = put_stream  # type: ignore[method-assign]
    with pytest.raises(SourceChanged):
        vault.put_file(source)
    with pytest.raises(SourceChanged):
        vault.put_file(source, defer=True)
    vault.sync_pending()
    assert list(vault.iter_objects()) == [], "nothing is stored from an unstable file"
    assert not any(vault.tmp.iterdir())


def test_clean_tmp_only_removes_files_of_dead_writers(tmp_path: Path):
    vault = Vault(tmp_path / "v")
    mine = vault.tmp / f"in-{os.getpid()}-abc"
    mine.write_bytes(b"in progress")
    dead = vault.tmp / "in-999999999-abc"
    dead.write_bytes(b"left by a killed process")
    assert vault.clean_tmp() == 1
    assert mine.exists() and not dead.exists()


def test_vault_key_file_of_raw_bytes_is_a_clear_error(tmp_path):
    from idolguard.errors import WorkspaceError
    from idolguard.evidence.crypto import load_vault_key

    raw = tmp_path / "vault.key"
    raw.write_bytes(bytes(range(200, 232)))  # 32 raw bytes, not their hex text
    with pytest.raises(WorkspaceError, match="not text: it must hold 64 hexadecimal"):
        load_vault_key(raw, None)
    good = tmp_path / "good.key"
    good.write_text("ab" * 32 + "\n")
    assert load_vault_key(good, None) == bytes([0xAB]) * 32
