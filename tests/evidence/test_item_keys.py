"""Per-item keys (envelope encryption): each object has its own wrapped data key; destroying it makes every
copy of the ciphertext unreadable, even with the vault key. Legacy vault-key objects still read."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import pytest

from idolguard.errors import IntegrityError
from idolguard.evidence import crypto
from idolguard.evidence.vault import Vault


def test_each_object_gets_its_own_wrapped_key(tmp_path: Path) -> None:
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    a = vault.put_bytes(b"first object " * 1000).sha256
    b = vault.put_bytes(b"second object " * 1000, defer=True).sha256
    vault.sync_pending()
    for sha in (a, b):
        path = vault.path_for(sha)
        assert crypto.encrypted_format(path) == "item" and crypto.is_encrypted_file(path)
        [key_file] = vault.key_paths(sha)
        assert key_file.parent == vault.root / "keys" / sha[:2]
        blob = key_file.read_bytes()
        assert len(blob) == crypto.WRAPPED_SIZE and blob.startswith(crypto.KEY_MAGIC)
    assert vault.item_key(a) != vault.item_key(b)
    assert vault.read_bytes(a) == b"first object " * 1000 and vault.check(b) is None
    # The object does not open with the master key alone (it is not the legacy single-key format) ...
    with open(vault.path_for(a), "rb") as handle, pytest.raises(IntegrityError):
        b"".join(crypto.decrypt_stream(master, handle, a))
    # ... and a duplicate write keeps the first key and leaves no orphan.
    assert vault.put_bytes(b"first object " * 1000).created is False
    assert len(vault.key_paths(a)) == 1 and not any(vault.tmp.iterdir())


def test_wrapped_key_is_bound_to_its_object(tmp_path: Path) -> None:
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    a = vault.put_bytes(b"alpha" * 500).sha256
    b = vault.put_bytes(b"beta" * 500).sha256
    [key_a], [key_b] = vault.key_paths(a), vault.key_paths(b)
    # Swapping b's wrapped key into a's name fails (AAD = object SHA-256 + key id), as does a flipped bit.
    key_a.chmod(0o600)
    original = key_a.read_bytes()
    key_a.write_bytes(key_b.read_bytes())
    assert "fails authentication" in (vault.check(a) or "")
    key_a.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    assert "fails authentication" in (vault.check(a) or "")
    key_a.write_bytes(original)
    assert vault.check(a) is None
    assert "fails authentication" in (Vault(tmp_path / "v", key=os.urandom(32)).check(a) or "")
    assert "no vault key is configured" in (Vault(tmp_path / "v").check(a) or "")


def test_missing_key_store_is_reported_not_misread(tmp_path: Path) -> None:
    """An objects/ folder copied without keys/ says why it cannot be read."""
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    sha = vault.put_bytes(b"evidence" * 100).sha256
    copy = tmp_path / "copy"
    shutil.copytree(vault.objects, copy / "objects")
    problem = Vault(copy, key=master, create=False).check(sha) or ""
    assert "item key" in problem and "missing" in problem


def test_erase_destroys_the_key_so_a_backup_copy_is_unreadable(tmp_path: Path) -> None:
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    data = os.urandom(crypto.SEGMENT + 99)
    sha = vault.put_bytes(data).sha256
    [key_file] = vault.key_paths(sha)
    backup = tmp_path / "backup-object"
    shutil.copyfile(vault.path_for(sha), backup)
    assert vault.erase(sha) is True
    assert not vault.has(sha) and not key_file.exists() and vault.key_paths(sha) == []
    assert vault.erase(sha) is False  # idempotent
    # The backup copy put back in place, read with the master key: refused, not decrypted.
    restored = vault.path_for(sha)
    shutil.copyfile(backup, restored)
    with pytest.raises(IntegrityError, match="item key .* is missing"):
        vault.read_bytes(sha)
    assert "missing" in (vault.check(sha) or "")
    # Nor does the master key open it directly (it never encrypted the content).
    with open(backup, "rb") as handle, pytest.raises(IntegrityError):
        b"".join(crypto.decrypt_stream(master, handle, sha))
    assert data[:64] not in backup.read_bytes()


def test_legacy_single_key_objects_still_read_and_erase(tmp_path: Path) -> None:
    """Objects written before per-item keys (IGV1, encrypted with the vault key itself) stay readable."""
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    data = b"written by an older IdolGuard " * 70000  # > 1 segment
    sha = hashlib.sha256(data).hexdigest()
    path = vault.path_for(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        crypto.encrypt_stream(master, [data], out)  # exactly the legacy writer
    assert path.read_bytes().startswith(crypto.MAGIC) and vault.key_paths(sha) == []
    assert vault.read_bytes(sha) == data and vault.check(sha) is None and vault.item_key(sha) is None
    assert vault.cache_key(sha, "preview") == master
    with vault.materialize(sha) as plain:
        assert plain.read_bytes() == data
    export = tmp_path / "out.bin"
    vault.export(sha, export)
    assert export.read_bytes() == data
    # A new object next to it gets its own key; the legacy one keeps working.
    fresh = vault.put_bytes(b"new").sha256
    assert crypto.encrypted_format(vault.path_for(fresh)) == "item" and vault.read_bytes(sha) == data
    assert vault.erase(sha) and not vault.has(sha)


def test_plaintext_starting_with_the_item_magic_stays_readable(tmp_path: Path) -> None:
    data = b"IGV2" + b"a plaintext original that happens to start with the new magic" * 20
    vault = Vault(tmp_path / "v", key=os.urandom(32))
    sha = hashlib.sha256(data).hexdigest()
    path = vault.path_for(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    assert vault.read_bytes(sha) == data and vault.check(sha) is None


def test_refused_and_failed_writes_leave_no_key(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "v", key=os.urandom(32))
    with pytest.raises(Exception, match="limit"):
        vault.put_stream(io.BytesIO(b"x" * 5000), max_bytes=100)
    assert not (vault.root / "keys").exists() or not list((vault.root / "keys").rglob("*.key"))
    assert not any(vault.tmp.iterdir())


def test_derived_cache_key_dies_with_the_item_key(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "v", key=os.urandom(32))
    sha = vault.put_bytes(b"image bytes" * 10).sha256
    first = vault.cache_key(sha, "preview")
    assert first is not None and first == vault.cache_key(sha, "preview") and first != vault.key
    assert first != vault.cache_key(sha, "other") and first != vault.item_key(sha)
    for key_file in vault.key_paths(sha):
        key_file.unlink()
    with pytest.raises(IntegrityError):
        vault.cache_key(sha, "preview")
