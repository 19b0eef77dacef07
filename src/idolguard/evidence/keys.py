"""The instance signing key (Ed25519): where it lives, how it is pinned, how it is rotated.

Each workspace signs its custody events with its own key, created at ``init``. Whoever can read the private
key can re-sign history, so it should not sit beside the evidence: ``init --signing-key-file PATH`` puts it
elsewhere (an encrypted volume, a hardware-backed mount), ``IDOLGUARD_SIGNING_KEY_FILE`` points to it at run
time, and ``IDOLGUARD_SIGNING_KEY_PASSPHRASE`` encrypts it (PKCS#8 with the best available encryption).
Without either, the key stays in ``keys/`` (mode 0600), as before.

The public key always sits in the workspace (``keys/instance_ed25519.pub.pem``) and, more importantly, in the
ledger itself: the genesis entry carries its fingerprint and raw bytes, and a new key is only accepted
through a ``ledger.rotate_key`` entry signed by the key before it (see ``verify.ChainWalker``).
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
ENV_KEY_FILE = "IDOLGUARD_SIGNING_KEY_FILE"
ENV_PASSPHRASE = "IDOLGUARD_SIGNING_KEY_PASSPHRASE"


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex: short enough to put in every ledger entry."""
    return hashlib.sha256(raw_public(public_key)).hexdigest()


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of_raw(raw_hex: object) -> str | None:
    try:
        return hashlib.sha256(bytes.fromhex(str(raw_hex))).hexdigest()
    except ValueError:
        return None


def public_key_from_raw(raw_hex: object) -> Ed25519PublicKey | None:
    """The public key a ledger entry carries (64 hex characters), or None when it is not one."""
    try:
        raw = bytes.fromhex(str(raw_hex))
        return Ed25519PublicKey.from_public_bytes(raw) if len(raw) == 32 else None
    except ValueError:
        return None


@dataclass
class SigningKey:
    private: Ed25519PrivateKey
    key_id: str

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_hex(self) -> str:
        return raw_public(self.public).hex()


def _passphrase() -> bytes | None:
    value = os.environ.get(ENV_PASSPHRASE)
    return value.encode("utf-8") if value else None


def write_private_key(private: Ed25519PrivateKey, path: Path) -> None:
    """Write a new private key file (mode 0600, never over an existing file), encrypted when a passphrase
    is set in the environment."""
    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def write_public_key(public: Ed25519PublicKey, keys_dir: Path) -> None:
    keys_dir.mkdir(parents=True, exist_ok=True)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    tmp = keys_dir / f".{PUBLIC_NAME}.tmp"
    tmp.write_bytes(pem)
    os.replace(tmp, keys_dir / PUBLIC_NAME)


def private_key_path(keys_dir: Path, configured: str | None = None) -> Path:
    """Where the private key is: the environment, then the workspace config, then ``keys/``."""
    chosen = os.environ.get(ENV_KEY_FILE) or configured
    return Path(chosen).expanduser() if chosen else keys_dir / PRIVATE_NAME


def create_key(keys_dir: Path, private_path: Path | None = None) -> SigningKey:
    """Create the instance key (or load it when it exists); the public half always goes to ``keys_dir``."""
    private_path = private_path or keys_dir / PRIVATE_NAME
    if private_path.exists():
        key = load_key(keys_dir, private_path)
        if not (keys_dir / PUBLIC_NAME).exists():
            write_public_key(key.public, keys_dir)
        return key
    private = Ed25519PrivateKey.generate()
    write_private_key(private, private_path)
    write_public_key(private.public_key(), keys_dir)
    return SigningKey(private, key_id(private.public_key()))


def load_key(keys_dir: Path, private_path: Path | None = None) -> SigningKey:
    private_path = private_path or keys_dir / PRIVATE_NAME
    try:
        data = private_path.read_bytes()
    except FileNotFoundError as exc:
        raise WorkspaceError(
            f"instance signing key missing: {private_path} (set {ENV_KEY_FILE} if it is kept elsewhere)"
        ) from exc
    except OSError as exc:
        raise WorkspaceError(f"cannot read the signing key {private_path}: {exc.strerror or exc}") from exc
    try:
        private = serialization.load_pem_private_key(data, password=_passphrase())
    except TypeError as exc:  # encrypted without a passphrase, or a passphrase for a plain key
        raise WorkspaceError(
            f"the signing key {private_path} is passphrase-protected: set {ENV_PASSPHRASE}"
            if b"ENCRYPTED" in data
            else f"the signing key {private_path} is not encrypted: unset {ENV_PASSPHRASE}"
        ) from exc
    except ValueError as exc:
        raise WorkspaceError(f"cannot load the signing key {private_path} (wrong passphrase?)") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise WorkspaceError(f"{private_path} is not an Ed25519 key")
    return SigningKey(private, key_id(private.public_key()))


def load_public_keys(keys_dir: Path) -> dict[str, Ed25519PublicKey]:
    """Public keys found in the workspace. They only supply key material: which key may sign which entries
    is decided by the ledger's own genesis and rotation entries, never by what files exist here."""
    found: dict[str, Ed25519PublicKey] = {}
    try:
        paths = sorted(keys_dir.glob("*.pub.pem"))
    except OSError:
        return found
    for path in paths:
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(key, Ed25519PublicKey):
            found[key_id(key)] = key
    return found


def public_key_id(keys_dir: Path) -> str | None:
    """The key id of the workspace's current public key file, or None when it is missing or unreadable."""
    try:
        key = serialization.load_pem_public_key((keys_dir / PUBLIC_NAME).read_bytes())
    except (OSError, ValueError):
        return None
    return key_id(key) if isinstance(key, Ed25519PublicKey) else None
