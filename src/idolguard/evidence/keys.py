"""The instance signing key (Ed25519).

Each workspace signs its custody events with its own key, created at ``init``. The private key file is
mode 0600 and never leaves the workspace; the public key is exported beside it so third parties can verify.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from idolguard.errors import WorkspaceError

PRIVATE_NAME = "instance_ed25519.pem"
PUBLIC_NAME = "instance_ed25519.pub.pem"


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex: short enough to put in every ledger entry."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass
class SigningKey:
    private: Ed25519PrivateKey
    key_id: str

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


def create_key(keys_dir: Path) -> SigningKey:
    keys_dir.mkdir(parents=True, exist_ok=True)
    private_path = keys_dir / PRIVATE_NAME
    if private_path.exists():
        return load_key(keys_dir)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (keys_dir / PUBLIC_NAME).write_bytes(public_pem)
    return SigningKey(private, key_id(private.public_key()))


def load_key(keys_dir: Path) -> SigningKey:
    private_path = keys_dir / PRIVATE_NAME
    try:
        private = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise WorkspaceError(f"instance signing key missing: {private_path}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise WorkspaceError(f"{private_path} is not an Ed25519 key")
    return SigningKey(private, key_id(private.public_key()))


def load_public_keys(keys_dir: Path) -> dict[str, Ed25519PublicKey]:
    """All public keys the workspace trusts (its own, plus earlier/rotated ones dropped in as *.pub.pem)."""
    found: dict[str, Ed25519PublicKey] = {}
    for path in sorted(keys_dir.glob("*.pub.pem")):
        key = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(key, Ed25519PublicKey):
            found[key_id(key)] = key
    return found
