"""Secrets: argon2id password hashes, random tokens stored only as SHA-256, TOTP (RFC 6238 via pyotp)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's "low memory" argon2id profile (t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()
ISSUER = "IdolGuard"


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify() -> None:
    """Spend the same time as a real check when the user does not exist (no user enumeration by timing)."""
    verify_password(_DUMMY, "not-the-password")


_DUMMY = _HASHER.hash("dummy-password-for-timing")


def new_password() -> str:
    """A one-time password an administrator can read out or paste: 4 groups of 5 URL-safe characters."""
    raw = secrets.token_urlsafe(20).replace("-", "x").replace("_", "y")
    return "-".join(raw[i : i + 5] for i in range(0, 20, 5))


def new_token(prefix: str = "igt_") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, user: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user, issuer_name=ISSUER)


def verify_totp(secret: str | None, code: str) -> bool:
    if not secret:
        return False
    code = "".join(ch for ch in code if ch.isdigit())
    return len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)
