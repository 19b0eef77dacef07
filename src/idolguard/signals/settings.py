"""Signals settings: ``[signals]`` (how scanned items are hashed and face-matched; recorded in the outputs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class SignalsSettings:
    """Hashing and face-anchored matching of scanned items."""

    section: ClassVar[str] = "signals"
    query_jitter: bool = field(
        default=True,
        metadata={"help": "Hash query faces at nine landmark perturbations too (recall on rotated copies)."},
    )
    exact_pdq: bool = field(
        default=False,
        metadata={"help": "Hash scanned images with the full reference decode (slower; `match --exact` for one run)."},
    )
