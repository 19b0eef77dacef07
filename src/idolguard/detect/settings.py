"""Detect settings: ``[detect]`` verdict thresholds (recorded in each manipulation output).

By default the model's own operating points apply (chosen on real idol photos, stored in its card); the
generic thresholds below apply when ``model_operating_points = false``, under a workspace calibration, or
for a model whose card has none."""

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
    model_operating_points: bool = field(
        default=True,
        metadata={
            "help": "Use the model card's operating points (chosen so few real idol photos are flagged) "
            "instead of the two thresholds above."
        },
    )
