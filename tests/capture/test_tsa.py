"""RFC 3161 client against the local test TSA: request/reply matching and the token's own signature."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import tsp

from idolguard.capture import tsa
from idolguard.capture.errors import CaptureError
from tests.capture.local_tsa import LocalTSA


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> LocalTSA:
    return LocalTSA(Path(tmp_path_factory.mktemp("tsa-unit")))


def test_token_matches_request_and_signature_verifies(authority: LocalTSA) -> None:
    data = b'{"manifest": 1}'
    token, info = tsa.parse_reply(authority.respond(tsa.build_request(data, 42)), data, 42)
    assert info["nonce"].native == 42 and info["policy"].dotted
    valid, subject, fingerprint = tsa.check_signature(token)
    assert valid and "IdolGuard Test TSA" in (subject or "") and len(fingerprint or "") == 64


def test_corrupted_token_signature_is_detected(authority: LocalTSA) -> None:
    data = b"evidence"
    token, _info = tsa.parse_reply(authority.respond(tsa.build_request(data, 7)), data, 7)
    broken = bytearray(token)
    broken[-5] ^= 0xFF  # inside the signature value at the end of the SignerInfo
    assert tsa.check_signature(bytes(broken))[0] is False


def test_reply_for_other_data_or_nonce_is_rejected(authority: LocalTSA) -> None:
    reply = authority.respond(tsa.build_request(b"other document", 5))
    with pytest.raises(CaptureError, match="message imprint mismatch"):
        tsa.parse_reply(reply, b"our document", 5)
    reply = authority.respond(tsa.build_request(b"doc", 5))
    with pytest.raises(CaptureError, match="nonce"):
        tsa.parse_reply(reply, b"doc", 6)


def test_refusal_and_garbage_are_clear_errors() -> None:
    # A real refusal carries only the status (no token), which asn1crypto cannot build: encode it by hand.
    status = tsp.PKIStatusInfo({"status": "rejection", "status_string": ["bad algorithm"]}).dump()
    refusal = b"\x30" + bytes([len(status)]) + status
    with pytest.raises(CaptureError, match="refused the request: rejection"):
        tsa.parse_reply(refusal, b"x", 1)
    with pytest.raises(CaptureError, match="not an RFC 3161 reply"):
        tsa.parse_reply(b"<html>oops</html>", b"x", 1)
