"""Finishing an interrupted erasure (``Vault.erase_leftover``) and the writers that meet it: a ``rekey`` racing
a destruction decision never leaves a key that reads the destroyed content; a missing vault key never makes new
evidence's keys look like leftovers; finishers hold the vault lock. Real vault folders, real files, a real second
process holding the lock."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from idolguard.errors import IntegrityError
from idolguard.evidence import crypto
from idolguard.evidence.vault import Vault


def _v1_object(vault: Vault, master: bytes, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    path = vault.path_for(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        crypto.encrypt_stream(master, [data], out)
    old = time.time() - 3600  # written an hour before the decision below
    os.utime(path, (old, old))
    return sha


def test_key_written_by_rekey_for_a_leftover_object_is_erased_too(tmp_path: Path) -> None:
    """A rekey that did not know of the decision swapped the object in with its old time and a new key: the
    object is a leftover, so its new key is one too (else the destroyed content stays readable from a backup)."""
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    data = b"older evidence " * 4000
    sha = _v1_object(vault, master, data)
    decided_at = datetime.now(UTC)
    time.sleep(0.02)
    assert vault.rekey(sha) == "v1"  # new key file written after the decision; the object keeps its old time
    backup = vault.path_for(sha).read_bytes()
    assert vault.leftover(sha, decided_at) == "object and key"
    assert vault.erase_leftover(sha, decided_at)
    assert not vault.has(sha) and vault.key_paths(sha) == []
    restored = Vault(tmp_path / "restored", key=master)  # a backup of objects/ with what keys/ holds now
    if vault.keys.is_dir():
        shutil.copytree(vault.keys, restored.keys)
    restored.path_for(sha).parent.mkdir(parents=True)
    restored.path_for(sha).write_bytes(backup)
    with pytest.raises(IntegrityError):
        restored.read_bytes(sha)


def test_rekey_never_keys_an_object_whose_destruction_was_decided(tmp_path: Path) -> None:
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    sha = _v1_object(vault, master, b"doomed evidence " * 4000)
    decided_at = datetime.now(UTC)
    vault.erasure_decided = lambda digest: decided_at if digest == sha else None
    assert vault.rekey(sha) is None
    assert vault.source_format(sha) == "v1" and vault.key_paths(sha) == []  # untouched, no new key
    assert vault.erase_leftover(sha, decided_at) and not vault.has(sha)


def test_without_the_vault_key_new_evidence_keys_are_never_shredded(tmp_path: Path) -> None:
    """Content stored again after a decision has a newer key. Opened without the vault key, whether that key
    belongs to new evidence cannot be told: finishing refuses (and names the cause) instead of shredding it."""
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    decided_at = datetime.now(UTC)
    time.sleep(0.02)
    put = vault.put_bytes(b"submitted again after the decision " * 100)
    [key_file] = vault.key_paths(put.sha256)
    keyless = Vault(tmp_path / "v", key=None)
    with pytest.raises(IntegrityError, match="no vault key"):
        keyless.erase_leftover(put.sha256, decided_at)
    assert key_file.exists() and vault.check(put.sha256) is None
    assert vault.leftover(put.sha256, decided_at) == ""  # with the key: new evidence, nothing left


HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_finishing_an_erasure_waits_for_the_vault_lock(tmp_path: Path) -> None:
    """``erase_leftover`` holds the vault lock like ``erase`` and ``rekey``'s swap: while another process holds
    it, nothing is erased."""
    master = os.urandom(32)
    vault = Vault(tmp_path / "v", key=master)
    put = vault.put_bytes(b"decided evidence " * 100)
    old = time.time() - 3600
    os.utime(vault.path_for(put.sha256), (old, old))
    for key_file in vault.key_paths(put.sha256):
        os.utime(key_file, (old, old))
    decided_at = datetime.now(UTC)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(vault.root / "vault.lock"), "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done: list[bool] = []
        worker = threading.Thread(target=lambda: done.append(vault.erase_leftover(put.sha256, decided_at)))
        worker.start()
        time.sleep(0.5)
        assert vault.has(put.sha256) and vault.key_paths(put.sha256), "erased while another process held the lock"
        worker.join(timeout=30)
    finally:
        holder.wait(timeout=30)
    assert done == [True] and not vault.has(put.sha256) and vault.key_paths(put.sha256) == []
    assert vault.erase_leftover(put.sha256, decided_at) is False  # a second finisher finds nothing left
