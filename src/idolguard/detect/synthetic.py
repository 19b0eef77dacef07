"""Second detector family: fully generated faces (GAN/diffusion), from frequency and noise-residual statistics.

Self-blending teaches the face-swap detector to look for a blend boundary; a face that a generator made
whole has none, and 1.2.0 scored StyleGAN2 faces *lower* than real ones (AUC 0.369). Generators leave other
traces: the up-sampling layers of GANs and the decoders of diffusion models shape the high-frequency
spectrum (periodic peaks, a too-smooth or too-flat tail) and the camera noise that every real photo carries
(sensor noise, demosaicing correlations between colour channels) is missing or different.

The detector here is deliberately small and transparent: 60 hand-made statistics of the face crop
(azimuthal log power spectrum, energy at the up-sampling frequencies, noise-residual moments and the
correlation of residuals across colour channels) and a logistic regression on them, stored as plain
numbers in a JSON card (no ONNX, no torch; about a millisecond per face). Every input is brought to one
canonical form (128 px, one JPEG q85 pass) at training and at run time, and training images get a random
JPEG re-encode before that on *both* sides, so file format and size, which differ between the development
sets (generated faces are PNG, real ones JPEG), cannot be what it learns.

Limits, stated in the card and the model card: the only generated training data is ``synthetic-dev`` (231
StyleGAN2 faces, one generator family in six flavours); diffusion "nudify" output is not represented, and
the score must be read as "looks like this GAN family", not "is generated".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from idolguard.detect.calibration import Calibration

SIZE = 128
RADIAL_BINS = 32
MODEL_PATH = Path(__file__).resolve().parent / "models" / "synthetic-spectral.json"


@lru_cache(maxsize=8)
def _radial_bins(h: int, w: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(bin of every pixel, pixels per bin): the same for every crop of one size, so computed once."""
    yy, xx = np.indices((h, w))
    r = np.hypot(yy - h / 2, xx - w / 2) / (min(h, w) / 2)
    idx = np.clip((r * bins).astype(int), 0, bins - 1).ravel()
    return idx, np.maximum(np.bincount(idx, None, bins), 1)


def _radial_profile(power: np.ndarray, bins: int) -> np.ndarray:
    idx, counts = _radial_bins(power.shape[0], power.shape[1], bins)
    return np.bincount(idx, power.ravel(), bins) / counts


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return np.outer(np.hanning(SIZE), np.hanning(SIZE))


@lru_cache(maxsize=1)
def _jitter() -> np.ndarray:
    """The tiny fixed noise added before the residual correlation (same seed, same values as ever)."""
    return 1e-9 * np.random.default_rng(0).standard_normal((3, SIZE * SIZE))


def features(crop: np.ndarray) -> np.ndarray:
    """The statistics of one RGB face crop (any size; brought to ``canonical`` form first). float64 vector."""
    img = canonical(crop)
    rgb = img.astype(np.float64)
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    window = _window()
    spectrum = np.fft.fftshift(np.abs(np.fft.fft2((gray - gray.mean()) * window)) ** 2)
    profile = np.log(_radial_profile(spectrum, RADIAL_BINS) + 1e-6)
    profile = profile - profile[:4].mean()  # relative to the low frequencies: brightness/contrast-free
    # Energy near the up-sampling frequencies (N/2 and N/4 along each axis) relative to their surroundings.
    c = SIZE // 2
    logspec = np.log(spectrum + 1e-6)
    peaks = []
    for off in (SIZE // 4, SIZE // 2 - 1):
        for y, x in ((c, c + off), (c + off, c), (c + off, c + off)):
            y0, x0 = min(y, SIZE - 3), min(x, SIZE - 3)
            ring = logspec[max(0, y0 - 3) : y0 + 4, max(0, x0 - 3) : x0 + 4]
            peaks.append(logspec[y0, x0] - float(np.median(ring)))
    # Noise residuals: image minus its 3x3 median (keeps sensor noise, drops content).
    resid = rgb - cv2.medianBlur(img, 3).astype(np.float64)
    stats = []
    for ch in range(3):
        r = resid[..., ch].ravel()
        sd = r.std() + 1e-6
        z2 = np.square(r / sd)  # (r/sd)**4 as a square of squares: numpy's float power is ~10x slower
        stats += [np.log(sd), float((z2 * z2).mean()), float(np.abs(r).mean() / sd)]
    flat = resid.reshape(-1, 3)
    corr = np.corrcoef(flat.T + _jitter())
    stats += [corr[0, 1], corr[0, 2], corr[1, 2]]
    # Residual spectrum profile (coarse): periodic up-sampling traces live in the residual.
    rspec = np.abs(np.fft.fft2(resid.mean(axis=2) * window)) ** 2
    rprofile = np.log(_radial_profile(np.fft.fftshift(rspec), 8) + 1e-6)
    rprofile = rprofile - rprofile.mean()
    # Local gradient statistics (over-smooth skin is typical of generators and of beauty filters alike).
    gx, gy = np.gradient(gray)
    grad = np.hypot(gx, gy).ravel()
    stats += [np.log(grad.mean() + 1e-6), np.log(np.percentile(grad, 90) + 1e-6) - np.log(np.median(grad) + 1e-6)]
    return np.concatenate([profile, np.array(peaks), np.array(stats), rprofile]).astype(np.float64)


CANONICAL_JPEG = 85


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]) if ok else img


def canonical(crop: np.ndarray) -> np.ndarray:
    """Every input, at training and at run time: ``SIZE`` px and one JPEG q85 pass. A lossless PNG and a
    JPEG of the same picture then look alike to the statistics, so compression history is not the cue
    (the generated development faces are PNG, the real ones JPEG)."""
    img = crop if crop.shape[:2] == (SIZE, SIZE) else cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return _jpeg(img, CANONICAL_JPEG)


def normalise_for_training(image_rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random JPEG re-encode (q60-95) on every training image, real or generated, before ``canonical``."""
    img = cv2.resize(image_rgb, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return _jpeg(img, int(rng.integers(60, 96)))


@dataclass
class SyntheticModel:
    """Standardisation + logistic regression over ``features``; calibrated; with its own reference."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    calibration: Calibration
    card: dict[str, Any]

    name: str = "synthetic-spectral"

    @property
    def version(self) -> str:
        return str(self.card.get("version", "0"))

    @property
    def model_id(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}

    def logits(self, crops: list[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros(0)
        x = np.stack([features(c) for c in crops])
        z = (x - self.mean) / self.scale
        return z @ self.coef + self.intercept

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.card,
            "name": self.name,
            "weights": {
                "mean": self.mean.tolist(),
                "scale": self.scale.tolist(),
                "coef": self.coef.tolist(),
                "intercept": self.intercept,
            },
            "calibration": self.calibration.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyntheticModel:
        w = data["weights"]
        card = {k: v for k, v in data.items() if k not in ("weights",)}
        return cls(
            np.asarray(w["mean"], dtype=np.float64),
            np.asarray(w["scale"], dtype=np.float64),
            np.asarray(w["coef"], dtype=np.float64),
            float(w["intercept"]),
            Calibration.from_dict(data.get("calibration") or {}),
            card,
        )


@cache
def _load(path: str) -> SyntheticModel | None:
    try:
        return SyntheticModel.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def default_synthetic(path: Path = MODEL_PATH) -> SyntheticModel | None:
    """The shipped synthetic-image model, or None when it is absent (the face-swap family still runs)."""
    return _load(str(path))
