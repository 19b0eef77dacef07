"""A stand-alone ledger verifier that uses only the Python standard library and `cryptography`.

It is written from docs/EVIDENCE.md alone, as a third party would, and imports nothing from IdolGuard.
Usage: python independent_verifier.py LEDGER.jsonl PUBLIC_KEY.pem  -> prints "OK <n> entries" or the problem.
"""

import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

BODY = ("v", "seq", "ts", "actor", "action", "item", "details", "prev", "key_id")


def main(ledger_path: str, key_path: str) -> int:
    with open(key_path, "rb") as handle:
        key = load_pem_public_key(handle.read())

    key_id = hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()
    prev = "0" * 64
    count = 0
    with open(ledger_path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            record = json.loads(line)
            canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            if canonical.encode("utf-8") + b"\n" != line:
                print(f"line {number}: not canonical")
                return 1
            body = {name: record[name] for name in BODY}
            raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            if hashlib.sha256(raw).hexdigest() != record["hash"]:
                print(f"line {number}: hash mismatch")
                return 1
            if record["seq"] != number - 1 or record["prev"] != prev:
                print(f"line {number}: chain broken")
                return 1
            if record["key_id"] != key_id:
                print(f"line {number}: unknown key")
                return 1
            try:
                key.verify(base64.b64decode(record["sig"]), raw)
            except Exception:
                print(f"line {number}: bad signature")
                return 1
            prev = record["hash"]
            count += 1
    print(f"OK {count} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
