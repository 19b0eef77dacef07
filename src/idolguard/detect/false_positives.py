"""How often real idol photos score this high: the measured false-positive rate carried by every score.

A bare "0.83" means little to a lawyer; "1.2% of genuine idol photos score at least this high (95% CI
0.5-2.6%, n=509)" says how much it weighs. The model card holds the item logits of the held-out ``test``
split of real idol-style photos (``idolguard.detect.domain``: never trained on, never calibrated on), and
the rate at a score is the share of those photos whose score, under the *active* calibration, is at least
that score. Because the reference keeps logits, a workspace recalibration moves both sides together.

The same card holds the operating points (``likely`` / ``uncertain`` thresholds) chosen on the separate
``calibration`` split, so that at most ~1% of real idol photos are called ``likely_manipulated`` and at most
~6% ``uncertain``; the targets are 2% and 10% on the held-out split, and the margin absorbs the sampling
error of a few hundred photos. They only ever raise the generic 0.8 / 0.5 thresholds, never lower them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from idolguard.detect.calibration import Calibration

#: Targets on the calibration split (the published limits are 2% and 10% on the held-out split).
LIKELY_RATE = 0.01
FLAGGED_RATE = 0.07  # likely + uncertain together


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (sane at k=0, unlike the normal approximation)."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class RealReference:
    """Item logits of held-out real idol photos, and what they are."""

    logits: tuple[float, ...]
    data: str

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> RealReference | None:
        ref = card.get("real_idol_reference")
        if not isinstance(ref, dict) or not ref.get("logits"):
            return None
        try:
            logits = tuple(sorted(float(v) for v in ref["logits"]))
        except (TypeError, ValueError):
            return None
        return cls(logits, str(ref.get("data", "")))

    def rate_at(self, score: float, calibration: Calibration) -> dict[str, Any]:
        """Share of the reference photos scoring >= ``score`` (scores compared at their stored 4 decimals)."""
        probs = np.round(calibration.apply(np.asarray(self.logits)), 4)
        n = len(probs)
        k = int((probs >= round(float(score), 4)).sum())
        lo, hi = wilson(k, n)
        return {"rate": round(k / n, 4), "ci95": [round(lo, 4), round(hi, 4)], "k": k, "n": n}


def operating_points(
    calibration_logits: np.ndarray,
    calibration: Calibration,
    floor: tuple[float, float] = (0.8, 0.5),
    likely_rate: float = LIKELY_RATE,
    flagged_rate: float = FLAGGED_RATE,
) -> dict[str, float]:
    """Thresholds so that at most ``likely_rate`` / ``flagged_rate`` of the given real photos reach them.

    Chosen on the calibration split only. Never below ``floor`` (the generic likely/uncertain thresholds):
    a model that rarely flags idol photos keeps the usual meaning of its scores."""
    # Scores are stored and compared at 4 decimals, so the thresholds are chosen on that grid.
    probs = np.sort(np.round(calibration.apply(np.asarray(calibration_logits, dtype=np.float64)), 4))[::-1]

    def above(rate: float) -> float:
        k = int(math.floor(rate * len(probs)))  # this many photos may score at or above the threshold
        if k >= len(probs):
            return 0.0
        return min(1.0, round(float(probs[k]) + 1e-4, 4))  # strictly above the (k+1)-th highest

    likely = max(floor[0], above(likely_rate))
    uncertain = min(likely, max(floor[1], above(flagged_rate)))
    return {"likely": round(likely, 4), "uncertain": round(uncertain, 4)}


def describe(rate: dict[str, Any] | None) -> str:
    """One English line for logs and the CLI (reports use the catalogued sentence)."""
    if not rate:
        return "false-positive rate on real idol photos: not measured for this model"
    lo, hi = rate["ci95"]
    return (
        f"{rate['rate'] * 100:.1f}% of {rate['n']} real idol photos score this high "
        f"(95% CI {lo * 100:.1f}-{hi * 100:.1f}%)"
    )
