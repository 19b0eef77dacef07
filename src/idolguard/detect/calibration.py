"""Turn raw detector logits into probabilities that mean what they say.

A network's sigmoid output is not a probability of manipulation: it depends on the training mix and is
usually over-confident. A calibration map fitted on labelled data the model never trained on (held-back real
faces and their self-blends for the shipped model; an agency's own labelled cases after
``idolguard calibrate detector``) fixes that. Two methods: Platt scaling (two parameters, robust on small
sets) and isotonic regression (monotone step function, needs more data, no shape assumption).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


@dataclass(frozen=True)
class Calibration:
    method: str  # "platt" | "isotonic" | "identity"
    a: float = 1.0
    b: float = 0.0
    xs: tuple[float, ...] = field(default_factory=tuple)  # isotonic knots (logits), increasing
    ys: tuple[float, ...] = field(default_factory=tuple)  # probabilities at the knots, non-decreasing
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def apply(self, logits: np.ndarray | float) -> np.ndarray:
        x = np.asarray(logits, dtype=np.float64)
        if self.method == "platt":
            return _sigmoid(self.a * x + self.b)
        if self.method == "isotonic":
            return np.interp(x, np.asarray(self.xs), np.asarray(self.ys))
        if self.method == "identity":
            return _sigmoid(x)
        raise ValueError(f"unknown calibration method {self.method!r}")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "fitted_on": self.fitted_on}
        if self.method == "platt":
            out.update(a=self.a, b=self.b)
        elif self.method == "isotonic":
            out.update(xs=list(self.xs), ys=list(self.ys))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        method = str(data.get("method", "identity"))
        if method == "platt":
            a, b = float(data["a"]), float(data["b"])
            if not (math.isfinite(a) and math.isfinite(b)):
                raise ValueError("Platt parameters must be finite")
            return cls("platt", a=a, b=b, fitted_on=dict(data.get("fitted_on") or {}))
        if method == "isotonic":
            xs, ys = tuple(float(v) for v in data["xs"]), tuple(float(v) for v in data["ys"])
            if len(xs) != len(ys) or len(xs) < 2 or any(b < a for a, b in zip(xs, xs[1:], strict=False)):
                raise ValueError("isotonic calibration needs >= 2 increasing knots")
            return cls("isotonic", xs=xs, ys=ys, fitted_on=dict(data.get("fitted_on") or {}))
        if method == "identity":
            return cls("identity")
        raise ValueError(f"unknown calibration method {method!r}")


def fit_calibration(logits: np.ndarray, labels: np.ndarray, method: str = "platt", **info: Any) -> Calibration:
    """Fit a calibration map; ``labels`` are 1 for manipulated, 0 for real. Needs both classes."""
    x = np.asarray(logits, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if x.shape != y.shape or len(x) == 0:
        raise ValueError("logits and labels must be non-empty and of equal length")
    if len(set(y.tolist())) < 2:
        raise ValueError("calibration needs both real and manipulated examples")
    fitted_on = {"n": int(len(y)), "positives": int(y.sum()), **info}
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=100.0)
        model.fit(x.reshape(-1, 1), y)
        return Calibration("platt", a=float(model.coef_[0, 0]), b=float(model.intercept_[0]), fitted_on=fitted_on)
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(x, y)
        xs = np.asarray(iso.X_thresholds_, dtype=np.float64)
        ys = np.asarray(iso.y_thresholds_, dtype=np.float64)
        if len(xs) < 2:  # a constant fit: widen to two knots so interpolation is defined
            xs = np.array([x.min(), x.max() + 1e-6])
            ys = np.array([ys[0], ys[0]])
        return Calibration("isotonic", xs=tuple(xs.tolist()), ys=tuple(ys.tolist()), fitted_on=fitted_on)
    raise ValueError(f"unknown calibration method {method!r} (use platt or isotonic)")
