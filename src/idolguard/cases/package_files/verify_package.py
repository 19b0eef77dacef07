#!/usr/bin/env python3
"""Verify an IdolGuard case evidence package offline.

Usage:  python3 verify_package.py case.zip        (or a folder the package was unpacked into)
Needs:  Python 3.9+; signatures also need the `cryptography` package (pip install cryptography).

Checks, with nothing but this file and the package:
  1. manifest.json is signed by the instance key shipped as public_key.pem (manifest.sig);
  2. every file listed in the manifest has the SHA-256 and size the manifest gives (and no file is unlisted);
  3. every custody event in ledger/events.jsonl is canonical, hashes to its `hash`, and is signed by that key;
  4. ledger/chain.jsonl links every one of those events, without gaps, to the ledger head at packaging time,
     and the package event at the head names this manifest's SHA-256;
  5. every RFC 3161 timestamp token's message imprint equals the SHA-256 of the file it timestamps
     (the TSA's own signature is checked with `openssl ts -verify`; see README.md).
Exit status 0 when everything holds, 3 when anything fails (each failure names the member concerned),
2 on usage errors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path

FORMAT = "idolguard-case-package/1"
BODY = ("v", "seq", "ts", "actor", "action", "item", "details", "prev", "key_id")
CHUNK = 1 << 20
SELF_CHECKED = {"manifest.json", "manifest.sig", "ledger/events.jsonl", "ledger/chain.jsonl"}
SHA256_OID = bytes.fromhex("608648016503040201")


class Package:
    """A zip file or an unpacked folder, read member by member."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> list[str]:
        if self.zip is not None:
            return [n for n in self.zip.namelist() if not n.endswith("/")]
        return sorted(str(p.relative_to(self.path)).replace("\\", "/") for p in self.path.rglob("*") if p.is_file())

    def chunks(self, name: str):
        if self.zip is not None:
            with self.zip.open(name) as handle:  # zipfile checks each member's CRC-32 at its end
                while True:
                    block = handle.read(CHUNK)
                    if not block:
                        return
                    yield block
        else:
            with open(self.path / name, "rb") as handle:
                while True:
                    block = handle.read(CHUNK)
                    if not block:
                        return
                    yield block

    def read(self, name: str) -> bytes:
        return b"".join(self.chunks(name))


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def load_key(pem: bytes):
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        return None, "the cryptography package is not installed: signatures NOT checked (pip install cryptography)"
    try:
        return load_pem_public_key(pem), None
    except ValueError as exc:
        return False, f"public_key.pem: not a valid public key ({exc})"


def raw_public_key(key) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def signature_ok(key, signature_b64: str, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(base64.b64decode(signature_b64, validate=True), data)
        return True
    except (InvalidSignature, ValueError):
        return False


def der(data: bytes, pos: int):
    """(tag, content start, content end) of the DER element at pos."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def children(data: bytes, start: int, end: int):
    pos = start
    while pos < end:
        tag, cstart, cend = der(data, pos)
        yield tag, cstart, cend
        pos = cend


def token_imprint(token: bytes):
    """(hash algorithm OID bytes, hashed message, genTime text) from a DER TimeStampToken."""
    _, s, e = der(token, 0)  # ContentInfo
    parts = list(children(token, s, e))
    _, s, e = parts[1]  # [0] EXPLICIT
    _, s, e = der(token, s)  # SignedData
    signed = list(children(token, s, e))
    _, s, e = signed[2]  # encapContentInfo
    encap = list(children(token, s, e))
    _, s, e = encap[1]  # [0] EXPLICIT
    _, s, e = der(token, s)  # OCTET STRING holding TSTInfo
    tst = token[s:e]
    _, s, e = der(tst, 0)
    fields = list(children(tst, s, e))
    _, s, e = fields[2]  # messageImprint
    imprint = list(children(tst, s, e))
    _, s2, e2 = imprint[0]  # AlgorithmIdentifier
    _, os_, oe = next(children(tst, s2, e2))
    algorithm = tst[os_:oe]
    _, hs, he = imprint[1]
    gen_time = None
    for tag, cs, ce in fields[3:]:
        if tag == 0x18:
            gen_time = tst[cs:ce].decode("ascii", "replace")
            break
    return algorithm, tst[hs:he], gen_time


def verify(path: Path, out=print) -> bool:
    failures: list[str] = []
    notes: list[str] = []

    def bad(member: str, message: str) -> None:
        failures.append(f"{member}: {message}")

    try:
        package = Package(path)
    except (zipfile.BadZipFile, OSError) as exc:
        out(f"FAILED: {path}: not a readable package ({exc})")
        return False
    names = set(package.names())
    for required in ("manifest.json", "manifest.sig", "public_key.pem", "ledger/events.jsonl", "ledger/chain.jsonl"):
        if required not in names:
            bad(required, "missing from the package")
    if failures:
        for line in failures:
            out(f"FAIL {line}")
        out("VERDICT: FAILED")
        return False

    def read(name: str) -> bytes | None:
        try:
            return package.read(name)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            bad(name, f"unreadable, damaged in the archive ({exc})")
            return None

    manifest_bytes = read("manifest.json") or b""
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    try:
        manifest = json.loads(manifest_bytes)
        if manifest.get("format") != FORMAT:
            bad("manifest.json", f"unknown format {manifest.get('format')!r}")
    except ValueError:
        bad("manifest.json", "not valid JSON")
        manifest = {}
    key, key_problem = load_key(read("public_key.pem") or b"")
    key_id = None
    if key_problem and key is None:
        notes.append(key_problem)
    elif key_problem:
        bad("public_key.pem", key_problem)
        key = None
    if key:
        key_id = hashlib.sha256(raw_public_key(key)).hexdigest()
        if manifest.get("key_id") and manifest.get("key_id") != key_id:
            bad("public_key.pem", "is not the key named in the manifest")
        signature = (read("manifest.sig") or b"").decode("ascii", "replace").strip()
        manifest_signed = signature_ok(key, signature, manifest_bytes)
    else:
        manifest_signed = None

    listed: dict[str, dict] = {}
    for entry in manifest.get("files", []):
        listed[entry.get("path")] = entry
    for name in sorted(names - set(listed) - SELF_CHECKED - {"public_key.pem"}):
        bad(name, "not listed in the manifest (added after packaging?)")
    for name, entry in sorted(listed.items()):
        if name not in names:
            bad(name, "listed in the manifest but missing from the package")
            continue
        digest, size = hashlib.sha256(), 0
        try:
            for block in package.chunks(name):
                digest.update(block)
                size += len(block)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            bad(name, f"damaged in the archive ({exc})")
            continue
        if digest.hexdigest() != entry.get("sha256"):
            bad(name, f"SHA-256 {digest.hexdigest()} differs from the manifest's {entry.get('sha256')}")
        elif size != entry.get("size"):
            bad(name, f"size {size} differs from the manifest's {entry.get('size')}")

    events: dict[int, dict] = {}
    for number, raw in enumerate((read("ledger/events.jsonl") or b"").splitlines(), start=1):
        where = f"ledger/events.jsonl line {number}"
        try:
            record = json.loads(raw)
        except ValueError:
            bad(where, "not JSON")
            continue
        if not isinstance(record, dict) or any(k not in record for k in (*BODY, "hash", "sig")):
            bad(where, "not a custody event")
            continue
        if canonical(record) != raw:
            bad(where, "not in canonical form (altered)")
        body = canonical({k: record[k] for k in BODY})
        if hashlib.sha256(body).hexdigest() != record["hash"]:
            bad(where, f"event seq {record['seq']} does not match its hash (altered)")
        elif key and key_id and record["key_id"] != key_id:
            bad(where, f"event seq {record['seq']} signed by another key")
        elif key and not signature_ok(key, record["sig"], body):
            bad(where, f"event seq {record['seq']} signature invalid")
        events[record["seq"]] = record

    links: list[dict] = []
    for number, raw in enumerate((read("ledger/chain.jsonl") or b"").splitlines(), start=1):
        where = f"ledger/chain.jsonl line {number}"
        try:
            link = json.loads(raw)
        except ValueError:
            bad(where, "not JSON")
            continue
        if not isinstance(link, dict) or set(link) != {"seq", "prev", "hash"} or canonical(link) != raw:
            bad(where, "not a canonical chain link (altered)")
            continue
        links.append(link)
    for index in range(1, len(links)):
        previous, link = links[index - 1], links[index]
        if link["seq"] != previous["seq"] + 1 or link["prev"] != previous["hash"]:
            bad("ledger/chain.jsonl", f"chain broken between seq {previous['seq']} and {link['seq']}")
    by_seq = {link["seq"]: link for link in links}
    for seq, record in sorted(events.items()):
        link = by_seq.get(seq)
        if link is None or link["hash"] != record["hash"] or link["prev"] != record["prev"]:
            bad("ledger/events.jsonl", f"event seq {seq} is not on the chain in ledger/chain.jsonl")
    head = links[-1] if links else None
    head_event = events.get(head["seq"]) if head else None
    if head_event is None or head_event.get("action") != "case.package":
        bad("ledger/chain.jsonl", "the chain does not end at this package's signed case.package event")
    elif head_event["details"].get("manifest_sha256") != manifest_sha:
        bad("manifest.json", "SHA-256 differs from the one recorded in the signed case.package event (altered)")
    elif manifest_signed is False:
        bad("manifest.sig", "signature of manifest.json does not verify (signature altered)")
    if manifest_signed is False and (
        head_event is None or head_event["details"].get("manifest_sha256") != manifest_sha
    ):
        bad("manifest.json", "signature (manifest.sig) does not verify")

    for stamp in manifest.get("timestamps", []):
        token_name, data_name = stamp.get("token"), stamp.get("data")
        if token_name not in names or data_name not in names:
            continue  # listed files already reported missing above
        try:
            algorithm, imprint, gen_time = token_imprint(read(token_name) or b"")
        except (ValueError, IndexError, StopIteration):
            bad(token_name, "not a readable RFC 3161 timestamp token")
            continue
        if algorithm != SHA256_OID:
            notes.append(f"{token_name}: imprint uses a hash other than SHA-256; not compared")
            continue
        if imprint != hashlib.sha256(read(data_name) or b"").digest():
            bad(token_name, f"message imprint does not match {data_name}")
        else:
            notes.append(f"{token_name}: imprint matches {data_name} (TSA time {gen_time})")

    case = manifest.get("case", {})
    out(f"IdolGuard evidence package {path.name}: case {case.get('number')} ({case.get('title')})")
    out(f"  files checked: {len(listed)}; custody events: {len(events)}; chain links: {len(links)}")
    destroyed = [i for i in manifest.get("items", []) if i.get("status") == "destroyed"]
    if destroyed:
        out(f"  {len(destroyed)} item(s) destroyed by a signed decision before packaging: hashes only")
    if key_id:
        out(f"  signing key id (compare with the one the agency published): {key_id}")
    if head:
        out(f"  ledger head at packaging: seq {head['seq']} hash {head['hash']}")
    for note in notes:
        out(f"  note: {note}")
    for line in failures:
        out(f"FAIL {line}")
    if failures:
        out(f"VERDICT: FAILED ({len(failures)} problem(s)) / 판정: 검증 실패")
        return False
    if key is None:
        out("VERDICT: INCOMPLETE (hashes and chain OK; signatures not checked) / 판정: 서명 미검증")
        return False
    out("VERDICT: OK - every hash, signature, chain link and timestamp imprint verified / 판정: 검증 성공")
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    return 0 if verify(Path(argv[1])) else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
