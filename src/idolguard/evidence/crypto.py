"""Encryption at rest for vault objects: AES-256-GCM in independent 1 MiB segments (streamed, flat memory).

Each object gets a random 8-byte nonce prefix; a segment's nonce is that prefix plus the segment counter and
its associated data is the prefix, the counter and a final-segment flag, so segments cannot be reordered,
dropped or truncated without failing authentication. An object swapped for another whole object decrypts,
but then its plaintext SHA-256 no longer matches its name, which ``verify`` reports. Encryption streams
from the source, so the vault never holds plaintext; analysis decrypts to anonymous memory files with no name
in any filesystem (see ``Vault.materialize`` and ``evidence.plaintext``). Hashes are always those of the
plaintext original.

Two object formats share that segment layout:

- ``IGV1`` (``encrypt_stream``): encrypted directly with the vault (master) key. Objects written before
  per-item keys, the upload spool and other scratch files use it.
- ``IGV2`` (``encrypt_item_stream``): envelope encryption. Each vault object has its own random 256-bit
  data key; the header names it by a random 16-byte key id, and the data key lives only *wrapped*
  (AES-256-GCM under the master key, associated data = the object's SHA-256 and key id) in the vault's key
  store (``wrap_key``/``unwrap_key``). Destroying that wrapped key makes every copy of the ciphertext,
  including copies in old backups of ``objects/``, undecryptable even with the master key.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idolguard.errors import IntegrityError, WorkspaceError

MAGIC = b"IGV1"
MAGIC_ITEM = b"IGV2"
KEY_MAGIC = b"IGK1"  # a wrapped item key: KEY_MAGIC + 12-byte nonce + AES-GCM(data key) (32 + 16 bytes)
SEGMENT = 1024 * 1024
TAG = 16
PREFIX = 8
KEY_ID = 16
DATA_KEY = 32
WRAP_NONCE = 12
WRAPPED_SIZE = len(KEY_MAGIC) + WRAP_NONCE + DATA_KEY + TAG


def load_vault_key(key_file: str | os.PathLike[str] | None, env_value: str | None) -> bytes:
    text = env_value
    if not text and key_file:
        try:
            text = Path(key_file).expanduser().read_text(encoding="ascii").strip()
        except OSError as exc:
            raise WorkspaceError(f"cannot read vault key file {key_file}: {exc}") from exc
        except UnicodeDecodeError as exc:  # e.g. 32 raw bytes instead of their hex text
            raise WorkspaceError(
                f"vault key file {key_file} is not text: it must hold 64 hexadecimal characters "
                "(make one with `idolguard vault-key`)"
            ) from exc
    if not text:
        raise WorkspaceError("vault encryption is on but no key is given: set IDOLGUARD_VAULT_KEY or [vault].key_file")
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise WorkspaceError("vault key must be 64 hexadecimal characters (32 bytes)") from exc
    if len(key) != 32:
        raise WorkspaceError("vault key must be 64 hexadecimal characters (32 bytes)")
    return key


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">I?", index, final)


def _with_last_flag(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    iterator = iter(chunks)
    current = next(iterator, b"")
    for following in iterator:
        yield current, False
        current = following
    yield current, True


def _encrypt_segments(key: bytes, header: bytes, prefix: bytes, chunks: Iterable[bytes], out: BinaryIO) -> None:
    aes = AESGCM(key)
    out.write(header)

    def segments() -> Iterator[bytes]:
        buffer = bytearray()
        for chunk in chunks:
            buffer.extend(chunk)
            while len(buffer) >= SEGMENT:
                yield bytes(buffer[:SEGMENT])
                del buffer[:SEGMENT]
        yield bytes(buffer)  # may be empty: then it is an authenticated end marker

    for index, (segment, final) in enumerate(_with_last_flag(segments())):
        nonce = prefix + struct.pack(">I", index)
        out.write(aes.encrypt(nonce, segment, _aad(header, index, final)))


def _decrypt_segments(key: bytes, header: bytes, prefix: bytes, handle: BinaryIO, label: str) -> Iterator[bytes]:
    aes = AESGCM(key)
    index = 0
    block = handle.read(SEGMENT + TAG)
    while True:
        following = handle.read(SEGMENT + TAG)
        final = not following
        nonce = prefix + struct.pack(">I", index)
        try:
            yield aes.decrypt(nonce, block, _aad(header, index, final))
        except InvalidTag as exc:
            raise IntegrityError(f"vault object {label}: segment {index} fails authentication") from exc
        if final:
            return
        block = following
        index += 1


def encrypt_stream(key: bytes, chunks: Iterable[bytes], out: BinaryIO) -> None:
    """Encrypt plaintext chunks (any sizes) into ``out`` (``IGV1``, directly under ``key``); segments are
    re-cut to exactly SEGMENT bytes."""
    prefix = os.urandom(PREFIX)
    _encrypt_segments(key, MAGIC + prefix, prefix, chunks, out)


class SegmentWriter:
    """Push-style ``encrypt_stream`` (``IGV1`` under ``key``) for data that arrives in callbacks, e.g. a
    multipart parser's: ``write`` as often as needed, then ``close`` writes the final segment. At most one
    segment (plus the latest write) is held in memory. A segment is only written once more data follows it,
    so the last one can carry the final flag; ``decrypt_stream`` reads the result."""

    def __init__(self, key: bytes, out: BinaryIO) -> None:
        self._aes = AESGCM(key)
        self._prefix = os.urandom(PREFIX)
        self._header = MAGIC + self._prefix
        self._out = out
        self._buffer = bytearray()
        self._index = 0
        self.closed = False
        out.write(self._header)

    def retarget(self, out: BinaryIO) -> None:
        """Continue writing to ``out``, which already holds everything written so far (a spool that moves
        from memory to a file)."""
        self._out = out

    def write(self, data: bytes) -> None:
        if self.closed:
            raise ValueError("write after close")
        self._buffer.extend(data)
        while len(self._buffer) > SEGMENT:
            self._emit(bytes(self._buffer[:SEGMENT]), final=False)
            del self._buffer[:SEGMENT]

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), final=True)
            self._buffer.clear()
            self.closed = True

    def _emit(self, segment: bytes, *, final: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._index)
        self._out.write(self._aes.encrypt(nonce, segment, _aad(self._header, self._index, final)))
        self._index += 1


def decrypt_stream(key: bytes, handle: BinaryIO, label: str) -> Iterator[bytes]:
    """The plaintext of an ``IGV1`` stream encrypted directly under ``key``."""
    header = handle.read(len(MAGIC) + PREFIX)
    if header[: len(MAGIC)] != MAGIC:
        raise IntegrityError(f"vault object {label} is not encrypted with this vault's format")
    yield from _decrypt_segments(key, header, header[len(MAGIC) :], handle, label)


def new_data_key() -> tuple[bytes, bytes]:
    """A fresh (key id, 256-bit data key) for one vault object."""
    return os.urandom(KEY_ID), os.urandom(DATA_KEY)


def encrypt_item_stream(data_key: bytes, key_id: bytes, chunks: Iterable[bytes], out: BinaryIO) -> None:
    """Encrypt into the ``IGV2`` format: the header carries the key id of the object's own data key."""
    if len(key_id) != KEY_ID or len(data_key) != DATA_KEY:
        raise ValueError("an item key is a 16-byte id and a 32-byte key")
    prefix = os.urandom(PREFIX)
    _encrypt_segments(data_key, MAGIC_ITEM + key_id + prefix, prefix, chunks, out)


def read_item_key_id(handle: BinaryIO, label: str) -> bytes:
    """The key id in an ``IGV2`` header (the handle is left just after the magic and key id)."""
    head = handle.read(len(MAGIC_ITEM) + KEY_ID)
    if len(head) != len(MAGIC_ITEM) + KEY_ID or head[: len(MAGIC_ITEM)] != MAGIC_ITEM:
        raise IntegrityError(f"vault object {label} is not in the per-item-key format")
    return head[len(MAGIC_ITEM) :]


def decrypt_item_stream(data_key: bytes, key_id: bytes, handle: BinaryIO, label: str) -> Iterator[bytes]:
    """The plaintext of an ``IGV2`` stream whose key id was already read by ``read_item_key_id``."""
    prefix = handle.read(PREFIX)
    if len(prefix) != PREFIX:
        raise IntegrityError(f"vault object {label}: truncated header")
    yield from _decrypt_segments(data_key, MAGIC_ITEM + key_id + prefix, prefix, handle, label)


def _wrap_aad(sha256: str, key_id: bytes) -> bytes:
    return KEY_MAGIC + sha256.encode("ascii") + key_id


def wrap_key(master: bytes, data_key: bytes, sha256: str, key_id: bytes) -> bytes:
    """The data key sealed under the master key, bound to the object it opens (its SHA-256 and key id)."""
    nonce = os.urandom(WRAP_NONCE)
    return KEY_MAGIC + nonce + AESGCM(master).encrypt(nonce, data_key, _wrap_aad(sha256, key_id))


def unwrap_key(master: bytes, blob: bytes, sha256: str, key_id: bytes) -> bytes:
    if len(blob) != WRAPPED_SIZE or blob[: len(KEY_MAGIC)] != KEY_MAGIC:
        raise IntegrityError(f"item key of vault object {sha256} is damaged")
    nonce = blob[len(KEY_MAGIC) : len(KEY_MAGIC) + WRAP_NONCE]
    try:
        return AESGCM(master).decrypt(nonce, blob[len(KEY_MAGIC) + WRAP_NONCE :], _wrap_aad(sha256, key_id))
    except InvalidTag as exc:
        raise IntegrityError(
            f"item key of vault object {sha256} fails authentication with this vault key (altered, or another vault's)"
        ) from exc


def derive_key(data_key: bytes, purpose: str) -> bytes:
    """A key for a cache derived from an object (e.g. its blurred preview): gone when the item key is."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"idolguard/" + purpose.encode()).derive(data_key)


def encrypted_format(path: Path) -> str | None:
    """``"v1"`` (master key), ``"item"`` (per-item key) or None (plaintext) by the file's magic bytes."""
    with open(path, "rb") as handle:
        magic = handle.read(len(MAGIC))
    return {MAGIC: "v1", MAGIC_ITEM: "item"}.get(magic)


def is_encrypted_file(path: Path) -> bool:
    """True for either encrypted format (vault key or per-item key)."""
    return encrypted_format(path) is not None
