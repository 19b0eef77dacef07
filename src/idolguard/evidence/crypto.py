"""Encryption at rest for vault objects: AES-256-GCM in independent 1 MiB segments (streamed, flat memory).

Each object gets a random 8-byte nonce prefix; a segment's nonce is that prefix plus the segment counter and
its associated data is the prefix, the counter and a final-segment flag, so segments cannot be reordered,
dropped or truncated without failing authentication. An object swapped for another whole object decrypts,
but then its plaintext SHA-256 no longer matches its name, which ``verify`` reports. Encryption streams
from the source, so the vault never holds plaintext; analysis decrypts to memory-backed ``/dev/shm`` where
available (see ``Vault.materialize``). Hashes are always those of the plaintext original.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idolguard.errors import IntegrityError, WorkspaceError

MAGIC = b"IGV1"
SEGMENT = 1024 * 1024
TAG = 16
PREFIX = 8


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


def _aad(prefix: bytes, index: int, final: bool) -> bytes:
    return MAGIC + prefix + struct.pack(">I?", index, final)


def _with_last_flag(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    iterator = iter(chunks)
    current = next(iterator, b"")
    for following in iterator:
        yield current, False
        current = following
    yield current, True


def encrypt_stream(key: bytes, chunks: Iterable[bytes], out: BinaryIO) -> None:
    """Encrypt plaintext chunks (any sizes) into ``out``; segments are re-cut to exactly SEGMENT bytes."""
    aes = AESGCM(key)
    prefix = os.urandom(PREFIX)
    out.write(MAGIC + prefix)

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
        out.write(aes.encrypt(nonce, segment, _aad(prefix, index, final)))


def decrypt_stream(key: bytes, handle: BinaryIO, label: str) -> Iterator[bytes]:
    header = handle.read(len(MAGIC) + PREFIX)
    if header[: len(MAGIC)] != MAGIC:
        raise IntegrityError(f"vault object {label} is not encrypted with this vault's format")
    prefix = header[len(MAGIC) :]
    aes = AESGCM(key)
    index = 0
    block = handle.read(SEGMENT + TAG)
    while True:
        following = handle.read(SEGMENT + TAG)
        final = not following
        nonce = prefix + struct.pack(">I", index)
        try:
            yield aes.decrypt(nonce, block, _aad(prefix, index, final))
        except InvalidTag as exc:
            raise IntegrityError(f"vault object {label}: segment {index} fails authentication") from exc
        if final:
            return
        block = following
        index += 1


def is_encrypted_file(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC
