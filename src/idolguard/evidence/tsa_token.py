"""Reading RFC 3161 timestamp tokens (DER ``TimeStampToken``): what they are about and whether they are signed.

Shared by capture (tokens over capture manifests) and the ledger anchors (tokens over ledger heads); requesting
tokens needs the network and lives in ``capture/``, checking them needs nothing but the token.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from asn1crypto import cms, core, tsp


@dataclass
class TokenInfo:
    imprint_sha256: bytes | None
    gen_time: str | None
    serial: str | None
    signature_valid: bool
    signer_subject: str | None


def read_token(token_der: bytes) -> TokenInfo:
    """The message imprint, time and serial of a token, and whether it is signed by the certificate it
    carries (trust in that certificate's issuer is for ``openssl ts -verify -CAfile``). Never raises."""
    try:
        token = cms.ContentInfo.load(token_der)
        content = token["content"]["encap_content_info"]["content"]
        info = content.parsed if isinstance(content, core.ParsableOctetString) else content
        if not isinstance(info, tsp.TSTInfo):
            info = tsp.TSTInfo.load(bytes(content))
        imprint = info["message_imprint"]
        digest = imprint["hashed_message"].native if imprint["hash_algorithm"]["algorithm"].native == "sha256" else None
        gen_time = info["gen_time"].native.isoformat()
        serial = format(info["serial_number"].native, "x")
    except (ValueError, TypeError, KeyError, AttributeError):
        return TokenInfo(None, None, None, False, None)
    valid, subject, _fingerprint = check_signature(token_der)
    return TokenInfo(digest, gen_time, serial, valid, subject)


def token_matches(token_der: bytes, data: bytes) -> bool:
    info = read_token(token_der)
    return info.signature_valid and info.imprint_sha256 == hashlib.sha256(data).digest()


def check_signature(token_der: bytes) -> tuple[bool, str | None, str | None]:
    """Is the token signed, over its own TSTInfo, by the certificate it carries? (valid, subject, cert SHA-256)

    This catches corrupted or doctored tokens at capture time; whether that certificate belongs to a TSA
    the court trusts is a chain question for ``openssl ts -verify -CAfile``.
    """
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    subject: str | None = None
    fingerprint: str | None = None
    try:
        signed = cms.ContentInfo.load(token_der)["content"]
        signer = signed["signer_infos"][0]
        serial = signer["sid"].chosen["serial_number"].native
        certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
        cert_der = next((c.dump() for c in certs if c.serial_number == serial), None)
        if cert_der is None:
            return False, None, None
        cert = x509.load_der_x509_certificate(cert_der)
        subject, fingerprint = cert.subject.rfc4514_string(), hashlib.sha256(cert_der).hexdigest()
        digest_name = signer["digest_algorithm"]["algorithm"].native
        algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(digest_name)
        if algorithm is None:
            return False, subject, fingerprint
        content = signed["encap_content_info"]["content"].contents
        attrs = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
        expected = hashlib.new(digest_name, content).digest()
        if attrs.get("message_digest") != expected or attrs.get("content_type") != "tst_info":
            return False, subject, fingerprint
        signed_bytes = signer["signed_attrs"].untag().dump()
        key = cert.public_key()
        signature = signer["signature"].native
        if isinstance(key, rsa.RSAPublicKey):
            if signer["signature_algorithm"].signature_algo == "rsassa_pss":
                key.verify(
                    signature, signed_bytes, padding.PSS(padding.MGF1(algorithm), algorithm.digest_size), algorithm
                )
            else:
                key.verify(signature, signed_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_bytes, ec.ECDSA(algorithm))
        else:
            return False, subject, fingerprint
        return True, subject, fingerprint
    except (InvalidSignature, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False, subject, fingerprint
