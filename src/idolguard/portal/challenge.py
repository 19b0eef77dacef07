"""Proof-of-work challenge for report submission (self-hosted; no third-party CAPTCHA).

Algorithm (documented for script and app authors in docs/PORTAL.md):

1. ``GET /api/challenge`` returns ``{"token", "bits", "expires_in", "algorithm"}``. ``token`` is
   ``base64url(payload) + "." + hex(HMAC-SHA256(secret, payload))`` where payload is the JSON
   ``{"v": 1, "n": nonce (32 hex chars), "t": issued (unix seconds), "b": bits}``.
2. The client finds the smallest (or any) decimal counter ``c`` such that ``SHA-256(token + ":" + c)`` has at
   least ``bits`` leading zero bits.
3. The report carries ``"challenge": {"token": token, "solution": "c"}``.

The server checks the HMAC (the token is its own), the age (``challenge_ttl_s``) and the work, all without
storing anything when issuing. Replay protection: the nonce is stored with the report it paid for
(``portal_reports.challenge_nonce`` is unique), so each solved challenge buys exactly one stored report.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

ALGORITHM = "sha256-leading-zero-bits/v1"
MAX_TOKEN_CHARS = 400
MAX_SOLUTION_CHARS = 20


class ChallengeError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Solved:
    nonce: str
    issued: int


def issue(secret: bytes, bits: int, now: float | None = None) -> str:
    payload = json.dumps(
        {"v": 1, "n": secrets.token_hex(16), "t": int(now if now is not None else time.time()), "b": bits},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    mac = hmac.new(secret, payload, hashlib.sha256).hexdigest()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + mac


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solve(token: str, bits: int) -> str:
    """Reference solver (tests, bench and the docs' example); the page's script does the same in the browser."""
    prefix = (token + ":").encode()
    counter = 0
    while True:
        if leading_zero_bits(hashlib.sha256(prefix + str(counter).encode()).digest()) >= bits:
            return str(counter)
        counter += 1


def verify(secret: bytes, value: object, min_bits: int, ttl_s: int, now: float | None = None) -> Solved:
    """Check a submitted ``{"token", "solution"}``; raises ``ChallengeError`` with a reason code."""
    if not isinstance(value, dict):
        raise ChallengeError("missing", "a solved challenge is required (GET /api/challenge)")
    token, solution = value.get("token"), value.get("solution")
    if not isinstance(token, str) or not isinstance(solution, str | int):
        raise ChallengeError("missing", "challenge needs a token and a solution")
    solution = str(solution)
    if len(token) > MAX_TOKEN_CHARS or len(solution) > MAX_SOLUTION_CHARS or not solution.isdigit():
        raise ChallengeError("invalid", "malformed challenge")
    encoded, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError as exc:
        raise ChallengeError("invalid", "malformed challenge") from exc
    expected = hmac.new(secret, payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        raise ChallengeError("invalid", "the challenge was not issued by this portal")
    data = json.loads(payload)
    issued, bits, nonce = int(data["t"]), int(data["b"]), str(data["n"])
    current = now if now is not None else time.time()
    if current - issued > ttl_s or issued - current > 60:
        raise ChallengeError("expired", "the challenge has expired; fetch a new one")
    if bits < min_bits:
        raise ChallengeError("invalid", "the challenge is easier than this portal requires")
    digest = hashlib.sha256((token + ":" + solution).encode()).digest()
    if leading_zero_bits(digest) < bits:
        raise ChallengeError("unsolved", "the challenge solution is wrong")
    return Solved(nonce=nonce, issued=issued)
