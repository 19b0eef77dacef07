"""The hash a custody event signs for a stage's output, shared by the runner (writes it) and verify (checks it)."""

from __future__ import annotations

import hashlib
from typing import Any

from idolguard.evidence.canonical import canonical_bytes, ledger_safe


def output_digest(output: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a stage output (floats as their shortest repr strings)."""
    return hashlib.sha256(canonical_bytes(ledger_safe(output))).hexdigest()
