"""Operating points and false-positive rates: the arithmetic the published idol-photo rates rest on."""

from __future__ import annotations

import numpy as np

from idolguard.detect.calibration import Calibration
from idolguard.detect.false_positives import RealReference, describe, operating_points, wilson

IDENTITY = Calibration("identity")


def test_wilson_interval_contains_the_rate_and_is_sane_at_zero() -> None:
    lo, hi = wilson(6, 500)
    assert lo < 6 / 500 < hi and hi < 0.03
    lo0, hi0 = wilson(0, 500)
    assert lo0 == 0.0 and 0.0 < hi0 < 0.01
    assert wilson(0, 0) == (0.0, 1.0)


def test_operating_points_keep_the_share_of_real_photos_flagged_within_the_targets() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(2.0, 1.5, 400)  # a model that scores real photos high: the floor is not enough
    points = operating_points(logits, IDENTITY, likely_rate=0.01, flagged_rate=0.07)
    probs = np.round(IDENTITY.apply(logits), 4)
    assert (probs >= points["likely"]).mean() <= 0.01
    assert (probs >= points["uncertain"]).mean() <= 0.07
    assert points["likely"] >= points["uncertain"] >= 0.5
    quiet = operating_points(rng.normal(-4.0, 0.5, 400), IDENTITY)  # real photos score low: floor applies
    assert quiet == {"likely": 0.8, "uncertain": 0.5}


def test_reference_follows_the_active_calibration() -> None:
    reference = RealReference((-1.0, 0.0, 1.0, 2.0), "four photos")
    assert reference.rate_at(0.5, IDENTITY)["k"] == 3  # sigmoid(0) = 0.5 counts as "at least"
    shifted = Calibration("platt", a=1.0, b=-1.5)  # a workspace calibration lowers every probability
    assert reference.rate_at(0.5, shifted)["k"] == 1
    assert "of 4 real idol photos" in describe(reference.rate_at(0.5, IDENTITY))
    assert "not measured" in describe(None)
    assert RealReference.from_card({}) is None
    assert RealReference.from_card({"real_idol_reference": {"logits": [0.3, -0.1], "data": "x"}}).logits == (-0.1, 0.3)
