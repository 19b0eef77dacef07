"""Detect settings: ``[detect]`` verdict thresholds (recorded in each manipulation output)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class DetectSettings:
    """Manipulation verdicts from the calibrated score."""

    section: ClassVar[str] = "detect"
    likely_threshold: float = field(default=0.8, metadata={"help": "Score at or above: likely_manipulated."})
    uncertain_threshold: float = field(
        default=0.5, metadata={"help": "Score at or above (and below likely): uncertain."}
    )
