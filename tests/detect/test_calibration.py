"""Calibration maps are monotone, fitted on both classes, and survive a JSON round trip."""

from __future__ import annotations

import numpy as np
import pytest

from idolguard.detect.calibration import Calibration, fit_calibration


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], 200)
    logits = np.where(labels == 1, 1.5, -1.5) + rng.normal(0, 1.2, size=400)
    return logits, labels


@pytest.mark.slow
@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_fit_is_monotone_and_calibrated(method: str) -> None:
    logits, labels = _data()
    cal = fit_calibration(logits, labels, method)
    grid = np.linspace(-5, 5, 50)
    probs = cal.apply(grid)
    assert np.all(np.diff(probs) >= -1e-12)
    assert probs[0] < 0.1 and probs[-1] > 0.9
    # Mean predicted probability matches the base rate on the fitting data.
    assert abs(cal.apply(logits).mean() - labels.mean()) < 0.03
    again = Calibration.from_dict(cal.as_dict())
    assert np.allclose(again.apply(grid), probs)


def test_platt_matches_a_known_logistic() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.5 * x - 1.0)))).astype(int)
    cal = fit_calibration(x, y, "platt")
    assert abs(cal.a - 0.5) < 0.1 and abs(cal.b + 1.0) < 0.15


def test_one_class_or_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        fit_calibration(np.array([0.1, 0.2]), np.array([1, 1]))
    with pytest.raises(ValueError):
        fit_calibration(np.array([0.1]), np.array([1, 0]))
    with pytest.raises(ValueError):
        Calibration.from_dict({"method": "isotonic", "xs": [1, 0], "ys": [0, 1]})
    with pytest.raises(ValueError):
        Calibration.from_dict({"method": "magic"})
