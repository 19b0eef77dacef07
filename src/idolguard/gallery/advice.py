"""Is an artist's set of reference photos good enough, and if not, which photos would help most?

Matching an artist rests on a few references. Three near-identical frontal shots from one photo shoot make a
narrow target: another angle, another occasion or a sharper photo helps more than a fourth copy of the same.
The advice is computed from what is stored (quality parts and embeddings), so ``artists add`` and
``artists show`` say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

RECOMMENDED_REFERENCES = 5
NEAR_DUPLICATE = 0.90  # two references this similar are one occasion (or one photo): they count once
ANGLED_BELOW = 0.75  # frontalness under this is a three-quarter or profile view
FRONTAL_FROM = 0.85
SHARP_FROM = 0.5
LARGE_FACE_PX = 96.0


@dataclass
class Advice:
    references: int
    distinct: int  # references left after merging near-duplicates
    minimum: int
    more_needed: int  # photos to add to reach the minimum of distinct references
    kinds: list[str] = field(default_factory=list)  # codes, see messages.ADVICE_KINDS

    @property
    def ok(self) -> bool:
        return self.more_needed == 0 and not self.kinds

    def as_dict(self) -> dict[str, Any]:
        return {
            "references": self.references,
            "distinct_references": self.distinct,
            "minimum": self.minimum,
            "recommended": RECOMMENDED_REFERENCES,
            "more_needed": self.more_needed,
            "kinds": list(self.kinds),
        }


def distinct_count(embeddings: np.ndarray) -> int:
    """How many references remain when each group of near-duplicates counts once (greedy clustering)."""
    if len(embeddings) == 0:
        return 0
    sims = embeddings @ embeddings.T
    left = list(range(len(embeddings)))
    groups = 0
    while left:
        seed = left.pop(0)
        left = [j for j in left if sims[seed, j] < NEAR_DUPLICATE]
        groups += 1
    return groups


def advise(embeddings: np.ndarray, qualities: list[dict[str, Any]], minimum: int) -> Advice:
    """Advice for one artist from their references' embeddings and quality parts (``face["quality"]``)."""
    n = len(qualities)
    distinct = distinct_count(np.asarray(embeddings, np.float32).reshape(-1, 128)) if n else 0
    more = max(0, minimum - distinct)
    kinds: list[str] = []
    if n and distinct < n:
        kinds.append("other_occasion")
    frontal = [float(q.get("frontal", 1.0)) for q in qualities]
    if n >= 2 and not any(f < ANGLED_BELOW for f in frontal):
        kinds.append("angled_view")
    if n and not any(f >= FRONTAL_FROM for f in frontal):
        kinds.append("frontal_view")
    if n and not any(float(q.get("sharpness", 1.0)) >= SHARP_FROM for q in qualities):
        kinds.append("sharper_photo")
    if n and not any(float(q.get("face_px", LARGE_FACE_PX)) >= LARGE_FACE_PX for q in qualities):
        kinds.append("larger_face")
    if more and not kinds:
        kinds.append("any_clear_photo")
    return Advice(n, distinct, minimum, more, kinds)
