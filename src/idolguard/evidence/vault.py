"""Content-addressed, write-once evidence vault.

Objects live at ``objects/ab/cd/<sha256>`` where the name is the SHA-256 of the original bytes. A write goes
to a temp file in the same filesystem, is made durable, and only then linked under its real name, so a crash
never leaves a half object under a real name. An existing object is never overwritten: the vault only grows.

Batch writers (ingest) pass ``defer=True``: temp files are written without a per-file fsync, and
``sync_pending()`` makes the whole batch durable with one ``syncfs``, links the names, and syncs again before
the caller commits the database rows that reference them. Same guarantees, one flush per batch instead of
two per file (which capped small-file ingest at ~100 files/s).

In an encrypted vault every new object gets its own random data key (envelope encryption, format ``IGV2`` in
``crypto``): the wrapped key is written to ``keys/ab/<sha256>.<key id>.key`` and made durable *before* the
object is named, so a named object always has its key; a key whose object never got named (crash, duplicate)
is an unused orphan. ``erase`` destroys an object by shredding its keys and deleting the ciphertext, so a
backup of ``objects/`` alone stays unreadable. Objects written with the vault key itself (``IGV1``, before
per-item keys) still read.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from idolguard.errors import ErrorCode, IntegrityError, RejectedInput
from idolguard.evidence import crypto

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PutResult:
    sha256: str
    md5: str
    size: int
    created: bool  # False when the object was already in the vault (a duplicate)


class SourceChanged(RejectedInput):
    """The file changed while it was being read, so no consistent copy exists."""


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: Path) -> None:
    """Flush every dirty page of the filesystem holding ``path`` (Linux syncfs; else a global sync)."""
    libc = _libc()
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


_LIBC: list[object] = []


def _libc() -> Any:
    if not _LIBC:
        try:
            import ctypes

            lib = ctypes.CDLL(None, use_errno=True)
            _LIBC.append(lib if hasattr(lib, "syncfs") else None)
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


class Vault:
    def __init__(self, root: Path, key: bytes | None = None, *, create: bool = True) -> None:
        self.root = root
        self.objects = root / "objects"
        self.keys = root / "keys"  # wrapped per-item data keys (encrypted vaults)
        self.tmp = root / "tmp"
        self.key = key
        if create:  # a read-only copy is only read (verify, log): nothing is laid out there
            self.objects.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
        # digest -> (durable-pending temp file, its wrapped key file or None) for defer=True writes
        self._pending: dict[str, tuple[Path, Path | None]] = {}
        # When a signed destruction decision names this object: the time it was decided, else None. The
        # workspace installs it (the decisions live in its database); without it the vault knows of none.
        self.erasure_decided: Callable[[str], datetime | None] | None = None

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.objects / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def key_path(self, sha256: str, key_id: bytes) -> Path:
        self.path_for(sha256)  # validates the name
        return self.keys / sha256[:2] / f"{sha256}.{key_id.hex()}.key"

    def key_paths(self, sha256: str) -> list[Path]:
        """Every wrapped key stored for this object (normally one; more only after interrupted writes)."""
        self.path_for(sha256)
        return sorted((self.keys / sha256[:2]).glob(f"{sha256}.*.key"))

    def _store_key(self, sha256: str, key_id: bytes, data_key: bytes, *, durable: bool) -> Path:
        assert self.key is not None
        final = self.key_path(sha256, key_id)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=f"key-{os.getpid()}-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(crypto.wrap_key(self.key, data_key, sha256, key_id))
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            os.chmod(tmp_name, 0o400)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.link(tmp_name, final)  # the key id is random, so the name is new
        finally:
            os.unlink(tmp_name)
        if durable:
            _fsync_dir(final.parent)
        return final

    def keyed_objects(self) -> set[str]:
        """Every object name that has at least one key file (one listing of ``keys/``, for checks over many
        objects at once instead of one ``key_paths`` listing each)."""
        found: set[str] = set()
        try:
            folders = [entry.path for entry in os.scandir(self.keys) if entry.is_dir()]
        except FileNotFoundError:
            return found
        for folder in folders:
            with os.scandir(folder) as entries:
                found.update(entry.name.split(".", 1)[0] for entry in entries if entry.name.endswith(".key"))
        return found

    def item_key(self, sha256: str) -> bytes | None:
        """The object's own data key, or None when it has none (plaintext or written with the vault key).

        Raises IntegrityError when the object needs a key that is gone (destroyed, or the key store was not
        copied with the objects)."""
        path = self.path_for(sha256)
        if self.key is None or not path.exists() or crypto.encrypted_format(path) != "item":
            return None
        with open(path, "rb") as handle:
            key_id = crypto.read_item_key_id(handle, sha256)
        return self._unwrap(sha256, key_id)

    def _unwrap(self, sha256: str, key_id: bytes) -> bytes:
        assert self.key is not None
        key_file = self.key_path(sha256, key_id)
        try:
            blob = key_file.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(
                f"vault object {sha256}: its item key keys/{sha256[:2]}/{key_file.name} is missing "
                "(destroyed, or the vault's keys/ folder was not copied with objects/)",
                code=ErrorCode.VAULT_ITEM_KEY_MISSING,
                sha256=sha256,
            ) from None
        return crypto.unwrap_key(self.key, blob, sha256, key_id)

    def cache_key(self, sha256: str, purpose: str) -> bytes | None:
        """The key for a cache made from this object (previews): derived from its item key, so destroying
        the item also makes its cached derivatives unreadable; the vault key for objects without one."""
        if self.key is None:
            return None
        data_key = self.item_key(sha256)
        return self.key if data_key is None else crypto.derive_key(data_key, purpose)

    def put_file(self, path: Path, max_bytes: int | None = None, *, defer: bool = False) -> PutResult:
        """Copy a file in, refusing it if it changes while being read (size/mtime/inode before and after).

        The copy is staged under a temp name and only named after the stability check, so a refused file
        never needs a named object removed (another process may already rely on that name).
        """
        before = os.stat(path)
        if max_bytes is not None and before.st_size > max_bytes:
            raise RejectedInput(
                f"file is {before.st_size} bytes, over the limit of {max_bytes}",
                code=ErrorCode.INPUT_TOO_LARGE,
                size=before.st_size,
                limit=max_bytes,
            )
        already_pending = set(self._pending)
        with open(path, "rb") as handle:
            result = self.put_stream(handle, max_bytes=max_bytes, defer=True)
            after = os.fstat(handle.fileno())
        same = (before.st_size, before.st_mtime_ns, before.st_ino) == (
            after.st_size,
            after.st_mtime_ns,
            after.st_ino,
        )
        staged_here = result.sha256 in self._pending and result.sha256 not in already_pending
        if not same or result.size != after.st_size:
            if staged_here:
                tmp_path, key_file = self._pending.pop(result.sha256)
                tmp_path.unlink(missing_ok=True)
                if key_file is not None:
                    key_file.unlink(missing_ok=True)
            raise SourceChanged(
                "file changed while it was being read; nothing was stored (retry when stable)",
                code=ErrorCode.INPUT_CHANGED,
            )
        if not defer and staged_here:
            self._commit_one(result.sha256)
        return result

    def _commit_one(self, sha256: str) -> None:
        tmp_path, key_file = self._pending.pop(sha256)
        with open(tmp_path, "rb") as handle:
            os.fsync(handle.fileno())
        if key_file is not None:
            with open(key_file, "rb") as handle:
                os.fsync(handle.fileno())
            _fsync_dir(key_file.parent)
        final = self.path_for(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(tmp_path, final)
        except FileExistsError:
            if key_file is not None:
                key_file.unlink(missing_ok=True)  # a concurrent writer's object (and key) won
        tmp_path.unlink()
        _fsync_dir(final.parent)

    def put_bytes(self, data: bytes, *, defer: bool = False) -> PutResult:
        return self.put_stream(io.BytesIO(data), defer=defer)

    def put_stream(self, handle: BinaryIO, max_bytes: int | None = None, *, defer: bool = False) -> PutResult:
        sha = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0

        def chunks() -> Iterator[bytes]:
            nonlocal size
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    return
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise RejectedInput(
                        f"stream exceeds the limit of {max_bytes} bytes; nothing was stored",
                        code=ErrorCode.INPUT_TOO_LARGE,
                        size=size,
                        limit=max_bytes,
                    )
                sha.update(chunk)
                md5.update(chunk)
                yield chunk

        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=f"in-{os.getpid()}-")
        tmp_path = Path(tmp_name)
        key_id, data_key = crypto.new_data_key()
        key_file: Path | None = None
        try:
            with os.fdopen(fd, "wb") as out:
                if self.key is not None:
                    crypto.encrypt_item_stream(data_key, key_id, chunks(), out)
                else:
                    for chunk in chunks():
                        out.write(chunk)
                out.flush()
                if not defer:
                    os.fsync(out.fileno())
            digest = sha.hexdigest()
            final = self.path_for(digest)
            if final.exists() and digest not in self._pending:
                self._finish_decided_erasure(digest)  # a leftover of an unfinished erasure is no duplicate
            if final.exists() or digest in self._pending:
                tmp_path.unlink()
                return PutResult(digest, md5.hexdigest(), size, created=False)
            if self.key is not None:  # the key is named before the object, so a named object has its key
                key_file = self._store_key(digest, key_id, data_key, durable=not defer)
            if defer:
                os.chmod(tmp_path, 0o444)
                self._pending[digest] = (tmp_path, key_file)
                return PutResult(digest, md5.hexdigest(), size, created=True)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp_path, 0o444)
            try:
                # link() fails if the name exists, so two concurrent writers can never replace each other.
                os.link(tmp_path, final)
                created = True
            except FileExistsError:
                created = False
            tmp_path.unlink()
            if created:
                _fsync_dir(final.parent)
            elif key_file is not None:
                key_file.unlink()  # the concurrent writer's object came with its own key
            return PutResult(digest, md5.hexdigest(), size, created=created)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            if key_file is not None and not self.path_for(sha.hexdigest()).exists():
                key_file.unlink(missing_ok=True)
            raise

    def _finish_decided_erasure(self, sha256: str) -> None:
        """The same content submitted again while an erasure decided for it is unfinished (a crash, or a
        failure the worker only logged): finish that erasure first (old keys shredded, old ciphertext
        deleted), so the new submission is stored as a fresh object with a new key. Otherwise the new
        evidence would point at the doomed file and be erased (or be unreadable, its key already shredded)."""
        decided_at = self.erasure_decided(sha256) if self.erasure_decided is not None else None
        if decided_at is None:
            return
        with self._locked():
            path, key_files = self._leftover_files(sha256, decided_at)
            if path is None and not key_files:
                return
            left = {(True, True): "object and key", (True, False): "object", (False, True): "key"}[
                (path is not None, bool(key_files))
            ]
            erasure = "key-destroyed" if path is None or crypto.encrypted_format(path) == "item" else "deleted"
            self._note_finished(sha256, left, erasure)  # durable first: the next finisher signs it
            self._erase_leftover(sha256, decided_at)

    @property
    def finished_dir(self) -> Path:
        """Notes of erasures the vault finished itself (content submitted again), until a finisher signs them."""
        return self.root / "finished"

    def _note_finished(self, sha256: str, left: str, erasure: str) -> None:
        import json

        self.finished_dir.mkdir(parents=True, exist_ok=True)
        final = self.finished_dir / f"{sha256}.json"
        tmp = self.finished_dir / f".{sha256}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump({"sha256": sha256, "left": left, "erasure": erasure}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
        _fsync_dir(self.finished_dir)

    def finished_notes(self) -> dict[str, dict[str, str]]:
        """Object -> what the vault found left and erased when the content was submitted again."""
        import json

        notes: dict[str, dict[str, str]] = {}
        if self.finished_dir.is_dir():
            for path in self.finished_dir.glob("*.json"):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if isinstance(data, dict) and data.get("sha256") == path.stem:
                    notes[path.stem] = {"left": str(data.get("left", "")), "erasure": str(data.get("erasure", ""))}
        return notes

    def drop_finished_note(self, sha256: str) -> None:
        self.path_for(sha256)  # validates the name
        (self.finished_dir / f"{sha256}.json").unlink(missing_ok=True)

    def sync_pending(self) -> None:
        """Make deferred writes durable and give them their names; call before committing rows about them."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        _syncfs(self.tmp)  # contents and item keys durable before any name points at them
        for digest, (tmp_path, key_file) in pending.items():
            final = self.path_for(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tmp_path, final)
            except FileExistsError:
                if key_file is not None:  # a concurrent writer stored the same content (with its key) first
                    key_file.unlink(missing_ok=True)
            tmp_path.unlink()
        _syncfs(self.objects)  # names durable before the database says they exist

    def read_chunks(self, sha256: str) -> Iterator[bytes]:
        """The original bytes. An object is read as encrypted only if it authenticates with the vault key;
        a plaintext original that merely starts with the format's magic bytes is still read as plaintext
        (its raw bytes hash to its name), so submitted content cannot make the vault unreadable."""
        path = self.path_for(sha256)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below; format and content come from one file
        except FileNotFoundError:
            raise IntegrityError(
                f"vault object {sha256} is missing", code=ErrorCode.VAULT_MISSING, sha256=sha256
            ) from None
        with handle:
            magic = handle.read(len(crypto.MAGIC))
            handle.seek(0)
            form = None if self.key is None else {crypto.MAGIC: "v1", crypto.MAGIC_ITEM: "item"}.get(magic)
            if form is None:
                while chunk := handle.read(CHUNK):
                    yield chunk
                return
            segments = (
                self._item_segments(sha256, handle)
                if form == "item"
                else crypto.decrypt_stream(self.key, handle, sha256)  # type: ignore[arg-type]
            )
            try:
                first = next(segments)
            except IntegrityError:
                handle.seek(0)
                raw = hashlib.sha256()
                while chunk := handle.read(CHUNK):
                    raw.update(chunk)
                if raw.hexdigest() == sha256:
                    handle.seek(0)
                    while chunk := handle.read(CHUNK):  # a plaintext original that starts with "IGV1"/"IGV2"
                        yield chunk
                    return
                raise
            yield first
            yield from segments

    def _item_segments(self, sha256: str, handle: BinaryIO) -> Iterator[bytes]:
        key_id = crypto.read_item_key_id(handle, sha256)
        yield from crypto.decrypt_item_stream(self._unwrap(sha256, key_id), key_id, handle, sha256)

    def read_bytes(self, sha256: str) -> bytes:
        return b"".join(self.read_chunks(sha256))

    def check(self, sha256: str) -> str | None:
        """Re-hash one object; return a problem description or None when it is intact."""
        sha = hashlib.sha256()
        try:
            for chunk in self.read_chunks(sha256):
                sha.update(chunk)
        except IntegrityError as exc:
            return str(exc)
        except OSError as exc:
            return f"vault object {sha256} unreadable: {exc}"
        if sha.hexdigest() != sha256:
            if self.key is None and crypto.is_encrypted_file(self.path_for(sha256)):
                return f"vault object {sha256} looks encrypted but no vault key is configured (or it was altered)"
            return f"vault object {sha256} content hashes to {sha.hexdigest()}"
        return None

    def read_verified(self, sha256: str) -> bytes:
        """The whole object, refused unless it still hashes to its name (for reports and small exports)."""
        data = self.read_bytes(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityError(
                f"vault object {sha256} no longer matches its hash; run `idolguard verify`",
                code=ErrorCode.VAULT_ALTERED,
                sha256=sha256,
            )
        return data

    def iter_objects(self) -> Iterator[str]:
        for path in self.objects.glob("*/*/*"):
            if path.is_file():
                yield path.name

    @contextmanager
    def materialize(self, sha256: str) -> Iterator[Path]:
        """A readable plaintext path for decoders: the object itself (unencrypted vault), or a private decrypted
        copy with no name in any filesystem (an anonymous, sealed, read-only memory file reached as
        ``/proc/<pid>/fd/<n>``: ``plaintext.plaintext_path``), gone when the block ends or the process dies.
        Where memory files are unavailable, a private named copy in memory-backed storage (``plain_tmp``:
        ``/dev/shm``) removed when the block ends (or by ``clean_tmp`` after a crash)."""
        from idolguard.evidence.plaintext import plaintext_path

        path = self.path_for(sha256)
        if not path.exists():
            raise IntegrityError(f"vault object {sha256} is missing", code=ErrorCode.VAULT_MISSING, sha256=sha256)
        if self.key is None:
            yield path
            return
        # In an encrypted vault even a plaintext (not yet re-keyed) object is copied out: ``rekey`` may swap
        # its file for ciphertext while a decoder still reopens the path.
        with plaintext_path(self.read_chunks(sha256), lambda: self.plain_tmp, prefix="view") as plain:
            yield plain

    @property
    def plain_tmp(self) -> Path:
        shm = Path("/dev/shm")
        if shm.is_dir() and os.access(shm, os.W_OK):
            private = shm / f"idolguard-{os.getuid()}-{hashlib.sha256(str(self.root).encode()).hexdigest()[:12]}"
            private.mkdir(mode=0o700, exist_ok=True)
            return private
        return self.tmp

    def erase(self, sha256: str) -> bool:
        """Destroy an object by decision: shred its wrapped item keys (overwrite, flush, unlink), then delete
        the ciphertext. With the key gone, any other copy of the ciphertext (a backup) cannot be decrypted,
        not even with the vault key. True when the object was still there. Holds the vault lock, so a
        concurrent ``rekey`` never swaps a rewritten copy back in after the erasure."""
        with self._locked():
            return self._erase(sha256)

    def _erase(self, sha256: str) -> bool:
        for key_file in self.key_paths(sha256):
            _shred(key_file)
        if self.keys.is_dir():
            _fsync_dir(self.keys / sha256[:2])
        path = self.path_for(sha256)
        try:
            os.chmod(path, 0o600)
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The vault lock for callers that cache something derived from an object under its current key (the
        web previews): a ``rekey`` swap or an ``erase`` cannot happen while they choose the key and write."""
        with self._locked():
            yield

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The vault's file lock (``vault/vault.lock``): erasing an object and swapping in its re-encrypted
        copy exclude each other, across processes."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "vault.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def source_format(self, sha256: str) -> str:
        """``item`` (its own key), ``v1`` (the vault key) or ``plain`` (not encrypted), by the magic bytes.

        Submitted content may itself start with the magic bytes: a file that looks like ``item`` but whose
        named key was never stored is ``plain`` when its raw bytes hash to its name (so ``rekey`` still gives
        such an original its own key; one that looks like ``v1`` is re-encrypted as ``v1`` and reads right).
        A real item whose key was shredded (an unfinished erasure) stays ``item``: its ciphertext does not hash
        to the name."""
        path = self.path_for(sha256)
        form = crypto.encrypted_format(path)
        if form is None:
            return "plain"
        if form == "v1":
            return form  # (``rekey`` reads a plaintext that starts with ``IGV1`` correctly either way)
        try:
            with open(path, "rb") as handle:
                if self.key_path(sha256, crypto.read_item_key_id(handle, sha256)).exists():
                    return "item"
        except IntegrityError:
            pass
        return "plain" if self._raw_hash(path) == sha256 else form  # hashed only when its key is missing

    @staticmethod
    def _raw_hash(path: Path) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def rekey(self, sha256: str) -> str | None:
        """Re-encrypt one object that has no key of its own (``IGV1`` under the vault key, or plaintext) as
        ``IGV2`` under a new item key, so destroying it later is cryptographic erasure. Returns the old format,
        or None when the object already has its own key.

        Crash-safe: the new ciphertext is written beside the vault and made durable, its wrapped key is stored
        and made durable, the new file is decrypted with the *stored* key and must hash to the object's name,
        and only then is it renamed over the old file (atomic; the modification time is kept). A crash before
        the rename leaves the old object intact (plus an unused key, shredded by the next successful rekey of
        that object, and a temp file that ``clean_tmp`` removes); after it, the new one. An object erased or
        replaced meanwhile is left alone. Raises IntegrityError when the object does not read back as its hash
        (nothing is changed then)."""
        if self.key is None:
            raise IntegrityError(
                "the vault is not encrypted: there is no item key to give objects", code=ErrorCode.VAULT_NOT_ENCRYPTED
            )
        path = self.path_for(sha256)
        try:
            before = os.stat(path)
        except FileNotFoundError:
            raise IntegrityError(
                f"vault object {sha256} is missing", code=ErrorCode.VAULT_MISSING, sha256=sha256
            ) from None
        old = self.source_format(sha256)
        if old == "item":
            return None
        key_id, data_key = crypto.new_data_key()
        digest = hashlib.sha256()

        def hashed() -> Iterator[bytes]:
            for chunk in self.read_chunks(sha256):
                digest.update(chunk)
                yield chunk

        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=f"rekey-{os.getpid()}-")
        tmp_path = Path(tmp_name)
        key_file: Path | None = None
        swapped = False
        try:
            with os.fdopen(fd, "wb") as out:
                crypto.encrypt_item_stream(data_key, key_id, hashed(), out)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise IntegrityError(
                    f"vault object {sha256} no longer matches its hash; it was not re-encrypted",
                    code=ErrorCode.VAULT_ALTERED,
                    sha256=sha256,
                )
            key_file = self._store_key(sha256, key_id, data_key, durable=True)
            check = hashlib.sha256()
            try:
                with open(tmp_path, "rb") as handle:
                    stored_id = crypto.read_item_key_id(handle, sha256)
                    data_key_read = self._unwrap(sha256, stored_id)
                    for chunk in crypto.decrypt_item_stream(data_key_read, stored_id, handle, sha256):
                        check.update(chunk)
            except IntegrityError:
                if not path.exists():
                    return None  # erased meanwhile (its keys shredded with it): never bring it back
                raise
            if stored_id != key_id or check.hexdigest() != sha256:
                raise IntegrityError(
                    f"vault object {sha256}: the re-encrypted copy does not read back; unchanged",
                    code=ErrorCode.VAULT_REENCRYPT_FAILED,
                    sha256=sha256,
                )
            os.utime(tmp_path, ns=(before.st_atime_ns, before.st_mtime_ns))
            os.chmod(tmp_path, 0o444)
            with self._locked():
                try:
                    now = os.stat(path)
                except FileNotFoundError:
                    return None  # erased meanwhile (a destruction): never bring it back
                if (now.st_ino, now.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
                    return None  # replaced meanwhile (another rekey): leave the newer file
                if self.erasure_decided is not None and self.erasure_decided(sha256) is not None:
                    return None  # a destruction was decided meanwhile: never give doomed data a new key
                os.replace(tmp_path, path)
                swapped = True
                _fsync_dir(path.parent)
                for stale in self.key_paths(sha256):  # keys of earlier, interrupted attempts: never used
                    if stale != key_file:
                        _shred(stale)
            return old
        finally:
            tmp_path.unlink(missing_ok=True)
            if key_file is not None and not swapped:
                key_file.unlink(missing_ok=True)

    def leftover(self, sha256: str, decided_at: datetime) -> str:
        """What an erasure decided at ``decided_at`` left of this object: ``object and key``, ``object`` (its
        key already shredded), ``key`` or '' (nothing). See ``_leftover_files``."""
        path, key_files = self._leftover_files(sha256, decided_at)
        return {(True, True): "object and key", (True, False): "object", (False, True): "key"}.get(
            (path is not None, bool(key_files)), ""
        )

    def erase_leftover(self, sha256: str, decided_at: datetime) -> bool:
        """Finish an interrupted ``erase`` decided at ``decided_at``: shred the leftover keys, then delete the
        leftover ciphertext. True when anything was left. Holds the vault lock (a concurrent rekey, erase or
        second finisher waits), and a file another finisher removed meanwhile is simply no longer left."""
        with self._locked():
            return self._erase_leftover(sha256, decided_at)

    def _erase_leftover(self, sha256: str, decided_at: datetime) -> bool:
        path, key_files = self._leftover_files(sha256, decided_at)
        for key_file in key_files:
            _shred(key_file)
        if key_files:
            _fsync_dir(key_files[0].parent)
        if path is not None:
            try:
                os.chmod(path, 0o600)
                path.unlink()
            except FileNotFoundError:
                path = None
            else:
                _fsync_dir(path.parent)
        return path is not None or bool(key_files)

    def _leftover_files(self, sha256: str, decided_at: datetime) -> tuple[Path | None, list[Path]]:
        """Files written after the decision are not leftovers: the same content submitted again later is new
        evidence (with a new key), never erased by an old decision. A key file that no longer unwraps (a shred
        overwrote it but did not reach its unlink) is a leftover whatever its time. When the object itself is a
        leftover, every key of it is one too, whatever its time: a key written after the decision for a file
        from before it (an interrupted ``rekey`` swapping the old file in with its old time) would otherwise
        keep the destroyed content readable from a backup.

        Raises IntegrityError when keys newer than the decision exist but no vault key is configured: whether
        they belong to new evidence cannot be told, so nothing is erased (verify reports it)."""
        cutoff = (decided_at if decided_at.tzinfo else decided_at.replace(tzinfo=UTC)).timestamp()
        path: Path | None = self.path_for(sha256)
        try:
            if path is not None and path.stat().st_mtime > cutoff:
                path = None
        except FileNotFoundError:
            path = None
        keys: list[Path] = []
        for key_file in self.key_paths(sha256):
            try:
                if path is not None or key_file.stat().st_mtime <= cutoff:
                    keys.append(key_file)
                elif self.key is None:
                    raise IntegrityError(
                        f"vault object {sha256}: an item key newer than its destruction decision exists, but no "
                        "vault key is configured, so whether it belongs to new evidence cannot be told; set the "
                        "vault key (IDOLGUARD_VAULT_KEY or [vault] key_file) before the erasure is finished",
                        code=ErrorCode.VAULT_KEY_UNDECIDED,
                        sha256=sha256,
                    )
                elif not self._key_unwraps(sha256, key_file):
                    keys.append(key_file)
            except FileNotFoundError:
                continue
        return path, keys

    def _key_unwraps(self, sha256: str, key_file: Path) -> bool:
        assert self.key is not None
        try:
            key_id = bytes.fromhex(key_file.name.split(".")[1])
            crypto.unwrap_key(self.key, key_file.read_bytes(), sha256, key_id)
        except (IntegrityError, ValueError, IndexError, OSError):
            return False
        return True

    def export(self, sha256: str, dest: Path) -> None:
        """Write the original to ``dest`` (which must not exist), re-hashing as it goes; on any mismatch or
        error nothing is left at ``dest``."""
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.part-")
        tmp_path = Path(name)
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                for chunk in self.read_chunks(sha256):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise IntegrityError(
                    f"vault object {sha256} no longer matches its hash; nothing exported",
                    code=ErrorCode.VAULT_ALTERED,
                    sha256=sha256,
                )
            os.link(tmp_path, dest)  # fails if dest appeared meanwhile: never overwrite
        finally:
            tmp_path.unlink(missing_ok=True)

    def clean_tmp(self) -> int:
        """Remove temp files of processes that are gone (killed mid-write); they never became objects.

        Temp names carry the writer's PID, so a concurrent scan's files in progress are left alone.
        """
        removed = 0
        folders = {self.tmp, self.plain_tmp}
        for path in [p for folder in folders for p in folder.iterdir()]:
            parts = path.name.split("-")
            try:
                pid = int(parts[1])
            except (IndexError, ValueError):
                continue
            if pid == os.getpid() or _alive(pid):
                continue
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _shred(path: Path) -> None:
    """Overwrite a small secret file with random bytes and flush before unlinking it, so the old bytes do not
    linger in the file's blocks (on copy-on-write or flash storage only the unlink can be relied on)."""
    try:
        os.chmod(path, 0o600)
        size = path.stat().st_size
        with open(path, "r+b") as handle:
            handle.write(os.urandom(max(size, 1)))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
    except FileNotFoundError:
        pass
