"""Canonical JSON for signed records.

Signatures are over bytes, so every writer and verifier must produce the same bytes for the same record:
keys sorted, no insignificant whitespace, UTF-8, no floats (their text form differs between languages).
"""

from __future__ import annotations

import json
from typing import Any


def _valid(value: Any) -> bool:
    """The fast check every signed record goes through (no path strings built on the way): ``_check`` then
    names the offending place only when this says no."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is dict:
        for key, item in value.items():  # noqa: SIM110 - a loop: all() over a generator is ~1.5x slower here
            if type(key) is not str or not _valid(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:  # noqa: SIM110 - as above
            if not _valid(item):
                return False
        return True
    return False  # floats, subclasses, anything else: ``_check`` decides (and names the place)


def _check(value: Any, path: str = "$") -> None:
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return
    if isinstance(value, float):
        raise TypeError(f"floats are not allowed in canonical JSON (at {path}); store them as strings")
    if isinstance(value, dict):
        for key, item in value.items():  # noqa: SIM110 - a loop: all() over a generator is ~1.5x slower here
            if not isinstance(key, str):
                raise TypeError(f"non-string key at {path}")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise TypeError(f"unsupported type {type(value).__name__} at {path}")


def canonical_bytes(value: Any, *, check: bool = True) -> bytes:
    """``check=False`` only for a value made of parts already checked (the ledger line: the checked body plus
    its hash and signature strings)."""
    if check and not _valid(value):
        _check(value)  # raises, naming where
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ledger_safe(value: Any) -> Any:
    """Convert floats (e.g. scores) to their shortest repr string so they can enter a signed record."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): ledger_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [ledger_safe(v) for v in value]
    return value


def output_digest(output: Any) -> str:
    """SHA-256 of a stage output as the ledger records it (``analysis`` events): the verifier recomputes it
    from the stored result, so it lives here, with the canonical bytes, not in the pipeline."""
    import hashlib

    return hashlib.sha256(canonical_bytes(ledger_safe(output))).hexdigest()
