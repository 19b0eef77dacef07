"""RFC 3161 trusted timestamps for capture manifests.

Our own ledger proves order and integrity, but its clock is ours; a timestamp token from an independent
Time-Stamping Authority proves the manifest (and therefore every hash in it) existed no later than the TSA's
time. Requests go through the same SSRF-checked fetcher. Each configured TSA is tried; failures are recorded,
never fatal. The stored token is the DER ``TimeStampToken`` (CMS SignedData), which anyone can check with
``openssl ts -verify -data manifest.json -in token.tst -token_in -CAfile tsa-ca.pem``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, core, parser, tsp

from idolguard.capture.errors import CaptureError
from idolguard.capture.fetch import SafeFetcher, decode_body
from idolguard.evidence.tsa_token import check_signature

MAX_REPLY_BYTES = 1024 * 1024


@dataclass
class TimestampResult:
    tsa_url: str
    ok: bool
    token: bytes | None = None  # DER TimeStampToken (ContentInfo)
    gen_time: str | None = None
    serial: str | None = None
    policy: str | None = None
    tsa_name: str | None = None
    signature_valid: bool | None = None  # signed by the certificate inside the token (chain trust: openssl)
    signer_subject: str | None = None
    signer_sha256: str | None = None
    error: str | None = None

    def record(self, token_sha256: str | None) -> dict[str, Any]:
        return {
            "tsa_url": self.tsa_url,
            "ok": self.ok,
            "token_sha256": token_sha256,
            "gen_time": self.gen_time,
            "serial": self.serial,
            "policy": self.policy,
            "tsa_name": self.tsa_name,
            "signature_valid": self.signature_valid,
            "signer_subject": self.signer_subject,
            "signer_sha256": self.signer_sha256,
            "error": self.error,
        }


def build_request(data: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for SHA-256(data), asking for the TSA certificate to be included."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": tsp.MessageImprint(
                {
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                    "hashed_message": hashlib.sha256(data).digest(),
                }
            ),
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return request.dump()


def parse_reply(reply: bytes, data: bytes, nonce: int) -> tuple[bytes, tsp.TSTInfo]:
    """Check a TimeStampResp answers *this* request (status, imprint, nonce); return (token DER, TSTInfo).

    The signature is checked by ``openssl ts -verify`` against the TSA's CA, which only the user can choose
    to trust; here we make sure the token is about our manifest and not a replay.
    """
    try:
        # The status is read on its own first: a refusal has no token, which TimeStampResp cannot parse.
        _cls, _method, _tag, _header, contents, _trailer = parser.parse(reply, strict=True)
        _cls, _method, _tag, header, status_contents, _trailer = parser.parse(contents)
        status_info = tsp.PKIStatusInfo.load(header + status_contents)
        status = status_info["status"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise CaptureError(f"not an RFC 3161 reply: {str(exc).splitlines()[0]}") from exc
    if status not in ("granted", "granted_with_mods"):
        text = " ".join(status_info["status_string"].native or []) if status_info["status_string"] else ""
        raise CaptureError(f"TSA refused the request: {status} {text}".strip())
    try:
        response = tsp.TimeStampResp.load(reply)
        response["time_stamp_token"].native  # noqa: B018 - parse now so a broken token fails here
    except (ValueError, TypeError, KeyError) as exc:
        raise CaptureError(f"TSA reply has no readable token: {str(exc).splitlines()[0]}") from exc
    token = response["time_stamp_token"]
    if token.native is None or token["content_type"].native != "signed_data":
        raise CaptureError("TSA reply has no signed timestamp token")
    content = token["content"]["encap_content_info"]["content"]
    info = content.parsed if isinstance(content, core.ParsableOctetString) else content
    if not isinstance(info, tsp.TSTInfo):
        info = tsp.TSTInfo.load(bytes(content))
    imprint = info["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != "sha256":
        raise CaptureError("TSA answered with a different hash algorithm")
    if imprint["hashed_message"].native != hashlib.sha256(data).digest():
        raise CaptureError("TSA token is for a different document (message imprint mismatch)")
    if info["nonce"].native != nonce:
        raise CaptureError("TSA token nonce does not match the request (replayed reply?)")
    return token.dump(), info


def timestamp(fetcher: SafeFetcher, tsa_url: str, data: bytes, timeout_s: float = 30.0) -> TimestampResult:
    """Ask one TSA to timestamp SHA-256(data); never raises."""
    nonce = int.from_bytes(os.urandom(8), "big")
    try:
        exchange = fetcher.request(
            tsa_url,
            method="POST",
            headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
            body=build_request(data, nonce),
            max_bytes=MAX_REPLY_BYTES,
            timeout_s=timeout_s,
        )
        if exchange.error:
            raise CaptureError(exchange.error)
        if exchange.status != 200:
            raise CaptureError(f"TSA answered HTTP {exchange.status}")
        token, info = parse_reply(decode_body(exchange, MAX_REPLY_BYTES), data, nonce)
    except CaptureError as exc:
        return TimestampResult(tsa_url, ok=False, error=str(exc))
    tsa_name = None
    if info["tsa"].native is not None:
        try:
            tsa_name = info["tsa"].chosen.human_friendly
        except (AttributeError, ValueError):
            tsa_name = str(info["tsa"].native)
    valid, subject, fingerprint = check_signature(token)
    if not valid:
        return TimestampResult(tsa_url, ok=False, token=token, error="TSA token signature does not verify")
    return TimestampResult(
        tsa_url,
        ok=True,
        signature_valid=True,
        signer_subject=subject,
        signer_sha256=fingerprint,
        token=token,
        gen_time=info["gen_time"].native.isoformat(),
        serial=format(info["serial_number"].native, "x"),
        policy=info["policy"].dotted,
        tsa_name=tsa_name,
    )
